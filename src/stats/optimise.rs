//! One-dimensional maximisers edgeR's dispersion estimates rest on: scipy's bounded Brent
//! (`fminbound`, what inmoose uses for R's `optimize`) and edgeR's `maximizeInterpolant` (the
//! maximum of a natural FMM cubic spline through a grid). Both are ported line for line, since
//! ComBat-seq's integer output depends on the exact iterates, not only on the optimum.

// Index loops mirror the LAPACK, R and edgeR originals line for line, which is what makes
// the port checkable against them.
#![allow(clippy::needless_range_loop)]

/// scipy's `minimize_scalar(method = "bounded")`: the minimiser of `f` on `[lower, upper]`
/// to absolute tolerance `xatol`, at most `max_evaluations` calls.
pub fn fminbound(mut f: impl FnMut(f64) -> f64, lower: f64, upper: f64, xatol: f64, max_evaluations: usize) -> f64 {
    let sqrt_eps = 2.2e-16_f64.sqrt();
    let golden_mean = 0.5 * (3.0 - 5.0_f64.sqrt());
    let (mut a, mut b) = (lower, upper);
    let mut fulc = a + golden_mean * (b - a);
    let (mut nfc, mut xf) = (fulc, fulc);
    let (mut rat, mut e) = (0.0_f64, 0.0_f64);
    let mut fx = f(xf);
    let mut num = 1;
    let (mut ffulc, mut fnfc) = (fx, fx);
    let mut xm = 0.5 * (a + b);
    let mut tol1 = sqrt_eps * xf.abs() + xatol / 3.0;
    let mut tol2 = 2.0 * tol1;
    let sign = |v: f64| -> f64 {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    while (xf - xm).abs() > tol2 - 0.5 * (b - a) {
        let mut golden = true;
        if e.abs() > tol1 {
            golden = false;
            let mut r = (xf - nfc) * (fx - ffulc);
            let mut q = (xf - fulc) * (fx - fnfc);
            let mut p = (xf - fulc) * q - (xf - nfc) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            r = e;
            e = rat;
            if p.abs() < (0.5 * q * r).abs() && p > q * (a - xf) && p < q * (b - xf) {
                rat = (p + 0.0) / q;
                let x = xf + rat;
                if (x - a) < tol2 || (b - x) < tol2 {
                    let si = sign(xm - xf) + if xm - xf == 0.0 { 1.0 } else { 0.0 };
                    rat = tol1 * si;
                }
            } else {
                golden = true;
            }
        }
        if golden {
            e = if xf >= xm { a - xf } else { b - xf };
            rat = golden_mean * e;
        }
        let si = sign(rat) + if rat == 0.0 { 1.0 } else { 0.0 };
        let x = xf + si * rat.abs().max(tol1);
        let fu = f(x);
        num += 1;
        if fu <= fx {
            if x >= xf {
                a = xf;
            } else {
                b = xf;
            }
            (fulc, ffulc) = (nfc, fnfc);
            (nfc, fnfc) = (xf, fx);
            (xf, fx) = (x, fu);
        } else {
            if x < xf {
                a = x;
            } else {
                b = x;
            }
            if fu <= fnfc || nfc == xf {
                (fulc, ffulc) = (nfc, fnfc);
                (nfc, fnfc) = (x, fu);
            } else if fu <= ffulc || fulc == xf || fulc == nfc {
                (fulc, ffulc) = (x, fu);
            }
        }
        xm = 0.5 * (a + b);
        tol1 = sqrt_eps * xf.abs() + xatol / 3.0;
        tol2 = 2.0 * tol1;
        if num >= max_evaluations {
            break;
        }
    }
    xf
}

/// Real roots of `a x² + b x + c` (edgeR's `quad_solver`), smaller first.
fn quadratic_roots(a: f64, b: f64, c: f64) -> Option<(f64, f64)> {
    if a == 0.0 && b == 0.0 {
        return None;
    }
    if a == 0.0 {
        return Some((-c / b, -c / b));
    }
    let back = b * b - 4.0 * a * c;
    if back < 0.0 {
        return None;
    }
    let front = -b / (2.0 * a);
    let back = back.sqrt() / (2.0 * a);
    Some((front - back, front + back))
}

/// Coefficients `b, c, d` of R's `spline(method = "fmm")` through `(x, y)` (Forsythe, Malcolm
/// and Moler end conditions), from R's `splines.c`.
fn fmm_spline(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len();
    let (mut b, mut c, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    if n < 3 {
        let t = y[1] - y[0];
        b[0] = t / (x[1] - x[0]);
        b[1] = b[0];
        return (b, c, d);
    }
    let nm1 = n - 1;
    d[0] = x[1] - x[0];
    c[1] = (y[1] - y[0]) / d[0];
    for i in 1..n - 1 {
        d[i] = x[i + 1] - x[i];
        b[i] = 2.0 * (d[i - 1] + d[i]);
        c[i + 1] = (y[i + 1] - y[i]) / d[i];
        c[i] = c[i + 1] - c[i];
    }
    b[0] = -d[0];
    b[n - 1] = -d[nm1 - 1];
    c[0] = 0.0;
    c[n - 1] = 0.0;
    if n > 3 {
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0]);
        c[n - 1] = c[nm1 - 1] / (x[n - 1] - x[n - 3]) - c[n - 3] / (x[nm1 - 1] - x[n - 4]);
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0]);
        c[n - 1] = -c[n - 1] * d[nm1 - 1] * d[nm1 - 1] / (x[n - 1] - x[n - 4]);
    }
    for i in 1..n {
        let t = d[i - 1] / b[i - 1];
        b[i] -= t * d[i - 1];
        c[i] -= t * c[i - 1];
    }
    c[n - 1] /= b[n - 1];
    for i in (0..nm1).rev() {
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i];
    }
    b[n - 1] = (y[n - 1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[n - 1]);
    for i in 0..nm1 {
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i]);
        d[i] = (c[i + 1] - c[i]) / d[i];
        c[i] *= 3.0;
    }
    c[n - 1] *= 3.0;
    d[n - 1] = d[nm1 - 1];
    (b, c, d)
}

