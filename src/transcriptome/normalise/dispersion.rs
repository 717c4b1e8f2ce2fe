//! DESeq2 1.38's dispersion estimates for an intercept-only design (`blind = TRUE`), step for
//! step as R computes them, because the VST is a function of the fitted trend and the trend of
//! where each gene-wise search stops:
//!
//! - `estimateDispersionsGeneEst`: the start is the smaller of the rough and the moments
//!   estimate (clamped to `[1e-8, max(10, samples)]`); `fitDisp` climbs the Cox–Reid adjusted
//!   log-likelihood of log α along its derivative with Armijo steps (at most 100, stopping when
//!   the gain is below 1e-6); a climb that gained almost nothing keeps the start; one that used
//!   every step or stopped at once is redone on `fitDispGrid`'s two 20-point grids.
//! - `estimateDispersionsFit`: only genes with α > 100 × 1e-8 feed the trend; the parametric
//!   trend α = a0 + a1/μ is R's gamma-GLM loop (`parametricDispersionFit`), and the mean trend
//!   is R's 0.1%-trimmed mean of the estimates above 10 × 1e-8.

use rayon::prelude::*;
use statrs::function::gamma::digamma;

use crate::stats::glm::gamma_identity;
use crate::stats::{seq_length, trimmed_mean};

/// DESeq2's `minDisp`.
pub const MIN_DISP: f64 = 1e-8;
/// DESeq2's `minmu` for the gene-wise fits.
const MIN_MU: f64 = 0.5;
/// `fitDisp`'s `maxit`, `dispTol` and Armijo constant.
const MAXIT: usize = 100;
const DISP_TOL: f64 = 1e-6;
const ARMIJO: f64 = 1e-4;

/// The present samples' counts (one slice per sample) and size factors.
pub struct Samples<'a> {
    /// Counts, one column per sample.
    pub columns: Vec<&'a [f64]>,
    /// DESeq2 size factors, one per column.
    pub size_factors: Vec<f64>,
    /// The design's group of each column (`blind = FALSE` with a one-factor design, whose rows
    /// form as many groups as it has coefficients: DESeq2's `linearMu` case); `None`: `~ 1`.
    pub groups: Option<Vec<usize>>,
}

impl Samples<'_> {
    /// `max(10, samples)`: DESeq2's upper bound on a dispersion.
    pub fn max_disp(&self) -> f64 {
        (self.columns.len() as f64).max(10.0)
    }

    /// Mean normalised count of gene `i` (`baseMean`).
    pub fn base_mean(&self, i: usize) -> f64 {
        let m = self.columns.len() as f64;
        self.columns.iter().zip(&self.size_factors).map(|(c, s)| c[i] / s).sum::<f64>() / m
    }
}

/// Gene-wise dispersions of the genes `rows` (NaN for an all-zero gene, which DESeq2 leaves out).
pub fn gene_wise(samples: &Samples<'_>, rows: &[usize]) -> Vec<f64> {
    let m = samples.columns.len();
    let max_disp = samples.max_disp();
    let xim = samples.size_factors.iter().map(|s| 1.0 / s).sum::<f64>() / m as f64;
    let single = vec![0usize; m];
    let groups: &[usize] = samples.groups.as_deref().unwrap_or(&single);
    let p = groups.iter().max().map_or(1, |g| g + 1);
    let sizes: Vec<f64> = (0..p).map(|g| groups.iter().filter(|&&x| x == g).count() as f64).collect();
    rows.par_iter()
        .map_init(
            || (vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; p]),
            |(y, q, mu, group_mean), &i| {
                for (j, column) in samples.columns.iter().enumerate() {
                    y[j] = column[i];
                    q[j] = y[j] / samples.size_factors[j];
                }
                if y.iter().all(|&v| v == 0.0) {
                    return f64::NAN;
                }
                let mean = q.iter().sum::<f64>() / m as f64;
                let var = q.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1) as f64;
                // linearModelMu: each sample's fitted normalised count is its group's mean.
                group_mean.fill(0.0);
                for (&g, &v) in groups.iter().zip(q.iter()) {
                    group_mean[g] += v;
                }
                for (g, n) in group_mean.iter_mut().zip(&sizes) {
                    *g /= n;
                }
                // roughDispEstimate: moments about max(1, fit), m - p degrees of freedom.
                let rough = (q
                    .iter()
                    .zip(groups)
                    .map(|(v, &g)| {
                        let mu1 = group_mean[g].max(1.0);
                        ((v - mu1) * (v - mu1) - mu1) / (mu1 * mu1)
                    })
                    .sum::<f64>()
                    / (m - p) as f64)
                    .max(0.0);
                let moments = (var - xim * mean) / (mean * mean);
                let start = rough.min(moments).max(MIN_DISP).min(max_disp);
                for ((mu, s), &g) in mu.iter_mut().zip(&samples.size_factors).zip(groups) {
                    *mu = (group_mean[g] * s).max(MIN_MU);
                }
                let gene = Gene::new(y, mu, samples.groups.as_ref().map(|_| (groups, p)));
                let climb = gene.fit_disp(start.ln());
                let mut alpha = climb.log_alpha.exp().min(max_disp);
                if climb.last_lp < climb.initial_lp + climb.initial_lp.abs() / 1e6 {
                    alpha = start;
                }
                let converged = climb.iterations < MAXIT && climb.iterations != 1;
                if !converged && alpha > MIN_DISP * 10.0 {
                    alpha = gene.fit_disp_grid(max_disp).exp();
                }
                alpha.clamp(MIN_DISP, max_disp)
            },
        )
        .collect()
}

