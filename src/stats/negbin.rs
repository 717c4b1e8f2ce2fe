//! edgeR's negative-binomial GLM machinery (edgeR 3.40's C++, reached through inmoose's `edgepy`
//! port, corrected where edgepy departs from edgeR: see [`adjusted_profile_lik`]): gene-wise fits
//! (one-way layouts by Newton's method per group, other designs by Levenberg–Marquardt),
//! `prior.count`-shrunk coefficients (`predFC`), Cox–Reid adjusted profile likelihoods, and
//! the common and tag-wise dispersion estimates built on them. ComBat-seq rests on all of it.
//!
//! Every routine follows its edgepy original step for step, quirks included (they are marked),
//! because ComBat-seq turns these estimates into integer counts: a dispersion that differs in
//! its sixth digit moves counts across integer boundaries.

// Index loops mirror the LAPACK, R and edgeR originals line for line, which is what makes
// the port checkable against them.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::linalg;
use super::optimise::{brent_fmin, maximize_interpolant};

const LOW_VALUE: f64 = 1e-10;
const SUPREMELY_LOW_VALUE: f64 = 1e-13;
const RIDICULOUSLY_LOW_VALUE: f64 = 1e-100;

/// numpy's `sum` along a contiguous axis (pairwise, eight accumulators), so row sums round as
/// inmoose's do.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for k in 0..8 {
                r[k] += a[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in &a[whole..] {
            res += x;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
    }
}

/// Unit deviance of a count under a negative binomial, with edgeR's Poisson (tiny dispersion)
/// and gamma (huge mean × dispersion) limits.
fn unit_deviance(y: f64, mu: f64, phi: f64) -> f64 {
    let y = y + 1e-8;
    let mu = mu + 1e-8;
    let resid = y - mu;
    let product = mu * phi;
    if phi < 1e-4 {
        // Quirk: edgepy's Cython evaluates edgeR's `2/3` in integer arithmetic, i.e. as 0.
        2.0 * (y * (y / mu).ln() - resid - 0.5 * resid * resid * phi * (1.0 + phi * (0.0 * resid - y)))
    } else if product > 1e6 {
        2.0 * (resid / mu - (y / mu).ln()) * mu / (1.0 + product)
    } else {
        2.0 * (y * (y / mu).ln() + (y + 1.0 / phi) * ((mu + 1.0 / phi) / (y + 1.0 / phi)).ln())
    }
}

/// A gene's deviance, using `scratch` (one slot per sample) for the unit deviances.
fn deviance_into(y: &[f64], mu: &[f64], phi: &[f64], scratch: &mut [f64]) -> f64 {
    for j in 0..y.len() {
        scratch[j] = unit_deviance(y[j], mu[j], phi[j]);
    }
    pairwise_sum(&scratch[..y.len()])
}

/// The one-group fit over the samples `members`: `log` of the mean count per unit of
/// `exp(offset)`, by Newton's method from the gamma solution (edgeR's `glm_one_group`).
/// `-inf` for an all-zero gene.
fn fit_one_group(y: &[f64], offset: &[f64], disp: &[f64], members: &[usize]) -> f64 {
    const MAXIT: usize = 50;
    const TOLERANCE: f64 = 1e-10;
    if members.iter().all(|&j| disp[j] == 0.0) {
        // Poisson: closed form.
        let lib: Vec<f64> = members.iter().map(|&j| offset[j].exp()).collect();
        let counts: Vec<f64> = members.iter().map(|&j| y[j]).collect();
        let counts = pairwise_sum(&counts);
        return if counts == 0.0 { f64::NEG_INFINITY } else { (counts / pairwise_sum(&lib)).ln() };
    }
    let mut beta = 0.0;
    let mut total_weight = 0.0;
    let mut nonzero = false;
    for &j in members {
        if y[j] > LOW_VALUE {
            beta += y[j] / offset[j].exp();
            nonzero = true;
        }
        total_weight += 1.0;
    }
    if !nonzero {
        return f64::NEG_INFINITY;
    }
    beta = (beta / total_weight).ln();
    for _ in 0..MAXIT {
        let (mut dl, mut info) = (0.0, 0.0);
        for &j in members {
            let mu = (beta + offset[j]).exp();
            let denom = 1.0 + mu * disp[j];
            dl += (y[j] - mu) / denom;
            info += mu / denom;
        }
        let step = dl / info;
        beta += step;
        if step.abs() < TOLERANCE {
            break;
        }
    }
    beta
}

