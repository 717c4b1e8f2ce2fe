//! R's `glm.fit` for the one model DESeq2 fits with it: a gamma GLM with identity link of
//! dispersions on `(1, 1/mean)` (`parametricDispersionFit`). The IRLS iterations, their stopping
//! rule (relative deviance change below `1e-8`, at most 25 iterations) and the step halving are
//! R's, because DESeq2 takes the coefficients where R stops, not at the exact optimum: the
//! trend, and so every VST value, depends on where that is.

/// Why R's `glm.fit` stops with an error (DESeq2 then substitutes another fit type).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GlmError {
    /// No observation or a start outside the family's domain.
    #[error("cannot find valid starting values")]
    Start,
    /// A step could not be brought back into the domain by halving.
    #[error("cannot correct step size")]
    StepSize,
    /// The weighted least-squares step failed (non-finite or rank-deficient).
    #[error("non-finite coefficients")]
    Coefficients,
}

/// The fit: coefficients and R's `converged` flag.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaFit {
    /// Intercept and slope.
    pub coefficients: [f64; 2],
    /// Whether the deviance criterion was met within 25 iterations.
    pub converged: bool,
}

/// `glm(y ~ x, family = Gamma(link = "identity"), start = start)`.
pub fn gamma_identity(x: &[f64], y: &[f64], start: [f64; 2]) -> Result<GammaFit, GlmError> {
    const MAXIT: usize = 25;
    const EPSILON: f64 = 1e-8;
    let n = y.len();
    if n == 0 || x.len() != n {
        return Err(GlmError::Start);
    }
    let linear = |c: [f64; 2], mu: &mut Vec<f64>| {
        mu.clear();
        mu.extend(x.iter().map(|&xi| c[0] + c[1] * xi));
    };
    let valid = |mu: &[f64]| mu.iter().all(|&m| m.is_finite() && m > 0.0);
    let deviance = |mu: &[f64]| -> f64 {
        let mut s = 0.0;
        for (&yi, &mi) in y.iter().zip(mu) {
            let ratio = if yi == 0.0 { 1.0 } else { yi / mi };
            s += -2.0 * (ratio.ln() - (yi - mi) / mi);
        }
        s
    };
    let mut coef = start;
    let mut coefold = start;
    let mut mu = Vec::with_capacity(n);
    linear(coef, &mut mu);
    if !valid(&mu) {
        return Err(GlmError::Start);
    }
    let mut devold = deviance(&mu);
    let (mut a0, mut a1, mut z) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for _ in 0..MAXIT {
        // Working response and weights: identity link, variance mu².
        for i in 0..n {
            let w = (1.0 / (mu[i] * mu[i])).sqrt();
            a0[i] = w;
            a1[i] = x[i] * w;
            z[i] = (mu[i] + (y[i] - mu[i])) * w;
        }
        let mut next = least_squares_2(&mut a0, &mut a1, &mut z).ok_or(GlmError::Coefficients)?;
        linear(next, &mut mu);
        // R's two inner loops: halve the step towards the last coefficients until the deviance
        // is finite, then until the means are valid (at most 25 halvings each).
        let halve_until = |ok: &dyn Fn(&[f64]) -> bool, next: &mut [f64; 2], mu: &mut Vec<f64>| {
            let mut tries = 1;
            while !ok(mu) {
                if tries > MAXIT {
                    return Err(GlmError::StepSize);
                }
                tries += 1;
                *next = [(next[0] + coefold[0]) / 2.0, (next[1] + coefold[1]) / 2.0];
                linear(*next, mu);
            }
            Ok(())
        };
        halve_until(&|mu| deviance(mu).is_finite(), &mut next, &mut mu)?;
        halve_until(&valid, &mut next, &mut mu)?;
        let dev = deviance(&mu);
        if (dev - devold).abs() / (0.1 + dev.abs()) < EPSILON {
            return Ok(GammaFit { coefficients: next, converged: true });
        }
        devold = dev;
        coef = next;
        coefold = next;
    }
    Ok(GammaFit { coefficients: coef, converged: false })
}

