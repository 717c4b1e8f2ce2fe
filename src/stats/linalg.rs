//! The few small dense factorisations edgeR's negative-binomial GLMs need, written as the
//! unblocked LAPACK routines scipy calls for matrices this small (`dpotf2`, `dgeqr2`, `dsytf2`,
//! `dgetf2`), so our iterates follow inmoose's step for step. Matrices are `Vec` of rows.

// Index loops mirror the LAPACK, R and edgeR originals line for line, which is what makes
// the port checkable against them.
#![allow(clippy::needless_range_loop)]

/// Cholesky `A = UᵀU` (LAPACK `dpotf2`, upper, as scipy's `cho_factor`) of the `n × n`
/// row-major `a` into `u`; `false` when `A` is not positive definite.
pub fn cholesky_upper(a: &[f64], n: usize, u: &mut [f64]) -> bool {
    u[..n * n].fill(0.0);
    for j in 0..n {
        let mut ajj = a[j * n + j];
        for k in 0..j {
            ajj -= u[k * n + j] * u[k * n + j];
        }
        if ajj <= 0.0 || ajj.is_nan() {
            return false;
        }
        let ujj = ajj.sqrt();
        u[j * n + j] = ujj;
        for i in j + 1..n {
            let mut s = a[j * n + i];
            for k in 0..j {
                s -= u[k * n + j] * u[k * n + i];
            }
            u[j * n + i] = s / ujj;
        }
    }
    true
}

/// Solves `UᵀU x = b` into `x` given the factor from [`cholesky_upper`] (LAPACK `dpotrs`).
pub fn cholesky_solve(u: &[f64], n: usize, b: &[f64], x: &mut [f64]) {
    x[..n].copy_from_slice(&b[..n]);
    for i in 0..n {
        for k in 0..i {
            x[i] -= u[k * n + i] * x[k];
        }
        x[i] /= u[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            x[i] -= u[i * n + k] * x[k];
        }
        x[i] /= u[i * n + i];
    }
}

/// Thin QR of an `m × n` matrix (`m ≥ n`) by Householder reflections (LAPACK `dgeqr2` +
/// `dorg2r`): returns `Q` (`m × n`) and `R` (`n × n`).
pub fn qr_thin(a: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let m = a.len();
    let n = a.first().map_or(0, Vec::len);
    let mut r = a.to_vec();
    let mut taus = vec![0.0; n];
    for k in 0..n.min(m) {
        // dlarfg: reflector H = I - tau v vᵀ with v[k] = 1 mapping r[k..][k] to (beta, 0, ...).
        let alpha = r[k][k];
        let xnorm = (k + 1..m).map(|i| r[i][k]).fold(0.0_f64, |acc, x| acc.hypot(x));
        if xnorm == 0.0 {
            taus[k] = 0.0;
            continue;
        }
        let beta = -alpha.hypot(xnorm).copysign(alpha);
        let tau = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        for row in r.iter_mut().skip(k + 1) {
            row[k] *= scale;
        }
        r[k][k] = beta;
        taus[k] = tau;
        // Apply H to the remaining columns.
        for j in k + 1..n {
            let mut w = r[k][j];
            for i in k + 1..m {
                w += r[i][k] * r[i][j];
            }
            w *= tau;
            r[k][j] -= w;
            for i in k + 1..m {
                let v = r[i][k];
                r[i][j] -= v * w;
            }
        }
    }
    // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity (dorg2r).
    let mut q = vec![vec![0.0; n]; m];
    for (j, row) in q.iter_mut().enumerate().take(n) {
        row[j] = 1.0;
    }
    for k in (0..n.min(m)).rev() {
        let tau = taus[k];
        for j in k..n {
            let mut w = q[k][j];
            for i in k + 1..m {
                w += r[i][k] * q[i][j];
            }
            w *= tau;
            q[k][j] -= w;
            for i in k + 1..m {
                let v = r[i][k];
                q[i][j] -= v * w;
            }
        }
    }
    let rr = (0..n).map(|i| (0..n).map(|j| if j >= i { r[i][j] } else { 0.0 }).collect()).collect();
    (q, rr)
}