/// A design matrix prepared for gene-wise NB fits.
#[derive(Clone, Debug)]
pub struct NbModel {
    /// `n × p`, one row per sample.
    design: Vec<Vec<f64>>,
    /// The one-way layout, when the design is one (as many distinct rows as columns).
    oneway: Option<OneWay>,
    /// Thin QR of the design, for Levenberg's null start.
    q: Vec<Vec<f64>>,
    r: Vec<Vec<f64>>,
    /// Each sample's non-zero design entries `(column, value)`, in column order.
    nonzero: Vec<Vec<(usize, f64)>>,
}

#[derive(Clone, Debug)]
struct OneWay {
    /// Group of each sample, groups ordered as edgeR's `designAsFactor` orders them.
    group_of: Vec<usize>,
    /// The samples of each group.
    members: Vec<Vec<usize>>,
    /// The design row of each group (`p × p`); `None` when it is the identity (group means are
    /// the coefficients).
    unique: Option<Vec<Vec<f64>>>,
}

/// Why a design cannot be fitted.
#[derive(Debug, thiserror::Error)]
#[error("design matrix is not of full column rank: some coefficients are not estimable")]
pub struct NotEstimable;

impl NbModel {
    /// Prepares `design` (`n × p`, full column rank).
    pub fn new(design: Vec<Vec<f64>>) -> Result<Self, NotEstimable> {
        let p = design.first().map_or(0, Vec::len);
        if p == 0 || linalg::rank(&design) < p {
            return Err(NotEstimable);
        }
        let (q, r) = linalg::qr_thin(&design);
        let oneway = one_way(&design);
        let nonzero =
            design.iter().map(|row| row.iter().copied().enumerate().filter(|&(_, v)| v != 0.0).collect()).collect();
        Ok(NbModel { design, oneway, q, r, nonzero })
    }

    /// An intercept-only model for `n` samples.
    pub fn intercept(n: usize) -> Self {
        Self::new(vec![vec![1.0]; n]).unwrap_or_else(|_| unreachable!("a column of ones has rank 1"))
    }

    /// Number of coefficients.
    pub fn coefficients(&self) -> usize {
        self.design[0].len()
    }

    /// edgeR's `glmFit` for one gene with `prior.count = 0`: coefficients (natural log scale)
    /// and fitted means.
    pub fn fit(&self, y: &[f64], offset: &[f64], disp: &[f64]) -> (Vec<f64>, Vec<f64>) {
        match &self.oneway {
            Some(oneway) => self.fit_one_way(oneway, y, offset, disp),
            None => self.fit_levenberg(y, offset, disp),
        }
    }

    /// `glmFit(prior.count = prior_count)`: the fitted means of the plain fit, the coefficients
    /// of a fit to counts with a library-size-scaled prior added (edgeR's `predFC`).
    pub fn fit_with_prior(&self, y: &[f64], offset: &[f64], disp: &[f64], prior_count: f64) -> (Vec<f64>, Vec<f64>) {
        let (_, fitted) = self.fit(y, offset, disp);
        (self.coefficients_with_prior(y, offset, disp, prior_count), fitted)
    }

    /// The coefficients of [`NbModel::fit_with_prior`] alone.
    pub fn coefficients_with_prior(&self, y: &[f64], offset: &[f64], disp: &[f64], prior_count: f64) -> Vec<f64> {
        let libs: Vec<f64> = offset.iter().map(|o| o.exp()).collect();
        let average = pairwise_sum(&libs) / libs.len() as f64;
        let prior: Vec<f64> = libs.iter().map(|l| prior_count * l / average).collect();
        let y2: Vec<f64> = y.iter().zip(&prior).map(|(c, a)| c + a).collect();
        let offset2: Vec<f64> = libs.iter().zip(&prior).map(|(l, a)| (l + 2.0 * a).ln()).collect();
        let (coefficients, _) = self.fit(&y2, &offset2, disp);
        // predFC reports log2 coefficients and glmFit multiplies them back by log(2).
        let ln2 = std::f64::consts::LN_2;
        coefficients.iter().map(|b| b / ln2 * ln2).collect()
    }

