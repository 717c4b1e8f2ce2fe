//! `harmonomics validate`.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// cohort.toml (default: the bundled fixture).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also check sample identity across layers (reads the alignments at the sites; writes
    /// DIR/identity/): `warn` (the default when given bare) or `strict` (exit 2 on a suspect).
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "warn",
          value_parser = super::choice::choice::<crate::identity::IdentityMode>())]
    pub identity: Option<crate::identity::IdentityMode>,
    /// Where `--identity` writes its tables.
    #[arg(long, short = 'o', value_name = "DIR", default_value = "harmonomics-out")]
    pub out: PathBuf,
}