/// One gene's counts and fitted means, with memos of `lgamma(y + 1/α)` and `digamma(y + 1/α)`
/// for small whole counts within one evaluation: low-count genes repeat a handful of values
/// across hundreds of samples, and each lookup returns the very value the call would.
struct Gene<'a> {
    y: &'a [f64],
    mu: &'a [f64],
    /// The design's groups and their number (`None`: intercept only).
    groups: Option<(&'a [usize], usize)>,
    memo: std::cell::RefCell<Memo>,
}

/// Values of a function at `y + r` for whole `y` below [`MEMO`], valid for one `r` (one stamp).
struct Memo {
    stamp: u64,
    stamps: [u64; MEMO],
    values: [f64; MEMO],
}

const MEMO: usize = 128;

impl Memo {
    fn new() -> Self {
        Memo { stamp: 0, stamps: [0; MEMO], values: [0.0; MEMO] }
    }

    /// Starts a new evaluation (a new `r`).
    fn next(&mut self) {
        self.stamp += 1;
    }

    /// `f(y + r)`, remembered for small whole `y` during this evaluation.
    fn get(&mut self, y: f64, r: f64, f: impl Fn(f64) -> f64) -> f64 {
        if y >= 0.0 && y < MEMO as f64 && y.fract() == 0.0 {
            let k = y as usize;
            if self.stamps[k] != self.stamp {
                self.stamps[k] = self.stamp;
                self.values[k] = f(y + r);
            }
            self.values[k]
        } else {
            f(y + r)
        }
    }
}

impl<'a> Gene<'a> {
    fn new(y: &'a [f64], mu: &'a [f64], groups: Option<(&'a [usize], usize)>) -> Self {
        Gene { y, mu, groups, memo: std::cell::RefCell::new(Memo::new()) }
    }
}

/// Where `fitDisp` stopped.
struct Climb {
    log_alpha: f64,
    iterations: usize,
    initial_lp: f64,
    last_lp: f64,
}

impl Gene<'_> {
    /// DESeq2's `log_posterior` without prior: the NB log-likelihood (terms constant in α
    /// dropped) with the Cox–Reid term `-½ log Σ w`, `w = 1/(1/μ + α)`.
    fn log_posterior(&self, log_alpha: f64) -> f64 {
        let alpha = log_alpha.exp();
        let r = 1.0 / alpha;
        let lgamma_r = crate::stats::rmath::lgammafn(r);
        let mut memo = self.memo.borrow_mut();
        memo.next();
        let mut ll = 0.0;
        for (&y, &mu) in self.y.iter().zip(self.mu) {
            let lgamma_yr = memo.get(y, r, crate::stats::rmath::lgammafn);
            ll += lgamma_yr - lgamma_r - y * (mu + r).ln() - r * (1.0 + mu * alpha).ln();
        }
        ll + self.cox_reid(alpha).0
    }

    /// DESeq2's `dlog_posterior`: the derivative of [`Gene::log_posterior`] in log α.
    fn dlog_posterior(&self, log_alpha: f64) -> f64 {
        let alpha = log_alpha.exp();
        let r = 1.0 / alpha;
        let digamma_r = digamma(r);
        let mut memo = self.memo.borrow_mut();
        memo.next();
        let mut ll = 0.0;
        for (&y, &mu) in self.y.iter().zip(self.mu) {
            let ma = mu * alpha;
            let digamma_yr = memo.get(y, r, digamma);
            ll += digamma_r + (1.0 + ma).ln() - ma / (1.0 + ma) - digamma_yr + y / (mu + r);
        }
        (ll / (alpha * alpha) + self.cox_reid(alpha).1) * alpha
    }

