//! What every cohort command shares: the start (validate the cohort, prepare the output
//! directory), the context the layer steps work in (which owns the stage reports and the list of
//! files written), and the finish (hash the outputs, write `manifest.json` last, so its presence
//! means a finished run). `run`, the scatter steps and the gather go through the same code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::resume::{self, Resume};
use super::{Progress, RunError, RunSummary, io_err, stage};
use crate::annotation::{FeatureIndex, FeatureSet};
use crate::cohort::{self, Cohort};
use crate::io::hash::hash_file;
use crate::output::manifest::{self, FileRecord, Manifest, StageReport, Tool, Unit};

/// The state of a command before its cohort context exists: the clock, the progress reporter
/// and the stages run so far (validation).
pub(crate) struct Started {
    progress: Progress,
    stages: Vec<StageReport>,
    clock: Instant,
    started_at: u64,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Starts a cohort command: validates `config` as the `validate` stage.
pub(crate) fn start(config: &Path, quiet: bool) -> Result<(Cohort, Started), RunError> {
    let clock = Instant::now();
    let started_at = unix_now();
    let progress = Progress::new(quiet);
    let mut stages = Vec::new();
    let cohort = stage::stage(&mut stages, "validate", json!({ "config": config }), |r| {
        let cohort = cohort::load(config)?;
        r.counts = json!({ "samples": cohort.samples.len(), "patients": cohort.patients.len() });
        // A stage's warnings are all warnings: no level in front (the messages add one).
        r.warnings = cohort.warnings.iter().map(cohort::Problem::described).collect();
        Ok::<_, RunError>(cohort)
    })?;
    Ok((cohort, Started { progress, stages, clock, started_at }))
}

/// A JSON rendering of options for a fingerprint or a file's metadata. Serialising our own
/// option structs cannot fail in practice; if it ever does, the run stops rather than fingerprint
/// an empty string.
pub(crate) fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<String, RunError> {
    serde_json::to_string(value).map_err(RunError::Serialise)
}

/// The context a cohort command's layer steps run in.
pub(crate) struct RunContext<'a> {
    /// The validated cohort.
    pub cohort: &'a Cohort,
    /// The output directory.
    pub out: PathBuf,
    /// Worker threads (the pool is sized by the caller).
    pub threads: usize,
    /// Progress on stderr.
    pub progress: Progress,
    /// Every stage's report, in the order they ran.
    pub stages: Vec<StageReport>,
    /// Every file written, for the manifest's output hashes.
    pub written: Vec<PathBuf>,
    /// The annotation, read once per command and shared by a layer's quantification and step.
    pub annotation: Option<(FeatureSet, FeatureIndex)>,
    /// Input hashes by path (empty unless the command hashed its inputs).
    hashes: HashMap<PathBuf, String>,
    /// What `--resume` may skip, and the units recorded for the manifest.
    pub resume: Resume,
    clock: Instant,
    started_at: u64,
}