/// edgeR's `maximizeInterpolant` for one row: the grid point with the largest `y`, refined to
/// the spline's maximum in the segments either side of it.
pub fn maximize_interpolant(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    let mut maxed = -1.0;
    let mut maxed_at = usize::MAX;
    for i in 0..n {
        if maxed_at == usize::MAX || y[i] > maxed {
            maxed = y[i];
            maxed_at = i;
        }
    }
    let mut x_max = x[maxed_at];
    let (b, c, d) = fmm_spline(x, y);
    if maxed_at > 0 {
        let (ld, lc, lb) = (d[maxed_at - 1], c[maxed_at - 1], b[maxed_at - 1]);
        if let Some((chosen, _)) = quadratic_roots(3.0 * ld, 2.0 * lc, lb)
            && chosen > 0.0
            && chosen < x[maxed_at] - x[maxed_at - 1]
        {
            let temp = ((ld * chosen + lc) * chosen + lb) * chosen + y[maxed_at - 1];
            if temp > maxed {
                maxed = temp;
                x_max = chosen + x[maxed_at - 1];
            }
        }
    }
    if maxed_at < n - 1 {
        let (rd, rc, rb) = (d[maxed_at], c[maxed_at], b[maxed_at]);
        if let Some((chosen, _)) = quadratic_roots(3.0 * rd, 2.0 * rc, rb)
            && chosen > 0.0
            && chosen < x[maxed_at + 1] - x[maxed_at]
        {
            let temp = ((rd * chosen + rc) * chosen + rb) * chosen + y[maxed_at];
            if temp > maxed {
                x_max = chosen + x[maxed_at];
            }
        }
    }
    x_max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fminbound_finds_a_parabola_minimum_within_tolerance() {
        let mut calls = 0;
        let x = fminbound(
            |x| {
                calls += 1;
                (x - 0.3).powi(2)
            },
            0.0,
            2.0_f64.sqrt(),
            1e-5,
            500,
        );
        assert!((x - 0.3).abs() < 1e-5, "{x}");
        assert!(calls < 30, "{calls} evaluations");
        // A minimum on the boundary is approached, not passed.
        let x = fminbound(|x| x, 0.0, 1.0, 1e-5, 500);
        assert!((0.0..1e-4).contains(&x), "{x}");
    }

    #[test]
    fn interpolant_maximum_of_a_sampled_cubic() {
        // y = -x³/30 - (x - 0.7)² sampled on -6..6 step 1.2: an FMM spline reproduces a cubic,
        // so the maximum is the root of x² + 20x - 14.
        let x: Vec<f64> = (0..11).map(|i| -6.0 + f64::from(i * 12) / 10.0).collect();
        let y: Vec<f64> = x.iter().map(|v| -v * v * v / 30.0 - (v - 0.7) * (v - 0.7)).collect();
        let expected = (-20.0 + 456.0_f64.sqrt()) / 2.0;
        let found = maximize_interpolant(&x, &y);
        assert!((found - expected).abs() < 1e-9, "{found} vs {expected}");
        // A monotone row peaks at the grid's end.
        let y: Vec<f64> = x.to_vec();
        assert_eq!(maximize_interpolant(&x, &y), 6.0);
    }
}
