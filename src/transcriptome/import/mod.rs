//! Other quantifiers' outputs as gene counts: featureCounts and htseq-count tables, STAR's
//! `ReadsPerGene.out.tab`, and transcript-level Salmon `quant.sf` / kallisto `abundance.tsv`
//! summarised to genes as tximport does.

pub mod tables;
pub mod tximport;

use std::path::PathBuf;

use crate::error::Location;

/// Errors reading another tool's output.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Unreadable file.
    #[error("{}: cannot read", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Malformed content.
    #[error("{location}: {message}")]
    Malformed {
        /// File and line.
        location: Location,
        /// What was expected.
        message: String,
    },
    /// Transcript ids that match no transcript of the tx2gene map.
    #[error(
        "none of the {n} transcripts of {} are in the transcript-to-gene map (e.g. {examples}; the map has e.g. {map_examples}); \
         versions (`.1`) are reconciled, so the ids must differ otherwise"
    , path.display())]
    NoTranscriptMatches {
        /// The quantification file.
        path: PathBuf,
        /// How many transcripts it has.
        n: usize,
        /// A few of its ids.
        examples: String,
        /// A few ids of the map.
        map_examples: String,
    },
}

/// One imported sample: gene counts plus what the tool counted outside genes.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedSample {
    /// Sample name (the column header, or the file name).
    pub sample: String,
    /// Gene ids in file order.
    pub feature_ids: Vec<String>,
    /// Counts per gene.
    pub counts: Vec<f64>,
    /// Gene lengths (tximport's abundance-weighted mean), when the tool reports lengths.
    pub lengths: Option<Vec<f64>>,
    /// Non-gene rows (htseq-count's `__no_feature`, STAR's `N_unmapped`, ...), for QC.
    pub qc: Vec<(String, f64)>,
}
