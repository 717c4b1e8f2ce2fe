//! R's `splinefun(x, y)` with its default `method = "fmm"` (Forsythe, Malcolm and Moler: the
//! end conditions match the third derivatives of cubics through the first and last four
//! points), from R's `splines.c` (`fmm_spline`, `spline_eval`). DESeq2's VST integrates a
//! non-parametric dispersion trend through it.

// Index loops follow R's C line for line.
#![allow(clippy::needless_range_loop)]

/// An interpolating cubic spline through sorted, distinct knots.
#[derive(Clone, Debug)]
pub struct FmmSpline {
    x: Vec<f64>,
    y: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    d: Vec<f64>,
}

impl FmmSpline {
    /// The spline through `(x[i], y[i])`; `x` sorted increasing without ties, at least two knots.
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Self {
        let n = x.len();
        let (mut b, mut c, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        if n < 2 {
            return Self { x, y, b, c, d };
        }
        if n < 3 {
            let t = y[1] - y[0];
            b[0] = t / (x[1] - x[0]);
            b[1] = b[0];
            return Self { x, y, b, c, d };
        }
        // 0-based transcription of R's 1-based code: R's index i is i - 1 here.
        let nm1 = n - 1;
        d[0] = x[1] - x[0];
        c[1] = (y[1] - y[0]) / d[0];
        for i in 1..nm1 {
            d[i] = x[i + 1] - x[i];
            b[i] = 2.0 * (d[i - 1] + d[i]);
            c[i + 1] = (y[i + 1] - y[i]) / d[i];
            c[i] = c[i + 1] - c[i];
        }
        b[0] = -d[0];
        b[nm1] = -d[n - 2];
        c[0] = 0.0;
        c[nm1] = 0.0;
        if n > 3 {
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0]);
            c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4]);
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0]);
            c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4]);
        }
        for i in 1..n {
            let t = d[i - 1] / b[i - 1];
            b[i] -= t * d[i - 1];
            c[i] -= t * c[i - 1];
        }
        c[nm1] /= b[nm1];
        for i in (0..nm1).rev() {
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i];
        }
        b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1]);
        for i in 0..nm1 {
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i]);
            d[i] = (c[i + 1] - c[i]) / d[i];
            c[i] *= 3.0;
        }
        c[nm1] *= 3.0;
        d[nm1] = d[n - 2];
        Self { x, y, b, c, d }
    }

    /// An evaluator for one call of the R function on a vector (`spline_eval`): it keeps the
    /// interval of the previous value and searches again only when a value leaves it, so a
    /// value on a knot uses the same piece as R does.
    pub fn evaluator(&self) -> Evaluator<'_> {
        Evaluator { spline: self, i: 0 }
    }

    /// An evaluator that resumes where one that stopped on `piece` left off (one R call on a
    /// vector, evaluated in runs).
    pub fn evaluator_from(&self, piece: usize) -> Evaluator<'_> {
        Evaluator { spline: self, i: piece.min(self.x.len().saturating_sub(1)) }
    }

    /// The spline at one value (a fresh call of the R function).
    pub fn eval(&self, u: f64) -> f64 {
        self.evaluator().eval(u)
    }
}

/// See [`FmmSpline::evaluator`].
pub struct Evaluator<'a> {
    spline: &'a FmmSpline,
    i: usize,
}

impl Evaluator<'_> {
    /// The piece the last value fell in.
    pub fn piece(&self) -> usize {
        self.i
    }

    /// The spline at `u`; cubic extrapolation of the end pieces beyond the knots.
    pub fn eval(&mut self, u: f64) -> f64 {
        let s = self.spline;
        let n = s.x.len();
        if n == 0 {
            return f64::NAN;
        }
        let mut i = self.i;
        if u < s.x[i] || (i + 1 < n && s.x[i + 1] < u) {
            i = 0;
            let mut j = n;
            loop {
                let k = (i + j) / 2;
                if u < s.x[k] {
                    j = k;
                } else {
                    i = k;
                }
                if j <= i + 1 {
                    break;
                }
            }
        }
        self.i = i;
        let dx = u - s.x[i];
        s.y[i] + dx * (s.b[i] + dx * (s.c[i] + dx * s.d[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubics_are_reproduced_and_knots_interpolated() {
        // FMM's end conditions make the spline exact for a cubic.
        let f = |x: f64| 1.0 - 2.0 * x + 0.5 * x * x - 0.25 * x * x * x;
        let x: Vec<f64> = (0..12).map(|i| (i as f64).powf(1.3) * 0.4).collect();
        let y: Vec<f64> = x.iter().map(|&x| f(x)).collect();
        let s = FmmSpline::new(x.clone(), y.clone());
        for (&xi, &yi) in x.iter().zip(&y) {
            assert!((s.eval(xi) - yi).abs() < 1e-12);
        }
        let mut e = s.evaluator();
        for t in [-0.5, 0.3, 1.7, 2.2, 5.9, 8.0] {
            assert!((e.eval(t) - f(t)).abs() < 1e-9, "{t}");
        }
    }

    #[test]
    fn two_knots_are_a_line() {
        let s = FmmSpline::new(vec![1.0, 3.0], vec![2.0, 6.0]);
        assert_eq!(s.eval(2.0), 4.0);
        assert_eq!(s.eval(5.0), 10.0);
    }
}
