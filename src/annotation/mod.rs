//! Features to count against: genes as unions of their exons, and an overlap index over them.
//!
//! Kept apart from `transcriptome` because epigenome region aggregation will query the same
//! features. Meta-features (genes) keep the order of their first appearance in the annotation,
//! as featureCounts does, so matrix rows line up with featureCounts' table.

pub mod feature;
pub mod index;
pub mod saf;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use feature::{Exon, FeatureSet, Gene, Strand};
pub use index::{FeatureIndex, OverlapQuery};

/// Annotation file formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationFormat {
    /// featureCounts' Simplified Annotation Format (GeneID, Chr, Start, End, Strand; 1-based).
    #[default]
    Saf,
}

/// Errors reading an annotation.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read annotation: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{location}: {message}")]
    Malformed {
        /// File and line.
        location: crate::error::Location,
        /// What was expected.
        message: String,
    },
    /// The annotation has no features.
    #[error("{path}: the annotation has no features")]
    Empty {
        /// The file.
        path: String,
    },
}

/// Reads an annotation file in the given format.
pub fn read(path: &Path, format: AnnotationFormat) -> Result<FeatureSet, AnnotationError> {
    match format {
        AnnotationFormat::Saf => saf::read(path),
    }
}
