//! Cohort-wide normalisation of the transcriptome count matrix.
//!
//! Only library-size scaling exists so far (CPM and edgeR's log-CPM); DESeq2, TMM, TPM and VST
//! come with the normalisation issue and plug in as further [`Method`]s.

pub mod cpm;

use serde::{Deserialize, Serialize};

use crate::matrix::FeatureMatrix;

/// A normalisation method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Counts per million of the sample's assigned reads.
    Cpm,
    /// edgeR's `cpm(log = TRUE, prior.count = p)`: log2 of CPM with a library-size-scaled prior.
    Log2cpm,
}

impl Method {
    /// Name used in file names and metadata.
    pub fn name(self) -> &'static str {
        match self {
            Method::Cpm => "cpm",
            Method::Log2cpm => "log2cpm",
        }
    }
}

/// `[transcriptome.normalise]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormaliseOptions {
    /// Methods to compute; the first is written to `normalised.parquet`, every other one to
    /// `normalised.<method>.parquet`.
    pub methods: Vec<Method>,
    /// edgeR's `prior.count` for log-CPM (default 2, as edgeR).
    pub prior_count: f64,
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        Self { methods: vec![Method::Log2cpm, Method::Cpm], prior_count: 2.0 }
    }
}

/// Applies one method to a count matrix.
pub fn apply(method: Method, counts: &FeatureMatrix<f64>, options: &NormaliseOptions) -> FeatureMatrix<f64> {
    match method {
        Method::Cpm => cpm::cpm(counts),
        Method::Log2cpm => cpm::log2_cpm(counts, options.prior_count),
    }
}
