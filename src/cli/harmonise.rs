//! `harmonomics harmonise`: the gather step after a scattered run.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `harmonise`.
#[derive(Debug, Args)]
pub struct HarmoniseArgs {
    /// cohort.toml (default: the bundled fixture, test-data/cohort/cohort.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output directory (cohort-wide tables, report, manifest).
    #[arg(long, short = 'o', value_name = "DIR", default_value = "harmonomics-out")]
    pub out: PathBuf,
    /// A directory holding `<layer>/` outputs (normalised and raw matrices); repeat for layers
    /// normalised in different places; searched in order. Default: the output directory.
    #[arg(long = "input", short = 'i', value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
}

impl HarmoniseArgs {
    /// The library's options (the fixture config when none is given).
    pub fn into_options(self, threads: usize, quiet: bool) -> crate::pipeline::harmonise::HarmoniseOptions {
        crate::pipeline::harmonise::HarmoniseOptions {
            config: self.config.unwrap_or_else(super::run::default_config),
            inputs: self.inputs,
            out: self.out,
            threads,
            quiet,
            command_line: std::env::args().collect(),
        }
    }
}