    /// The Cox–Reid term `-½ log det(XᵀWX)`, `W = diag(1/(1/μ + α))`, and its derivative in α
    /// (`-½ tr((XᵀWX)⁻¹ XᵀW'X)`). For a design of groups `XᵀWX` is, up to a change of basis of
    /// determinant 1 (intercept and treatment contrasts), diagonal in the groups: the sums run
    /// per group.
    fn cox_reid(&self, alpha: f64) -> (f64, f64) {
        let Some((groups, p)) = self.groups else {
            let (mut w, mut dw) = (0.0, 0.0);
            for &mu in self.mu {
                let inv = 1.0 / mu + alpha;
                w += 1.0 / inv;
                dw += -1.0 / (inv * inv);
            }
            return (-0.5 * w.ln(), -0.5 * dw / w);
        };
        let (mut w, mut dw) = (vec![0.0; p], vec![0.0; p]);
        for (&mu, &g) in self.mu.iter().zip(groups) {
            let inv = 1.0 / mu + alpha;
            w[g] += 1.0 / inv;
            dw[g] += -1.0 / (inv * inv);
        }
        let log_det: f64 = w.iter().map(|v| v.ln()).sum();
        let trace: f64 = w.iter().zip(&dw).map(|(a, b)| b / a).sum();
        (-0.5 * log_det, -0.5 * trace)
    }

    /// DESeq2's `fitDisp` line search from `a` (log α).
    fn fit_disp(&self, mut a: f64) -> Climb {
        let min_log_alpha = (MIN_DISP / 10.0).ln();
        let mut lp = self.log_posterior(a);
        let mut dlp = self.dlog_posterior(a);
        let initial_lp = lp;
        let mut kappa = 1.0;
        let (mut iterations, mut accepted) = (0, 0);
        for _ in 0..MAXIT {
            iterations += 1;
            let proposal = a + kappa * dlp;
            if proposal < -30.0 {
                kappa = (-30.0 - a) / dlp;
            }
            if proposal > 10.0 {
                kappa = (10.0 - a) / dlp;
            }
            let theta = -self.log_posterior(a + kappa * dlp);
            let theta_hat = -lp - kappa * ARMIJO * dlp * dlp;
            if theta <= theta_hat {
                accepted += 1;
                a += kappa * dlp;
                let lpnew = self.log_posterior(a);
                let change = lpnew - lp;
                if change < DISP_TOL {
                    lp = lpnew;
                    break;
                }
                if a < min_log_alpha {
                    break;
                }
                lp = lpnew;
                dlp = self.dlog_posterior(a);
                kappa = (kappa * 1.1).min(1.0);
                if accepted % 5 == 0 {
                    kappa /= 2.0;
                }
            } else {
                kappa /= 2.0;
            }
        }
        Climb { log_alpha: a, iterations, initial_lp, last_lp: lp }
    }

    /// DESeq2's `fitDispGrid`: the best of 20 log α from log 1e-8 to log max_disp, then the best
    /// of 20 over one grid step either side of it (first maximum on ties).
    fn fit_disp_grid(&self, max_disp: f64) -> f64 {
        let coarse = seq_length(MIN_DISP.ln(), max_disp.ln(), 20);
        let delta = coarse[1] - coarse[0];
        let best = |grid: &[f64]| {
            let mut best = (grid[0], self.log_posterior(grid[0]));
            for &a in &grid[1..] {
                let lp = self.log_posterior(a);
                if lp > best.1 {
                    best = (a, lp);
                }
            }
            best.0
        };
        let a_hat = best(&coarse);
        // Armadillo's linspace: start + k · step, the last point exactly the end.
        let (start, end) = (a_hat - delta, a_hat + delta);
        let step = (end - start) / 19.0;
        let mut fine: Vec<f64> = (0..19).map(|k| start + k as f64 * step).collect();
        fine.push(end);
        best(&fine)
    }
}

/// How the dispersion trend was fitted.
#[derive(Clone, Debug, PartialEq)]
pub enum Trend {
    /// α(μ) = a0 + a1/μ (DESeq2's `parametric`).
    Parametric {
        /// Asymptotic dispersion (`asymptDisp`).
        a0: f64,
        /// Extra-Poisson coefficient (`extraPois`).
        a1: f64,
    },
    /// One dispersion for every gene (DESeq2's `mean`).
    Mean(f64),
}

