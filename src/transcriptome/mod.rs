//! RNA-seq: reads per gene from alignments (featureCounts semantics), then cohort-wide
//! normalisation.

pub mod import;
pub mod normalise;
pub mod quant;
pub mod tables;

use serde::{Deserialize, Serialize};

/// `[transcriptome]` in `cohort.toml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptomeOptions {
    /// How reads are counted (`[transcriptome.quant]`).
    #[serde(default)]
    pub quant: quant::QuantOptions,
    /// How the matrix is normalised (`[transcriptome.normalise]`).
    #[serde(default)]
    pub normalise: normalise::NormaliseOptions,
    /// How imported quantifications are read (`[transcriptome.import]`).
    #[serde(default)]
    pub import: import::ImportOptions,
}
