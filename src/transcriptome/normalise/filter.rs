//! edgeR's `filterByExpr` (edgeR ≥ 3.32 defaults: `min.count = 10`, `min.total.count = 15`,
//! `large.n = 10`, `min.prop = 0.7`): keep a gene when at least n samples reach a CPM equal to
//! `min.count` reads in the median library, and it has `min.total.count` reads in all, where n is
//! the smallest group size (all samples when there are no groups), relaxed to
//! `large.n + (n - large.n) × min.prop` for groups larger than `large.n`.

use super::design::Design;
use crate::matrix::FeatureMatrix;
use crate::stats::median;

/// Where filterByExpr's smallest group size comes from, over the present samples.
#[derive(Clone, Copy, Debug)]
pub enum SampleGroups<'a> {
    /// All samples are one group.
    One,
    /// Each present sample's group (edgeR's `group`).
    Groups(&'a [String]),
    /// A design (edgeR's `design`): `1 / max(hat(design))`.
    Design(&'a Design),
}

/// filterByExpr's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FilterParams {
    /// `min.count`.
    pub min_count: f64,
    /// `min.total.count`.
    pub min_total_count: f64,
    /// `large.n`.
    pub large_n: f64,
    /// `min.prop`.
    pub min_prop: f64,
}

impl Default for FilterParams {
    fn default() -> Self {
        Self { min_count: 10.0, min_total_count: 15.0, large_n: 10.0, min_prop: 0.7 }
    }
}

/// Which genes to keep.
pub fn filter_by_expr(counts: &FeatureMatrix<f64>, groups: SampleGroups<'_>, p: FilterParams) -> Vec<bool> {
    let columns: Vec<&Vec<f64>> = counts.columns.iter().flatten().collect();
    let libs: Vec<f64> = columns.iter().map(|c| c.iter().sum()).collect();
    let mut min_sample_size = match groups {
        SampleGroups::One => columns.len() as f64,
        SampleGroups::Design(design) => design.min_sample_size(),
        SampleGroups::Groups(g) => {
            let mut sizes = std::collections::BTreeMap::new();
            for name in g {
                *sizes.entry(name.as_str()).or_insert(0usize) += 1;
            }
            sizes.values().copied().min().unwrap_or(0) as f64
        }
    };
    if min_sample_size > p.large_n {
        min_sample_size = p.large_n + (min_sample_size - p.large_n) * p.min_prop;
    }
    let mut sorted = libs.clone();
    let median_lib = median(&mut sorted).unwrap_or(0.0);
    let cutoff = p.min_count / median_lib * 1e6;
    let tol = 1e-14;
    (0..counts.feature_ids.len())
        .map(|i| {
            let reaching =
                columns.iter().zip(&libs).filter(|(c, lib)| **lib > 0.0 && c[i] / **lib * 1e6 >= cutoff).count();
            let total: f64 = columns.iter().map(|c| c[i]).sum();
            reaching as f64 >= min_sample_size - tol && total >= p.min_total_count - tol
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_genes_expressed_in_enough_samples() {
        // Libraries of 1e6 reads: the CPM cutoff is 10 CPM = 10 reads.
        let big = 1_000_000.0;
        let m = FeatureMatrix::new(
            vec!["high".into(), "two_of_four".into(), "low_total".into(), "filler".into()],
            (0..4).map(|j| format!("s{j}")).collect(),
            (0..4)
                .map(|j| {
                    let two = if j < 2 { 10.0 } else { 0.0 };
                    let low = if j == 0 { 14.0 } else { 0.0 };
                    vec![50.0, two, low, big - 50.0 - two - low]
                })
                .collect(),
        );
        assert_eq!(filter_by_expr(&m, SampleGroups::One, FilterParams::default()), vec![true, false, false, true]);
        // With groups of two, two samples reaching the cutoff is enough.
        let groups: Vec<String> = ["a", "a", "b", "b"].map(String::from).to_vec();
        assert_eq!(
            filter_by_expr(&m, SampleGroups::Groups(&groups), FilterParams::default()),
            vec![true, true, false, true]
        );
    }

    #[test]
    fn large_groups_relax_the_sample_count() {
        // 20 samples in one group: n = 10 + (20 - 10) * 0.7 = 17.
        let cols: Vec<Vec<f64>> =
            (0..20).map(|j| vec![if j < 17 { 20.0 } else { 0.0 }, if j < 16 { 20.0 } else { 0.0 }, 1e6]).collect();
        let m = FeatureMatrix::new(
            vec!["g17".into(), "g16".into(), "f".into()],
            (0..20).map(|j| format!("s{j}")).collect(),
            cols,
        );
        assert_eq!(filter_by_expr(&m, SampleGroups::One, FilterParams::default()), vec![true, false, true]);
    }
}
