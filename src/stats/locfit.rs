//! R's `locfit` (Loader's locfit 1.5-9) for one predictor, as DESeq2's `localDispersionFit`
//! calls it: `locfit(y ~ x, weights = w)` with every default, then `predict`. Written from the C
//! sources (`ev_atree.c`, `lf_nbhd.c`, `locfit.c`, `pcomp.c`, `ev_interp.c`), keeping their
//! order of operations:
//!
//! - local quadratic fits (`deg = 2`) with the tricube kernel and a nearest-neighbour bandwidth:
//!   the distance to the `⌊0.7 n⌋`-th nearest point (`alpha = 0.7`);
//! - the fit is Gaussian with the identity link, so each local fit is one weighted least-squares
//!   solve: locfit's start (the weighted mean) plus one Newton step, solved on the matrix scaled
//!   to unit diagonal as locfit's `JAC_EIGD` does;
//! - a global quadratic (locfit's "parametric component") is subtracted at the vertices and
//!   added back when predicting;
//! - the evaluation structure is the adaptive tree (`ev = rbox(cut = 0.8)`, `maxk = 100`): the
//!   data range is split at midpoints while a cell is longer than `cut` times the smaller
//!   bandwidth of its two vertices, at most 19 vertices; predictions interpolate the vertex
//!   values and slopes by cubic Hermite polynomials (linearly beyond the range).

/// Why the local fit could not be made (R's locfit stops with an error at these points).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LocfitError {
    /// No data, or the weights sum to zero.
    #[error("no points with positive weight")]
    NoPoints,
    /// The tree needed more vertices than locfit allocates (`newsplit: out of vertex space`).
    #[error("newsplit: out of vertex space (locfit's tree allows {0} vertices)")]
    OutOfVertexSpace(usize),
    /// A local design matrix was singular.
    #[error("singular local fit at x = {0}")]
    Singular(f64),
}

/// A fitted local regression, ready for [`LocalFit::predict`].
#[derive(Clone, Debug, PartialEq)]
pub struct LocalFit {
    /// Per vertex: position, bandwidth, and the local fit's value and slope minus the global
    /// quadratic's.
    vertices: Vec<Vertex>,
    /// The tree's cells; cell 0 is the data range.
    cells: Vec<Cell>,
    /// Weighted mean of the predictor, the centre of the global quadratic.
    xbar: f64,
    /// The global quadratic in `1, (x - xbar), (x - xbar)²/2`.
    global: [f64; 3],
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Vertex {
    x: f64,
    value: f64,
    slope: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Cell {
    lo: usize,
    hi: usize,
    /// The midpoint vertex and the two halves, for a split cell.
    split: Option<(usize, usize, usize)>,
}

/// locfit's defaults that DESeq2 keeps.
const ALPHA: f64 = 0.7;
const CUT: f64 = 0.8;
const MAXK: f64 = 100.0;

/// The vertices `atree_guessnv` allows in one dimension: `(5/(alpha·cut) + 1)·2`, scaled by
/// `maxk/100`.
fn max_vertices() -> usize {
    let a0 = if ALPHA > 1.0 { 1.0 } else { 1.0 / ALPHA };
    let nv = ((5.0 * a0 / CUT + 1.0) * 2.0) as usize;
    (MAXK / 100.0 * nv as f64) as usize
}

/// Tricube kernel `(1 - |u|³)³` on `|u| < 1` (locfit's `W(u, WTCUB)`).
fn tricube(u: f64) -> f64 {
    let u = u.abs();
    if u > 1.0 {
        return 0.0;
    }
    let v = 1.0 - u * u * u;
    v * v * v
}

/// The data of a fit: predictor, response, prior weights.
struct Data<'a> {
    x: &'a [f64],
    y: &'a [f64],
    w: &'a [f64],
}

impl Data<'_> {
    /// Weighted quadratic fit around `x0` with kernel weights `kernel` (one per point, zero
    /// leaves a point out): locfit's `reginit` (weighted mean), then one Newton step, which
    /// for a Gaussian fit is the least-squares solution. Returns `[value, slope, curvature]`.
    fn quadratic(&self, x0: f64, kernel: impl Fn(usize) -> f64) -> Result<[f64; 3], LocfitError> {
        let (mut s0, mut s1) = (0.0, 0.0);
        let mut points = Vec::new();
        for i in 0..self.x.len() {
            let k = kernel(i);
            if k > 0.0 {
                points.push((i, k));
                s0 += k * self.w[i];
                s1 += k * self.w[i] * self.y[i];
            }
        }
        if s0 == 0.0 || points.is_empty() {
            return Err(LocfitError::NoPoints);
        }
        let start = s1 / s0;
        // Gradient f1 = Σ k w X (y - start) and Hessian Z = Σ k w X Xᵀ, X = (1, dx, dx²/2).
        let mut f1 = [0.0; 3];
        let mut z = [0.0; 9];
        for &(i, k) in &points {
            let dx = self.x[i] - x0;
            let basis = [1.0, dx, dx * dx / 2.0];
            let kw = k * self.w[i];
            let r = kw * (self.y[i] - start);
            for a in 0..3 {
                f1[a] += basis[a] * r;
                for b in 0..3 {
                    z[a * 3 + b] += kw * basis[a] * basis[b];
                }
            }
        }
        // JAC_EIGD: scale to unit diagonal, solve, scale back.
        let dg: Vec<f64> = (0..3).map(|a| if z[a * 4] <= 0.0 { 0.0 } else { 1.0 / z[a * 4].sqrt() }).collect();
        let mut scaled = [0.0; 9];
        for a in 0..3 {
            for b in 0..3 {
                scaled[a * 3 + b] = z[a * 3 + b] * dg[a] * dg[b];
            }
        }
        let rhs: Vec<f64> = (0..3).map(|a| f1[a] * dg[a]).collect();
        let mut u = [0.0; 9];
        if !super::linalg::cholesky_upper(&scaled, 3, &mut u) {
            return Err(LocfitError::Singular(x0));
        }
        let mut delta = [0.0; 3];
        super::linalg::cholesky_solve(&u, 3, &rhs, &mut delta);
        Ok([start + delta[0] * dg[0], delta[1] * dg[1], delta[2] * dg[2]])
    }

