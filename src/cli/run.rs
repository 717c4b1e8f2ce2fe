//! `harmonomics run`.

use std::path::{Path, PathBuf};

use clap::Args;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// cohort.toml (default: the bundled fixture, test-data/cohort/cohort.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output directory.
    #[arg(long, short = 'o', value_name = "DIR", default_value = "harmonomics-out")]
    pub out: PathBuf,
    /// Skip the samples, layers and stages whose inputs and options are unchanged since the last
    /// finished run in DIR (fingerprints in its manifest.json).
    #[arg(long)]
    pub resume: bool,
    /// Sample identity across layers: `warn` (a warning per suspect sample), `strict` (exit 2 on
    /// one, after writing identity/), `off` (default: `[identity]` in cohort.toml, else warn).
    #[arg(long, value_name = "MODE", value_parser = super::choice::choice::<crate::identity::IdentityMode>())]
    pub identity: Option<crate::identity::IdentityMode>,
}

/// The bundled fixture cohort: `test-data/cohort/cohort.toml` under the working directory if it
/// exists there (a checkout), else where the crate was built from.
pub fn default_config() -> PathBuf {
    let relative = Path::new("test-data/cohort/cohort.toml");
    if relative.is_file() {
        return relative.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

impl RunArgs {
    /// The library's run options (the fixture config when none is given).
    pub fn into_options(self, threads: usize, quiet: bool) -> crate::pipeline::RunOptions {
        crate::pipeline::RunOptions {
            config: self.config.unwrap_or_else(default_config),
            out: self.out,
            threads,
            quiet,
            command_line: std::env::args().collect(),
            resume: self.resume,
            identity: self.identity,
        }
    }
}
