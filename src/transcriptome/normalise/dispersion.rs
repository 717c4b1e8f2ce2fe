//! DESeq2 1.38's gene-wise dispersion estimates and their trend, step for step as R computes
//! them, because the VST is a function of the fitted trend and the trend of where each
//! gene-wise search stops:
//!
//! - `estimateDispersionsGeneEst`: the start is the smaller of the rough and the moments
//!   estimate (clamped to `[1e-8, max(10, samples)]`); the fitted means are the design's group
//!   means when it has as many distinct rows as coefficients (`linearMu`: `~ 1`, `~ timepoint`)
//!   and otherwise `fitNbinomGLMs`' IRLS at the start dispersion (`~ batch + timepoint`);
//!   `fitDisp` climbs the Cox–Reid adjusted log-likelihood of log α along its derivative with
//!   Armijo steps (at most 100, stopping when the gain is below 1e-6); a climb that gained
//!   almost nothing keeps the start; one that used every step or stopped at once is redone on
//!   `fitDispGrid`'s two 20-point grids.
//! - `estimateDispersionsFit`: only genes with α > 100 × 1e-8 feed the trend; the parametric
//!   trend α = a0 + a1/μ is R's gamma-GLM loop (`parametricDispersionFit`), and the mean trend
//!   is R's 0.1%-trimmed mean of the estimates above 10 × 1e-8.
//!
//! Where R's IRLS does not converge in 100 steps it refines the coefficients with `optim`
//! (L-BFGS-B), which is not ported: such genes keep the IRLS means and are counted.

use rayon::prelude::*;
use statrs::function::gamma::digamma;

pub use super::design::{Design, DesignError};
use crate::stats::glm::gamma_identity;
use crate::stats::linalg;
use crate::stats::locfit::{LocalFit, LocfitError};
use crate::stats::rmath::lgammafn;
use crate::stats::{from_total_order_key, seq_length, total_order_key, trimmed_mean};

/// DESeq2's `minDisp`.
pub const MIN_DISP: f64 = 1e-8;
/// DESeq2's `minmu` for the gene-wise fits.
const MIN_MU: f64 = 0.5;
/// `fitDisp`'s `maxit`, `dispTol` and Armijo constant.
const MAXIT: usize = 100;
const DISP_TOL: f64 = 1e-6;
const ARMIJO: f64 = 1e-4;
/// `fitNbinomGLMs`' ridge (1e-6 on the log2 scale), its `maxit`, `betaTol` and bound `large`.
const GLM_RIDGE: f64 = 1e-6;
const GLM_MAXIT: usize = 100;
const GLM_TOL: f64 = 1e-8;
const GLM_LARGE: f64 = 30.0;

/// The present samples' counts (one slice per sample) and size factors.
pub struct Samples<'a> {
    /// Counts, one column per sample.
    pub columns: Vec<&'a [f64]>,
    /// DESeq2 size factors, one per column.
    pub size_factors: Vec<f64>,
    /// The design (`blind = FALSE`); `None`: `~ 1`.
    pub design: Option<Design>,
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

/// The gene-wise estimates and how many genes' means did not converge (see the module notes).
pub struct GeneWise {
    /// Per gene (NaN for an all-zero gene, which DESeq2 leaves out).
    pub dispersions: Vec<f64>,
    /// Genes whose IRLS means stopped unconverged (R would refine them with `optim`).
    pub unconverged_means: usize,
}

/// What the fits share across genes: the design by distinct rows, and for a design without
/// `linearMu` the factor of `XᵀX` and the ridge.
struct Model<'a> {
    row_of: &'a [usize],
    rows: Vec<Vec<f64>>,
    /// Samples per distinct row.
    sizes: Vec<f64>,
    /// `Some` for the IRLS means: the upper Cholesky factor of `XᵀX`, and the ridge on the
    /// natural-log scale (`1e-6 / log(2)²`).
    glm: Option<(Vec<f64>, f64)>,
    /// The Cox–Reid term of the group-means case: `log det(XᵀWX) = Σ log W_u + 2 log|det X_u|`.
    cox_reid: CoxReid,
}