    /// The local fit at `x0` and its bandwidth (`nbhd` + `locfit`): `h` is the
    /// `⌊0.7 n⌋`-th smallest distance to `x0`.
    fn local(&self, x0: f64) -> Result<([f64; 3], f64), LocfitError> {
        let n = self.x.len();
        let k = (n as f64 * ALPHA + 1e-12) as usize;
        let h = if k == 0 {
            0.0
        } else {
            let mut distances: Vec<f64> = self.x.iter().map(|&x| (x - x0).abs()).collect();
            *distances.select_nth_unstable_by(k - 1, f64::total_cmp).1
        };
        let kernel = |i: usize| {
            let d = (self.x[i] - x0).abs();
            if h == 0.0 { f64::from(u8::from(d == 0.0)) } else { tricube(d / h) }
        };
        Ok((self.quadratic(x0, kernel)?, h))
    }
}

impl LocalFit {
    /// `locfit(y ~ x, weights = w)` with locfit's defaults. `x`, `y` and `w` have one entry per
    /// point; weights are prior weights (DESeq2 passes the genes' mean counts).
    pub fn fit(x: &[f64], y: &[f64], w: &[f64]) -> Result<Self, LocfitError> {
        if x.is_empty() {
            return Err(LocfitError::NoPoints);
        }
        let data = Data { x, y, w };
        let total: f64 = w.iter().sum();
        let xbar = x.iter().zip(w).map(|(&x, &w)| x * w).sum::<f64>() / total;
        let global = data.quadratic(xbar, |_| 1.0)?;
        let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut fit = Self { vertices: Vec::new(), cells: Vec::new(), xbar, global };
        let mut bandwidths = Vec::new();
        let limit = max_vertices();
        for x0 in [lo, hi] {
            fit.add_vertex(&data, x0, &mut bandwidths)?;
        }
        fit.grow(&data, 0, 1, (lo, hi), &mut bandwidths, limit)?;
        Ok(fit)
    }

    /// Fits at `x0` and stores the residual from the global quadratic (`subparcomp`).
    fn add_vertex(&mut self, data: &Data<'_>, x0: f64, bandwidths: &mut Vec<f64>) -> Result<usize, LocfitError> {
        let ([value, slope, _], h) = data.local(x0)?;
        let dx = x0 - self.xbar;
        let [c0, c1, c2] = self.global;
        let global_value = c0 + c1 * dx + c2 * (dx * dx / 2.0);
        let global_slope = c1 + c2 * dx;
        self.vertices.push(Vertex { x: x0, value: value - global_value, slope: slope - global_slope });
        bandwidths.push(h);
        Ok(self.vertices.len() - 1)
    }

