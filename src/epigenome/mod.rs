//! DNA methylation: methylated/unmethylated calls per CpG (from bisulfite or modified-base
//! alignments, or imported from Bismark, MethylDackel and modkit), then cohort-wide filtering,
//! beta and M-values, and region aggregation.
//!
//! One coordinate convention everywhere: a CpG is named by the 1-based position of its C on the
//! forward strand, and calls on both strands are merged onto it (as MethylDackel
//! `--mergeContext` and Bismark `coverage2cytosine --merge_CpG` do).

pub mod calls;
pub mod cohort;
pub mod import;
pub mod normalise;
pub mod regions;
pub mod sites;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use sites::{ChromCalls, SampleCalls, Site};

/// `[epigenome]` in `cohort.toml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EpigenomeOptions {
    /// How calls are made from alignments (`[epigenome.quant]`).
    #[serde(default)]
    pub quant: calls::CallOptions,
    /// Filters and transforms (`[epigenome.normalise]`).
    #[serde(default)]
    pub normalise: normalise::NormaliseOptions,
    /// Region sets to aggregate over (`[[epigenome.regions]]`).
    #[serde(default)]
    pub regions: Vec<regions::RegionSetConfig>,
}

/// Why methylation input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EpigenomeError {
    /// The file could not be opened or read.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of a table is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was expected.
        message: String,
    },
    /// An alignment record is malformed or unusable.
    #[error("{}: record {record} ({name}): {message}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// 1-based record number.
        record: u64,
        /// Read name.
        name: String,
        /// What was expected.
        message: String,
    },
    /// The whole file is unusable (format, sort order, header).
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was expected.
        message: String,
    },
}

/// How one sample's calls were obtained (kept in the per-sample file's metadata).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct SampleSource {
    /// `alignments` or the imported format's name.
    pub source: String,
    /// Record-level statistics (alignments only).
    pub stats: Option<calls::CallStats>,
    /// Whether both strands of each CpG were merged.
    pub strands_merged: bool,
    /// Sites with a call.
    pub sites: usize,
}

/// Calls or imports one input file.
pub fn sample_calls(
    path: &Path,
    options: &calls::CallOptions,
    workers: usize,
) -> Result<(SampleCalls, SampleSource), EpigenomeError> {
    if import::is_alignment(path)? {
        let (calls, stats) = calls::call(path, options, workers)?;
        let sites = calls.sites();
        Ok((calls, SampleSource { source: "alignments".into(), stats: Some(stats), strands_merged: true, sites }))
    } else {
        let format = import::detect(path)?;
        let imported = import::read(path, format)?;
        let sites = imported.calls.sites();
        let source =
            SampleSource { source: format.name().into(), stats: None, strands_merged: imported.strands_merged, sites };
        Ok((imported.calls, source))
    }
}
