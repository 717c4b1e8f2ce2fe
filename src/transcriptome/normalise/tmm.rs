//! edgeR's `calcNormFactors`: TMM (trimmed mean of M-values), TMMwsp (TMM with singleton
//! pairing, for data with many zeros) and upper-quartile factors, with edgeR's defaults (reference = the sample whose upper-quartile factor is closest to the mean,
//! `logratioTrim = 0.3`, `sumTrim = 0.05`, `doWeighting = TRUE`, `Acutoff = -1e10`), after
//! dropping genes that are zero in every sample; factors are rescaled to geometric mean 1.

use std::borrow::Cow;

use rayon::prelude::*;

use super::cpm::library_sizes;
use super::transform::Transform;
use crate::matrix::FeatureMatrix;
use crate::stats::{geometric_mean, quantile_type7, rank_window};

/// Genes that are not zero in every present sample, as dense columns: the columns themselves
/// when every gene has a read (a cohort's matrix, whose copy would be hundreds of megabytes).
fn nonzero_columns(counts: &FeatureMatrix<f64>) -> (Vec<usize>, Vec<Cow<'_, [f64]>>) {
    let present: Vec<usize> = (0..counts.columns.len()).filter(|&j| counts.columns[j].is_some()).collect();
    let columns: Vec<&Vec<f64>> = counts.columns.iter().flatten().collect();
    let any: Vec<bool> = crate::parallel::by_row_blocks(counts.feature_ids.len(), |genes| {
        let mut any = vec![false; genes.len()];
        for c in &columns {
            for (a, &v) in any.iter_mut().zip(&c[genes.clone()]) {
                *a |= v > 0.0;
            }
        }
        any
    });
    if any.iter().all(|&a| a) {
        return (present, columns.into_iter().map(|c| Cow::Borrowed(c.as_slice())).collect());
    }
    let keep: Vec<usize> = (0..any.len()).filter(|&i| any[i]).collect();
    (present, columns.par_iter().map(|c| Cow::Owned(keep.iter().map(|&i| c[i]).collect())).collect())
}

