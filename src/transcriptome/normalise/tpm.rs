//! Length-aware scaling: TPM (transcripts per million) and FPKM, with gene length = the union of
//! the gene's exons (featureCounts' `Length`) or an imported effective length.

use crate::matrix::FeatureMatrix;

/// TPM: counts / length, rescaled so each sample sums to 10⁶.
pub fn tpm(counts: &FeatureMatrix<f64>, lengths: &[f64]) -> FeatureMatrix<f64> {
    counts.par_map_columns(|_, c| {
        let rate: Vec<f64> = c.iter().zip(lengths).map(|(&v, &l)| v / l).collect();
        let total: f64 = rate.iter().sum();
        (total > 0.0).then(|| rate.iter().map(|r| r / total * 1e6).collect())
    })
}

/// FPKM: counts / (length in kb × library size in millions).
pub fn fpkm(counts: &FeatureMatrix<f64>, lengths: &[f64]) -> FeatureMatrix<f64> {
    counts.par_map_columns(|_, c| {
        let lib: f64 = c.iter().sum();
        (lib > 0.0).then(|| c.iter().zip(lengths).map(|(&v, &l)| v * 1e9 / (l * lib)).collect())
    })
}
