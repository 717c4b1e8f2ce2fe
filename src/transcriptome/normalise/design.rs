//! Designs `~ f1 + f2 + …` from samplesheet columns, as R's `model.matrix` builds them, for the
//! VST with `blind = FALSE` and for edgeR's `filterByExpr(y, design)`.

use crate::stats::linalg;

/// A design `~ f1 + f2 + …` as R's `model.matrix` builds it (intercept, treatment contrasts,
/// each factor's levels in sorted order), held by its distinct rows: at cohort size a design
/// of sites and timepoints has a few dozen distinct rows for hundreds of samples, so every sum
/// over samples is a sum over rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// The distinct rows (`u × p`), in the order of the samples' level tuples.
    pub rows: Vec<Vec<f64>>,
    /// Each sample's row.
    pub row_of: Vec<usize>,
}

/// Why a design cannot be used (DESeq2 refuses these too).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// A factor with a single level has no contrast.
    #[error("design factor {0} has a single level ({1:?}) among the samples")]
    OneLevel(usize, String),
    /// Confounded factors.
    #[error(
        "the design is not of full rank: one factor's levels are determined by another's (e.g. each batch holds one \
         timepoint), so their effects cannot be told apart"
    )]
    NotFullRank,
    /// No replicates left for the dispersion (the VST needs them; filterByExpr does not).
    #[error(
        "the design has {0} coefficients for {1} samples: no replicates to estimate the dispersion; use a coarser \
         design or the blind VST"
    )]
    NoReplicates(usize, usize),
}

impl Design {
    /// The design of `factors` (each one label per sample).
    pub fn from_factors(factors: &[Vec<&str>]) -> Result<Design, DesignError> {
        let m = factors.first().map_or(0, Vec::len);
        let mut levels = Vec::new();
        for (f, labels) in factors.iter().enumerate() {
            let set: std::collections::BTreeSet<&str> = labels.iter().copied().collect();
            if set.len() < 2 {
                return Err(DesignError::OneLevel(f + 1, set.into_iter().next().unwrap_or_default().to_string()));
            }
            levels.push(set.into_iter().collect::<Vec<_>>());
        }
        let tuples: Vec<Vec<usize>> = (0..m)
            .map(|j| {
                factors
                    .iter()
                    .zip(&levels)
                    .map(|(labels, lv)| lv.iter().position(|l| *l == labels[j]).unwrap_or_default())
                    .collect()
            })
            .collect();
        let distinct: std::collections::BTreeSet<&Vec<usize>> = tuples.iter().collect();
        let distinct: Vec<&Vec<usize>> = distinct.into_iter().collect();
        let rows: Vec<Vec<f64>> = distinct
            .iter()
            .map(|t| {
                let mut row = vec![1.0];
                for (k, lv) in t.iter().zip(&levels) {
                    row.extend((1..lv.len()).map(|l| if l == *k { 1.0 } else { 0.0 }));
                }
                row
            })
            .collect();
        let row_of = tuples.iter().map(|t| distinct.iter().position(|d| *d == t).unwrap_or_default()).collect();
        let design = Design { rows, row_of };
        if linalg::rank(&design.rows) < design.coefficients() {
            return Err(DesignError::NotFullRank);
        }
        Ok(design)
    }

    /// The number of samples on each distinct row.
    pub fn row_sizes(&self) -> Vec<f64> {
        let mut sizes = vec![0.0; self.rows.len()];
        for &r in &self.row_of {
            sizes[r] += 1.0;
        }
        sizes
    }

    /// Refuses a design with no residual degrees of freedom (DESeq2's "no replicates").
    pub fn require_replicates(self) -> Result<Design, DesignError> {
        let (p, m) = (self.coefficients(), self.row_of.len());
        if m <= p { Err(DesignError::NoReplicates(p, m)) } else { Ok(self) }
    }

    /// `1 / max(hat(design))`: edgeR's `filterByExpr` smallest effective group size for a
    /// design. The leverage of a sample is `x_uᵀ (XᵀX)⁻¹ x_u` for its distinct row.
    pub fn min_sample_size(&self) -> f64 {
        let p = self.coefficients();
        let mut xtx = vec![0.0; p * p];
        linalg::add_weighted_gram(&self.rows, &self.row_sizes(), &mut xtx);
        let mut chol = vec![0.0; p * p];
        linalg::cholesky_upper(&xtx, p, &mut chol);
        let mut solved = vec![0.0; p];
        let max_leverage = self
            .rows
            .iter()
            .map(|row| {
                linalg::cholesky_solve(&chol, p, row, &mut solved);
                row.iter().zip(&solved).map(|(x, y)| x * y).sum::<f64>()
            })
            .fold(0.0, f64::max);
        1.0 / max_leverage
    }

    /// The design's number of coefficients.
    pub fn coefficients(&self) -> usize {
        self.rows.first().map_or(1, Vec::len)
    }

    /// DESeq2's `linearMu`: as many distinct rows as coefficients, so the fitted means are the
    /// rows' group means.
    pub fn linear_mu(&self) -> bool {
        self.rows.len() == self.coefficients()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_are_built_as_r_builds_them_and_refused_as_deseq2_refuses_them() {
        // ~ site + timepoint over 8 samples: intercept, site b, timepoint d3 and d7.
        let site = vec!["a", "a", "b", "b", "a", "a", "b", "b"];
        let time = vec!["d0", "d3", "d0", "d3", "d7", "d0", "d7", "d3"];
        let design = Design::from_factors(&[site.clone(), time.clone()]).expect("design");
        assert_eq!(design.coefficients(), 4);
        assert!(!design.linear_mu(), "6 distinct rows for 4 coefficients: the GLM's means");
        assert_eq!(design.rows[design.row_of[6]], vec![1.0, 1.0, 0.0, 1.0], "site b at d7");
        assert_eq!(design.row_of[0], design.row_of[5], "same site and timepoint, same row");
        let one = Design::from_factors(std::slice::from_ref(&time)).expect("one factor");
        assert!(one.linear_mu(), "one factor: group means");
        assert_eq!(Design::from_factors(&[vec!["x"; 8]]), Err(DesignError::OneLevel(1, "x".into())));
        // Site determines batch: confounded.
        let batch: Vec<&str> = site.iter().map(|s| if *s == "a" { "s1" } else { "s2" }).collect();
        assert_eq!(Design::from_factors(&[site.clone(), batch]), Err(DesignError::NotFullRank));
        let two = Design::from_factors(&[vec!["a", "b"]]).expect("two samples");
        assert_eq!(two.require_replicates(), Err(DesignError::NoReplicates(2, 2)));
        // filterByExpr's smallest group: one factor gives the smallest level's size (R: 1/max(hat)).
        let sizes = Design::from_factors(&[vec!["a", "a", "a", "b", "b", "c", "c", "c", "c"]]).expect("groups");
        assert!((sizes.min_sample_size() - 2.0).abs() < 1e-12, "{}", sizes.min_sample_size());
    }
}
