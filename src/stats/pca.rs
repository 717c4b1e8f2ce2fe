//! PCA of the most variable features (DESeq2's `plotPCA` recipe: the `ntop` features with the
//! largest variance, centred per feature, no scaling) and mean silhouette widths, the two views
//! a QC report gives of "do samples group by batch or by biology".

/// How many of the most variable features a QC PCA or silhouette looks at (DESeq2's
/// `plotPCA` default), so the report and the batch-correction figures describe the same space.
pub const TOP_FEATURES: usize = 500;

/// Sample coordinates on the first two principal components.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// `[PC1, PC2]` per sample, in input order.
    pub scores: Vec<[f64; 2]>,
    /// Fraction of the selected features' total variance on PC1 and PC2.
    pub explained: [f64; 2],
    /// How many features went in.
    pub features: usize,
}

/// The `ntop` rows of `rows` (features × samples, complete) with the largest variance, centred.
/// Ties keep input order, so the selection is deterministic.
pub fn top_variable(rows: &[Vec<f64>], ntop: usize) -> Vec<Vec<f64>> {
    top_variable_of(
        rows.len(),
        |i, buffer| {
            buffer.clone_from(&rows[i]);
            true
        },
        ntop,
    )
    .0
}

/// [`top_variable`] over rows made on demand: `row(i, buffer)` fills `buffer` with row `i` and
/// says whether it is complete (incomplete rows are left out). Holds the selection, not a copy
/// of the matrix; also returns the number of complete rows.
pub fn top_variable_of(
    rows: usize,
    row: impl Fn(usize, &mut Vec<f64>) -> bool + Sync,
    ntop: usize,
) -> (Vec<Vec<f64>>, usize) {
    use rayon::prelude::*;
    let variance = |r: &[f64]| {
        let m = r.iter().sum::<f64>() / r.len() as f64;
        r.iter().map(|x| (x - m).powi(2)).sum::<f64>()
    };
    let mut order: Vec<(usize, f64)> = (0..rows)
        .into_par_iter()
        .map_init(Vec::new, |buffer, i| row(i, buffer).then(|| (i, variance(buffer))))
        .flatten()
        .collect();
    let complete = order.len();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut buffer = Vec::new();
    let top = order
        .iter()
        .take(ntop)
        .map(|&(i, _)| {
            row(i, &mut buffer);
            let m = buffer.iter().sum::<f64>() / buffer.len() as f64;
            buffer.iter().map(|x| x - m).collect()
        })
        .collect();
    (top, complete)
}

/// [`top_variable_of`] the rows of `m` with a finite value in every sample (NaN: missing): the
/// selection the report's PCA and the batch silhouettes use, and the number of complete rows.
pub fn top_variable_complete(m: &crate::matrix::FeatureMatrix<f64>, ntop: usize) -> (Vec<Vec<f64>>, usize) {
    top_variable_of(m.feature_ids.len(), |i, buffer| complete_row(m, i, buffer), ntop)
}

/// Row `i` of `m` into `buffer` when every sample has a finite value there.
fn complete_row(m: &crate::matrix::FeatureMatrix<f64>, i: usize, buffer: &mut Vec<f64>) -> bool {
    buffer.clear();
    for j in 0..m.sample_ids.len() {
        match m.get(i, j).copied() {
            Some(v) if v.is_finite() => buffer.push(v),
            _ => return false,
        }
    }
    true
}

/// PCA of centred feature rows (the selection [`top_variable`] makes); `None` with fewer than 3
/// samples or 2 features, or no variance. The two leading eigenpairs come from a deterministic
/// subspace iteration on the smaller of the samples' Gram matrix (n × n) and the features'
/// scatter matrix (p × p, for cohorts with more samples than selected features), so the cost per
/// step stays bounded by the 500 features however large the cohort; the two matrices share their
/// non-zero eigenvalues, and the sample scores are the Gram eigenvectors or Xᵀ times the scatter
/// eigenvectors. Each score vector is signed so its largest component is positive.
pub fn pca(x: &[Vec<f64>]) -> Option<Pca> {
    pca_on(x, x.first().is_some_and(|r| r.len() <= x.len()))
}

