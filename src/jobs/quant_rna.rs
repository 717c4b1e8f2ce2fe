//! `harmonomics quant rna`: featureCounts on one alignment file, outside a cohort.

use std::path::PathBuf;

use crate::annotation::{self, FeatureIndex};
use crate::io::parquet::stage_batch;
use crate::layer::Layer;
use crate::pipeline::{Progress, RunError, arrow_err, json_text};
use crate::transcriptome::quant::{SampleCounts, quantify};
use crate::transcriptome::tables;

/// One `quant rna` job: a BAM in, a per-sample Parquet (and optionally featureCounts' tables) out.
#[derive(Clone, Debug)]
pub struct QuantRnaJob {
    /// The alignments.
    pub bam: PathBuf,
    /// The annotation, its format and feature selection.
    pub annotation: annotation::AnnotationSpec,
    /// Counting options.
    pub options: crate::transcriptome::quant::QuantOptions,
    /// Per-sample Parquet output.
    pub out: PathBuf,
    /// featureCounts-layout counts table.
    pub featurecounts_tsv: Option<PathBuf>,
    /// featureCounts-layout summary.
    pub summary: Option<PathBuf>,
    /// The command line, for the table's header line.
    pub command: String,
    /// BGZF decompression threads.
    pub threads: usize,
}

/// Runs one `quant rna` job.
pub fn run(job: &QuantRnaJob, progress: &Progress) -> Result<SampleCounts, RunError> {
    use crate::transcriptome::quant::featurecounts;
    let features = job.annotation.read()?;
    let index = FeatureIndex::new(&features);
    let counts = quantify(&job.bam, &features, &index, &job.options, job.threads)?;
    let name = job.bam.display().to_string();
    let quant = json_text(&job.options)?;
    let meta = super::metadata(Layer::Transcriptome, &[("quant", quant)]);
    // The Parquet file and featureCounts' table and summary appear together or not at all.
    let mut staged = crate::io::atomic::Staged::default();
    stage_batch(&mut staged, &job.out, tables::sample_counts(&features, &counts).map_err(arrow_err(&job.out))?, &meta)?;
    if let Some(w) = counts.strand.check(job.options.strandedness) {
        progress.note(format!("warning: {}: {w}", job.bam.display()));
    }
    let summary = job
        .summary
        .clone()
        .or_else(|| job.featurecounts_tsv.as_ref().map(|p| PathBuf::from(format!("{}.summary", p.display()))));
    if let Some(path) = &job.featurecounts_tsv {
        staged.write(path, |w| featurecounts::write_table(w, &job.command, &features, &[&name], &[&counts]))?;
    }
    if let Some(path) = &summary {
        staged.write(path, |w| featurecounts::write_summary(w, &[&name], &[&counts]))?;
    }
    staged.commit()?;
    Ok(counts)
}
