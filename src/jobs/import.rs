//! `harmonomics import`: other quantifiers' outputs (Salmon, kallisto, featureCounts,
//! htseq-count, STAR) as one gene count matrix, outside a cohort.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use arrow_array::ArrayRef;

use crate::io::parquet::{write_batch, write_matrix};
use crate::layer::Layer;
use crate::matrix::FeatureMatrix;
use crate::pipeline::At;
use crate::pipeline::{RunError, arrow_err};
use crate::transcriptome::import::read_all;

/// One `import` job.
#[derive(Clone, Debug)]
pub struct ImportJob {
    /// The tool that wrote the inputs.
    pub tool: crate::transcriptome::import::Tool,
    /// Input files.
    pub inputs: Vec<PathBuf>,
    /// Sample names (empty: derived from the paths).
    pub samples: Vec<String>,
    /// Transcript-to-gene map (Salmon/kallisto).
    pub tx2gene: Option<PathBuf>,
    /// tximport's countsFromAbundance.
    pub counts_from_abundance: crate::transcriptome::import::tximport::CountsFromAbundance,
    /// STAR column.
    pub strandedness: crate::transcriptome::quant::Strandedness,
    /// Output directory.
    pub out: PathBuf,
}

/// A sample name for an input: the parent folder for `quant.sf`/`abundance.tsv`/STAR's fixed
/// file names, else the file stem.
fn default_sample_name(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("sample");
    let fixed = ["quant.sf", "abundance.tsv", "abundance.h5", "ReadsPerGene.out.tab"];
    if fixed.contains(&name)
        && let Some(parent) = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str())
    {
        return parent.to_string();
    }
    let stem = name.split('.').next().unwrap_or(name);
    stem.strip_suffix("ReadsPerGene").unwrap_or(stem).trim_end_matches(['_', '.']).to_string()
}

/// Runs one `import` job; returns the warnings it recorded.
pub fn run(job: &ImportJob) -> Result<Vec<String>, RunError> {
    use crate::transcriptome::import::Tool;
    if !job.samples.is_empty() && job.samples.len() != job.inputs.len() {
        return Err(RunError::Samples {
            at: At::CommandLine,
            message: format!(
                "{} --sample names for {} --input files; give one per input or none",
                job.samples.len(),
                job.inputs.len()
            ),
        });
    }
    let inputs: Vec<(PathBuf, String)> = job
        .inputs
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let fallback = if job.tool == Tool::Featurecounts { String::new() } else { default_sample_name(p) };
            (p.clone(), job.samples.get(k).cloned().unwrap_or(fallback))
        })
        .collect();
    let mut warnings = Vec::new();
    let mut samples = read_all(
        job.tool,
        &inputs,
        job.tx2gene.as_deref(),
        job.counts_from_abundance,
        job.strandedness,
        &mut warnings,
    )?;
    if job.tool == Tool::Featurecounts && !job.samples.is_empty() {
        for (s, n) in samples.iter_mut().zip(&job.samples) {
            s.sample = n.clone();
        }
    }
    let Some(first) = samples.first() else {
        return Err(RunError::Samples { at: At::CommandLine, message: "no samples to import".into() });
    };
    for s in &samples {
        if s.feature_ids != first.feature_ids {
            return Err(RunError::Samples {
                at: At::CommandLine,
                message: format!(
                    "sample {:?} has different genes from sample {:?}: import samples quantified against one \
                     annotation",
                    s.sample, first.sample
                ),
            });
        }
    }
    // raw.parquet, lengths.parquet, features.parquet and qc.parquet appear together or not at all.
    let staged = crate::io::atomic::StagedDir::new(&job.out)?;
    let dir = staged.path();
    let ids: Vec<String> = samples.iter().map(|s| s.sample.clone()).collect();
    let counts =
        FeatureMatrix::new(first.feature_ids.clone(), ids.clone(), samples.iter().map(|s| s.counts.clone()).collect());
    let meta = super::metadata(
        Layer::Transcriptome,
        &[
            ("import", format!("{:?}", job.tool).to_lowercase()),
            ("counts_from_abundance", format!("{:?}", job.counts_from_abundance)),
        ],
    );
    let integral = counts.columns.iter().flatten().all(|c| c.iter().all(|v| v.fract() == 0.0));
    let raw = dir.join("raw.parquet");
    if integral && !matches!(job.tool, Tool::Salmon | Tool::Kallisto) {
        write_matrix(&raw, &counts.map_columns(|_, c| Some(c.iter().map(|&v| v as u64).collect())), &meta)?;
    } else {
        write_matrix(&raw, &counts, &meta)?;
    }
    if samples.iter().all(|s| s.lengths.is_some()) {
        let lengths = FeatureMatrix::new(
            first.feature_ids.clone(),
            ids.clone(),
            samples.iter().filter_map(|s| s.lengths.clone()).collect(),
        );
        write_matrix(&dir.join("lengths.parquet"), &lengths, &meta)?;
        // features.parquet beside raw.parquet gives `normalise --method tpm|fpkm` the lengths
        // (for tximport: the mean over samples of the abundance-weighted lengths).
        let mean: Vec<Option<f64>> = (0..first.feature_ids.len())
            .map(|g| {
                Some(
                    samples.iter().filter_map(|s| s.lengths.as_ref()).map(|l| l[g]).sum::<f64>() / samples.len() as f64,
                )
            })
            .collect();
        let features = crate::io::parquet::batch(vec![
            ("feature_id", Arc::new(arrow_array::StringArray::from(first.feature_ids.clone())) as ArrayRef),
            ("length", Arc::new(arrow_array::Float64Array::from(mean)) as ArrayRef),
        ])
        .map_err(arrow_err(&job.out))?;
        write_batch(&dir.join("features.parquet"), features, &meta)?;
    }
    let mut categories: Vec<String> = Vec::new();
    for s in &samples {
        for (c, _) in &s.qc {
            if !categories.contains(c) {
                categories.push(c.clone());
            }
        }
    }
    if !categories.is_empty() {
        let mut columns: Vec<(&str, arrow_array::ArrayRef)> =
            vec![("sample_id", std::sync::Arc::new(arrow_array::StringArray::from(ids.clone())))];
        for c in &categories {
            let values: Vec<Option<f64>> =
                samples.iter().map(|s| s.qc.iter().find(|(k, _)| k == c).map(|(_, v)| *v)).collect();
            columns.push((c.as_str(), std::sync::Arc::new(arrow_array::Float64Array::from(values))));
        }
        let qc = dir.join("qc.parquet");
        write_batch(&qc, crate::io::parquet::batch(columns).map_err(arrow_err(&job.out))?, &meta)?;
    }
    staged.commit()?;
    Ok(warnings)
}
