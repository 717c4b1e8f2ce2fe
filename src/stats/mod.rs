//! Hand-written numerics, pure and I/O-free, in one reviewed place (DEVELOPERS.md: "write by
//! hand only what no good crate does (e.g. the statistics)"). Each follows R's definition, since
//! DESeq2 and edgeR are the reference implementations.

pub mod glm;
pub mod linalg;
pub mod locfit;
pub mod lowess;
pub mod negbin;
pub mod optimise;
pub mod pca;
pub mod rmath;
pub mod spline;

/// Whether `v` is a whole number, as `v.fract() == 0.0` says (never for NaN or infinity), without the `trunc` call
/// that costs a cohort matrix a fifth of a second: below 2^52 through an integer, above it every
/// float is whole.
pub fn is_whole(v: f64) -> bool {
    if v.abs() < 4_503_599_627_370_496.0 { (v as i64) as f64 == v } else { v.is_finite() }
}

/// Median of finite values (R's `median`: mean of the two middle values for an even count).
/// `None` for an empty input.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    // Selection, not a sort: the order statistics are the sort's, in linear time.
    let n = values.len();
    let (below, &mut upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    // With n even the lower middle value is the largest below the upper one (n ≥ 2 here).
    let lower = below.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
    Some(if n % 2 == 1 { upper } else { (lower + upper) / 2.0 })
}

