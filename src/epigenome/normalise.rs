//! Per-CpG filters and transforms, applied one site (row) at a time so the cohort matrix streams.
//!
//! - a sample's value at a site is present only when its coverage reaches `min_coverage`
//!   (default 10, as methylKit's `filterByCoverage` and most WGBS pipelines use);
//! - a site is kept when it is present in at least `min_sample_fraction` of the samples
//!   (default 1.0: every sample, methylKit `unite()`'s default);
//! - beta = methylated / coverage; M-value = log2((methylated + α) / (unmethylated + α)) with
//!   offset α (default 1), the count form of Du et al. (2010), finite at beta 0 and 1;
//! - optionally, sex-chromosome sites are dropped (`chrX`, `chrY`, `X`, `Y`, any case).

use serde::{Deserialize, Serialize};

/// `[epigenome.normalise]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormaliseOptions {
    /// Minimum calls for a sample's value at a site to count.
    pub min_coverage: u64,
    /// Fraction of samples (0–1] in which a site must reach `min_coverage` to be kept.
    pub min_sample_fraction: f64,
    /// Offset α of the M-value.
    pub m_value_offset: f64,
    /// Drop sites on chrX/chrY.
    pub drop_sex_chromosomes: bool,
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        Self { min_coverage: 10, min_sample_fraction: 1.0, m_value_offset: 1.0, drop_sex_chromosomes: false }
    }
}

impl NormaliseOptions {
    /// Checks the ranges; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.min_sample_fraction > 0.0 && self.min_sample_fraction <= 1.0) {
            return Err(format!("min_sample_fraction must lie in (0, 1], got {}", self.min_sample_fraction));
        }
        if !(self.m_value_offset >= 0.0 && self.m_value_offset.is_finite()) {
            return Err(format!("m_value_offset must be a finite number ≥ 0, got {}", self.m_value_offset));
        }
        Ok(())
    }

    /// Samples a site must be present in, out of `n`.
    pub fn min_samples(&self, n: usize) -> usize {
        ((self.min_sample_fraction * n as f64) - 1e-9).ceil().max(1.0) as usize
    }

    /// Beta at one sample, `None` below the coverage bar.
    pub fn beta(&self, methylated: u64, coverage: u64) -> Option<f64> {
        (coverage >= self.min_coverage.max(1)).then(|| methylated as f64 / coverage as f64)
    }

    /// M-value at one sample, `None` below the coverage bar.
    pub fn m_value(&self, methylated: u64, coverage: u64) -> Option<f64> {
        (coverage >= self.min_coverage.max(1)).then(|| {
            let a = self.m_value_offset;
            ((methylated as f64 + a) / ((coverage - methylated) as f64 + a)).log2()
        })
    }
}

/// Whether a chromosome name is a sex chromosome.
pub fn is_sex_chromosome(name: &str) -> bool {
    let bare = name.strip_prefix("chr").or_else(|| name.strip_prefix("Chr")).unwrap_or(name);
    bare.eq_ignore_ascii_case("x") || bare.eq_ignore_ascii_case("y")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_and_m_values() {
        let o = NormaliseOptions::default();
        assert_eq!(o.beta(3, 9), None);
        assert_eq!(o.beta(5, 10), Some(0.5));
        assert_eq!(o.m_value(5, 10), Some(0.0));
        assert_eq!(o.m_value(10, 10), Some(11f64.log2()));
        assert_eq!(o.m_value(0, 12), Some(-(13f64.log2())));
    }

    #[test]
    fn sample_fraction_rounds_up() {
        let o = NormaliseOptions { min_sample_fraction: 0.8, ..Default::default() };
        assert_eq!(o.min_samples(10), 8);
        assert_eq!(o.min_samples(9), 8);
        assert_eq!(NormaliseOptions::default().min_samples(39), 39);
        assert!(NormaliseOptions { min_sample_fraction: 0.0, ..Default::default() }.validate().is_err());
    }

    #[test]
    fn sex_chromosomes() {
        assert!(is_sex_chromosome("chrX") && is_sex_chromosome("Y") && is_sex_chromosome("chry"));
        assert!(!is_sex_chromosome("chrX_random") && !is_sex_chromosome("chr1"));
    }
}
