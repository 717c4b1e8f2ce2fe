//! Features to count against: genes as unions of their exons, and an overlap index over them.
//!
//! Kept apart from `transcriptome` because epigenome region aggregation will query the same
//! features. Meta-features (genes) keep the order of their first appearance in the annotation,
//! as featureCounts does, so matrix rows line up with featureCounts' table.

pub mod feature;
pub mod gtf;
pub mod index;
pub mod saf;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use feature::{Exon, FeatureSet, Gene, Strand};
pub use index::{FeatureIndex, OverlapQuery};

crate::choice::named_enum! {
    /// Annotation file formats.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum AnnotationFormat {
        /// featureCounts' Simplified Annotation Format (GeneID, Chr, Start, End, Strand; 1-based).
        Saf = "saf",
        /// GTF (GFF2): `-t` features grouped by the `-g` attribute.
        Gtf = "gtf",
        /// GFF3: `-t` features grouped by the `-g` attribute.
        Gff = "gff",
    }
    default Saf
}

/// Errors reading an annotation.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read annotation")]
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

fn default_feature_type() -> String {
    "exon".into()
}

fn default_attribute() -> String {
    "gene_id".into()
}

/// An annotation file and how to read it (`[annotation]` in cohort.toml).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotationSpec {
    /// The file (plain or gzip).
    pub path: std::path::PathBuf,
    /// Its format.
    #[serde(default)]
    pub format: AnnotationFormat,
    /// GTF/GFF feature type to count (featureCounts `-t`).
    #[serde(default = "default_feature_type")]
    pub feature_type: String,
    /// GTF/GFF attribute that names the gene (featureCounts `-g`).
    #[serde(default = "default_attribute")]
    pub attribute: String,
}

impl AnnotationSpec {
    /// A spec with featureCounts' defaults (`-t exon -g gene_id`).
    pub fn new(path: impl Into<std::path::PathBuf>, format: AnnotationFormat) -> Self {
        Self { path: path.into(), format, feature_type: default_feature_type(), attribute: default_attribute() }
    }

    /// Reads the annotation.
    pub fn read(&self) -> Result<FeatureSet, AnnotationError> {
        let selection = gtf::Selection { feature_type: &self.feature_type, attribute: &self.attribute };
        match self.format {
            AnnotationFormat::Saf => saf::read(&self.path),
            AnnotationFormat::Gtf => gtf::read_gtf(&self.path, &selection),
            AnnotationFormat::Gff => gtf::read_gff(&self.path, &selection),
        }
    }
}

/// Reads an annotation file in the given format with featureCounts' default selection.
pub fn read(path: &Path, format: AnnotationFormat) -> Result<FeatureSet, AnnotationError> {
    AnnotationSpec::new(path, format).read()
}