/// Why the parametric trend could not be fitted (R's `parametricDispersionFit` errors).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TrendError {
    /// Every gene-wise estimate sits within two orders of magnitude of the minimum.
    #[error(
        "all gene-wise dispersion estimates are within 2 orders of magnitude from the minimum value, so no trend can be fitted"
    )]
    NoGenes,
    /// The gamma GLM failed or gave a non-positive coefficient.
    #[error("the dispersion trend was not well captured by a/mean + b (parametric fit failed)")]
    Failed,
    /// The refits did not settle within 10 rounds.
    #[error("the parametric dispersion fit did not converge")]
    NotConverged,
}

/// The genes that feed a trend: α above 100 × the minimum (`useForFit`).
pub fn used_for_fit(dispersions: &[f64]) -> Vec<usize> {
    (0..dispersions.len()).filter(|&i| dispersions[i] > 100.0 * MIN_DISP).collect()
}

/// DESeq2's `parametricDispersionFit` on the genes `used` (see [`used_for_fit`]).
pub fn parametric_trend(means: &[f64], dispersions: &[f64], used: &[usize]) -> Result<Trend, TrendError> {
    if used.is_empty() {
        return Err(TrendError::NoGenes);
    }
    let mut coefs = [0.1, 1.0];
    let mut rounds = 0;
    loop {
        let good: Vec<usize> = used
            .iter()
            .copied()
            .filter(|&i| {
                let residual = dispersions[i] / (coefs[0] + coefs[1] / means[i]);
                residual > 1e-4 && residual < 15.0
            })
            .collect();
        let x: Vec<f64> = good.iter().map(|&i| 1.0 / means[i]).collect();
        let y: Vec<f64> = good.iter().map(|&i| dispersions[i]).collect();
        let fit = gamma_identity(&x, &y, coefs).map_err(|_| TrendError::Failed)?;
        let old = coefs;
        coefs = fit.coefficients;
        if !coefs.iter().all(|&c| c > 0.0) {
            return Err(TrendError::Failed);
        }
        let change = (coefs[0] / old[0]).ln().powi(2) + (coefs[1] / old[1]).ln().powi(2);
        if change < 1e-6 && fit.converged {
            return Ok(Trend::Parametric { a0: coefs[0], a1: coefs[1] });
        }
        rounds += 1;
        if rounds > 10 {
            return Err(TrendError::NotConverged);
        }
    }
}

/// DESeq2's `mean` fit: the 0.1%-trimmed mean of the estimates above 10 × the minimum.
pub fn mean_trend(dispersions: &[f64]) -> Result<Trend, TrendError> {
    let mut d: Vec<f64> = dispersions.iter().copied().filter(|&x| x > 10.0 * MIN_DISP).collect();
    if d.is_empty() {
        return Err(TrendError::NoGenes);
    }
    Ok(Trend::Mean(trimmed_mean(&mut d, 0.001)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivative_is_the_slope_of_the_log_posterior() {
        let y = [3.0, 10.0, 0.0, 25.0, 7.0, 12.0];
        let mu = [8.0, 9.5, 7.0, 12.0, 8.5, 10.0];
        let gene = Gene::new(&y, &mu, None);
        for a in [-4.0, -1.0, 0.5] {
            let h = 1e-5;
            let numeric = (gene.log_posterior(a + h) - gene.log_posterior(a - h)) / (2.0 * h);
            assert!((numeric - gene.dlog_posterior(a)).abs() < 1e-6, "at {a}: {numeric} vs {}", gene.dlog_posterior(a));
        }
        // The climb ends at a stationary point of the log posterior.
        let climb = gene.fit_disp(-3.0);
        assert!(gene.dlog_posterior(climb.log_alpha).abs() < 0.05, "{}", climb.log_alpha);
    }

    #[test]
    fn trend_needs_genes_away_from_the_minimum() {
        let disp = [MIN_DISP, 50.0 * MIN_DISP, 0.3];
        assert_eq!(used_for_fit(&disp), vec![2]);
        assert_eq!(parametric_trend(&[1.0, 2.0, 3.0], &disp, &[]), Err(TrendError::NoGenes));
        assert_eq!(mean_trend(&[MIN_DISP]), Err(TrendError::NoGenes));
    }
}
