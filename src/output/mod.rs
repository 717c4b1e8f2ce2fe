//! Everything the run writes: Parquet tables and matrices, and the provenance manifest.

pub mod harmonised;
pub mod manifest;
pub mod multiqc;
pub mod report;

pub use crate::io::OutputError;