    fn fit_one_way(&self, oneway: &OneWay, y: &[f64], offset: &[f64], disp: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let beta: Vec<f64> = oneway
            .members
            .iter()
            .map(|members| {
                let fitted = fit_one_group(y, offset, disp, members);
                if fitted > -1e8 { fitted } else { -1e8 }
            })
            .collect();
        let mu = (0..y.len()).map(|j| (offset[j] + beta[oneway.group_of[j]]).exp()).collect();
        let coefficients = match &oneway.unique {
            Some(unique) => linalg::solve_lu(unique, &beta).unwrap_or(beta),
            None => beta,
        };
        (coefficients, mu)
    }

    /// Levenberg's start from the null model: the weighted mean rate, as coefficients.
    fn levenberg_start(&self, y: &[f64], offset: &[f64], disp: &[f64]) -> Vec<f64> {
        let n = y.len();
        let cur_n: Vec<f64> = offset.iter().map(|o| o.exp()).collect();
        let weight: Vec<f64> = (0..n).map(|j| cur_n[j] / (1.0 + disp[j] * cur_n[j])).collect();
        let exprs: Vec<f64> = (0..n).map(|j| y[j] * weight[j] / cur_n[j]).collect();
        let current = (pairwise_sum(&exprs) / pairwise_sum(&weight)).ln();
        let p = self.coefficients();
        let qty: Vec<f64> = (0..p).map(|k| (0..n).map(|j| self.q[j][k] * current).sum()).collect();
        linalg::solve_upper(&self.r, &qty)
    }

    /// edgeR's Levenberg–Marquardt NB fit (`mglmLevenberg`, at most 250 iterations, tolerance
    /// 1e-6 on the Newton decrement). Sums run over each sample's non-zero design entries in
    /// sample order: the same additions as the dense products, without the zero terms.
    fn fit_levenberg(&self, y: &[f64], offset: &[f64], disp: &[f64]) -> (Vec<f64>, Vec<f64>) {
        const MAXIT: usize = 250;
        const TOLERANCE: f64 = 1e-6;
        let (n, p) = (y.len(), self.coefficients());
        let nz = &self.nonzero;
        let means = |beta: &[f64], mu: &mut [f64]| {
            for j in 0..n {
                let mut eta = 0.0;
                for &(k, v) in &nz[j] {
                    eta += beta[k] * v;
                }
                mu[j] = (eta + offset[j]).exp();
            }
        };
        let ymax = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if ymax < LOW_VALUE {
            return (vec![f64::NAN; p], vec![0.0; n]);
        }
        let mut scratch = vec![0.0; n];
        let mut beta = self.levenberg_start(y, offset, disp);
        let mut mu = vec![0.0; n];
        means(&beta, &mut mu);
        let mut dev = deviance_into(y, &mu, disp, &mut scratch);
        let mut lambda = 0.0;
        let (mut xtwx, mut damped, mut factor) = (vec![0.0; p * p], vec![0.0; p * p], vec![0.0; p * p]);
        let (mut dl, mut dbeta, mut beta_new, mut mu_new) = (vec![0.0; p], vec![0.0; p], vec![0.0; p], vec![0.0; n]);
        for iteration in 0..MAXIT {
            xtwx.fill(0.0);
            dl.fill(0.0);
            for j in 0..n {
                let denom = 1.0 + mu[j] * disp[j];
                let (ww, deriv) = (mu[j] / denom, (y[j] - mu[j]) / denom);
                for &(a, va) in &nz[j] {
                    for &(b, vb) in &nz[j] {
                        xtwx[a * p + b] += va * ww * vb;
                    }
                    dl[a] += deriv * va;
                }
            }
            let maxinfo = (0..p).map(|k| xtwx[k * p + k]).fold(f64::NEG_INFINITY, f64::max);
            if iteration == 0 {
                lambda = (maxinfo * 1e-6).max(SUPREMELY_LOW_VALUE);
            }
            let mut levels = 0;
            let mut low_dev = false;
            let mut converged = false;
            loop {
                levels += 1;
                loop {
                    damped.copy_from_slice(&xtwx);
                    for k in 0..p {
                        damped[k * p + k] += lambda;
                    }
                    if linalg::cholesky_upper(&damped, p, &mut factor) {
                        break;
                    }
                    lambda *= 10.0;
                    if lambda <= 0.0 {
                        lambda = RIDICULOUSLY_LOW_VALUE;
                    }
                }
                linalg::cholesky_solve(&factor, p, &dl, &mut dbeta);
                for k in 0..p {
                    beta_new[k] = beta[k] + dbeta[k];
                }
                means(&beta_new, &mut mu_new);
                let dev_new = deviance_into(y, &mu_new, disp, &mut scratch);
                if dev_new / ymax < SUPREMELY_LOW_VALUE {
                    low_dev = true;
                }
                if dev_new <= dev || low_dev {
                    beta.copy_from_slice(&beta_new);
                    mu.copy_from_slice(&mu_new);
                    dev = dev_new;
                    break;
                }
                lambda *= 2.0;
                if lambda <= 0.0 {
                    lambda = RIDICULOUSLY_LOW_VALUE;
                }
                if lambda / maxinfo > 1.0 / SUPREMELY_LOW_VALUE {
                    converged = true;
                    break;
                }
            }
            if converged || low_dev {
                break;
            }
            let mut divergence = 0.0;
            for k in 0..p {
                divergence += dl[k] * dbeta[k];
            }
            if divergence < TOLERANCE {
                break;
            }
            if levels == 1 {
                lambda /= 10.0;
            }
        }
        (beta, mu)
    }
}

