//! `harmonomics correct`: ComBat or ComBat-seq on one matrix.

use std::path::PathBuf;

use clap::Args;

use super::choice::choice;

use crate::batch::Prior;
use crate::jobs::correct::{CorrectJob, CorrectMethod};

/// Arguments of `correct`.
#[derive(Debug, Args)]
pub struct CorrectArgs {
    /// Matrix: our Parquet (raw.parquet, normalised.parquet), a featureCounts table, or a TSV
    /// (feature id, then one column per sample).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: PathBuf,
    /// Sample table (CSV or TSV; a samplesheet will do): sample ids in `sample_id` or the first
    /// column, and the batch and covariate columns.
    #[arg(long, short = 's', value_name = "FILE")]
    pub samples: PathBuf,
    /// `combat` for log-scale values, `combat-seq` for raw counts.
    #[arg(long, short = 'm', value_parser = choice::<CorrectMethod>())]
    pub method: CorrectMethod,
    /// Column of the sample table holding the batch.
    #[arg(long, default_value = "batch", value_name = "COLUMN")]
    pub batch: String,
    /// A column whose effect is kept (repeat for several; e.g. timepoint, immunotype).
    #[arg(long, value_name = "COLUMN")]
    pub protect: Vec<String>,
    /// ComBat's empirical Bayes prior.
    #[arg(long, value_parser = choice::<Prior>(), default_value_t = Prior::Parametric)]
    pub prior: Prior,
    /// Correct even when batch and a protected column are confounded (nothing is protected).
    #[arg(long)]
    pub force: bool,
    /// Use only the sample table's rows of this layer (its `layer` column), as in a samplesheet.
    #[arg(long, value_name = "LAYER")]
    pub layer: Option<String>,
    /// Output Parquet matrix (counts stay UInt64 for combat-seq).
    #[arg(long, short = 'o', value_name = "FILE.parquet")]
    pub out: PathBuf,
}

impl CorrectArgs {
    /// The library job.
    pub fn into_job(self) -> CorrectJob {
        CorrectJob {
            input: self.input,
            samples: self.samples,
            method: self.method,
            prior: self.prior,
            batch: self.batch,
            protect: self.protect,
            force: self.force,
            layer: self.layer,
            out: self.out,
        }
    }
}
