//! Format-agnostic plumbing shared by every layer: atomic writes and input hashing.

pub mod atomic;
pub mod bgzf_blocks;
pub mod hash;
pub mod open;
pub mod parquet;
pub mod time;
pub mod wide;

use std::path::PathBuf;

/// A failure to write one output file.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write output", path.display())]
pub struct OutputError {
    /// The output that was being written.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}
