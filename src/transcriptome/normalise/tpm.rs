//! Length-aware scaling: TPM (transcripts per million) and FPKM, with gene length = the union of
//! the gene's exons (featureCounts' `Length`) or an imported effective length.

use super::cpm::{library_sizes, positive};
use super::transform::{Transform, scales};
use crate::matrix::FeatureMatrix;

/// TPM: counts / length, rescaled so each sample sums to 10⁶.
pub fn tpm(counts: &FeatureMatrix<f64>, lengths: &[f64]) -> Transform {
    // Each sample's total rate, summed gene by gene as the rates come.
    let totals: Vec<f64> = counts
        .columns
        .iter()
        .map(|c| c.as_ref().map_or(0.0, |c| c.iter().zip(lengths).map(|(&v, &l)| v / l).sum()))
        .collect();
    let (present, totals) = scales(counts, &positive(&totals));
    let lengths = lengths.to_vec();
    Transform::by_gene(present, move |j, i, v| v / lengths[i] / totals[j] * 1e6)
}

/// FPKM: counts / (length in kb × library size in millions).
pub fn fpkm(counts: &FeatureMatrix<f64>, lengths: &[f64]) -> Transform {
    let (present, libs) = scales(counts, &positive(&library_sizes(counts)));
    let lengths = lengths.to_vec();
    Transform::by_gene(present, move |j, i, v| v * 1e9 / (lengths[i] * libs[j]))
}