/// No present sample, or no gene with a read in any: edgeR then falls back to `method = "none"`
/// (every factor 1), where the trimmed means and quartiles are undefined.
fn no_genes_left(columns: &[Cow<'_, [f64]>]) -> bool {
    columns.first().is_none_or(|c| c.is_empty())
}

fn upper_quartile_raw(columns: &[Cow<'_, [f64]>]) -> Vec<f64> {
    columns
        .par_iter()
        .map(|c| {
            let lib: f64 = c.iter().sum();
            let mut v = c.to_vec();
            quantile_type7(&mut v, 0.75).unwrap_or(0.0) / lib
        })
        .collect()
}

fn spread(present: &[usize], total: usize, factors: Vec<f64>) -> Vec<Option<f64>> {
    let g = geometric_mean(&factors);
    let mut out = vec![None; total];
    for (k, &j) in present.iter().enumerate() {
        out[j] = Some(factors[k] / g);
    }
    out
}

/// Upper-quartile normalisation factors.
pub fn upper_quartile_factors(counts: &FeatureMatrix<f64>) -> Vec<Option<f64>> {
    let (present, columns) = nonzero_columns(counts);
    if no_genes_left(&columns) {
        return spread(&present, counts.columns.len(), vec![1.0; present.len()]);
    }
    spread(&present, counts.columns.len(), upper_quartile_raw(&columns))
}

/// TMM normalisation factors.
pub fn tmm_factors(counts: &FeatureMatrix<f64>) -> Vec<Option<f64>> {
    let (present, columns) = nonzero_columns(counts);
    if no_genes_left(&columns) {
        return spread(&present, counts.columns.len(), vec![1.0; present.len()]);
    }
    let f75 = upper_quartile_raw(&columns);
    let mean = f75.iter().sum::<f64>() / f75.len() as f64;
    let mut sorted = f75.clone();
    let reference = if crate::stats::median(&mut sorted).unwrap_or(0.0) < 1e-20 {
        // edgeR: fall back to the sample with the largest sum of square roots.
        (0..columns.len())
            .max_by(|&a, &b| {
                let s = |j: usize| columns[j].iter().map(|v| v.sqrt()).sum::<f64>();
                s(a).total_cmp(&s(b))
            })
            .unwrap_or(0)
    } else {
        // which.min: the first of equal distances.
        let mut best = 0;
        for j in 1..f75.len() {
            if (f75[j] - mean).abs() < (f75[best] - mean).abs() {
                best = j;
            }
        }
        best
    };
    let reference = Reference::of(&columns[reference]);
    let factors = columns.par_iter().map(|c| tmm_factor(c, &reference)).collect();
    spread(&present, counts.columns.len(), factors)
}

/// edgeR's TMMwsp factors: the reference is the sample with the largest sum of square-root
/// counts; zeros are paired across samples before trimming (`.calcFactorTMMwsp`).
pub fn tmmwsp_factors(counts: &FeatureMatrix<f64>) -> Vec<Option<f64>> {
    let (present, columns) = nonzero_columns(counts);
    if no_genes_left(&columns) {
        return spread(&present, counts.columns.len(), vec![1.0; present.len()]);
    }
    // which.max: the first of equal sums.
    let roots: Vec<f64> = columns.par_iter().map(|c| c.iter().map(|v| v.sqrt()).sum()).collect();
    let mut reference = 0;
    for j in 1..roots.len() {
        if roots[j] > roots[reference] {
            reference = j;
        }
    }
    let reference_column = &columns[reference];
    let factors = columns.par_iter().map(|c| tmmwsp_factor(c, reference_column)).collect();
    spread(&present, counts.columns.len(), factors)
}

/// edgeR's `.calcFactorTMMwsp` for one sample against the reference (library sizes: the
/// columns' sums). Genes zero in one of the two samples are paired off: as many of each kind as
/// the rarer kind has, largest counts with largest, in place of the zeros.
fn tmmwsp_factor(obs: &[f64], reference: &[f64]) -> f64 {
    const EPS: f64 = 1e-14;
    let (lib_o, lib_r) = (obs.iter().sum::<f64>(), reference.iter().sum::<f64>());
    let (mut o, mut r) = (Vec::new(), Vec::new());
    let (mut single_o, mut single_r) = (Vec::new(), Vec::new());
    let (mut zero_o, mut zero_r) = (0usize, 0usize);
    for (&a, &b) in obs.iter().zip(reference) {
        match (a > EPS, b > EPS) {
            (false, false) => {}
            (true, true) => {
                o.push(a);
                r.push(b);
            }
            (false, true) => {
                zero_o += 1;
                single_o.push(a);
                single_r.push(b);
            }
            (true, false) => {
                zero_r += 1;
                single_o.push(a);
                single_r.push(b);
            }
        }
    }
    let singles = zero_o.min(zero_r);
    if singles > 0 {
        single_o.sort_by(|a, b| b.total_cmp(a));
        single_r.sort_by(|a, b| b.total_cmp(a));
        o.extend_from_slice(&single_o[..singles]);
        r.extend_from_slice(&single_r[..singles]);
    }
    let n = o.len();
    if n == 0 {
        return 1.0;
    }
    let p_o: Vec<f64> = o.iter().map(|v| v / lib_o).collect();
    let p_r: Vec<f64> = r.iter().map(|v| v / lib_r).collect();
    let m: Vec<f64> = (0..n).map(|i| (p_o[i] / p_r[i]).log2()).collect();
    let a: Vec<f64> = (0..n).map(|i| 0.5 * (p_o[i] * p_r[i]).log2()).collect();
    if m.iter().fold(0.0f64, |acc, v| acc.max(v.abs())) < 1e-6 {
        return 1.0;
    }
    let m_shrunk: Vec<f64> =
        (0..n).map(|i| ((o[i] + 0.5) / (lib_o + 0.5) / ((r[i] + 0.5) / (lib_r + 0.5))).log2()).collect();
    // order(M, M.shrunk) and order(A): stable, ties by position.
    let mut by_m: Vec<usize> = (0..n).collect();
    by_m.sort_by(|&x, &y| m[x].total_cmp(&m[y]).then(m_shrunk[x].total_cmp(&m_shrunk[y])));
    let mut by_a: Vec<usize> = (0..n).collect();
    by_a.sort_by(|&x, &y| a[x].total_cmp(&a[y]));
    let lo_m = (n as f64 * 0.3) as usize + 1;
    let hi_m = n + 1 - lo_m;
    let lo_a = (n as f64 * 0.05) as usize + 1;
    let hi_a = n + 1 - lo_a;
    let mut keep_m = vec![false; n];
    for &i in by_m.get(lo_m - 1..hi_m).unwrap_or(&[]) {
        keep_m[i] = true;
    }
    let mut keep_a = vec![false; n];
    for &i in by_a.get(lo_a - 1..hi_a).unwrap_or(&[]) {
        keep_a[i] = true;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for i in (0..n).filter(|&i| keep_m[i] && keep_a[i]) {
        let v = (1.0 - p_o[i]) / p_o[i] / lib_o + (1.0 - p_r[i]) / p_r[i] / lib_r;
        let w = (1.0 + 1e-6) / (v + 1e-6);
        num += w * m[i];
        den += w;
    }
    (num / den).exp2()
}

/// The reference sample's side of edgeR's `.calcFactorTMM` terms, the same for every sample:
/// per gene `ref / nR`, `log2(ref / nR)` and `(nR - ref) / nR / ref`.
struct Reference {
    share: Vec<f64>,
    log2_share: Vec<f64>,
    variance: Vec<f64>,
}

impl Reference {
    fn of(counts: &[f64]) -> Self {
        let n_r = counts.iter().sum::<f64>();
        Self {
            share: counts.iter().map(|r| r / n_r).collect(),
            log2_share: counts.iter().map(|r| (r / n_r).log2()).collect(),
            variance: counts.iter().map(|r| (n_r - r) / n_r / r).collect(),
        }
    }
}

/// edgeR's `.calcFactorTMM` for one sample against the reference, term for term as R computes
/// it (the reference's terms computed once).
fn tmm_factor(obs: &[f64], reference: &Reference) -> f64 {
    let n_o = obs.iter().sum::<f64>();
    // log2(o / n_o) looked up for small whole counts (most of a sample): the very values the
    // expression gives, at a tenth of the logs.
    const SMALL: usize = 4096;
    let small: Vec<f64> = (0..SMALL).map(|k| (k as f64 / n_o).log2()).collect();
    let log2_share = |o: f64| {
        let k = o as usize;
        if k < SMALL && k as f64 == o { small[k] } else { (o / n_o).log2() }
    };
    let mut log_r = Vec::with_capacity(obs.len());
    let mut abs_e = Vec::with_capacity(obs.len());
    let mut genes = Vec::with_capacity(obs.len());
    for (i, (&o, &r_share)) in obs.iter().zip(&reference.share).enumerate() {
        // A zero in either sample makes the log-ratio infinite: the gene is left out.
        if o == 0.0 || r_share == 0.0 {
            continue;
        }
        let lr = ((o / n_o) / r_share).log2();
        let ae = (log2_share(o) + reference.log2_share[i]) / 2.0;
        if lr.is_finite() && ae.is_finite() && ae > -1e10 {
            log_r.push(lr);
            abs_e.push(ae);
            genes.push(i);
        }
    }
    if log_r.iter().all(|v| v.abs() < 1e-6) {
        return 1.0;
    }
    let n = log_r.len() as f64;
    let lo_l = (n * 0.3).floor() + 1.0;
    let hi_l = n + 1.0 - lo_l;
    let lo_s = (n * 0.05).floor() + 1.0;
    let hi_s = n + 1.0 - lo_s;
    // Ranks within [lo, hi] (ties averaged, as R's rank) are values within the window's bounds.
    let (Some((r_lo, r_hi)), Some((e_lo, e_hi))) = (rank_window(&log_r, lo_l, hi_l), rank_window(&abs_e, lo_s, hi_s))
    else {
        return 1.0;
    };
    let (mut num, mut den) = (0.0, 0.0);
    for k in 0..log_r.len() {
        if log_r[k] >= r_lo && log_r[k] <= r_hi && abs_e[k] >= e_lo && abs_e[k] <= e_hi {
            // The variance only for the genes kept (about a third).
            let (i, o) = (genes[k], obs[genes[k]]);
            let var = (n_o - o) / n_o / o + reference.variance[i];
            num += log_r[k] / var;
            den += 1.0 / var;
        }
    }
    let f = num / den;
    if f.is_finite() { f.exp2() } else { 1.0 }
}

/// CPM on effective library sizes (library size × normalisation factor), as edgeR's
/// `cpm(DGEList)`.
pub fn effective_cpm(counts: &FeatureMatrix<f64>, factors: &[Option<f64>]) -> Transform {
    let effective: Vec<Option<f64>> =
        library_sizes(counts).iter().zip(factors).map(|(&lib, f)| f.filter(|_| lib > 0.0).map(|f| lib * f)).collect();
    Transform::by_sample(counts, &effective, |effective, v| v / effective * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_gene_with_reads_factors_are_one_as_edger_falls_back_to_none() {
        let zeros = FeatureMatrix::new(vec!["g1".into()], vec!["a".into(), "b".into()], vec![vec![0.0], vec![0.0]]);
        assert_eq!(tmm_factors(&zeros), vec![Some(1.0), Some(1.0)]);
        assert_eq!(upper_quartile_factors(&zeros), vec![Some(1.0), Some(1.0)]);
        let empty = FeatureMatrix::<f64>::new(Vec::new(), vec!["a".into()], vec![Vec::new()]);
        assert_eq!(tmm_factors(&empty), vec![Some(1.0)]);
        let missing =
            FeatureMatrix::<f64> { feature_ids: Vec::new(), sample_ids: vec!["a".into()], columns: vec![None] };
        assert_eq!(tmm_factors(&missing), vec![None]);
    }
}