impl<'a> RunContext<'a> {
    /// The context for `cohort` writing to `out`: creates the directory, reads what `--resume`
    /// may reuse (when `resume`), and removes the manifest left there, which would otherwise
    /// vouch for files this command is rewriting.
    pub(crate) fn new(
        cohort: &'a Cohort,
        started: Started,
        out: &Path,
        threads: usize,
        resume: bool,
    ) -> Result<Self, RunError> {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let previous = if resume { Resume::load(out) } else { Resume::default() };
        let manifest_path = out.join("manifest.json");
        match std::fs::remove_file(&manifest_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err(&manifest_path)(e)),
            _ => {}
        }
        Ok(Self { resume: previous, ..Self::for_step(cohort, started, out, threads) })
    }

    /// A context that leaves `out` as it is: the step commands write part of a run's directory
    /// and no manifest.
    pub(crate) fn for_step(cohort: &'a Cohort, started: Started, out: &Path, threads: usize) -> Self {
        let Started { progress, stages, clock, started_at } = started;
        Self {
            cohort,
            out: out.to_path_buf(),
            threads,
            progress,
            stages,
            written: Vec::new(),
            annotation: None,
            hashes: HashMap::new(),
            resume: Resume::default(),
            clock,
            started_at,
        }
    }

    /// Reports the cohort's warnings and shape on stderr.
    pub(crate) fn announce(&self) {
        let cohort = self.cohort;
        for w in &cohort.warnings {
            self.progress.note(w.to_string());
        }
        self.progress.note(format!(
            "cohort {:?}: {} patients, {} samples, layers: {}",
            cohort.config.study.name,
            cohort.patients.len(),
            cohort.samples.len(),
            cohort.layers().iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }

    /// Hashes the cohort's input files (the `hash_inputs` stage) and keeps the hashes for the
    /// fingerprints of `--resume`.
    pub(crate) fn hash_inputs(&mut self) -> Result<Vec<FileRecord>, RunError> {
        let cohort = self.cohort;
        let inputs = stage::stage(&mut self.stages, "hash_inputs", json!({ "algorithm": "BLAKE3" }), |r| {
            let inputs = hash_inputs(cohort)?;
            r.counts = json!({ "files": inputs.len(), "bytes": inputs.iter().map(|i| i.size).sum::<u64>() });
            Ok::<_, RunError>(inputs)
        })?;
        self.hashes = resume::input_hashes(&inputs);
        Ok(inputs)
    }

    /// The BLAKE3 of an input file, as hashed at the start of the run.
    pub(crate) fn hash_of(&self, path: &Path) -> Result<String, RunError> {
        self.hashes.get(path).cloned().ok_or_else(|| RunError::Unhashed(path.to_path_buf()))
    }

    /// Runs `work` as unit `name` unless the last run did the same work (see [`resume`]);
    /// records the unit and its outputs either way. Returns the unit's fingerprint.
    pub(crate) fn unit(
        &mut self,
        name: String,
        parts: &[(&str, String)],
        work: impl FnOnce(&mut Self) -> Result<(), RunError>,
    ) -> Result<String, RunError> {
        let parts: Vec<(&str, &str)> = parts.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let fingerprint = resume::fingerprint(&parts);
        if let Some(outputs) = self.resume.reusable(&self.out, &name, &fingerprint) {
            self.progress.note(format!("resume: {name} unchanged, skipped"));
            self.resume.skipped.push(name.clone());
            let stages = self.carry(&[name.as_str()]);
            self.resume.record(&self.out, name, fingerprint.clone(), &outputs, stages);
            self.written.extend(outputs);
            return Ok(fingerprint);
        }
        let (mark, first_stage) = (self.written.len(), self.stages.len());
        work(self)?;
        let outputs = self.written[mark..].to_vec();
        let stages = (first_stage..self.stages.len()).collect();
        self.resume.record(&self.out, name, fingerprint.clone(), &outputs, stages);
        Ok(fingerprint)
    }

    /// Appends the previous run's reports of the stages behind `units` (each once, in their
    /// order) and returns their indices in this run's stage list.
    pub(crate) fn carry(&mut self, units: &[&str]) -> Vec<usize> {
        let mut previous: Vec<(usize, StageReport)> =
            units.iter().flat_map(|u| self.resume.previous_stages(u)).collect();
        previous.sort_by_key(|(k, _)| *k);
        previous.dedup_by_key(|(k, _)| *k);
        previous
            .into_iter()
            .map(|(_, report)| {
                self.stages.push(report);
                self.stages.len() - 1
            })
            .collect()
    }

    /// The layer's annotation, read and indexed on first use (the `annotation` stage).
    pub(crate) fn load_annotation(&mut self) -> Result<(), RunError> {
        if self.annotation.is_none() {
            self.annotation = Some(super::transcriptome::load_annotation(self.cohort, &mut self.stages)?);
        }
        Ok(())
    }

    /// Prints every stage's warnings (the step commands, which write no manifest).
    pub(crate) fn note_warnings(&self) {
        for stage in &self.stages {
            for w in &stage.warnings {
                self.progress.note(format!("warning: {w}"));
            }
        }
    }

    /// Hashes the outputs and writes `manifest.json`, last, so its presence means a finished run.
    pub(crate) fn finish(
        mut self,
        command_line: &[String],
        config: &Path,
        inputs: Vec<FileRecord>,
    ) -> Result<RunSummary, RunError> {
        let (out, written) = (&self.out, &self.written);
        let outputs = stage::stage(&mut self.stages, "hash_outputs", json!({ "algorithm": "BLAKE3" }), |r| {
            let outputs = hash_outputs(out, written)?;
            r.counts = json!({ "files": outputs.len(), "bytes": outputs.iter().map(|o| o.size).sum::<u64>() });
            Ok::<_, RunError>(outputs)
        })?;
        let cohort = self.cohort;
        let warnings: Vec<String> = cohort.warnings.iter().map(ToString::to_string).collect();
        // The stages' own warnings (a swap, a sex mismatch, samples left out) are said again at
        // the end, where a log's reader looks, and counted in the summary line; the cohort's were
        // said at the start.
        let mut stage_warnings = 0;
        for stage in self.stages.iter().filter(|s| s.name != "validate") {
            for w in &stage.warnings {
                self.progress.note(format!("warning: {w}"));
                stage_warnings += 1;
            }
        }
        let units: Vec<Unit> = self.resume.recorded;
        let manifest = Manifest {
            tool: Tool::default(),
            command_line: command_line.to_vec(),
            started_at: manifest::rfc3339(self.started_at),
            finished_at: manifest::rfc3339(unix_now()),
            wall_seconds: self.clock.elapsed().as_secs_f64(),
            threads: self.threads,
            config_path: config.display().to_string(),
            config: serde_json::to_value(&cohort.config).map_err(RunError::Serialise)?,
            inputs,
            stages: self.stages,
            warnings: warnings.clone(),
            outputs,
            units,
        };
        manifest::write(&self.out.join("manifest.json"), &manifest)?;
        Ok(RunSummary { out: self.out, samples: cohort.samples.len(), warnings: warnings.len() + stage_warnings })
    }
}

/// Every input file of the cohort, hashed in parallel: the config, samplesheet, patients table,
/// annotation, the layers' own extra files and every sample's files.
fn hash_inputs(cohort: &Cohort) -> Result<Vec<FileRecord>, RunError> {
    let c = &cohort.config;
    let mut files: Vec<(String, PathBuf)> =
        vec![("config".into(), cohort.config_path.clone()), ("samplesheet".into(), c.samplesheet.clone())];
    if let Some(p) = &c.patients {
        files.push(("patients".into(), p.clone()));
    }
    if let Some(a) = &c.annotation {
        files.push(("annotation".into(), a.path.clone()));
    }
    if let Some(p) = &c.identity.sites {
        files.push(("identity_sites".into(), p.clone()));
    }
    for layer in cohort.layers() {
        files.extend(super::layer::step(layer).step_inputs(cohort).into_iter().map(|(role, p)| (role.to_string(), p)));
    }
    for s in &cohort.samples {
        files.push((s.layer.as_str().into(), s.path.clone()));
        if let Some(p) = &s.path_2 {
            files.push((s.layer.as_str().into(), p.clone()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|(_, p)| seen.insert(p.clone()));
    files
        .par_iter()
        .map(|(role, path)| {
            let (size, blake3) = hash_file(path).map_err(io_err(path))?;
            Ok(FileRecord { role: role.clone(), path: path.display().to_string(), size, blake3 })
        })
        .collect()
}

/// The files this run wrote (relative to the output directory), with hashes, in path order.
fn hash_outputs(out: &Path, written: &[PathBuf]) -> Result<Vec<FileRecord>, RunError> {
    let mut paths = written.to_vec();
    paths.sort();
    paths.dedup();
    paths
        .par_iter()
        .map(|path| {
            let (size, blake3) = hash_file(path).map_err(io_err(path))?;
            let rel = path.strip_prefix(out).unwrap_or(path).display().to_string();
            Ok(FileRecord { role: "output".into(), path: rel, size, blake3 })
        })
        .collect()
}
