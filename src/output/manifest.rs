//! `manifest.json`: what ran, on what, with which options, how long it took and what it warned.
//!
//! Written last and atomically: its presence means the run finished. Timestamps live here and
//! only here, so that the Parquet outputs stay byte-identical across runs.

use std::path::Path;

use serde::Serialize;

use crate::io::OutputError;
use crate::io::atomic::write_bytes_atomic;
pub use crate::io::time::rfc3339;

/// The provenance record of one run.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// `harmonomics` and its version.
    pub tool: Tool,
    /// argv as given.
    pub command_line: Vec<String>,
    /// UTC start, RFC 3339.
    pub started_at: String,
    /// UTC end, RFC 3339.
    pub finished_at: String,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// The cohort config file.
    pub config_path: String,
    /// The configuration with defaults filled in and paths resolved.
    pub config: serde_json::Value,
    /// Every input file with its size and BLAKE3 hash.
    pub inputs: Vec<FileRecord>,
    /// Per-stage parameters, timings, counts and warnings.
    pub stages: Vec<StageReport>,
    /// Validation warnings (e.g. samples outside their protocol window).
    pub warnings: Vec<String>,
    /// Every output file (relative to the output directory) with its size and BLAKE3 hash.
    pub outputs: Vec<FileRecord>,
    /// Units of work with their fingerprints and outputs, for `run --resume`.
    pub units: Vec<Unit>,
}

/// Tool identity.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// Always `harmonomics`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Self {
        Self { name: "harmonomics", version: env!("CARGO_PKG_VERSION") }
    }
}

/// One file and its fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    /// What the file is (`config`, `samplesheet`, `annotation`, `transcriptome`, ...).
    pub role: String,
    /// Path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 hex digest.
    pub blake3: String,
}

/// What one stage did.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds of the whole process during the stage (user + system, every thread), where
    /// the platform reports them: `cpu_seconds / seconds` is the cores the stage kept busy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    /// The process's peak resident memory so far, in bytes, at the end of the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// The parameters it ran with.
    pub params: serde_json::Value,
    /// What it counted (samples, features, reads...).
    pub counts: serde_json::Value,
    /// Anything worth a human's attention.
    pub warnings: Vec<String>,
    /// Carried over from the run that made the outputs, whose unit `--resume` skipped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
}

/// One unit of work as the manifest records it (see `pipeline::resume`, which reads it back).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Unit {
    /// e.g. `quant transcriptome P01_day0`, `layer epigenome`, `harmonise`.
    pub unit: String,
    /// BLAKE3 (hex) of what the unit depends on.
    pub fingerprint: String,
    /// Its output files, relative to the output directory.
    pub outputs: Vec<String>,
    /// The stages (indices into the manifest's `stages`) that made its outputs, so a resumed
    /// run can carry their parameters, counts and warnings over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<usize>,
}

/// Writes the manifest atomically as pretty JSON.
pub fn write(path: &Path, manifest: &Manifest) -> Result<(), OutputError> {
    let mut bytes =
        serde_json::to_vec_pretty(manifest).map_err(|e| OutputError { path: path.to_path_buf(), source: e.into() })?;
    bytes.push(b'\n');
    write_bytes_atomic(path, &bytes).map_err(|source| OutputError { path: path.to_path_buf(), source })
}
