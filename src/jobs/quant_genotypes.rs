//! `harmonomics quant genotypes`: one VCF/BCF as the genome layer's tables, outside a cohort:
//! the dosage matrix, the variant table with its QC, and the per-sample QC.

use std::path::PathBuf;

use crate::genome::tables::{self, DosageSource, GenotypeSummary};
use crate::pipeline::RunError;

/// One `quant genotypes` job.
#[derive(Clone, Debug)]
pub struct QuantGenotypesJob {
    /// VCF or BCF (plain, gzip or BGZF).
    pub input: PathBuf,
    /// Where the matrix value comes from.
    pub dosage: DosageSource,
    /// Output directory: `raw.parquet`, `features.parquet`, `qc.parquet`.
    pub out_dir: PathBuf,
    /// Also `ancestry.parquet` (LD pruning and PCA).
    pub pca: bool,
}

/// Runs one `quant genotypes` job; returns what it read.
pub fn run(job: &QuantGenotypesJob) -> Result<GenotypeSummary, RunError> {
    std::fs::create_dir_all(&job.out_dir).map_err(|source| RunError::Io { path: job.out_dir.clone(), source })?;
    let metadata = super::metadata(
        crate::layer::Layer::Genome,
        &[("source", job.input.display().to_string()), ("dosage", job.dosage.name().to_string())],
    );
    let (raw, features) = (job.out_dir.join("raw.parquet"), job.out_dir.join("features.parquet"));
    let spec = tables::TablesSpec {
        columns: None,
        dosage: job.dosage,
        raw: &raw,
        features: &features,
        normalised: None,
        metadata: &metadata,
        ancestry: job.pca.then(crate::genome::ancestry::AncestryOptions::default),
    };
    let summary = tables::write_tables(&job.input, &spec)?;
    let qc = job.out_dir.join("qc.parquet");
    let batch = tables::sample_qc_batch(&summary)
        .map_err(|e| RunError::Io { path: qc.clone(), source: std::io::Error::other(e) })?;
    crate::io::parquet::write_batch(&qc, batch, &metadata)?;
    if let Some(components) = &summary.ancestry {
        tables::write_ancestry(&job.out_dir.join("ancestry.parquet"), &summary.samples, components, &metadata)?;
    }
    Ok(summary)
}
