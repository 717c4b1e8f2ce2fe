//! Counts per million, and edgeR's log-CPM with a library-size-scaled prior count.
//!
//! edgeR (`cpm.default`, `log = TRUE`): with library sizes `L_j` and mean library size `L̄`, the
//! prior added to sample `j` is `p_j = prior.count · L_j / L̄`, and
//! `logCPM = log2((y + p_j) / (L_j + 2 p_j) · 1e6)`. A sample with no counts has no defined CPM:
//! its column is null, never 0 or NaN.

use super::transform::{Transform, scales};
use crate::matrix::FeatureMatrix;

/// Each sample's total count (0 for a missing column).
pub(super) fn library_sizes(counts: &FeatureMatrix<f64>) -> Vec<f64> {
    counts.columns.iter().map(|c| c.iter().flatten().sum()).collect()
}

/// CPM = count / library size × 10⁶ (library size = the sample's total assigned counts).
pub fn cpm(counts: &FeatureMatrix<f64>) -> Transform {
    Transform::by_sample(counts, &positive(&library_sizes(counts)), |lib, y| y / lib * 1e6)
}

/// The positive sizes: a sample without counts has no CPM, TPM or FPKM (its column is null).
pub(super) fn positive(sizes: &[f64]) -> Vec<Option<f64>> {
    sizes.iter().map(|&s| (s > 0.0).then_some(s)).collect()
}

/// edgeR's `cpm(y, log = TRUE, prior.count)`.
pub fn log2_cpm(counts: &FeatureMatrix<f64>, prior_count: f64) -> Transform {
    log2_cpm_on(counts, library_sizes(counts), prior_count)
}

/// edgeR's `cpm(calcNormFactors(y), log = TRUE, prior.count)`: log-CPM on effective library
/// sizes (library size × normalisation factor; `None` factors leave the column null).
pub fn log2_cpm_normalised(counts: &FeatureMatrix<f64>, factors: &[Option<f64>], prior_count: f64) -> Transform {
    let libs = library_sizes(counts).iter().zip(factors).map(|(l, f)| f.map_or(0.0, |f| l * f)).collect();
    log2_cpm_on(counts, libs, prior_count)
}

fn log2_cpm_on(counts: &FeatureMatrix<f64>, libs: Vec<f64>, prior_count: f64) -> Transform {
    let nonzero: Vec<f64> = libs.iter().copied().filter(|&l| l > 0.0).collect();
    let mean = nonzero.iter().sum::<f64>() / nonzero.len().max(1) as f64;
    // Each sample's prior and denominator, as edgeR computes them.
    let scaled: Vec<(f64, f64)> = libs
        .iter()
        .map(|&lib| {
            let prior = prior_count * lib / mean;
            (prior, lib + 2.0 * prior)
        })
        .collect();
    Transform::by_count(scales(counts, &positive(&libs)).0, move |j, y| {
        let (prior, denom) = scaled[j];
        ((y + prior) / denom * 1e6).log2()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::matrix::test_matrix as matrix;

    #[test]
    fn cpm_columns_sum_to_a_million_and_empty_samples_are_null() {
        let m = matrix(vec![vec![1.0, 2.0, 7.0], vec![0.0; 3], vec![100.0, 0.0, 300.0]]);
        let c = cpm(&m).apply(&m);
        for j in [0, 2] {
            let col = c.columns[j].as_ref().expect("column");
            assert!((col.iter().sum::<f64>() - 1e6).abs() < 1e-6);
        }
        assert!(c.columns[1].is_none());
        assert_eq!(c.columns[0].as_ref().expect("column")[2], 700_000.0);
    }

    #[test]
    fn log2_cpm_matches_edger_formula() {
        // Hand-computed from edgeR's definition: libs 10 and 30, mean 20, priors 1 and 3.
        let m = matrix(vec![vec![4.0, 6.0], vec![0.0, 30.0]]);
        let l = log2_cpm(&m, 2.0).apply(&m);
        let a = l.columns[0].as_ref().expect("column");
        let b = l.columns[1].as_ref().expect("column");
        assert!((a[0] - (5.0f64 / 12.0 * 1e6).log2()).abs() < 1e-12);
        assert!((b[0] - (3.0f64 / 36.0 * 1e6).log2()).abs() < 1e-12);
        assert!((b[1] - (33.0f64 / 36.0 * 1e6).log2()).abs() < 1e-12);
    }
}
