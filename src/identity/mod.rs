//! Sample identity across omics: do a patient's RNA, bisulfite library and genotypes, at every
//! timepoint, come from one person?
//!
//! [`panel`] takes the sites (biallelic autosomal SNVs) and, where the cohort has a genome layer,
//! every patient's genotype there; [`pileup`] counts REF and ALT bases at those sites in each
//! alignment file (bisulfite-aware for Bismark reads); [`relate`] turns the counts into
//! likelihood ratios, "same person" against "two people drawn from the population", for every
//! pair of samples and for every sample against every genome, and into one verdict per sample.
//! Likelihoods rather than called genotypes, so that an RNA sample with one read at a site still
//! counts; somalier-style IBS0/IBS2 figures are added for sites deep enough to call.

pub mod panel;
pub mod pileup;
pub mod relate;

use serde::{Deserialize, Serialize};

/// The crate's shared reading error: file, record, what was expected.
pub use crate::error::InputError;

crate::choice::named_enum! {
    /// What a suspect sample does to a command (`run --identity`, `validate --identity`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum IdentityMode {
        /// Check, and record a warning per suspect sample.
        Warn = "warn",
        /// Check, and fail (exit 2) when a sample is suspect, after writing the tables.
        Strict = "strict",
        /// Do not check.
        Off = "off",
    }
}

impl IdentityMode {
    /// `options` with this mode applied.
    pub fn apply(self, options: &mut IdentityOptions) {
        options.enabled = self != IdentityMode::Off;
        options.strict = self == IdentityMode::Strict;
    }
}

/// `[identity]` in `cohort.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityOptions {
    /// Whether `run` checks identity at all (it does when there are sites to check).
    pub enabled: bool,
    /// A VCF of sites to check (REF/ALT; genotypes are not needed). Default: the genome layer's
    /// VCF, when the cohort has one.
    pub sites: Option<std::path::PathBuf>,
    /// Sites whose minor allele is rarer than this among the file's genotypes are left out.
    pub min_maf: f64,
    /// At most this many sites (thinned evenly along the genome).
    pub max_sites: usize,
    /// Alignments below this MAPQ are not counted.
    pub min_mapq: u8,
    /// Bases below this quality are not counted.
    pub min_base_quality: u8,
    /// Per-base error rate of the read model.
    pub error_rate: f64,
    /// At most this many reads count at one site (allele-specific expression and PCR duplicates
    /// make deep RNA sites overconfident).
    pub max_depth: u32,
    /// A pair's evidence is decisive beyond this natural-log likelihood ratio (ln 1000 ≈ 6.9).
    pub decisive_llr: f64,
    /// Fewer sites with reads than this and a sample's verdict is "insufficient".
    pub min_sites: u32,
    /// Reads needed at a site to call a genotype for the IBS0/IBS2 figures (somalier's default).
    pub min_depth_called: u32,
    /// A suspected swap or a sex mismatch fails the run (exit 2) instead of warning.
    pub strict: bool,
}

impl Default for IdentityOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            sites: None,
            min_maf: 0.05,
            max_sites: 100_000,
            min_mapq: 20,
            min_base_quality: 13,
            error_rate: 0.01,
            max_depth: 20,
            decisive_llr: 1000f64.ln(),
            min_sites: 5,
            min_depth_called: 7,
            strict: false,
        }
    }
}

impl IdentityOptions {
    /// Refuses values the model cannot use.
    pub fn check(&self) -> Result<(), String> {
        if !(self.error_rate > 0.0 && self.error_rate < 0.5) {
            return Err(format!("error_rate must lie in (0, 0.5), got {}", self.error_rate));
        }
        if !(0.0..=0.5).contains(&self.min_maf) {
            return Err(format!("min_maf must lie in [0, 0.5], got {}", self.min_maf));
        }
        if self.max_sites == 0 {
            return Err("max_sites must be at least 1".into());
        }
        if self.max_depth == 0 {
            return Err("max_depth must be at least 1".into());
        }
        if !(self.decisive_llr.is_finite() && self.decisive_llr > 0.0) {
            return Err(format!("decisive_llr must be a positive number, got {}", self.decisive_llr));
        }
        Ok(())
    }
}
