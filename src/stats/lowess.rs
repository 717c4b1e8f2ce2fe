//! LOWESS (Cleveland 1979) exactly as statsmodels' `lowess(endog, exog, frac, it, delta=0,
//! xvals=...)` computes it, so QC-based drift correction can be checked against it to rounding:
//! local linear fits on the `k = int(frac·n + 1e-10)` nearest points (2 ≤ k ≤ n), tricube
//! distance weights scaled by the farthest neighbour, `it` robustifying passes with bisquare
//! weights of residuals in units of 6 × their median (stopping early when that median is
//! ≤ 1e-7), then the fit evaluated at `xvals` with the final robustness weights.

/// Fitted values at `xvals` for the points `(x, y)`; `None` where no regression is possible
/// (fewer than two points with positive weight), as statsmodels' NaN.
pub fn lowess(x: &[f64], y: &[f64], frac: f64, it: usize, xvals: &[f64]) -> Vec<Option<f64>> {
    let n = x.len();
    if n == 0 {
        return vec![None; xvals.len()];
    }
    // statsmodels sorts by x (a stable argsort) and drops nothing here: callers pass finite data.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let k = ((frac * n as f64 + 1e-10) as usize).clamp(2.min(n), n);

    // Robustness weights from `it` passes over the data points themselves (statsmodels: a run
    // with `it - 1` iterations, whose returned weights feed the final fit at `xvals`).
    let mut resid_weights = vec![1.0; n];
    for _ in 0..it {
        let fit = pass(&xs, &ys, k, &resid_weights, &xs);
        let mut abs: Vec<f64> = ys.iter().zip(&fit).map(|(y, f)| (y - f.unwrap_or(*y)).abs()).collect();
        let mut sorted = abs.clone();
        let median = crate::stats::median(&mut sorted).unwrap_or(0.0);
        if median <= 1e-7 {
            break;
        }
        for (w, a) in resid_weights.iter_mut().zip(abs.iter_mut()) {
            let u = (*a / (6.0 * median)).min(1.0);
            *w = (1.0 - u * u).powi(2);
        }
    }
    // The window slides left to right: fit at the sorted xvals, then put them back in order.
    let mut at: Vec<usize> = (0..xvals.len()).collect();
    at.sort_by(|&a, &b| xvals[a].total_cmp(&xvals[b]));
    let sorted: Vec<f64> = at.iter().map(|&i| xvals[i]).collect();
    let fit = pass(&xs, &ys, k, &resid_weights, &sorted);
    let mut out = vec![None; xvals.len()];
    for (f, &i) in fit.into_iter().zip(&at) {
        out[i] = f;
    }
    out
}

/// One pass of local linear fits at each `xval` (which must be sorted for the sliding window).
///
/// statsmodels writes the fit as a projection (four loops over the window); this computes the
/// same weighted least-squares line from one loop of sums, centred on `xval` to keep the
/// variance free of cancellation. Results agree to ~1e-15 relative.
fn pass(x: &[f64], y: &[f64], k: usize, resid_weights: &[f64], xvals: &[f64]) -> Vec<Option<f64>> {
    let n = x.len();
    let mut out = Vec::with_capacity(xvals.len());
    let (mut left, mut right) = (0usize, k);
    for &xval in xvals {
        // Slide the k-point window right while xval is past its centre.
        while right < n && xval > (x[left] + x[right]) / 2.0 {
            left += 1;
            right += 1;
        }
        let radius = (xval - x[left]).max(x[right - 1] - xval);
        let (mut s0, mut s1, mut s2, mut t0, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut nonzero = 0;
        for j in left..right {
            let dx = x[j] - xval;
            let d = dx.abs() / radius;
            let t = 1.0 - d * d * d;
            let w = t * t * t * resid_weights[j];
            nonzero += usize::from(w > 1e-12);
            s0 += w;
            s1 += w * dx;
            s2 += w * dx * dx;
            t0 += w * y[j];
            t1 += w * dx * y[j];
        }
        if nonzero < 2 {
            out.push(None);
            continue;
        }
        let (mean_dx, mean_y) = (s1 / s0, t0 / s0);
        let var = (s2 / s0 - mean_dx * mean_dx).max(1e-12);
        let cov = t1 / s0 - mean_dx * mean_y;
        // The line through (mean_dx, mean_y) with slope cov/var, evaluated at dx = 0.
        out.push(Some(mean_y - mean_dx * cov / var));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_reproduced_and_extrapolated() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 + 0.5 * v).collect();
        let fit = lowess(&x, &y, 0.5, 3, &[-2.0, 0.0, 7.5, 19.0, 25.0]);
        for (xv, f) in [-2.0, 0.0, 7.5, 19.0, 25.0].iter().zip(fit) {
            assert!((f.expect("fit") - (3.0 + 0.5 * xv)).abs() < 1e-9, "{xv}");
        }
    }

    #[test]
    fn an_outlier_is_downweighted_by_the_robust_passes() {
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        // A line with small alternating noise (an exact line stops the robust passes early, as
        // in statsmodels: the median residual is below 1e-7).
        let mut y: Vec<f64> =
            x.iter().map(|v| 10.0 + 0.1 * v + if *v as i32 % 2 == 0 { 0.05 } else { -0.05 }).collect();
        y[15] = 13.0;
        let plain = lowess(&x, &y, 0.5, 0, &[15.0])[0].expect("fit");
        let robust = lowess(&x, &y, 0.5, 3, &[15.0])[0].expect("fit");
        assert!((robust - 11.5).abs() < 0.1, "{robust}");
        assert!(plain > robust + 0.15, "{plain}");
    }
}
