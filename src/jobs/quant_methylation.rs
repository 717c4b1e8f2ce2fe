//! `harmonomics quant methylation`: CpG calls from one alignment file or one other tool's
//! table, outside a cohort (optionally as a MethylDackel-style bedGraph too).

use std::path::PathBuf;

use crate::epigenome::calls;
use crate::epigenome::sites::stage_sample;
use crate::epigenome::{SampleSource, sample_calls};
use crate::io::parquet::Metadata;
use crate::layer::Layer;
use crate::pipeline::{RunError, json_text};

/// One `quant methylation` job.
#[derive(Clone, Debug)]
pub struct QuantMethylationJob {
    /// Alignments or a per-CpG table.
    pub input: PathBuf,
    /// Sample name for the metadata.
    pub sample: String,
    /// Filters.
    pub options: calls::CallOptions,
    /// Per-sample Parquet.
    pub out: PathBuf,
    /// Optional MethylDackel-style merged-CpG bedGraph.
    pub bedgraph: Option<PathBuf>,
    /// BGZF threads.
    pub threads: usize,
}

/// Runs one `quant methylation` job; returns what it read.
pub fn run(job: &QuantMethylationJob) -> Result<SampleSource, RunError> {
    let (calls, source) = sample_calls(&job.input, &job.options, job.threads)?;
    // The Parquet file and the bedGraph appear together or not at all.
    let mut staged = crate::io::atomic::Staged::default();
    stage_sample(&mut staged, &job.out, &calls, &standalone_metadata(&job.sample, &source.source, &job.options)?)?;
    if let Some(path) = &job.bedgraph {
        staged.write(path, |w| {
            use std::io::Write;
            writeln!(w, "track type=\"bedGraph\" description=\"{} CpG merged methylation levels\"", job.sample)?;
            // Merged CpGs span 2 bp (MethylDackel --mergeContext); unmerged cytosines 1 bp.
            let span = if source.strands_merged { 1 } else { 0 };
            for (chrom, s) in calls.iter() {
                // MethylDackel's percentage: truncated, as `(int) (100.0 * m / (m + u))`.
                let pct = (100.0 * s.methylated as f64 / s.coverage() as f64) as u64;
                let (start, end) = (s.pos - 1, s.pos + span);
                writeln!(w, "{chrom}\t{start}\t{end}\t{pct}\t{}\t{}", s.methylated, s.unmethylated)?;
            }
            Ok(())
        })?;
    }
    staged.commit()?;
    Ok(source)
}

/// Per-sample metadata for a standalone `quant methylation` file.
pub fn standalone_metadata(sample: &str, source: &str, options: &calls::CallOptions) -> Result<Metadata, RunError> {
    Ok(super::metadata(
        Layer::Epigenome,
        &[("sample_id", sample.to_string()), ("source", source.to_string()), ("quant", json_text(options)?)],
    ))
}
