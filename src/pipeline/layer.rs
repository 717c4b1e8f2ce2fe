//! The point of variation of the cohort engine: what a layer does at each step. `run`, the
//! scatter steps (`quant sample`, `normalise layer`) and the gather (`harmonise`) are loops over
//! [`LayerStep`]; [`step`] is the engine's one `match` on [`Layer`], so adding a layer is one
//! file here plus its domain module.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::context::RunContext;
use super::{At, RunError, epigenome, genome, io_err, metabolome, microbiome, transcriptome};
use crate::cohort::{Cohort, Sample};
use crate::layer::Layer;

/// A layer's per-sample QC table, as MultiQC and the report read it.
pub(crate) struct QcTable {
    /// File name under `<out>/<layer>/`.
    pub file: &'static str,
    /// Columns that identify a row.
    pub keys: &'static [&'static str],
    /// One line on what it holds.
    pub description: &'static str,
}

/// What one omics layer does at each step of a cohort run.
pub(crate) trait LayerStep: Sync {
    /// The `cohort.toml` section the layer step reads, as JSON (part of its fingerprint).
    fn options(&self, cohort: &Cohort) -> Result<String, RunError>;

    /// The options the per-sample files depend on (JSON) when the layer quantifies its samples
    /// one by one into `<layer>/samples/<id>.parquet`; `None` (the default) when it reads its
    /// inputs whole.
    fn scatter(&self, _cohort: &Cohort, _samples: &[&Sample]) -> Result<Option<String>, RunError> {
        Ok(None)
    }

    /// Why `quant sample` has nothing to do, for a layer that reads its inputs whole.
    fn whole(&self, cohort: &Cohort, samples: &[&Sample]) -> Result<String, RunError>;

    /// Files besides the sample's own that a per-sample quantification reads.
    fn sample_inputs(&self, _cohort: &Cohort) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Files besides the samples' and the annotation that the layer step reads, with their role.
    fn step_inputs(&self, _cohort: &Cohort) -> Vec<(&'static str, PathBuf)> {
        Vec::new()
    }

    /// Quantifies `samples` into `<dir>/samples/<id>.parquet` (only when [`Self::scatter`] is
    /// `Some`; a layer read whole has nothing to do, the default).
    fn quantify(&self, _ctx: &mut RunContext, _samples: &[&Sample], _dir: &Path) -> Result<(), RunError> {
        Ok(())
    }

    /// The layer step: per-sample files (or the inputs themselves) → features, raw and
    /// normalised matrices and QC under `dir`.
    fn assemble(&self, ctx: &mut RunContext, samples: &[&Sample], dir: &Path) -> Result<(), RunError>;

    /// The matrices harmonisation reads, relative to the layer's directory: the primary
    /// normalised matrix and the raw values beside it.
    fn primary_files(&self, _cohort: &Cohort) -> (PathBuf, PathBuf) {
        ("normalised.parquet".into(), "raw.parquet".into())
    }

    /// The per-sample QC table for MultiQC and the report.
    fn qc(&self) -> QcTable;
}

/// A sample's per-sample file under its layer's directory (`<dir>/samples/<id>.parquet`).
pub(crate) fn sample_file(dir: &Path, sample: &Sample) -> PathBuf {
    dir.join("samples").join(format!("{}.parquet", sample.sample_id))
}

/// A per-sample file opened for the layer step, with its key-value metadata. A missing file is
/// refused with the command that makes it.
pub(crate) fn open_sample_file(
    dir: &Path,
    layer: Layer,
    sample: &Sample,
) -> Result<(PathBuf, crate::io::parquet::FileReader, HashMap<String, String>), RunError> {
    let path = sample_file(dir, sample);
    if !path.is_file() {
        return Err(RunError::Stale {
            at: At::file(&path),
            message: format!(
                "missing; quantify the sample first (harmonomics quant sample --layer {layer} --sample {})",
                sample.sample_id
            ),
        });
    }
    let (builder, metadata) = crate::io::parquet::open_reader(&path).map_err(io_err(&path))?;
    Ok((path, builder, metadata))
}

/// The step of `layer`: the one place the engine tells layers apart.
pub(crate) fn step(layer: Layer) -> &'static dyn LayerStep {
    match layer {
        Layer::Transcriptome => &transcriptome::Transcriptome,
        Layer::Epigenome => &epigenome::Epigenome,
        Layer::Metabolome => &metabolome::Metabolome,
        Layer::Genome => &genome::Genome,
        Layer::Microbiome => &microbiome::Microbiome,
    }
}