/// Solves `R x = b` for upper-triangular `R`.
pub fn solve_upper(r: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = r.len();
    let mut x = b.to_vec();
    for i in (0..n).rev() {
        for k in i + 1..n {
            x[i] -= r[i][k] * x[k];
        }
        x[i] /= r[i][i];
    }
    x
}

/// Numerical rank from a QR's `R` diagonal, with numpy's `matrix_rank` tolerance
/// (`max|σ| · max(m, n) · ε`, here on `|R_ii|`, which bound the singular values of
/// the small indicator designs this is used on).
pub fn rank(a: &[Vec<f64>]) -> usize {
    let m = a.len();
    let n = a.first().map_or(0, Vec::len);
    if m == 0 || n == 0 {
        return 0;
    }
    let (_, r) = if m >= n { qr_thin(a) } else { qr_thin(&transpose(a)) };
    let diag: Vec<f64> = (0..r.len()).map(|i| r[i][i].abs()).collect();
    let largest = diag.iter().copied().fold(0.0, f64::max);
    let tol = largest * m.max(n) as f64 * f64::EPSILON;
    diag.iter().filter(|&&d| d > tol.max(1e-10 * largest)).count()
}

/// `Aᵀ`.
pub fn transpose(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.first().map_or(0, Vec::len);
    (0..n).map(|j| a.iter().map(|row| row[j]).collect()).collect()
}

/// Solves the square system `A x = b` by LU with partial pivoting (LAPACK `dgesv`); `None`
/// when `A` is singular.
pub fn solve_lu(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = a.len();
    let mut m = a.to_vec();
    let mut x = b.to_vec();
    for k in 0..n {
        let p = (k..n).max_by(|&i, &j| m[i][k].abs().total_cmp(&m[j][k].abs()).then(j.cmp(&i)))?;
        if m[p][k] == 0.0 {
            return None;
        }
        m.swap(k, p);
        x.swap(k, p);
        for i in k + 1..n {
            let f = m[i][k] / m[k][k];
            for j in k + 1..n {
                m[i][j] -= f * m[k][j];
            }
            x[i] -= f * x[k];
        }
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            x[i] -= m[i][k] * x[k];
        }
        x[i] /= m[i][i];
    }
    Some(x)
}

/// Adds `Σ_u w_u x_u x_uᵀ` to the `p × p` row-major `out`: `XᵀWX` of a design held by its
/// distinct rows `x_u`, `w_u` being the summed weights of the samples on each row.
pub fn add_weighted_gram(rows: &[Vec<f64>], weights: &[f64], out: &mut [f64]) {
    let p = rows.first().map_or(0, Vec::len);
    for (row, w) in rows.iter().zip(weights) {
        for a in 0..p {
            for b in 0..p {
                out[a * p + b] += w * row[a] * row[b];
            }
        }
    }
}

/// `log |det A|` of a square matrix by LU with partial pivoting (`None` when singular). For an
/// intercept with treatment contrasts over one factor's levels the elimination is exact and
/// gives 0.
pub fn log_abs_det(a: &[Vec<f64>]) -> Option<f64> {
    let n = a.len();
    let mut m = a.to_vec();
    let mut log_det = 0.0;
    for k in 0..n {
        let p = (k..n).max_by(|&i, &j| m[i][k].abs().total_cmp(&m[j][k].abs()).then(j.cmp(&i)))?;
        if m[p][k] == 0.0 {
            return None;
        }
        m.swap(k, p);
        for i in k + 1..n {
            let f = m[i][k] / m[k][k];
            for j in k + 1..n {
                m[i][j] -= f * m[k][j];
            }
        }
        log_det += m[k][k].abs().ln();
    }
    Some(log_det)
}

