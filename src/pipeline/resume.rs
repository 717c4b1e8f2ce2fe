//! `run --resume`: skip the work whose inputs and options have not changed since the last
//! finished run in the same directory.
//!
//! The run is cut into units (each sample's quantification, each layer's step, the harmonise
//! stage). A unit's fingerprint is a BLAKE3 over the tool version, the options it reads and the
//! hashes of the files it reads (for a layer, its samples' fingerprints; for harmonise, the
//! layers'). `manifest.json` records every unit with its fingerprint and outputs. A resumed run
//! skips a unit when the previous manifest has the same fingerprint for it and each of its
//! outputs is still there with the recorded hash; anything else runs again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::io::hash::hash_file;
use crate::output::manifest::{FileRecord, StageReport, Unit};

/// Builds a fingerprint from labelled parts, each length-prefixed so no two part lists collide.
pub fn fingerprint(parts: &[(&str, &str)]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (label, value) in parts {
        for piece in [label.as_bytes(), value.as_bytes()] {
            h.update(&(piece.len() as u64).to_le_bytes());
            h.update(piece);
        }
    }
    h.finalize().to_hex().to_string()
}

/// What the previous finished run recorded, and which units this run reused.
#[derive(Debug, Default)]
pub struct Resume {
    units: HashMap<String, Unit>,
    outputs: HashMap<String, (u64, String)>,
    stages: Vec<StageReport>,
    /// Units recorded by this run, in order.
    pub recorded: Vec<Unit>,
    /// Units this run skipped.
    pub skipped: Vec<String>,
}

#[derive(Deserialize)]
struct PreviousManifest {
    #[serde(default)]
    units: Vec<Unit>,
    #[serde(default)]
    stages: Vec<StageReport>,
    #[serde(default)]
    outputs: Vec<PreviousFile>,
}

#[derive(Deserialize)]
struct PreviousFile {
    path: String,
    size: u64,
    blake3: String,
}

impl Resume {
    /// Reads `manifest.json` in `out` (nothing to resume from when it is absent or unreadable:
    /// an unfinished or foreign directory is simply run again).
    pub fn load(out: &Path) -> Self {
        let Ok(bytes) = std::fs::read(out.join("manifest.json")) else { return Self::default() };
        let Ok(previous) = serde_json::from_slice::<PreviousManifest>(&bytes) else { return Self::default() };
        Self {
            units: previous.units.into_iter().map(|u| (u.unit.clone(), u)).collect(),
            outputs: previous.outputs.into_iter().map(|f| (f.path, (f.size, f.blake3))).collect(),
            stages: previous.stages,
            recorded: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Whether `unit` with `fingerprint` can be skipped: the previous run recorded the same
    /// fingerprint and every output is still on disk with its recorded size and hash. Returns
    /// the outputs (absolute) when it can.
    pub fn reusable(&self, out: &Path, unit: &str, fingerprint: &str) -> Option<Vec<PathBuf>> {
        let previous = self.units.get(unit)?;
        if previous.fingerprint != fingerprint || previous.outputs.is_empty() {
            return None;
        }
        previous
            .outputs
            .iter()
            .map(|rel| {
                let (size, blake3) = self.outputs.get(rel)?;
                let path = out.join(rel);
                let (now_size, now_hash) = hash_file(&path).ok()?;
                (now_size == *size && &now_hash == blake3).then_some(path)
            })
            .collect()
    }

    /// The previous run's reports of the stages that made `unit`'s outputs, marked as resumed.
    pub fn previous_stages(&self, unit: &str) -> Vec<(usize, StageReport)> {
        let Some(previous) = self.units.get(unit) else { return Vec::new() };
        previous
            .stages
            .iter()
            .filter_map(|&k| self.stages.get(k).map(|s| (k, StageReport { resumed: true, ..s.clone() })))
            .collect()
    }

    /// Records a unit that ran (or was reused) with the files it wrote and the stages (indices
    /// into this run's manifest) that made them.
    pub fn record(&mut self, out: &Path, unit: String, fingerprint: String, outputs: &[PathBuf], stages: Vec<usize>) {
        let mut rel: Vec<String> =
            outputs.iter().map(|p| p.strip_prefix(out).unwrap_or(p).display().to_string()).collect();
        rel.sort();
        rel.dedup();
        self.recorded.push(Unit { unit, fingerprint, outputs: rel, stages });
    }
}

/// The hash of an input as `hash_inputs` recorded it, by path.
pub fn input_hashes(inputs: &[FileRecord]) -> HashMap<PathBuf, String> {
    inputs.iter().map(|f| (PathBuf::from(&f.path), f.blake3.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(fingerprint(&[("a", "bc")]), fingerprint(&[("ab", "c")]));
        assert_ne!(fingerprint(&[("a", "b"), ("c", "")]), fingerprint(&[("a", "bc")]));
        assert_eq!(fingerprint(&[("a", "b")]), fingerprint(&[("a", "b")]));
    }
}