/// edgeR's `designAsFactor`: samples grouped by design row, groups ordered by the row's
/// weighted mean; a one-way layout when there are as many groups as columns.
fn one_way(design: &[Vec<f64>]) -> Option<OneWay> {
    let p = design[0].len();
    let z = (std::f64::consts::E + std::f64::consts::PI) / 5.0;
    let key: Vec<f64> = design
        .iter()
        .map(|row| {
            pairwise_sum(&row.iter().enumerate().map(|(c, v)| v * z.powf(c as f64)).collect::<Vec<_>>()) / p as f64
        })
        .collect();
    let mut unique = key.clone();
    unique.sort_by(f64::total_cmp);
    unique.dedup();
    if unique.len() != p {
        return None;
    }
    let group_of: Vec<usize> = key.iter().map(|k| unique.iter().position(|u| u == k).unwrap_or_default()).collect();
    let rows: Vec<Vec<f64>> =
        (0..p).map(|g| group_of.iter().position(|&x| x == g).map(|j| design[j].clone()).unwrap_or_default()).collect();
    let ones = rows.iter().flatten().filter(|&&v| v == 1.0).count();
    let zeros = rows.iter().flatten().filter(|&&v| v == 0.0).count();
    let identity = ones == p && zeros == (p - 1) * p;
    let members = (0..p).map(|g| (0..group_of.len()).filter(|&j| group_of[j] == g).collect()).collect();
    Some(OneWay { group_of, members, unique: (!identity).then_some(rows) })
}

/// Genes' counts with `lgamma(y + 1)` computed once: the profile likelihood is evaluated at
/// dozens of dispersions per gene, and this term does not depend on it.
pub struct CountRows {
    y: Vec<Vec<f64>>,
    log_factorial: Vec<Vec<f64>>,
}

impl CountRows {
    /// Wraps count rows.
    pub fn new(y: Vec<Vec<f64>>) -> Self {
        let log_factorial = y.par_iter().map(|row| row.iter().map(|&c| libm::lgamma(c + 1.0)).collect()).collect();
        CountRows { y, log_factorial }
    }