/// The diagonal of `D` in the Bunch–Kaufman factorisation `P A Pᵀ = L D Lᵀ` of a symmetric
/// matrix (LAPACK `dsytf2`, lower), as edgeR's Cox–Reid adjustment reads it. For a 2 × 2
/// pivot block the two diagonal entries of the block are returned, as LAPACK leaves them.
pub fn ldl_diagonal(a: &[Vec<f64>]) -> Vec<f64> {
    let n = a.len();
    let alpha = (1.0 + 17.0_f64.sqrt()) / 8.0;
    // Work on the full symmetric matrix; only the lower triangle is read.
    let mut w = a.to_vec();
    let sym_swap = |w: &mut Vec<Vec<f64>>, i: usize, j: usize| {
        w.swap(i, j);
        for row in w.iter_mut() {
            row.swap(i, j);
        }
    };
    let mut k = 0;
    while k < n {
        let absakk = w[k][k].abs();
        let (imax, colmax) =
            (k + 1..n).map(|i| (i, w[i][k].abs())).fold((k, 0.0), |best, c| if c.1 > best.1 { c } else { best });
        let mut kstep = 1;
        let mut kp = k;
        if absakk.max(colmax) == 0.0 || absakk.is_nan() {
            // Singular column: D(k) stays as it is.
        } else if absakk < alpha * colmax {
            let rowmax = (k..n).filter(|&j| j != imax).map(|j| w[imax][j].abs()).fold(0.0, f64::max);
            if absakk >= alpha * colmax * (colmax / rowmax) {
                kp = k;
            } else if w[imax][imax].abs() >= alpha * rowmax {
                kp = imax;
            } else {
                kp = imax;
                kstep = 2;
            }
        }
        let kk = k + kstep - 1;
        if kp != kk {
            sym_swap(&mut w, kk, kp);
        }
        if kstep == 1 {
            let d = w[k][k];
            if d != 0.0 {
                for i in k + 1..n {
                    for j in k + 1..=i {
                        let v = w[i][k] * w[j][k] / d;
                        w[i][j] -= v;
                        w[j][i] = w[i][j];
                    }
                }
                for i in k + 1..n {
                    w[i][k] /= d;
                }
            }
        } else {
            // 2 × 2 pivot on rows/columns k, k+1.
            let (d11, d21, d22) = (w[k][k], w[k + 1][k], w[k + 1][k + 1]);
            let det = d11 * d22 - d21 * d21;
            for i in k + 2..n {
                let (x1, x2) = (w[i][k], w[i][k + 1]);
                let l1 = (d22 * x1 - d21 * x2) / det;
                let l2 = (d11 * x2 - d21 * x1) / det;
                for j in k + 2..=i {
                    let (y1, y2) = (w[j][k], w[j][k + 1]);
                    w[i][j] -= l1 * y1 + l2 * y2;
                    w[j][i] = w[i][j];
                }
                w[i][k] = l1;
                w[i][k + 1] = l2;
            }
        }
        k += kstep;
    }
    (0..n).map(|i| w[i][i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let bt = transpose(b);
        a.iter().map(|r| bt.iter().map(|c| r.iter().zip(c).map(|(x, y)| x * y).sum()).collect()).collect()
    }

    #[test]
    fn cholesky_solves_and_refuses_indefinite_matrices() {
        let a = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
        let mut u = [0.0; 9];
        assert!(cholesky_upper(&a, 3, &mut u), "positive definite");
        let mut x = [0.0; 3];
        cholesky_solve(&u, 3, &[1.0, 2.0, 3.0], &mut x);
        for (row, b) in a.chunks(3).zip([1.0, 2.0, 3.0]) {
            assert!((row.iter().zip(&x).map(|(p, q)| p * q).sum::<f64>() - b).abs() < 1e-12);
        }
        assert!(!cholesky_upper(&[1.0, 2.0, 2.0, 1.0], 2, &mut u));
    }

    #[test]
    fn qr_reconstructs_and_ranks() {
        let a = vec![vec![1.0, 0.0, 1.0], vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 1.0], vec![0.0, 1.0, 0.0]];
        let (q, r) = qr_thin(&a);
        let back = matmul(&q, &r);
        for (x, y) in back.iter().flatten().zip(a.iter().flatten()) {
            assert!((x - y).abs() < 1e-14);
        }
        assert_eq!(rank(&a), 3);
        assert_eq!(rank(&[vec![1.0, 1.0], vec![2.0, 2.0]]), 1);
        let x = solve_lu(&[vec![0.0, 1.0], vec![2.0, 1.0]], &[1.0, 5.0]).expect("regular");
        assert!((x[0] - 2.0).abs() < 1e-15 && (x[1] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn ldl_diagonal_multiplies_to_the_determinant() {
        let a = vec![vec![10.0, 4.0, 3.0], vec![4.0, 4.0, 0.0], vec![3.0, 0.0, 3.0]];
        let d = ldl_diagonal(&a);
        let det = 10.0 * (4.0 * 3.0) - 4.0 * (4.0 * 3.0) + 3.0 * (0.0 - 4.0 * 3.0);
        assert!((d.iter().product::<f64>() - det).abs() < 1e-12, "{d:?}");
    }
}

/// Eigenvalues (descending) and unit eigenvectors (`vectors[k]` belongs to `values[k]`) of a
/// symmetric matrix, by cyclic Jacobi rotations: slow for large matrices, but exact to rounding,
/// deterministic, and a few hundred rows (a cohort's patients) take well under a second.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    // Row-major and flat; the rotation of M's columns p, q is applied to rows p, q and mirrored
    // (M stays symmetric), and the eigenvectors are kept as rows (Vᵀ) so every update is a
    // contiguous pass.
    let mut m: Vec<f64> = a.iter().flat_map(|r| r.iter().copied()).collect();
    let mut vt: Vec<f64> = (0..n * n).map(|k| f64::from(u8::from(k / n == k % n))).collect();
    let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n).map(|i| (i + 1..n).map(|j| m[i * n + j] * m[i * n + j]).sum::<f64>()).sum::<f64>() * 2.0;
        if off.sqrt() <= 1e-15 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    if k == p || k == q {
                        continue;
                    }
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    let (np, nq) = (c * mpk - s * mqk, s * mpk + c * mqk);
                    m[p * n + k] = np;
                    m[q * n + k] = nq;
                    m[k * n + p] = np;
                    m[k * n + q] = nq;
                }
                m[p * n + p] = app - t * apq;
                m[q * n + q] = aqq + t * apq;
                m[p * n + q] = 0.0;
                m[q * n + p] = 0.0;
                // q > p: row p lies before row q.
                let (lo, hi) = vt.split_at_mut(q * n);
                let (rp, rq) = (&mut lo[p * n..p * n + n], &mut hi[..n]);
                for (vp, vq) in rp.iter_mut().zip(rq.iter_mut()) {
                    let (x, y) = (*vp, *vq);
                    *vp = c * x - s * y;
                    *vq = s * x + c * y;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| m[b * n + b].total_cmp(&m[a * n + a]).then(a.cmp(&b)));
    let values = order.iter().map(|&k| m[k * n + k]).collect();
    let vectors = order.iter().map(|&k| vt[k * n..k * n + n].to_vec()).collect();
    (values, vectors)
}

#[cfg(test)]
mod eigen_tests {
    use super::symmetric_eigen;

    #[test]
    fn jacobi_recovers_a_known_spectrum() {
        // [[2,1,0],[1,2,0],[0,0,5]]: eigenvalues 5, 3, 1.
        let a = vec![vec![2.0, 1.0, 0.0], vec![1.0, 2.0, 0.0], vec![0.0, 0.0, 5.0]];
        let (values, vectors) = symmetric_eigen(&a);
        for (got, want) in values.iter().zip([5.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-12, "{values:?}");
        }
        // A v = λ v for each pair.
        for (l, v) in values.iter().zip(&vectors) {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-12);
            }
        }
    }
}