/// Least squares of `z` on the two columns `a0`, `a1` by Householder reflections (LINPACK's
/// `dqrdc2`, which R's `Cdqrls` calls, without the pivoting a two-column fit never needs).
/// The inputs are overwritten. `None` when the columns are (numerically) dependent.
fn least_squares_2(a0: &mut [f64], a1: &mut [f64], z: &mut [f64]) -> Option<[f64; 2]> {
    let n = z.len();
    if n < 2 {
        return None;
    }
    // Reflection of column 0.
    let norm1 = a1.iter().map(|x| x * x).sum::<f64>().sqrt();
    let r00 = reflect(a0, 0)?;
    apply_reflection(a0, 0, a1);
    apply_reflection(a0, 0, z);
    let r01 = a1[0];
    let r11 = reflect(a1, 1)?;
    // dqrdc2's rank test: a column whose remainder is below 1e-11 of its norm is dependent.
    if r11.abs() < 1e-11 * norm1 {
        return None;
    }
    apply_reflection(a1, 1, z);
    let b1 = z[1] / r11;
    let b0 = (z[0] - r01 * b1) / r00;
    (b0.is_finite() && b1.is_finite()).then_some([b0, b1])
}

/// Turns `v[k..]` into a Householder vector (stored in place, `v[k]` its scaled lead) and returns
/// the diagonal entry of R; `None` for a zero column.
fn reflect(v: &mut [f64], k: usize) -> Option<f64> {
    let norm = v[k..].iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return None;
    }
    let alpha = if v[k] >= 0.0 { -norm } else { norm };
    v[k] -= alpha;
    let vnorm2 = v[k..].iter().map(|x| x * x).sum::<f64>();
    if vnorm2 == 0.0 {
        return None;
    }
    let scale = (2.0 / vnorm2).sqrt();
    v[k..].iter_mut().for_each(|x| *x *= scale);
    Some(alpha)
}

/// `target[k..] -= v (v · target)`: the reflection stored by [`reflect`].
fn apply_reflection(v: &[f64], k: usize, target: &mut [f64]) {
    let dot: f64 = v[k..].iter().zip(&target[k..]).map(|(a, b)| a * b).sum();
    for (t, a) in target[k..].iter_mut().zip(&v[k..]) {
        *t -= a * dot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_an_exact_line() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let (mut a0, mut a1, mut z) = (vec![1.0; 4], x.to_vec(), x.iter().map(|v| 0.5 + 2.0 * v).collect::<Vec<_>>());
        let b = least_squares_2(&mut a0, &mut a1, &mut z).expect("full rank");
        assert!((b[0] - 0.5).abs() < 1e-14 && (b[1] - 2.0).abs() < 1e-14, "{b:?}");
        let (mut a0, mut a1, mut z) = (vec![1.0; 3], vec![2.0; 3], vec![1.0, 2.0, 3.0]);
        assert!(least_squares_2(&mut a0, &mut a1, &mut z).is_none(), "dependent columns");
    }

    #[test]
    fn gamma_fit_matches_r() {
        // R 4.2: d <- c(0.5, 0.3, 0.21, 0.12, 0.15, 0.11, 0.09, 0.1); m <- c(1, 2, 4, 8, 16, 32, 64, 128)
        //        coef(glm(d ~ I(1/m), family = Gamma(link = "identity"), start = c(0.1, 1)))
        //        (Intercept) 0.095829304048878  I(1/m) 0.409716166418533 (converged, 4 iterations)
        let d = [0.5, 0.3, 0.21, 0.12, 0.15, 0.11, 0.09, 0.1];
        let m: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
        let x: Vec<f64> = m.iter().map(|v| 1.0 / v).collect();
        let fit = gamma_identity(&x, &d, [0.1, 1.0]).expect("fit");
        assert!(fit.converged);
        assert!((fit.coefficients[0] - 0.095829304048878).abs() < 1e-13, "{fit:?}");
        assert!((fit.coefficients[1] - 0.409716166418533).abs() < 1e-13, "{fit:?}");
        assert_eq!(gamma_identity(&x, &d, [-1.0, 0.0]), Err(GlmError::Start));
    }
}
