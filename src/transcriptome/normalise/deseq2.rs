//! DESeq2's median-of-ratios size factors (`estimateSizeFactorsForMatrix`), both types:
//!
//! - `ratio` (DESeq2's default, pydeseq2's `deseq2_norm`): per gene the geometric mean over
//!   samples, using only genes with no zero; a sample's factor is the median over those genes of
//!   count / geometric mean. Not rescaled.
//! - `poscounts` (for data where every gene has a zero, e.g. single-cell): the geometric mean
//!   ignores zeros but divides by the number of samples; each sample's median is over its
//!   non-zero genes; the factors are then rescaled to geometric mean 1.

use rayon::prelude::*;

use super::NormaliseError;
use super::transform::Transform;
use crate::matrix::FeatureMatrix;
use crate::stats::{geometric_mean, median};

/// Which estimator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeFactorType {
    /// Genes with any zero are excluded.
    Ratio,
    /// Zeros ignored in the geometric mean; factors rescaled to geometric mean 1.
    Poscounts,
}

/// Size factors of the present columns (`None` for a missing column). With `controls` (one flag
/// per gene), each sample's median runs over the control genes only, against geometric means
/// taken over every sample as before (DESeq2's `controlGenes`).
pub fn size_factors(
    counts: &FeatureMatrix<f64>,
    kind: SizeFactorType,
    controls: Option<&[bool]>,
) -> Result<Vec<Option<f64>>, NormaliseError> {
    let present: Vec<&Vec<f64>> = counts.columns.iter().flatten().collect();
    let m = present.len() as f64;
    let n = counts.feature_ids.len();
    // Log geometric mean per gene, in blocks of genes on all cores; within a gene the logs add
    // up sample by sample, as a sequential sum would.
    let log_geo: Vec<f64> = crate::parallel::by_row_blocks(n, |genes| {
        let mut sum = vec![0.0; genes.len()];
        let mut positive = vec![false; genes.len()];
        for c in &present {
            for ((s, any), &v) in sum.iter_mut().zip(positive.iter_mut()).zip(&c[genes.clone()]) {
                match kind {
                    SizeFactorType::Ratio => *s += ln_count(v),
                    SizeFactorType::Poscounts if v > 0.0 => {
                        *s += ln_count(v);
                        *any = true;
                    }
                    SizeFactorType::Poscounts => {}
                }
            }
        }
        sum.into_iter().zip(positive).map(move |(s, any)| match kind {
            SizeFactorType::Poscounts if !any => f64::NEG_INFINITY,
            _ => s / m,
        })
    });
    if log_geo.iter().all(|g| !g.is_finite()) {
        return Err(NormaliseError::Method {
            method: "deseq2",
            message: "every gene has a zero in at least one sample, so median-of-ratios size factors are undefined; \
                      use the `deseq2_poscounts` method"
                .into(),
        });
    }
    let mut factors: Vec<Option<f64>> = counts
        .columns
        .par_iter()
        .map(|column| {
            let column = column.as_ref()?;
            let mut ratios: Vec<f64> = (0..n)
                .filter(|&i| log_geo[i].is_finite() && column[i] > 0.0 && controls.is_none_or(|c| c[i]))
                .map(|i| ln_count(column[i]) - log_geo[i])
                .collect();
            median(&mut ratios).map(f64::exp)
        })
        .collect();
    if kind == SizeFactorType::Poscounts {
        let present: Vec<f64> = factors.iter().flatten().copied().collect();
        let g = geometric_mean(&present);
        factors.iter_mut().flatten().for_each(|f| *f /= g);
    }
    Ok(factors)
}

/// `ln(v)`, looked up for small whole counts (most of a count matrix): the table holds the
/// very values `ln` returns.
fn ln_count(v: f64) -> f64 {
    const SMALL: usize = 4096;
    static TABLE: std::sync::LazyLock<Vec<f64>> =
        std::sync::LazyLock::new(|| (0..SMALL).map(|k| (k as f64).ln()).collect());
    let k = v as usize;
    if k < SMALL && k as f64 == v { TABLE[k] } else { v.ln() }
}

/// Counts divided by size factors (DESeq2's `counts(dds, normalized = TRUE)`).
pub fn normalised_counts(counts: &FeatureMatrix<f64>, factors: &[Option<f64>]) -> Transform {
    Transform::by_sample(counts, factors, |f, v| v / f)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::matrix::test_matrix as m;

    #[test]
    fn doubling_a_library_doubles_its_factor_and_zero_genes_are_skipped() {
        let counts = m(vec![vec![10.0, 20.0, 30.0, 0.0], vec![20.0, 40.0, 60.0, 5.0]]);
        let sf = size_factors(&counts, SizeFactorType::Ratio, None).expect("factors");
        let (a, b) = (sf[0].expect("a"), sf[1].expect("b"));
        assert!((b / a - 2.0).abs() < 1e-12);
        assert!((a * b - 1.0).abs() < 1e-12, "two samples: geometric mean of ratios is 1 here");
    }

    #[test]
    fn all_genes_with_a_zero_need_poscounts() {
        let counts = m(vec![vec![0.0, 5.0, 7.0], vec![3.0, 0.0, 9.0], vec![1.0, 2.0, 0.0]]);
        assert!(size_factors(&counts, SizeFactorType::Ratio, None).is_err());
        let sf: Vec<f64> =
            size_factors(&counts, SizeFactorType::Poscounts, None).expect("poscounts").into_iter().flatten().collect();
        assert!((geometric_mean(&sf) - 1.0).abs() < 1e-12);
    }
}
