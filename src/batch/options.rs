//! `[batch_correction]`: which layers are corrected, how, and what is protected. The options
//! belong to the correction they configure; `cohort::config` reads them from `cohort.toml`.

use serde::{Deserialize, Serialize};

use crate::layer::Layer;

/// `[batch_correction]` in `cohort.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchCorrectionOptions {
    /// `none` (default) or `combat`.
    #[serde(default)]
    pub method: BatchMethod,
    /// ComBat's empirical Bayes prior: `parametric` (default) or `nonparametric`.
    #[serde(default)]
    pub prior: super::Prior,
    /// The samplesheet column naming the batch (default `batch`).
    #[serde(default = "default_batch")]
    pub batch: String,
    /// Samplesheet columns protected besides the timepoint (e.g. an immunotype column).
    #[serde(default)]
    pub protect: Vec<String>,
    /// Correct even when batch and a protected covariate are confounded (nothing is protected).
    #[serde(default)]
    pub force: bool,
    /// Layers to correct (default: transcriptome and metabolome, whose primary scales are logs).
    #[serde(default = "default_layers")]
    pub layers: Vec<Layer>,
}

/// The serde defaults, also when `[batch_correction]` is absent: the report's PCA is coloured by
/// the `batch` column whether or not a correction is configured.
impl Default for BatchCorrectionOptions {
    fn default() -> Self {
        Self {
            method: BatchMethod::default(),
            prior: super::Prior::default(),
            batch: default_batch(),
            protect: Vec::new(),
            force: false,
            layers: default_layers(),
        }
    }
}

fn default_batch() -> String {
    "batch".into()
}

fn default_layers() -> Vec<Layer> {
    vec![Layer::Transcriptome, Layer::Metabolome]
}

/// The correction method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchMethod {
    /// No correction.
    #[default]
    None,
    /// ComBat on each layer's primary (log-scale) matrix.
    Combat,
    /// ComBat-seq on the transcriptome's counts, which are then normalised again with the
    /// layer's primary method; other listed layers get ComBat.
    #[serde(rename = "combat-seq", alias = "combat_seq")]
    CombatSeq,
}