    /// Number of genes.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// No genes.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// The contribution of one gene to an adjusted profile likelihood, before the Cox–Reid term:
/// its log-likelihood at dispersion `d` and the NB working weights (`None` where the fitted
/// mean is 0). Terms are added in edgepy's order; those constant in a gene are computed once.
fn log_likelihood(y: &[f64], log_factorial: &[f64], mu: &[f64], d: f64) -> (f64, Vec<Option<f64>>) {
    let mut sum = 0.0;
    let mut weights = vec![None; y.len()];
    let r = 1.0 / d;
    let (r_log_r, lgamma_r) = (r * r.ln(), libm::lgamma(r));
    for j in 0..y.len() {
        if mu[j] == 0.0 {
            continue;
        }
        let (curmu, cury) = (mu[j], y[j]);
        let logmur = (curmu + r).ln();
        sum += if d > 0.0 {
            cury * curmu.ln() - cury * logmur + r_log_r - r * logmur + libm::lgamma(cury + r)
                - log_factorial[j]
                - lgamma_r
        } else {
            cury * curmu.ln() - curmu - log_factorial[j]
        };
        weights[j] = Some(curmu / (1.0 + d * curmu));
    }
    (sum, weights)
}

/// Cox–Reid adjustment: half the log-determinant of `XᵀWX`, from the `D` of its LDLᵀ
/// factorisation (tiny or undefined pivots count as 1e-10).
fn cox_reid(model: &NbModel, weights: &[f64]) -> f64 {
    let p = model.coefficients();
    if p == 1 {
        return 0.5 * pairwise_sum(weights).abs().ln();
    }
    // XᵀWX over each sample's non-zero entries, in sample order (the dense sums' additions).
    let mut xtwx = vec![vec![0.0; p]; p];
    for (j, nz) in model.nonzero.iter().enumerate() {
        for &(a, va) in nz {
            for &(b, vb) in nz {
                xtwx[a][b] += va * weights[j] * vb;
            }
        }
    }
    let mut res = 0.0;
    for d in linalg::ldl_diagonal(&xtwx) {
        res += if d < LOW_VALUE || !d.is_finite() { LOW_VALUE.ln() } else { d.ln() };
    }
    0.5 * res
}

/// edgeR's `adjustedProfileLik` for every gene at dispersion `d`, with a shared offset row.
/// A sample whose fitted mean is 0 has working weight 0 in the Cox–Reid term, as in edgeR's
/// C++ (`compute_apl`). (inmoose's port reuses the previous gene's weight there instead, which
/// moves the common dispersion of sparse batches by ~0.2% and ComBat-seq's counts with it.)
pub fn adjusted_profile_lik(model: &NbModel, rows: &CountRows, offset: &[f64], d: f64) -> Vec<f64> {
    let n = offset.len();
    let disp = vec![d; n];
    rows.y
        .par_iter()
        .zip(&rows.log_factorial)
        .map(|(row, log_factorial)| {
            let (_, mu) = model.fit(row, offset, &disp);
            let (ll, weights) = log_likelihood(row, log_factorial, &mu, d);
            let weights: Vec<f64> = weights.into_iter().map(|w| w.unwrap_or(0.0)).collect();
            ll - cox_reid(model, &weights)
        })
        .collect()
}

/// Row sums as numpy forms them for integer counts (exact).
fn row_sum(row: &[f64]) -> f64 {
    row.iter().sum()
}

/// edgeR's `estimateGLMCommonDisp` (Cox–Reid): the dispersion maximising the summed adjusted
/// profile likelihood of the genes with at least 5 reads, searched as `par⁴` for `par` in
/// `[0, 4^¼]` by R's `optimize` (Brent, tol 1e-5). `None` when no gene has 5 reads.
pub fn common_dispersion(model: &NbModel, y: &[Vec<f64>], offset: &[f64]) -> Option<f64> {
    let rows = CountRows::new(y.iter().filter(|r| row_sum(r) >= 5.0).cloned().collect());
    if rows.is_empty() {
        return None;
    }
    let objective = |par: f64| {
        let apl = adjusted_profile_lik(model, &rows, offset, par.powf(4.0));
        // Python's built-in `sum`: left to right from 0.
        let mut total = 0.0;
        for v in apl {
            total += v;
        }
        -total
    };
    let par = brent_fmin(objective, 0.0, 4.0_f64.powf(0.25), 1e-5);
    Some(par.powf(4.0))
}

/// edgeR's `estimateGLMTagwiseDisp` with `prior.df = 0` (ComBat-seq's setting): each gene with
/// at least 5 reads gets the maximum of its own adjusted profile likelihood, interpolated on 11
/// points from `common · 2⁻⁶` to `common · 2⁶`; the others keep `common`.
pub fn tagwise_dispersion(model: &NbModel, y: &[Vec<f64>], offset: &[f64], common: f64) -> Vec<f64> {
    let keep: Vec<usize> = (0..y.len()).filter(|&i| row_sum(&y[i]) >= 5.0).collect();
    let mut out = vec![common; y.len()];
    if keep.is_empty() {
        return out;
    }
    let rows = CountRows::new(keep.iter().map(|&i| y[i].clone()).collect());
    let points: Vec<f64> = (0..11).map(|i| -6.0 + f64::from(i * 12) / 10.0).collect();
    let grid: Vec<Vec<f64>> =
        points.iter().map(|pt| adjusted_profile_lik(model, &rows, offset, common * 2.0_f64.powf(*pt))).collect();
    for (k, &i) in keep.iter().enumerate() {
        let apl: Vec<f64> = grid.iter().map(|g| g[k]).collect();
        out[i] = common * 2.0_f64.powf(maximize_interpolant(&points, &apl));
    }
    out
}

/// Negative-binomial CDF at `k` with `size` successes of probability `prob` (scipy's
/// `nbinom.cdf`: the regularised incomplete beta `I_prob(size, k + 1)`).
pub fn nbinom_cdf(k: f64, size: f64, prob: f64) -> f64 {
    if k < 0.0 {
        return 0.0;
    }
    regularized_beta(size, k.floor() + 1.0, prob)
}

/// The regularised incomplete beta `I_x(a, b)`: the continued fraction of Numerical Recipes'
/// `betacf` (modified Lentz), on whichever side of the mean converges, with as many terms as
/// large counts need (statrs' version stops at 140, too few for counts in the thousands).
pub fn regularized_beta(a: f64, b: f64, x: f64) -> f64 {
    let valid = a > 0.0 && b > 0.0 && (0.0..=1.0).contains(&x);
    if !valid {
        return f64::NAN;
    }
    if x == 0.0 {
        return 0.0;
    }
    if x == 1.0 {
        return 1.0;
    }
    let log_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (-x).ln_1p();
    let front = log_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of `I_x(a, b)` (Numerical Recipes' `betacf`).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    // One modified-Lentz step for the partial numerator `aa`: the factor it applies to `h`.
    let mut lentz = |aa: f64| {
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        d * c
    };
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        h *= lentz(m * (b - m) * x / ((qam + m2) * (a + m2)));
        let del = lentz(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)));
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Negative-binomial quantile (scipy's `nbinom.ppf`): the smallest `k` with `cdf(k) ≥ q`.
pub fn nbinom_ppf(q: f64, size: f64, prob: f64) -> f64 {
    // Start at the normal approximation.
    let mean = size * (1.0 - prob) / prob;
    let sd = (mean / prob).sqrt();
    let z = -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * q);
    nbinom_ppf_near(q, size, prob, (mean + z * sd).floor())
}

/// [`nbinom_ppf`] searched from `guess`: a step at a time while the guess is close, then by
/// galloping and bisection on the integers. The answer does not depend on the guess.
pub fn nbinom_ppf_near(q: f64, size: f64, prob: f64, guess: f64) -> f64 {
    let valid = (0.0..=1.0).contains(&q) && size > 0.0 && prob > 0.0 && prob <= 1.0;
    if !valid {
        return f64::NAN;
    }
    if q == 0.0 {
        return 0.0;
    }
    let at_least = |k: f64| nbinom_cdf(k, size, prob) >= q;
    let guess = if guess.is_finite() { guess.max(0.0) } else { (size * (1.0 - prob) / prob).floor() };
    // Walk from the guess towards the answer, a step at a time and then galloping, until the
    // answer is bracketed: `at_least(hi)`, not `at_least(lo)` (or `lo = -1`).
    let up = !at_least(guess);
    let (mut edge, mut step, mut taken) = (guess, 1.0, 0);
    let (mut lo, mut hi) = loop {
        let next = if up { edge + step } else { edge - step };
        if next < 0.0 {
            break (-1.0, edge);
        }
        if !next.is_finite() {
            return f64::INFINITY;
        }
        if at_least(next) == up {
            break if up { (edge, next) } else { (next, edge) };
        }
        edge = next;
        taken += 1;
        if taken > 3 {
            step *= 2.0;
        }
    };
    while hi - lo > 1.0 {
        let mid = (lo + (hi - lo) / 2.0).floor();
        if at_least(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sums_on_exact_values() {
        let v: Vec<f64> = (0..300).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 44850.0);
        assert_eq!(pairwise_sum(&v[..5]), 10.0);
        assert_eq!(pairwise_sum(&v[..20]), 190.0);
    }

    #[test]
    fn one_way_fit_gives_group_rates() {
        // Two groups; each group's fitted mean is its mean count scaled by library size.
        let model = NbModel::new(vec![vec![1.0, 0.0], vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 1.0]]).expect("rank");
        let offset = vec![0.0, 0.0, 0.0, 0.0];
        let (coef, mu) = model.fit(&[10.0, 20.0, 40.0, 40.0], &offset, &[0.1; 4]);
        assert!((coef[0] - 15f64.ln()).abs() < 1e-9, "{coef:?}");
        assert!((coef[1] - (40f64 / 15.0).ln()).abs() < 1e-9, "{coef:?}");
        assert!((mu[0] - 15.0).abs() < 1e-8 && (mu[3] - 40.0).abs() < 1e-8);
    }

    #[test]
    fn levenberg_agrees_with_the_one_way_fit_on_a_saturated_design() {
        // Three columns, four distinct rows: Levenberg; its fit must be at least as good as
        // the one-way fit of the same two-factor data.
        let design = vec![
            vec![1.0, 0.0, 0.0],
            vec![1.0, 0.0, 1.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 1.0, 1.0],
            vec![0.0, 1.0, 1.0],
        ];
        let model = NbModel::new(design).expect("rank");
        assert!(model.oneway.is_none());
        let y = [12.0, 30.0, 50.0, 110.0, 95.0];
        let offset = [0.1, -0.2, 0.0, 0.3, 0.05];
        let disp = [0.05; 5];
        let (coef, mu) = model.fit(&y, &offset, &disp);
        // Score equations hold at the optimum: Xᵀ (y - mu)/(1 + mu·phi) ≈ 0.
        for k in 0..3 {
            let score: f64 = (0..5).map(|j| model.design[j][k] * (y[j] - mu[j]) / (1.0 + mu[j] * disp[j])).sum();
            assert!(score.abs() < 1e-2, "score {k}: {score} ({coef:?})");
        }
    }

    #[test]
    fn nbinom_quantile_inverts_the_cdf() {
        for &(size, mean) in &[(0.7, 3.0), (10.0, 250.0), (150.0, 12000.0), (2.0, 0.4)] {
            let prob = size / (size + mean);
            for k in [0.0, 1.0, 5.0, 100.0, 3000.0] {
                let q = nbinom_cdf(k, size, prob);
                if (q - 1.0).abs() < 1e-4 {
                    continue;
                }
                assert_eq!(nbinom_ppf(q, size, prob), k, "size {size} mean {mean} k {k}");
            }
        }
        // scipy: nbinom.cdf(3, 2, 0.4) = 0.66304
        assert!((nbinom_cdf(3.0, 2.0, 0.4) - 0.66304).abs() < 1e-12);
    }
}
