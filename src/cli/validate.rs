//! `harmonomics validate`.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// cohort.toml (default: the bundled fixture).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}