    /// `atree_grow`: splits the cell between vertices `lo` and `hi` at its midpoint while it is
    /// longer than `cut` times its smaller positive bandwidth, left half first.
    fn grow(
        &mut self,
        data: &Data<'_>,
        lo: usize,
        hi: usize,
        range: (f64, f64),
        bandwidths: &mut Vec<f64>,
        limit: usize,
    ) -> Result<usize, LocfitError> {
        let cell = self.cells.len();
        self.cells.push(Cell { lo, hi, split: None });
        let (ll, ur) = (self.vertices[lo].x, self.vertices[hi].x);
        let positive = [bandwidths[lo], bandwidths[hi]].into_iter().filter(|&h| h > 0.0);
        let hmin = positive.fold(0.0, |m: f64, h| if m == 0.0 || h < m { h } else { m });
        let score = if hmin == 0.0 { 2.0 * (ur - ll) / (range.1 - range.0) } else { (ur - ll) / hmin };
        // A NaN score (a degenerate range) does not split, as in locfit.
        if score.partial_cmp(&CUT) != Some(std::cmp::Ordering::Greater) {
            return Ok(cell);
        }
        if self.vertices.len() == limit {
            return Err(LocfitError::OutOfVertexSpace(limit));
        }
        let mid = self.add_vertex(data, (ll + ur) / 2.0, bandwidths)?;
        let left = self.grow(data, lo, mid, range, bandwidths, limit)?;
        let right = self.grow(data, mid, hi, range, bandwidths, limit)?;
        self.cells[cell].split = Some((mid, left, right));
        Ok(cell)
    }

    /// `predict(fit, x)`: the leaf cell holding `x` (the outer cells beyond the range), cubic
    /// Hermite interpolation of the vertices' residual values and slopes (`rectcell_interp`),
    /// plus the global quadratic (`addparcomp`).
    pub fn predict(&self, x: f64) -> f64 {
        let mut cell = self.cells[0];
        while let Some((_, left, right)) = cell.split {
            let (ll, ur) = (self.vertices[cell.lo].x, self.vertices[cell.hi].x);
            cell = if 2.0 * (x - ll) < ur - ll { self.cells[left] } else { self.cells[right] };
        }
        let (a, b) = (self.vertices[cell.lo], self.vertices[cell.hi]);
        let width = b.x - a.x;
        let phi = hermite(x - a.x, width);
        let residual = phi[0] * a.value + phi[1] * b.value + phi[2] * width * a.slope + phi[3] * width * b.slope;
        let dx = x - self.xbar;
        let [c0, c1, c2] = self.global;
        residual + (c0 + c1 * dx + c2 * (dx * dx / 2.0))
    }

    /// Number of vertices the tree used.
    pub fn vertex_count(&self) -> usize {
        self.vertices.len()
    }
}

/// locfit's `hermite2`: cubic Hermite basis at offset `x` in a cell of width `z`, linear beyond
/// the cell.
fn hermite(x: f64, z: f64) -> [f64; 4] {
    if z == 0.0 {
        return [1.0, 0.0, 0.0, 0.0];
    }
    let h = x / z;
    if h < 0.0 {
        return [1.0, 0.0, h, 0.0];
    }
    if h > 1.0 {
        return [0.0, 1.0, 0.0, h - 1.0];
    }
    let p1 = h * h * (3.0 - 2.0 * h);
    [1.0 - p1, p1, h * (1.0 - h) * (1.0 - h), h * h * (h - 1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quadratic_is_reproduced_everywhere() {
        // A local quadratic fit reproduces a quadratic exactly, at and between the vertices,
        // and the linear extension beyond the range follows the end slopes.
        let x: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin() * 3.0 + i as f64 * 0.01).collect();
        let f = |x: f64| 0.5 - 0.3 * x + 0.2 * x * x;
        let y: Vec<f64> = x.iter().map(|&x| f(x)).collect();
        let w: Vec<f64> = (0..200).map(|i| 1.0 + (i % 7) as f64).collect();
        let fit = LocalFit::fit(&x, &y, &w).expect("fit");
        assert!(fit.vertex_count() >= 3 && fit.vertex_count() <= max_vertices());
        for t in [-2.5, -1.0, 0.0, 0.7, 1.9, 3.5] {
            assert!((fit.predict(t) - f(t)).abs() < 1e-9, "{t}: {} vs {}", fit.predict(t), f(t));
        }
    }

    #[test]
    fn vertex_space_and_empty_data_are_errors() {
        assert_eq!(max_vertices(), 19);
        assert_eq!(LocalFit::fit(&[], &[], &[]).unwrap_err(), LocfitError::NoPoints);
        assert_eq!(LocalFit::fit(&[1.0, 2.0], &[1.0, 2.0], &[0.0, 0.0]).unwrap_err(), LocfitError::NoPoints);
    }

    #[test]
    fn hermite_basis_interpolates_and_extends_linearly() {
        assert_eq!(hermite(0.0, 2.0), [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(hermite(2.0, 2.0), [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(hermite(-1.0, 2.0), [1.0, 0.0, -0.5, 0.0]);
        assert_eq!(hermite(3.0, 2.0), [0.0, 1.0, 0.0, 0.5]);
    }
}
