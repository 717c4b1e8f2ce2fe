//! One-dimensional optimisers edgeR's dispersion estimates rest on: R's `optimize` (Brent's
//! `fmin` as R ships it, `Brent_fmin`; inmoose uses scipy's `fminbound` in its place, whose
//! iterates differ) and edgeR's `maximizeInterpolant` (the maximum of a natural FMM cubic
//! spline through a grid). Both are ported line for line, since ComBat-seq's integer output
//! depends on the exact iterates, not only on the optimum.

// Index loops mirror the LAPACK, R and edgeR originals line for line, which is what makes
// the port checkable against them.
#![allow(clippy::needless_range_loop)]

/// R's `optimize(f, c(lower, upper), tol = tol)` minimising `f` (R's C `Brent_fmin`: golden
/// sections and parabolic steps, stopping when the bracket is within `2 (√ε |x| + tol/3)`).
pub fn brent_fmin(mut f: impl FnMut(f64) -> f64, lower: f64, upper: f64, tol: f64) -> f64 {
    let c = (3.0 - 5f64.sqrt()) * 0.5;
    let eps = f64::EPSILON.sqrt();
    let (mut a, mut b) = (lower, upper);
    let mut v = a + c * (b - a);
    let (mut w, mut x) = (v, v);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    let mut fx = f(x);
    let (mut fv, mut fw) = (fx, fx);
    let tol3 = tol / 3.0;
    loop {
        let xm = (a + b) * 0.5;
        let tol1 = eps * x.abs() + tol3;
        let t2 = tol1 * 2.0;
        if (x - xm).abs() <= t2 - (b - a) * 0.5 {
            break;
        }
        let (mut p, mut q, mut r) = (0.0f64, 0.0f64, 0.0f64);
        if e.abs() > tol1 {
            // Fit a parabola.
            r = (x - w) * (fx - fv);
            q = (x - v) * (fx - fw);
            p = (x - v) * q - (x - w) * r;
            q = (q - r) * 2.0;
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            r = e;
            e = d;
        }
        if p.abs() >= (q * 0.5 * r).abs() || p <= q * (a - x) || p >= q * (b - x) {
            // A golden-section step.
            e = if x < xm { b - x } else { a - x };
            d = c * e;
        } else {
            // A parabolic-interpolation step, not too close to the ends.
            d = p / q;
            let u = x + d;
            if u - a < t2 || b - u < t2 {
                d = if x >= xm { -tol1 } else { tol1 };
            }
        }
        // Never evaluate too close to x.
        let u = if d.abs() >= tol1 {
            x + d
        } else if d > 0.0 {
            x + tol1
        } else {
            x - tol1
        };
        let fu = f(u);
        if fu <= fx {
            if u < x {
                b = x;
            } else {
                a = x;
            }
            (v, w, x) = (w, x, u);
            (fv, fw, fx) = (fw, fx, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv) = (w, fw);
                (w, fw) = (u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    x
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
    fn brent_fmin_takes_r_optimize_iterates() {
        // R 4.2: n <- 0; optimize(function(x) {n <<- n + 1; (x - 0.3)^2 + 0.1 * sin(5 * x)},
        //        c(0, 2^0.25), tol = 1e-5) -> 0.06186508600426751 after 15 calls (the last one
        //        is optimize()'s own f(minimum) for `objective`);
        //        optimize(function(x) x, c(0, 1), tol = 1e-5) -> 5.9608609865491405e-06
        let mut calls = 0;
        let x = brent_fmin(
            |x| {
                calls += 1;
                (x - 0.3).powi(2) + 0.1 * (5.0 * x).sin()
            },
            0.0,
            2f64.powf(0.25),
            1e-5,
        );
        assert_eq!((x, calls), (0.06186508600426751, 14));
        assert_eq!(brent_fmin(|x| x, 0.0, 1.0, 1e-5), 5.9608609865491405e-06);
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
