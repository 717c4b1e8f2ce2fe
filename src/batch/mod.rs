//! ComBat (Johnson, Li & Rabinovic 2007), parametric or non-parametric empirical Bayes on
//! log-scale data, with protected covariates: the batch effect is removed while the covariates'
//! effect (the timepoint, always, in a time course) stays in the data. Follows R's sva 3.46
//! `ComBat` step for step: sample variances (n − 1) for the batch scales and the priors, the
//! pooled variance over all samples, `it.sol`'s convergence rule, the mean-only model when a
//! batch has a single sample, and genes constant within a batch left uncorrected. inmoose's
//! `pycombat_norm` differs from R here (population variances, ddof 0: up to 0.037 on the
//! fixture's VST), so R is the reference.

pub mod combat_seq;
pub mod options;

pub use options::{BatchCorrectionOptions, BatchMethod};

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::parallel::CollectInOrder;

/// Why ComBat cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The data or labels do not allow a correction.
    #[error("{0}")]
    Design(String),
    /// The design cannot separate batch from the protected covariates.
    #[error(
        "batch and the protected covariates are confounded (the design is singular): some covariate level \
         occurs in one batch only, so its effect cannot be told from the batch's"
    )]
    Confounded,
    /// ComBat-seq was given a value that is not a count (`row`, `column` of its input).
    #[error("ComBat-seq needs non-negative integer counts; row {} holds {value}", row + 1)]
    NotACount {
        /// Row of the input.
        row: usize,
        /// Column of the input.
        column: usize,
        /// The value.
        value: f64,
    },
    /// Samples (columns of the input, with their batches) without a read in the genes
    /// ComBat-seq corrects: a failed library, whose offset would be infinite.
    #[error("{} {} no reads in the genes ComBat-seq corrects; remove the failed sample", describe_samples(columns, batches), if columns.len() == 1 { "has" } else { "have" })]
    EmptyLibraries {
        /// Columns of the input.
        columns: Vec<usize>,
        /// Their batches.
        batches: Vec<String>,
    },
}

fn describe_samples(columns: &[usize], batches: &[String]) -> String {
    let each: Vec<String> =
        columns.iter().zip(batches).map(|(j, b)| format!("sample {} (batch {b:?})", j + 1)).collect();
    each.join(", ")
}

impl BatchError {
    /// The error with input positions replaced by the caller's feature (`feature(row)`) and
    /// sample (`sample(column)`) ids.
    pub fn named<'a>(&self, feature: impl Fn(usize) -> &'a str, sample: impl Fn(usize) -> &'a str) -> String {
        match self {
            BatchError::NotACount { row, column, value } => format!(
                "feature {:?}, sample {:?}: {value} is not a count; ComBat-seq needs non-negative integer counts",
                feature(*row),
                sample(*column)
            ),
            BatchError::EmptyLibraries { columns, .. } => {
                let names: Vec<&str> = columns.iter().map(|&j| sample(j)).collect();
                format!("samples {names:?} have no counted reads; a failed library cannot be corrected: remove it")
            }
            other => other.to_string(),
        }
    }
}

/// Runs a correction protecting `protected`; when batch and a protected covariate are
/// confounded and `force` is set, runs it again with nothing protected. Returns the result and
/// whether protection was dropped.
pub fn protecting<T>(
    protected: &[Vec<String>],
    force: bool,
    correct: impl Fn(&[Vec<String>]) -> Result<T, BatchError>,
) -> Result<(T, bool), BatchError> {
    match correct(protected) {
        Err(BatchError::Confounded) if force => Ok((correct(&[])?, true)),
        other => other.map(|t| (t, false)),
    }
}

/// The rows ComBat or ComBat-seq can correct: a value in every sample. The others are left as
/// they are. (ComBat itself leaves genes constant within a batch as they are, as sva does.)
pub fn correctable_rows<T: Sync>(
    m: &crate::matrix::FeatureMatrix<T>,
    value: impl Fn(&T) -> Option<f64> + Sync,
) -> Vec<usize> {
    let all: Vec<usize> = (0..m.sample_ids.len()).collect();
    correctable_rows_of(m, &all, value)
}