/// R's `quantile(x, p, type = 7)` (linear interpolation between order statistics), which numpy's
/// default percentile and scipy's `scoreatpercentile` also use.
pub fn quantile_type7(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let h = (values.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let (_, &mut low, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let high = if hi == lo { low } else { above.iter().copied().min_by(f64::total_cmp).unwrap_or(low) };
    Some(low + (h - lo as f64) * (high - low))
}

/// A key whose integer order is `f64::total_cmp`'s order: integers sort faster than floats
/// through a comparison closure.
pub fn total_order_key(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The value of a [`total_order_key`].
pub fn from_total_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The values whose rank, as R's `rank(x)` gives it (1-based, ties averaged), lies within
/// `[lo, hi]` (whole numbers): as ranks grow with values, they are the values within the
/// returned bounds (`None`: no value). edgeR's TMM trims by rank this way. Two selections and a
/// pass replace ranking every element: a tie group at 0-based positions `i..=j` has rank
/// `(i + j)/2 + 1`, so the first group of rank ≥ `lo` is the one at position `lo - 1` or the
/// next, and the last of rank ≤ `hi` the one at `hi - 1` or the one before.
pub fn rank_window(values: &[f64], lo: f64, hi: f64) -> Option<(f64, f64)> {
    let n = values.len();
    if n == 0 || lo > hi || hi < 1.0 || lo > n as f64 {
        return None;
    }
    let (p, q) = ((lo.max(1.0) - 1.0) as usize, ((hi.min(n as f64)) - 1.0) as usize);
    let mut scratch = values.to_vec();
    // The second selection runs on what lies above the first (q ≥ p), and one pass counts both
    // tie groups.
    let (_, &mut at_p, above) = scratch.select_nth_unstable_by(p, f64::total_cmp);
    let at_q = if q == p { at_p } else { *above.select_nth_unstable_by(q - p - 1, f64::total_cmp).1 };
    let (mut less_p, mut equal_p, mut less_q, mut equal_q) = (0usize, 0usize, 0usize, 0usize);
    for &w in values {
        less_p += usize::from(w < at_p);
        equal_p += usize::from(w == at_p);
        less_q += usize::from(w < at_q);
        equal_q += usize::from(w == at_q);
    }
    let (i, j) = (less_p, (less_p + equal_p).saturating_sub(1));
    let first =
        if i + j >= 2 * p { Some(at_p) } else { values.iter().copied().filter(|&w| w > at_p).min_by(f64::total_cmp) };
    let (i, j) = (less_q, (less_q + equal_q).saturating_sub(1));
    let last =
        if i + j <= 2 * q { Some(at_q) } else { values.iter().copied().filter(|&w| w < at_q).max_by(f64::total_cmp) };
    first.zip(last).filter(|(a, b)| a <= b)
}

/// R's `seq(from, to, length.out = n)` for doubles: `from`, `from + k (to - from)/(n - 1)`, `to`.
pub fn seq_length(from: f64, to: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![from],
        _ => {
            let step = (to - from) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n - 1).map(|k| from + k as f64 * step).collect();
            v.push(to);
            v
        }
    }
}

/// R's `mean(x, trim = trim)`: `floor(n trim)` values dropped at each end of the sorted values,
/// then the mean with R's second pass (`mean + mean(x - mean)`). NaN for no values.
pub fn trimmed_mean(values: &mut [f64], trim: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    values.sort_unstable_by(f64::total_cmp);
    let cut = (n as f64 * trim).floor() as usize;
    let kept = if 2 * cut < n { &values[cut..n - cut] } else { &values[n / 2..n / 2 + 1] };
    let k = kept.len() as f64;
    let mean = kept.iter().sum::<f64>() / k;
    mean + kept.iter().map(|v| v - mean).sum::<f64>() / k
}

/// Geometric mean of positive values: `exp(mean(log(x)))`.
pub fn geometric_mean(values: &[f64]) -> f64 {
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_whole_agrees_with_fract() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            -3.0,
            0.5,
            -0.5,
            2.5,
            1e-300,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            -9.3e18,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for v in edges {
            assert_eq!(is_whole(v), v.fract() == 0.0, "{v}");
        }
    }

    #[test]
    fn median_and_quantile_follow_r() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        // R: quantile(c(1, 2, 3, 4, 10), 0.75) = 4; quantile(1:10, 0.75) = 7.75
        assert_eq!(quantile_type7(&mut [10.0, 1.0, 3.0, 2.0, 4.0], 0.75), Some(4.0));
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_type7(&mut v, 0.75), Some(7.75));
    }

    /// R's `rank(x)`, ties averaged, element by element.
    fn rank_average(values: &[f64]) -> Vec<f64> {
        values
            .iter()
            .map(|v| {
                let below = values.iter().filter(|w| *w < v).count() as f64;
                let equal = values.iter().filter(|w| *w == v).count() as f64;
                below + (equal + 1.0) / 2.0
            })
            .collect()
    }

    #[test]
    fn rank_windows_hold_the_values_whose_ranks_they_cover() {
        // R: rank(c(10, 20, 10, 30, 20)) = 1.5 3.5 1.5 5.0 3.5
        let values = [10.0, 20.0, 10.0, 30.0, 20.0];
        assert_eq!(rank_average(&values), vec![1.5, 3.5, 1.5, 5.0, 3.5]);
        assert_eq!(rank_window(&values, 2.0, 4.0), Some((20.0, 20.0)));
        assert_eq!(rank_window(&values, 1.0, 5.0), Some((10.0, 30.0)));
        assert_eq!(rank_window(&values, 2.0, 3.0), None);
        // Against ranking element by element, on values with many ties.
        let mut state = 12345u64;
        for round in 0..200 {
            let n = 1 + round % 37;
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 33) % 9) as f64 - 4.0
                })
                .collect();
            let ranks = rank_average(&values);
            // edgeR's trims (0.3 of log-ratios, 0.05 of abundances), none, and an empty window.
            for trim in [0.0, 0.05, 0.3, 0.45, 0.6] {
                let (lo, hi) = ((n as f64 * trim).floor() + 1.0, n as f64 - (n as f64 * trim).floor());
                let window = rank_window(&values, lo, hi);
                for (v, r) in values.iter().zip(&ranks) {
                    let inside = window.is_some_and(|(a, b)| *v >= a && *v <= b);
                    assert_eq!(inside, *r >= lo && *r <= hi, "{values:?}: {v} of rank {r} in [{lo}, {hi}]");
                }
            }
        }
    }

    #[test]
    fn seq_and_trimmed_mean_follow_r() {
        // R: seq(1, 10, length = 4) = 1 4 7 10; mean(c(1:9, 100), trim = 0.1) = 5.5
        assert_eq!(seq_length(1.0, 10.0, 4), vec![1.0, 4.0, 7.0, 10.0]);
        let mut v: Vec<f64> = (1..=9).map(f64::from).chain([100.0]).collect();
        assert_eq!(trimmed_mean(&mut v, 0.1), 5.5);
        assert!(trimmed_mean(&mut [], 0.1).is_nan());
    }

    #[test]
    fn total_order_keys_sort_as_total_cmp() {
        let mut values = vec![3.5, -0.0, 0.0, -2.0, f64::INFINITY, f64::NEG_INFINITY, 1e-300, -1e300, 7.0];
        let mut keys: Vec<i64> = values.iter().map(|&v| total_order_key(v)).collect();
        keys.sort_unstable();
        values.sort_by(f64::total_cmp);
        let back: Vec<u64> = keys.into_iter().map(|k| from_total_order_key(k).to_bits()).collect();
        assert_eq!(back, values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn geometric_mean_of_reciprocals_is_one() {
        assert!((geometric_mean(&[2.0, 0.5, 4.0, 0.25]) - 1.0).abs() < 1e-15);
    }
}