/// How the Cox–Reid term is computed.
#[derive(Clone, Copy)]
enum CoxReid {
    /// `XᵀWX` is diagonal in the design's distinct rows up to a constant change of basis.
    Groups { log_det_rows: f64 },
    /// A general `p × p` determinant.
    General,
}

/// Gene-wise dispersions of the genes `rows`.
pub fn gene_wise(samples: &Samples<'_>, rows: &[usize]) -> GeneWise {
    let m = samples.columns.len();
    let max_disp = samples.max_disp();
    let xim = samples.size_factors.iter().map(|s| 1.0 / s).sum::<f64>() / m as f64;
    let single = vec![0usize; m];
    let model = match &samples.design {
        None => Model {
            row_of: &single,
            rows: vec![vec![1.0]],
            sizes: vec![m as f64],
            glm: None,
            cox_reid: CoxReid::Groups { log_det_rows: 0.0 },
        },
        Some(design) => {
            let sizes = design.row_sizes();
            let p = design.coefficients();
            let (glm, cox_reid) = if design.linear_mu() {
                let log_det_rows = linalg::log_abs_det(&design.rows).unwrap_or(0.0);
                (None, CoxReid::Groups { log_det_rows })
            } else {
                let mut xtx = vec![0.0; p * p];
                linalg::add_weighted_gram(&design.rows, &sizes, &mut xtx);
                let mut chol = vec![0.0; p * p];
                linalg::cholesky_upper(&xtx, p, &mut chol);
                (Some((chol, GLM_RIDGE / std::f64::consts::LN_2.powi(2))), CoxReid::General)
            };
            Model { row_of: &design.row_of, rows: design.rows.clone(), sizes, glm, cox_reid }
        }
    };
    let model = &model;
    let unconverged = std::sync::atomic::AtomicUsize::new(0);
    let dispersions = rows
        .par_iter()
        .map_init(
            || (vec![0.0; m], vec![0.0; m], vec![0.0; m], Workspace::default()),
            |(y, q, mu, work), &i| {
                for (j, column) in samples.columns.iter().enumerate() {
                    y[j] = column[i];
                    q[j] = y[j] / samples.size_factors[j];
                }
                if y.iter().all(|&v| v == 0.0) {
                    return f64::NAN;
                }
                let mean = q.iter().sum::<f64>() / m as f64;
                let var = q.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1) as f64;
                // roughDispEstimate: moments about max(1, the least-squares fit), m - p degrees
                // of freedom.
                model.least_squares(q, &mut work.fitted, &mut work.scratch);
                let p = model.coefficients();
                let rough = (q
                    .iter()
                    .zip(model.row_of)
                    .map(|(v, &r)| {
                        let mu1 = work.fitted[r].max(1.0);
                        ((v - mu1) * (v - mu1) - mu1) / (mu1 * mu1)
                    })
                    .sum::<f64>()
                    / (m - p) as f64)
                    .max(0.0);
                let moments = (var - xim * mean) / (mean * mean);
                let start = rough.min(moments).max(MIN_DISP).min(max_disp);
                if model.glm.is_some() {
                    if !model.irls_means(y, &samples.size_factors, start, mu, work) {
                        unconverged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                } else {
                    // linearModelMuNormalized: each sample's fitted normalised count is its
                    // row's group mean.
                    for ((mu, s), &r) in mu.iter_mut().zip(&samples.size_factors).zip(model.row_of) {
                        *mu = (work.fitted[r] * s).max(MIN_MU);
                    }
                }
                let mut gene = Gene::new(y, mu, model, work);
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
        .collect();
    GeneWise { dispersions, unconverged_means: unconverged.into_inner() }
}

impl Model<'_> {
    fn coefficients(&self) -> usize {
        self.rows[0].len()
    }

    /// The least-squares fit of `values` on the design, per distinct row (`linearModelMu`; for
    /// `linearMu` designs the rows' group means).
    fn least_squares(&self, values: &[f64], fitted: &mut Vec<f64>, scratch: &mut Vec<f64>) {
        let u = self.rows.len();
        fitted.clear();
        fitted.resize(u, 0.0);
        for (&v, &r) in values.iter().zip(self.row_of) {
            fitted[r] += v;
        }
        let Some((chol, _)) = &self.glm else {
            for (f, n) in fitted.iter_mut().zip(&self.sizes) {
                *f /= n;
            }
            return;
        };
        let beta = self.solve_rows(chol, fitted, scratch);
        for (f, row) in fitted.iter_mut().zip(&self.rows) {
            *f = dot(row, &beta);
        }
    }

    /// Solves `(UᵀU) β = Σ_u x_u t_u` for per-row totals `t`.
    fn solve_rows(&self, chol: &[f64], totals: &[f64], scratch: &mut Vec<f64>) -> Vec<f64> {
        let p = self.coefficients();
        scratch.clear();
        scratch.resize(p, 0.0);
        for (row, t) in self.rows.iter().zip(totals) {
            for (s, x) in scratch.iter_mut().zip(row) {
                *s += x * t;
            }
        }
        let mut beta = vec![0.0; p];
        linalg::cholesky_solve(chol, p, scratch, &mut beta);
        beta
    }

    /// `fitNbinomGLMs`' means at dispersion `alpha`: the start is the least-squares fit of
    /// `log(normalised + 0.1)`, then `fitBeta`'s IRLS with the ridge, means bounded below by
    /// 0.5, stopping when the deviance changes by less than 1e-8 relative; the returned means
    /// are bounded by 0.5 as `estimateDispersionsGeneEst` bounds them. `false`: not converged
    /// (100 steps, a coefficient beyond ±30 or an undefined deviance).
    fn irls_means(&self, y: &[f64], sf: &[f64], alpha: f64, mu: &mut [f64], work: &mut Workspace) -> bool {
        let Some((chol, ridge)) = &self.glm else { return true };
        let (p, u) = (self.coefficients(), self.rows.len());
        let totals = &mut work.totals;
        totals.clear();
        totals.resize(u, 0.0);
        for ((&v, s), &r) in y.iter().zip(sf).zip(self.row_of) {
            totals[r] += (v / s + 0.1).ln();
        }
        let mut beta = self.solve_rows(chol, totals, &mut work.scratch);
        let r_size = 1.0 / alpha;
        // The deviance's terms constant in μ.
        let lgamma_r = lgammafn(r_size);
        let constant: f64 = y.iter().map(|&v| lgammafn(v + r_size) - lgamma_r - lgammafn(v + 1.0)).sum();
        let means = |beta: &[f64], mu: &mut [f64], eta: &mut Vec<f64>| {
            eta.clear();
            eta.extend(self.rows.iter().map(|row| dot(row, beta).exp()));
            for ((m, s), &r) in mu.iter_mut().zip(sf).zip(self.row_of) {
                *m = (s * eta[r]).max(MIN_MU);
            }
        };
        means(&beta, mu, &mut work.eta);
        let (mut dev_old, mut converged) = (0.0, false);
        let mut a = vec![0.0; p * p];
        let mut a_chol = vec![0.0; p * p];
        let (mut w_rows, mut wz_rows) = (vec![0.0; u], vec![0.0; u]);
        for t in 0..GLM_MAXIT {
            w_rows.fill(0.0);
            wz_rows.fill(0.0);
            for ((&v, &m), (&s, &r)) in y.iter().zip(mu.iter()).zip(sf.iter().zip(self.row_of)) {
                let w = m / (1.0 + alpha * m);
                let z = (m / s).ln() + (v - m) / m;
                w_rows[r] += w;
                wz_rows[r] += w * z;
            }
            a.fill(0.0);
            linalg::add_weighted_gram(&self.rows, &w_rows, &mut a);
            for i in 0..p {
                a[i * p + i] += ridge;
            }
            if !linalg::cholesky_upper(&a, p, &mut a_chol) {
                break;
            }
            beta = self.solve_rows(&a_chol, &wz_rows, &mut work.scratch);
            if beta.iter().any(|b| b.abs() > GLM_LARGE) {
                break;
            }
            means(&beta, mu, &mut work.eta);
            let mut ll = constant;
            for (&v, &m) in y.iter().zip(mu.iter()) {
                ll += r_size * (r_size / (r_size + m)).ln();
                if v > 0.0 {
                    ll += v * (m / (r_size + m)).ln();
                }
            }
            let dev = -2.0 * ll;
            let change = (dev - dev_old).abs() / (dev.abs() + 0.1);
            if change.is_nan() {
                break;
            }
            if t > 0 && change < GLM_TOL {
                converged = true;
                break;
            }
            dev_old = dev;
        }
        converged
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// One gene's counts and fitted means, and what its evaluations share. Every term is R's
/// expression (the same operations on the same operands, but `log(μ + 1/α)`, see
/// [`Gene::log_posterior`]), only computed once:
/// `lgamma`/`digamma` of `y + 1/α` once per distinct count (low and middling counts repeat across
/// hundreds of samples), `1/μ` once per gene, and `log(1 + μα)` of the last log posterior kept
/// for the derivative at the same α (the line search asks for both at every accepted step).
struct Gene<'a> {
    y: &'a [f64],
    mu: &'a [f64],
    model: &'a Model<'a>,
    work: &'a mut Workspace,
}

/// Per-gene buffers, reused across the genes a thread fits.
#[derive(Default)]
struct Workspace {
    inv_mu: Vec<f64>,
    /// The gene's distinct counts, and each sample's index among them.
    distinct: Vec<f64>,
    keys: Vec<(i64, u32)>,
    index: Vec<u32>,
    /// `lgamma` or `digamma` of each distinct count plus 1/α.
    table: Vec<f64>,
    /// `log(1 + μα)` per sample at log α = `at` (NaN: none kept).
    log1p_mu_alpha: Vec<f64>,
    at: f64,
    /// Cox–Reid sums per distinct design row, and the `p × p` matrices of the general case.
    w: Vec<f64>,
    dw: Vec<f64>,
    b: Vec<f64>,
    b_chol: Vec<f64>,
    /// Least-squares and IRLS buffers.
    fitted: Vec<f64>,
    totals: Vec<f64>,
    eta: Vec<f64>,
    scratch: Vec<f64>,
}

impl<'a> Gene<'a> {
    fn new(y: &'a [f64], mu: &'a [f64], model: &'a Model<'a>, work: &'a mut Workspace) -> Self {
        work.inv_mu.clear();
        work.inv_mu.extend(mu.iter().map(|m| 1.0 / m));
        // One sort of (count, sample) pairs gives the distinct counts and each sample's index.
        work.keys.clear();
        work.keys.extend(y.iter().enumerate().map(|(j, v)| (total_order_key(*v), j as u32)));
        work.keys.sort_unstable();
        work.distinct.clear();
        work.index.resize(y.len(), 0);
        let mut last = None;
        for &(key, j) in &work.keys {
            if last != Some(key) {
                last = Some(key);
                work.distinct.push(from_total_order_key(key));
            }
            work.index[j as usize] = (work.distinct.len() - 1) as u32;
        }
        work.table.resize(work.distinct.len(), 0.0);
        work.log1p_mu_alpha.resize(y.len(), 0.0);
        work.at = f64::NAN;
        let (u, p) = (model.rows.len(), model.coefficients());
        work.w.resize(u, 0.0);
        work.dw.resize(u, 0.0);
        work.b.resize(p * p, 0.0);
        work.b_chol.resize(p * p, 0.0);
        Gene { y, mu, model, work }
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
    fn log_posterior(&mut self, log_alpha: f64) -> f64 {
        let alpha = log_alpha.exp();
        let r = 1.0 / alpha;
        let lgamma_r = lgammafn(r);
        let work = &mut *self.work;
        crate::stats::rmath::lgammafn_shifted(&work.distinct, r, &mut work.table);
        // R takes `log(mu + 1/α)` and `log(1 + μα)` per sample; the first is the second plus
        // `log(1/α)`, which halves the logarithms (a third of the whole VST's time) for a sum
        // that differs from R's in its last bits, as the order of R's (Armadillo's) sum already
        // makes it differ. The logarithms come first, in a loop of their own (a libm call per
        // iteration would spill the sum and serialise the loop), then the sum in R's order.
        let ln_r = r.ln();
        for (log1p, &mu) in work.log1p_mu_alpha.iter_mut().zip(self.mu) {
            *log1p = (1.0 + mu * alpha).ln();
        }
        let mut ll = 0.0;
        for j in 0..self.y.len() {
            let (y, log1p) = (self.y[j], work.log1p_mu_alpha[j]);
            ll += work.table[work.index[j] as usize] - lgamma_r - y * (log1p + ln_r) - r * log1p;
        }
        work.at = log_alpha;
        ll + self.cox_reid_term(alpha)
    }

    /// DESeq2's `dlog_posterior`: the derivative of [`Gene::log_posterior`] in log α.
    fn dlog_posterior(&mut self, log_alpha: f64) -> f64 {
        let alpha = log_alpha.exp();
        let r = 1.0 / alpha;
        let digamma_r = digamma(r);
        let work = &mut *self.work;
        for (t, &d) in work.table.iter_mut().zip(&work.distinct) {
            *t = digamma(d + r);
        }
        let kept = work.at.to_bits() == log_alpha.to_bits();
        let mut ll = 0.0;
        for j in 0..self.y.len() {
            let (y, mu) = (self.y[j], self.mu[j]);
            let ma = mu * alpha;
            let log1p = if kept { work.log1p_mu_alpha[j] } else { (1.0 + ma).ln() };
            ll += digamma_r + log1p - ma / (1.0 + ma) - work.table[work.index[j] as usize] + y / (mu + r);
        }
        (ll / (alpha * alpha) + self.cox_reid_derivative(alpha)) * alpha
    }

    /// The Cox–Reid term alone (the log posterior needs no derivative).
    fn cox_reid_term(&mut self, alpha: f64) -> f64 {
        self.cox_reid_sums(alpha, false);
        let work = &mut *self.work;
        match self.model.cox_reid {
            CoxReid::Groups { log_det_rows } => {
                -0.5 * (work.w.iter().map(|v| v.ln()).sum::<f64>() + 2.0 * log_det_rows)
            }
            CoxReid::General => -0.5 * self.general_log_det(),
        }
    }

    /// The derivative in α of the Cox–Reid term `-½ log det(XᵀWX)`, `W = diag(1/(1/μ + α))`:
    /// `-½ tr((XᵀWX)⁻¹ XᵀW'X)`. For a design whose distinct rows are as many as its
    /// coefficients `XᵀWX = X_uᵀ diag(W_u) X_u`, and the trace is a sum of `W'_u / W_u`.
    fn cox_reid_derivative(&mut self, alpha: f64) -> f64 {
        self.cox_reid_sums(alpha, false);
        let general = matches!(self.model.cox_reid, CoxReid::General);
        if general && !self.factor_b() {
            return f64::NAN;
        }
        self.cox_reid_sums(alpha, true);
        let work = &mut *self.work;
        let trace = match self.model.cox_reid {
            CoxReid::Groups { .. } => work.w.iter().zip(&work.dw).map(|(a, b)| b / a).sum(),
            CoxReid::General => {
                let p = self.model.coefficients();
                work.scratch.resize(p, 0.0);
                let mut trace = 0.0;
                for (row, dw) in self.model.rows.iter().zip(&work.dw) {
                    linalg::cholesky_solve(&work.b_chol, p, row, &mut work.scratch);
                    trace += dw * dot(row, &work.scratch);
                }
                trace
            }
        };
        -0.5 * trace
    }

    /// `W_u = Σ 1/(1/μ + α)` per distinct row (and `W'_u = Σ -1/(1/μ + α)²` with `derivative`).
    fn cox_reid_sums(&mut self, alpha: f64, derivative: bool) {
        let work = &mut *self.work;
        if work.w.len() == 1 {
            if derivative {
                work.dw[0] = work.inv_mu.iter().map(|&inv_mu| -1.0 / ((inv_mu + alpha) * (inv_mu + alpha))).sum();
            } else {
                work.w[0] = work.inv_mu.iter().map(|&inv_mu| 1.0 / (inv_mu + alpha)).sum();
            }
            return;
        }
        if derivative {
            work.dw.fill(0.0);
            for (&inv_mu, &r) in work.inv_mu.iter().zip(self.model.row_of) {
                let inv = inv_mu + alpha;
                work.dw[r] += -1.0 / (inv * inv);
            }
        } else {
            work.w.fill(0.0);
            for (&inv_mu, &r) in work.inv_mu.iter().zip(self.model.row_of) {
                work.w[r] += 1.0 / (inv_mu + alpha);
            }
        }
    }

    /// Factors `B = Σ_u W_u x_u x_uᵀ` (Cholesky, upper) into the workspace.
    fn factor_b(&mut self) -> bool {
        let p = self.model.coefficients();
        let work = &mut *self.work;
        work.b.fill(0.0);
        linalg::add_weighted_gram(&self.model.rows, &work.w, &mut work.b);
        linalg::cholesky_upper(&work.b, p, &mut work.b_chol)
    }

    /// `log det B` from its Cholesky factor.
    fn general_log_det(&mut self) -> f64 {
        if !self.factor_b() {
            return f64::NAN;
        }
        let p = self.model.coefficients();
        2.0 * (0..p).map(|k| self.work.b_chol[k * p + k].ln()).sum::<f64>()
    }

    /// DESeq2's `fitDisp` line search from `a` (log α).
    fn fit_disp(&mut self, mut a: f64) -> Climb {
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
                // R evaluates the log posterior at the new `a` again: the very value of `theta`.
                let lpnew = -theta;
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
    fn fit_disp_grid(&mut self, max_disp: f64) -> f64 {
        let coarse = seq_length(MIN_DISP.ln(), max_disp.ln(), 20);
        let delta = coarse[1] - coarse[0];
        let mut best = |grid: &[f64]| {
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
    /// `exp` of a locfit of log dispersion on log mean, weighted by the means (DESeq2's `local`).
    Local(Box<LocalFit>),
}

impl Trend {
    /// The trend's dispersion at mean normalised count `mean` (DESeq2's `dispersionFunction`).
    pub fn at(&self, mean: f64) -> f64 {
        match self {
            Trend::Parametric { a0, a1 } => a0 + a1 / mean,
            Trend::Mean(d) => *d,
            Trend::Local(fit) => fit.predict(mean.ln()).exp(),
        }
    }
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
    /// locfit stopped (R's `localDispersionFit` errors with it).
    #[error("the local dispersion fit (locfit) failed: {0}")]
    Local(LocfitError),
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

/// DESeq2's `localDispersionFit` on the genes `used`: `locfit(log(disp) ~ log(mean),
/// weights = mean)` over those with α ≥ 10 × the minimum (all of `used`).
pub fn local_trend(means: &[f64], dispersions: &[f64], used: &[usize]) -> Result<Trend, TrendError> {
    let fit: Vec<usize> = used.iter().copied().filter(|&i| dispersions[i] >= 10.0 * MIN_DISP).collect();
    if fit.is_empty() {
        return Err(TrendError::NoGenes);
    }
    let x: Vec<f64> = fit.iter().map(|&i| means[i].ln()).collect();
    let y: Vec<f64> = fit.iter().map(|&i| dispersions[i].ln()).collect();
    let w: Vec<f64> = fit.iter().map(|&i| means[i]).collect();
    LocalFit::fit(&x, &y, &w).map(|f| Trend::Local(Box::new(f))).map_err(TrendError::Local)
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
        let mut work = Workspace::default();
        let row_of = [0; 6];
        let model = Model {
            row_of: &row_of,
            rows: vec![vec![1.0]],
            sizes: vec![6.0],
            glm: None,
            cox_reid: CoxReid::Groups { log_det_rows: 0.0 },
        };
        let mut gene = Gene::new(&y, &mu, &model, &mut work);
        for a in [-4.0, -1.0, 0.5] {
            let h = 1e-5;
            let numeric = (gene.log_posterior(a + h) - gene.log_posterior(a - h)) / (2.0 * h);
            let fresh = gene.dlog_posterior(a);
            // The derivative right after the log posterior at the same α reuses its logs.
            gene.log_posterior(a);
            assert_eq!(gene.dlog_posterior(a).to_bits(), fresh.to_bits());
            assert!((numeric - fresh).abs() < 1e-6, "at {a}: {numeric} vs {fresh}");
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