/// [`correctable_rows`] over the samples in `columns` only.
pub fn correctable_rows_of<T: Sync>(
    m: &crate::matrix::FeatureMatrix<T>,
    columns: &[usize],
    value: impl Fn(&T) -> Option<f64> + Sync,
) -> Vec<usize> {
    // In parallel over rows; an indexed filter keeps their order.
    (0..m.feature_ids.len())
        .into_par_iter()
        .filter(|&i| columns.iter().all(|&j| m.get(i, j).and_then(&value).is_some()))
        .collect()
}

/// Level indices of a categorical variable, levels sorted.
fn levels(values: &[String]) -> (Vec<String>, Vec<usize>) {
    let names: Vec<String> = values.iter().cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let codes = values.iter().map(|v| index[v.as_str()]).collect();
    (names, codes)
}

/// Solves the symmetric positive-definite system `a x = b` (Cholesky); `None` when singular.
fn solve_spd(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 1e-12 * a[i][i].abs().max(1.0) {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// ComBat's design: one indicator column per batch, then each protected covariate's levels
/// but the first (patsy's treatment coding, as inmoose builds it).
struct Design {
    batch_names: Vec<String>,
    batch_of: Vec<usize>,
    /// Columns of the design, each one value per sample.
    columns: Vec<Vec<f64>>,
}

impl Design {
    fn new(batch: &[String], protected: &[Vec<String>]) -> Result<Self, BatchError> {
        let n = batch.len();
        let (batch_names, batch_of) = levels(batch);
        if batch_names.len() < 2 {
            return Err(BatchError::Design("batch correction needs at least two batches".into()));
        }
        let mut columns: Vec<Vec<f64>> =
            (0..batch_names.len()).map(|b| (0..n).map(|j| f64::from(u8::from(batch_of[j] == b))).collect()).collect();
        for cov in protected {
            let (names, codes) = levels(cov);
            for level in 1..names.len() {
                columns.push((0..n).map(|j| f64::from(u8::from(codes[j] == level))).collect());
            }
        }
        Ok(Design { batch_names, batch_of, columns })
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// R's `var`: the sample variance (n − 1).
fn var1(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
}

crate::choice::named_enum! {
    /// How ComBat pools the batch effects of all features into its priors.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Prior {
        /// Normal prior on the location, inverse gamma on the scale (sva's `par.prior = TRUE`).
        Parametric = "parametric",
        /// The empirical distribution of the other features' estimates (`par.prior = FALSE`): slower
        /// (quadratic in features) but free of distributional assumptions.
        Nonparametric = "nonparametric",
    }
    default Parametric
}

/// ComBat. `data[gene][sample]` (log scale, no missing values), one batch label per sample, and
/// protected categorical covariates (each a label per sample).
pub fn combat(
    data: &[Vec<f64>],
    batch: &[String],
    protected: &[Vec<String>],
    prior: Prior,
) -> Result<Vec<Vec<f64>>, BatchError> {
    let mut corrected = data.to_vec();
    combat_in_place(&mut corrected, batch, protected, prior)?;
    Ok(corrected)
}

/// [`combat`] writing the corrected values over `data`. Nothing is written unless it succeeds
/// (every refusal comes from the design or the per-gene fits, before any value changes). It
/// holds no standardised copy of the matrix: a standardised value is recomputed from the
/// original one where it is needed, by the same expression, so the result has the same bits
/// with one genes × samples matrix less; each batch's standardised values are gathered once,
/// for its priors.
pub fn combat_in_place(
    data: &mut [Vec<f64>],
    batch: &[String],
    protected: &[Vec<String>],
    prior: Prior,
) -> Result<(), BatchError> {
    let (_, batch_of) = levels(batch);
    let n_batch = batch_of.iter().max().map_or(0, |m| m + 1);
    // sva: a gene constant within a batch of two or more samples (e.g. all zero there) is left
    // as it is and takes no part in the priors.
    let constant_within_a_batch = |row: &[f64]| {
        (0..n_batch).any(|b| {
            let mut values = batch_of.iter().zip(row).filter(|(x, _)| **x == b).map(|(_, v)| *v);
            let first = values.next();
            let rest: Vec<f64> = values.collect();
            !rest.is_empty() && first.is_some_and(|f| rest.iter().all(|&v| v == f))
        })
    };
    let keep: Vec<usize> = (0..data.len()).into_par_iter().filter(|&i| !constant_within_a_batch(&data[i])).collect();
    if keep.len() == data.len() {
        return combat_all_rows(data, batch, protected, prior);
    }
    let mut rows: Vec<Vec<f64>> = keep.iter().map(|&i| std::mem::take(&mut data[i])).collect();
    let result = combat_all_rows(&mut rows, batch, protected, prior);
    for (row, &i) in rows.into_iter().zip(&keep) {
        data[i] = row;
    }
    result
}

/// [`combat_in_place`] on rows that all vary within every batch.
fn combat_all_rows(
    data: &mut [Vec<f64>],
    batch: &[String],
    protected: &[Vec<String>],
    prior: Prior,
) -> Result<(), BatchError> {
    let n = batch.len();
    let Design { batch_names, batch_of, columns: design } = Design::new(batch, protected)?;
    let n_batch = batch_names.len();
    let p = design.len();
    let xtx: Vec<Vec<f64>> =
        (0..p).map(|a| (0..p).map(|b| (0..n).map(|j| design[a][j] * design[b][j]).sum()).collect()).collect();
    let batch_sizes: Vec<f64> = (0..n_batch).map(|b| batch_of.iter().filter(|&&x| x == b).count() as f64).collect();
    // Per gene, in parallel: the fit (its grand mean and covariate effects, so the standardising
    // mean is recomputed where it is needed instead of stored as another genes × samples
    // matrix) and the pooled variance. The same expressions as a sequential loop, so the same
    // bits; the first failing gene in order is the one reported.
    type GeneFit = (f64, Vec<f64>, f64);
    let fits: Vec<GeneFit> = data
        .par_iter()
        .map(|y| {
            let xty: Vec<f64> = (0..p).map(|a| (0..n).map(|j| design[a][j] * y[j]).sum()).collect();
            let b_hat = solve_spd(&xtx, &xty).ok_or(BatchError::Confounded)?;
            let grand_mean: f64 = (0..n_batch).map(|b| batch_sizes[b] / n as f64 * b_hat[b]).sum();
            let fitted = |j: usize| (0..p).map(|a| design[a][j] * b_hat[a]).sum::<f64>();
            let var = (0..n).map(|j| (y[j] - fitted(j)).powi(2)).sum::<f64>() / n as f64;
            Ok((grand_mean, b_hat, var))
        })
        .collect_in_order()?;
    let mut fit = Vec::with_capacity(data.len());
    let mut var_pooled = Vec::with_capacity(data.len());
    for (grand_mean, b_hat, var) in fits {
        fit.push((grand_mean, b_hat));
        var_pooled.push(var);
    }
    let stand_mean = |i: usize, j: usize| {
        let (grand_mean, b_hat) = &fit[i];
        grand_mean + (n_batch..p).map(|a| design[a][j] * b_hat[a]).sum::<f64>()
    };
    let standardised = |i: usize, y: f64, j: usize| (y - stand_mean(i, j)) / var_pooled[i].sqrt();
    // Per batch: its standardised values, their location/scale estimates per gene, and the
    // empirical Bayes estimates from the priors across genes.
    let members: Vec<Vec<usize>> = (0..n_batch).map(|b| (0..n).filter(|&j| batch_of[j] == b).collect()).collect();
    // sva: a batch of one sample has no scale; every batch then gets the location model only.
    let mean_only = members.iter().any(|m| m.len() == 1);
    let mut gamma_star = Vec::with_capacity(n_batch);
    let mut delta_star = Vec::with_capacity(n_batch);
    for m in &members {
        let batch_data: Vec<Vec<f64>> = data
            .par_iter()
            .enumerate()
            .map(|(i, row)| m.iter().map(|&j| standardised(i, row[j], j)).collect())
            .collect();
        let gamma_hat: Vec<f64> = batch_data.par_iter().map(|x| mean(x)).collect();
        let delta_hat: Vec<f64> =
            if mean_only { vec![1.0; batch_data.len()] } else { batch_data.par_iter().map(|x| var1(x)).collect() };
        let (gs, ds) = match prior {
            Prior::Parametric if mean_only => {
                // postmean(gamma.hat, gamma.bar, 1, 1, t2), scales 1.
                let (g_bar, t2) = (mean(&gamma_hat), var1(&gamma_hat));
                (gamma_hat.iter().map(|g| (t2 * g + g_bar) / (t2 + 1.0)).collect(), vec![1.0; gamma_hat.len()])
            }
            Prior::Parametric => parametric(&batch_data, &gamma_hat, &delta_hat),
            Prior::Nonparametric => nonparametric(&batch_data, &gamma_hat, &delta_hat),
        };
        gamma_star.push(gs);
        delta_star.push(ds);
    }
    // The corrected values replace the original ones in place.
    data.par_iter_mut().enumerate().for_each(|(i, row)| {
        for (j, value) in row.iter_mut().enumerate() {
            let b = batch_of[j];
            *value = (standardised(i, *value, j) - gamma_star[b][i]) / delta_star[b][i].sqrt() * var_pooled[i].sqrt()
                + stand_mean(i, j);
        }
    });
    Ok(())
}

/// Parametric empirical Bayes for one batch: `x[gene]` holds the gene's standardised values in
/// the batch; iterates the posterior means to sva's `it.sol` convergence rule.
fn parametric(x: &[Vec<f64>], gamma_hat: &[f64], delta_hat: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let g = x.len();
    let g_bar = mean(gamma_hat);
    let t2 = var1(gamma_hat);
    let (m, s2) = (mean(delta_hat), var1(delta_hat));
    let a_prior = (2.0 * s2 + m * m) / s2;
    let b_prior = (m * s2 + m * m * m) / s2;
    let nb = x.first().map_or(0, Vec::len) as f64;
    let (mut g_old, mut d_old) = (gamma_hat.to_vec(), delta_hat.to_vec());
    let (mut g_new, mut d_new) = (g_old.clone(), d_old.clone());
    let mut change = 1.0;
    let mut count = 0;
    while change > 1e-4 && count < 1_000_000 {
        // Genes in parallel: each gene's update is its own, and the maximum below does not
        // depend on the order it is taken in.
        g_new.par_iter_mut().zip(d_new.par_iter_mut()).enumerate().for_each(|(i, (g, d))| {
            *g = (t2 * nb * gamma_hat[i] + d_old[i] * g_bar) / (t2 * nb + d_old[i]);
            let sum2: f64 = x[i].iter().map(|v| (v - *g).powi(2)).sum();
            *d = (0.5 * sum2 + b_prior) / (0.5 * nb + a_prior - 1.0);
        });
        // sva: max(|g_new − g_old| / g_old, |d_new − d_old| / d_old), denominators unsigned.
        change = (0..g)
            .into_par_iter()
            .map(|i| ((g_new[i] - g_old[i]).abs() / g_old[i]).max((d_new[i] - d_old[i]).abs() / d_old[i]))
            .reduce(|| f64::NEG_INFINITY, f64::max);
        g_old.clone_from(&g_new);
        d_old.clone_from(&d_new);
        count += 1;
    }
    (g_new, d_new)
}

/// Non-parametric empirical Bayes for one batch (sva's `int.eprior`): each gene's batch
/// effect is the average of every other gene's estimate, weighted by the likelihood of this
/// gene's values under it. The weights are formed in log space and scaled by their maximum,
/// the same ratio inmoose computes, without its underflow to all-zero weights on large batches.
/// Genes run in parallel; each weight sum runs in gene order, so the result does not depend on
/// the thread count.
fn nonparametric(x: &[Vec<f64>], gamma_hat: &[f64], delta_hat: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.first().map_or(0, Vec::len) as f64;
    // A gene constant within the batch (variance 0) has no likelihood: inmoose's NaN → 0 weight.
    let log_norm: Vec<f64> = delta_hat.iter().map(|&d| -0.5 * n * (2.0 * std::f64::consts::PI * d).ln()).collect();
    x.par_iter()
        .enumerate()
        .map(|(i, values)| {
            let (s1, s2) = values.iter().fold((0.0, 0.0), |(a, b), v| (a + v, b + v * v));
            let log_lh = |k: usize| {
                let (gk, dk) = (gamma_hat[k], delta_hat[k]);
                let sum2 = s2 - 2.0 * gk * s1 + n * gk * gk;
                log_norm[k] - sum2 / (2.0 * dk)
            };
            let usable = |k: &usize| *k != i && delta_hat[*k] > 0.0;
            let top = (0..gamma_hat.len()).filter(usable).map(log_lh).fold(f64::NEG_INFINITY, f64::max);
            let (mut w_sum, mut g_sum, mut d_sum) = (0.0, 0.0, 0.0);
            for k in (0..gamma_hat.len()).filter(usable) {
                let w = (log_lh(k) - top).exp();
                w_sum += w;
                g_sum += w * gamma_hat[k];
                d_sum += w * delta_hat[k];
            }
            (g_sum / w_sum, d_sum / w_sum)
        })
        .unzip()
}

/// A protected covariate × batch table (`level: batch: n, ...`), for a confounded design's refusal.
pub fn crosstab(labels: &[String], batches: &[String]) -> String {
    let mut levels: Vec<&String> = labels.iter().collect();
    levels.sort();
    levels.dedup();
    let mut names: Vec<&String> = batches.iter().collect();
    names.sort();
    names.dedup();
    levels
        .iter()
        .map(|l| {
            let counts: Vec<String> = names
                .iter()
                .map(|b| {
                    let n = labels.iter().zip(batches).filter(|(x, y)| x == l && y == b).count();
                    format!("{b}: {n}")
                })
                .collect();
            format!("{l} ({})", counts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn removes_a_batch_shift_and_keeps_the_protected_effect() {
        for prior in [Prior::Parametric, Prior::Nonparametric] {
            shift_removed(prior);
        }
    }

    fn shift_removed(prior: Prior) {
        // 30 genes, 8 samples: batch B adds +2, time point "late" adds +1, plus deterministic noise.
        let batch = labels(&["A", "A", "A", "A", "B", "B", "B", "B"]);
        let time = labels(&["early", "late", "early", "late", "early", "late", "early", "late"]);
        let data: Vec<Vec<f64>> = (0..30)
            .map(|i| {
                (0..8)
                    .map(|j| {
                        let noise = (((i * 31 + j * 17) % 13) as f64 - 6.0) / 20.0;
                        5.0 + i as f64 * 0.1
                            + if j >= 4 { 2.0 } else { 0.0 }
                            + if j % 2 == 1 { 1.0 } else { 0.0 }
                            + noise
                    })
                    .collect()
            })
            .collect();
        let out = combat(&data, &batch, &[time], prior).expect("combat");
        let avg = |rows: &[Vec<f64>], cols: &[usize]| {
            rows.iter().map(|r| cols.iter().map(|&j| r[j]).sum::<f64>() / cols.len() as f64).sum::<f64>()
                / rows.len() as f64
        };
        let batch_gap_before = avg(&data, &[4, 5, 6, 7]) - avg(&data, &[0, 1, 2, 3]);
        let batch_gap_after = avg(&out, &[4, 5, 6, 7]) - avg(&out, &[0, 1, 2, 3]);
        let time_gap_after = avg(&out, &[1, 3, 5, 7]) - avg(&out, &[0, 2, 4, 6]);
        assert!((batch_gap_before - 2.0).abs() < 0.1);
        assert!(batch_gap_after.abs() < 0.05, "batch gap after ComBat: {batch_gap_after}");
        assert!((time_gap_after - 1.0).abs() < 0.1, "protected time effect: {time_gap_after}");
    }

    #[test]
    fn a_covariate_level_confined_to_one_batch_is_refused() {
        let batch = labels(&["A", "A", "B", "B"]);
        let time = labels(&["t0", "t0", "t1", "t1"]);
        let data = vec![vec![1.0, 2.0, 3.0, 4.0], vec![2.0, 1.0, 4.0, 3.0]];
        let err = combat(&data, &batch, &[time], Prior::Parametric).expect_err("confounded");
        assert!(err.to_string().contains("confounded"));
    }
}