/// `v` with its sign flipped when its largest component is negative: an eigenvector's sign is
/// arbitrary, and this fixes one for reports and comparisons.
fn signed(mut v: Vec<f64>) -> Vec<f64> {
    let top = v.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    if top < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    v
}

/// [`pca`] on the Gram matrix (`by_samples`) or on the scatter matrix.
fn pca_on(x: &[Vec<f64>], by_samples: bool) -> Option<Pca> {
    let n = x.first()?.len();
    if n < 3 || x.len() < 2 {
        return None;
    }
    // Samples as contiguous columns; every sum below runs over features (or samples) in the same
    // order whatever the threads, so the result has the same bits at any thread count.
    type Scores<'a> = Box<dyn Fn(Vec<f64>, f64) -> Vec<f64> + 'a>;
    let (operator, scores_of): (Vec<Vec<f64>>, Scores) = if by_samples {
        let columns = transpose(x, n);
        let gram = symmetric(n, |a, b| columns[a].iter().zip(&columns[b]).map(|(p, q)| p * q).sum());
        // The eigenvector scaled by the singular value.
        (gram, Box::new(|v, l| signed(v).into_iter().map(|x| x * l.max(0.0).sqrt()).collect()))
    } else {
        let scatter = symmetric(x.len(), |a, b| x[a].iter().zip(&x[b]).map(|(p, q)| p * q).sum());
        // Xᵀu: the score vector itself (its norm is the singular value).
        (scatter, Box::new(|u, _| signed((0..n).map(|j| x.iter().zip(&u).map(|(r, w)| r[j] * w).sum()).collect())))
    };
    let trace: f64 = (0..operator.len()).map(|a| operator[a][a]).sum();
    if trace <= 0.0 {
        return None;
    }
    let (u1, u2, l1, l2) = leading_two(&operator)?;
    let (p1, p2) = (scores_of(u1, l1), scores_of(u2, l2));
    Some(Pca {
        scores: (0..n).map(|j| [p1[j], p2[j]]).collect(),
        explained: [l1.max(0.0) / trace, l2.max(0.0) / trace],
        features: x.len(),
    })
}

/// Principal coordinates (classical multidimensional scaling) of a symmetric distance matrix,
/// as scikit-bio's `pcoa` and R's `cmdscale`: Gower's double-centred matrix of −½ d², its two
/// leading eigenpairs, coordinates = eigenvector × √eigenvalue (each axis signed so its largest
/// component is positive), and the share of the centred matrix's trace on each axis. Non-metric
/// distances (Bray–Curtis) give small negative eigenvalues; the leading two are positive on any
/// table with structure. `None` with fewer than 3 samples or no spread.
pub fn pcoa(distances: &[Vec<f64>]) -> Option<Pca> {
    let n = distances.len();
    if n < 3 || distances.iter().any(|r| r.len() != n) {
        return None;
    }
    let half: Vec<Vec<f64>> = distances.iter().map(|r| r.iter().map(|d| -0.5 * d * d).collect()).collect();
    let means: Vec<f64> = half.iter().map(|r| r.iter().sum::<f64>() / n as f64).collect();
    let grand = means.iter().sum::<f64>() / n as f64;
    let centred: Vec<Vec<f64>> =
        (0..n).map(|a| (0..n).map(|b| half[a][b] - means[a] - means[b] + grand).collect()).collect();
    let trace: f64 = (0..n).map(|a| centred[a][a]).sum();
    if trace <= 0.0 {
        return None;
    }
    let (u1, u2, l1, l2) = leading_two(&centred)?;
    let axis = |u: Vec<f64>, l: f64| -> Vec<f64> { signed(u).into_iter().map(|x| x * l.max(0.0).sqrt()).collect() };
    let (p1, p2) = (axis(u1, l1), axis(u2, l2));
    Some(Pca {
        scores: (0..n).map(|j| [p1[j], p2[j]]).collect(),
        explained: [l1.max(0.0) / trace, l2.max(0.0) / trace],
        features: n,
    })
}

