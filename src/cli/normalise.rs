//! `harmonomics normalise`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::annotation::AnnotationFormat;
use crate::transcriptome::normalise::Method;

/// Normalise one layer's count matrix across samples.
#[derive(Debug, Subcommand)]
pub enum NormaliseCommand {
    /// Normalise a gene count matrix (our raw.parquet, a featureCounts table or a TSV matrix).
    Transcriptome(TranscriptomeArgs),
}

/// Arguments of `normalise transcriptome`.
#[derive(Debug, Args)]
pub struct TranscriptomeArgs {
    /// Counts: raw.parquet, a featureCounts table, or a TSV (feature id, then one column per sample).
    #[arg(long, value_name = "FILE")]
    pub counts: PathBuf,
    /// Method.
    #[arg(long, value_enum)]
    pub method: Method,
    /// Output: wide Parquet matrix (method and parameters in its metadata).
    #[arg(long, short = 'o', value_name = "FILE.parquet")]
    pub out: PathBuf,
    /// Also write per-sample library sizes and factors (Parquet if FILE ends in .parquet, else TSV).
    #[arg(long, value_name = "FILE")]
    pub factors: Option<PathBuf>,
    /// Annotation giving gene lengths for TPM/FPKM when the counts carry none.
    #[arg(long, short = 'a', value_name = "FILE")]
    pub annotation: Option<PathBuf>,
    /// Format of --annotation.
    #[arg(long, short = 'F', value_enum, default_value_t = AnnotationFormat::Saf, ignore_case = true)]
    pub format: AnnotationFormat,
    /// Drop lowly expressed genes first with edgeR's filterByExpr (all samples one group);
    /// filtered genes become null rows.
    #[arg(long)]
    pub filter_by_expr: bool,
    /// edgeR's prior.count for log2cpm.
    #[arg(long, default_value_t = 2.0, value_name = "N")]
    pub prior_count: f64,
}

impl TranscriptomeArgs {
    /// The library job.
    pub fn into_job(self) -> crate::pipeline::NormaliseJob {
        crate::pipeline::NormaliseJob {
            counts: self.counts,
            method: self.method,
            out: self.out,
            factors: self.factors,
            annotation: self.annotation.map(|a| crate::annotation::AnnotationSpec::new(a, self.format)),
            options: crate::transcriptome::normalise::NormaliseOptions {
                methods: vec![self.method],
                prior_count: self.prior_count,
                filter_by_expr: self.filter_by_expr,
                filter_group: None,
            },
        }
    }
}
