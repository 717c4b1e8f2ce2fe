//! Command-line definitions (clap derive only; no logic beyond turning flags into options).

pub mod choice;
pub mod correct;
pub mod dispatch;
pub mod harmonise;
pub mod import;
pub mod normalise;
pub mod quant;
pub mod run;
pub mod step;
pub mod validate;

use clap::{Parser, Subcommand};

/// Harmonise the omics layers of a longitudinal clinical cohort into analysis-ready Parquet.
#[derive(Debug, Parser)]
#[command(name = "harmonomics", version, about, propagate_version = true, args_override_self = true)]
pub struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, short = 'T', global = true, value_name = "N", env = "HARMONOMICS_THREADS")]
    pub threads: Option<usize>,
    /// No progress bars or messages on stderr.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on a cohort (default: the bundled fixture cohort).
    Run(run::RunArgs),
    /// Check a cohort config and samplesheet, reporting every problem at once.
    Validate(validate::ValidateArgs),
    /// Quantify one sample.
    #[command(subcommand)]
    Quant(quant::QuantCommand),
    /// Import other quantifiers' outputs (Salmon, kallisto, featureCounts, htseq-count, STAR).
    Import(import::ImportArgs),
    /// Normalise a count matrix across samples.
    #[command(subcommand, visible_alias = "normalize")]
    Normalise(normalise::NormaliseCommand),
    /// Batch-correct one matrix (ComBat on log-scale values, ComBat-seq on counts).
    Correct(correct::CorrectArgs),
    /// Gather: batch correction and the cohort-wide tables from the `<layer>/` outputs of
    /// scattered runs.
    #[command(visible_alias = "harmonize")]
    Harmonise(harmonise::HarmoniseArgs),
}
