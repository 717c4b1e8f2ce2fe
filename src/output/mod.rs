//! Everything the run writes: Parquet tables and matrices, and the provenance manifest.

pub mod manifest;
pub mod multiqc;
pub mod parquet;
pub mod report;

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