/// The two leading eigenpairs of a symmetric positive semi-definite matrix: subspace iteration
/// from fixed start vectors with a 2 × 2 Rayleigh–Ritz step, until both eigenvalues settle to
/// 1e-15 (or 2,000 steps); `None` when the matrix maps the start to zero.
fn leading_two(gram: &[Vec<f64>]) -> Option<(Vec<f64>, Vec<f64>, f64, f64)> {
    use rayon::prelude::*;
    let n = gram.len();
    let multiply = |v: &[f64]| -> Vec<f64> {
        let row = |row: &Vec<f64>| row.iter().zip(v).map(|(g, x)| g * x).sum();
        // Small cohorts are not worth a thread hand-off per multiplication.
        if n < 256 { gram.iter().map(row).collect() } else { gram.par_iter().map(row).collect() }
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Start vectors that are not orthogonal to any structured signal.
    let mut v1: Vec<f64> = (0..n).map(|j| 1.0 + (j as f64 * 0.618_033_988_75).fract()).collect();
    let mut v2: Vec<f64> = (0..n).map(|j| if j % 2 == 0 { 1.0 } else { -1.0 } + 0.01 * j as f64).collect();
    let (mut l1, mut l2) = (0.0, 0.0);
    for _ in 0..2000 {
        let (w1, w2) = (multiply(&v1), multiply(&v2));
        // Gram–Schmidt, then the 2 × 2 Rayleigh–Ritz step that separates the two directions.
        let n1 = dot(&w1, &w1).sqrt();
        if n1 == 0.0 {
            return None;
        }
        let q1: Vec<f64> = w1.iter().map(|x| x / n1).collect();
        let p = dot(&w2, &q1);
        let r2: Vec<f64> = w2.iter().zip(&q1).map(|(x, q)| x - p * q).collect();
        let n2 = dot(&r2, &r2).sqrt();
        let q2: Vec<f64> = if n2 > 0.0 { r2.iter().map(|x| x / n2).collect() } else { vec![0.0; n] };
        let (g1, g2) = (multiply(&q1), multiply(&q2));
        let (a, b, c) = (dot(&q1, &g1), dot(&q1, &g2), dot(&q2, &g2));
        let half = (a - c) / 2.0;
        let root = (half * half + b * b).sqrt();
        let (e1, e2) = ((a + c) / 2.0 + root, (a + c) / 2.0 - root);
        // Eigenvector of [[a, b], [b, c]] for e1: (b, e1 − a), or an axis when b is 0.
        let (c1, s1) = if b.abs() > 1e-300 {
            let norm = (b * b + (e1 - a).powi(2)).sqrt();
            (b / norm, (e1 - a) / norm)
        } else if a >= c {
            (1.0, 0.0)
        } else {
            (0.0, 1.0)
        };
        let new1: Vec<f64> = q1.iter().zip(&q2).map(|(x, y)| c1 * x + s1 * y).collect();
        let new2: Vec<f64> = q1.iter().zip(&q2).map(|(x, y)| -s1 * x + c1 * y).collect();
        let converged = (e1 - l1).abs() <= 1e-15 * e1.abs() && (e2 - l2).abs() <= 1e-15 * e1.abs();
        (v1, v2, l1, l2) = (new1, new2, e1, e2);
        if converged {
            break;
        }
    }
    Some((v1, v2, l1, l2))
}

/// The symmetric `n` × `n` matrix of `f(a, b)`, each pair computed once (`a ≤ b`, rows in
/// parallel) and mirrored: `f` must be symmetric, as products and distances are bit for bit.
fn symmetric(n: usize, f: impl Fn(usize, usize) -> f64 + Sync) -> Vec<Vec<f64>> {
    use rayon::prelude::*;
    let upper: Vec<Vec<f64>> = (0..n).into_par_iter().map(|a| (a..n).map(|b| f(a, b)).collect()).collect();
    (0..n).map(|a| (0..n).map(|b| if a <= b { upper[a][b - a] } else { upper[b][a - b] }).collect()).collect()
}

/// Σ (p − q)², in four running sums (lanes of one vector register) added at the end: the
/// silhouettes' n × n distances are the one step of a cohort's QC that grows with the square
/// of the samples, and a single running sum cannot be vectorised. Symmetric bit for bit, as
/// (p − q)² = (q − p)²; the same bits at any thread count.
fn squared_distance(p: &[f64], q: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let (pc, qc) = (p.chunks_exact(4), q.chunks_exact(4));
    let tail: f64 = pc.remainder().iter().zip(qc.remainder()).map(|(a, b)| (a - b) * (a - b)).sum();
    for (a, b) in pc.zip(qc) {
        for k in 0..4 {
            let d = a[k] - b[k];
            lanes[k] += d * d;
        }
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// The n × n Euclidean distances between `columns`: rows of the upper triangle in blocks of 8
/// (in parallel), each column `b` read once per block instead of once per row, then mirrored.
fn distances(columns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    use rayon::prelude::*;
    const BLOCK: usize = 8;
    let n = columns.len();
    let upper: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .flat_map_iter(|k| {
            let rows = k * BLOCK..((k + 1) * BLOCK).min(n);
            let mut out: Vec<Vec<f64>> = rows.clone().map(|a| Vec::with_capacity(n - a)).collect();
            for (b, column) in columns.iter().enumerate().skip(rows.start) {
                for (row, a) in out.iter_mut().zip(rows.clone()) {
                    if a <= b {
                        row.push(squared_distance(&columns[a], column).sqrt());
                    }
                }
            }
            out
        })
        .collect();
    (0..n).map(|a| (0..n).map(|b| if a <= b { upper[a][b - a] } else { upper[b][a - b] }).collect()).collect()
}

/// Rows (features × `n` samples) as `n` sample columns.
fn transpose(rows: &[Vec<f64>], n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|j| rows.iter().map(|r| r[j]).collect()).collect()
}

/// Mean silhouette width of `labels` for samples given as columns of `rows` (features ×
/// samples), Euclidean (scikit-learn's `silhouette_score`: a sample alone in its label scores 0).
/// Near 1: samples sit with their label; near 0 or below: the label does not group them.
/// `None` unless there are at least 2 labels and fewer labels than samples.
pub fn silhouette(rows: &[Vec<f64>], labels: &[String]) -> Option<f64> {
    silhouettes(rows, &[labels])[0]
}

/// [`silhouette`] of each of `labelings` over the same samples, their distances computed once.
pub fn silhouettes(rows: &[Vec<f64>], labelings: &[&[String]]) -> Vec<Option<f64>> {
    use rayon::prelude::*;
    let Some(n) = labelings.first().map(|l| l.len()) else { return Vec::new() };
    let codes: Vec<Option<(usize, Vec<usize>)>> = labelings
        .iter()
        .map(|labels| {
            let mut names: Vec<&String> = labels.iter().collect();
            names.sort();
            names.dedup();
            (labels.len() == n && names.len() >= 2 && names.len() < n)
                .then(|| (names.len(), labels.iter().map(|l| names.binary_search(&l).unwrap_or(0)).collect()))
        })
        .collect();
    if codes.iter().all(Option::is_none) {
        return vec![None; labelings.len()];
    }
    // Distances from contiguous sample columns, in parallel; each sum runs over features in
    // order, so the bits do not depend on the threads.
    let dist = distances(&transpose(rows, n));
    codes
        .iter()
        .map(|code| {
            let (labels, code) = code.as_ref()?;
            let size: Vec<usize> = (0..*labels).map(|k| code.iter().filter(|&&c| c == k).count()).collect();
            let widths: Vec<f64> = (0..n)
                .into_par_iter()
                .map(|i| {
                    if size[code[i]] == 1 {
                        return 0.0;
                    }
                    let mut sums = vec![0.0; *labels];
                    for j in 0..n {
                        sums[code[j]] += dist[i][j];
                    }
                    let a = sums[code[i]] / (size[code[i]] - 1) as f64;
                    let b = (0..*labels)
                        .filter(|&k| k != code[i])
                        .map(|k| sums[k] / size[k] as f64)
                        .fold(f64::INFINITY, f64::min);
                    if a.max(b) > 0.0 { (b - a) / a.max(b) } else { 0.0 }
                })
                .collect();
            let total: f64 = widths.iter().sum();
            Some(total / n as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_planted_axes_and_their_share_of_variance() {
        // 6 samples: a strong split (±3) on features 0–2, a weaker orthogonal one on 3–5.
        let split = [1.0, 1.0, 1.0, -1.0, -1.0, -1.0];
        let weak = [2.0, -1.0, -1.0, 2.0, -1.0, -1.0];
        let mut rows = Vec::new();
        for _ in 0..3 {
            rows.push(split.iter().map(|x| 3.0 * x).collect::<Vec<f64>>());
        }
        for _ in 0..3 {
            rows.push(weak.to_vec());
        }
        let p = pca(&top_variable(&rows, 500)).expect("pca");
        // Eigenvalues 162 and 36 (sums of squares); scores are the patterns times √(λ / |pattern|²),
        // each signed so its largest component is positive.
        for j in 0..6 {
            assert!((p.scores[j][0] - split[j] * 27f64.sqrt()).abs() < 1e-6, "{:?}", p.scores);
            assert!((p.scores[j][1] - weak[j] * 3f64.sqrt()).abs() < 1e-6, "{:?}", p.scores);
        }
        assert!((p.explained[0] - 162.0 / 198.0).abs() < 1e-12 && (p.explained[1] - 36.0 / 198.0).abs() < 1e-12);
    }

    #[test]
    fn the_gram_and_scatter_routes_agree() {
        // 7 features × 40 samples of deterministic pseudo-random values with two planted axes:
        // the scatter route (p < n, what large cohorts take) must give the Gram route's answer.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let rows: Vec<Vec<f64>> = (0..7)
            .map(|i| {
                (0..40).map(|j| if j % 2 == 0 { 4.0 } else { -4.0 } * (i < 3) as u8 as f64 + (j % 5) as f64 * (i >= 5) as u8 as f64 + noise()).collect()
            })
            .collect();
        let x = top_variable(&rows, 500);
        let (gram, scatter) = (pca_on(&x, true).expect("gram"), pca_on(&x, false).expect("scatter"));
        assert_eq!(pca(&x), Some(scatter.clone()));
        for (g, s) in gram.scores.iter().zip(&scatter.scores) {
            assert!((g[0] - s[0]).abs() < 1e-9 && (g[1] - s[1]).abs() < 1e-9, "{g:?} {s:?}");
        }
        for k in 0..2 {
            assert!((gram.explained[k] - scatter.explained[k]).abs() < 1e-12);
        }
        assert!(scatter.explained[0] > 0.5);
    }

    #[test]
    fn blocked_distances_equal_the_plain_sums_and_are_symmetric() {
        // 21 columns (two full blocks of 8 and a short one) of 11 features (a tail after the
        // four lanes).
        let columns: Vec<Vec<f64>> =
            (0..21).map(|j| (0..11).map(|i| ((i * 7 + j * 13) % 17) as f64 / 3.0 - j as f64 * 0.1).collect()).collect();
        let d = distances(&columns);
        for a in 0..21 {
            assert_eq!(d[a][a], 0.0);
            for b in 0..21 {
                let plain = columns[a].iter().zip(&columns[b]).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
                assert!((d[a][b] - plain).abs() <= 1e-12 * plain, "{a} {b}: {} vs {plain}", d[a][b]);
                assert_eq!(d[a][b].to_bits(), d[b][a].to_bits());
            }
        }
    }

    #[test]
    fn silhouette_matches_a_hand_computed_value() {
        // Points 0, 1 (label a) and 5 (label b) on a line: s(0) = (5 − 1)/5, s(1) = (4 − 1)/4,
        // s(5) = 0 (alone in its label).
        let rows = vec![vec![0.0, 1.0, 5.0]];
        let labels: Vec<String> = ["a", "a", "b"].iter().map(|s| s.to_string()).collect();
        let s = silhouette(&rows, &labels).expect("silhouette");
        assert!((s - (0.8 + 0.75) / 3.0).abs() < 1e-12, "{s}");
        assert!(silhouette(&rows, &labels[..2].iter().chain(&labels[..1]).cloned().collect::<Vec<_>>()).is_none());
        // Several labelings at once: each as on its own, a one-label labeling None.
        let other: Vec<String> = ["a", "b", "b"].iter().map(|s| s.to_string()).collect();
        let single: Vec<String> = vec!["a".to_string(); 3];
        let all = silhouettes(&rows, &[&labels, &single, &other]);
        assert_eq!(all, [silhouette(&rows, &labels), None, silhouette(&rows, &other)]);
        // s(0) = 0 (alone), s(1) = (1 − 4)/4, s(5) = (5 − 4)/5.
        assert!(all[2].is_some_and(|s| (s - (-0.75 + 0.2) / 3.0).abs() < 1e-12), "{all:?}");
    }
}
