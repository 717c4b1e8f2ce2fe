//! Hand-written numerics, pure and I/O-free, in one reviewed place (DEVELOPERS.md: "write by
//! hand only what no good crate does (e.g. the statistics)"). Each follows R's definition, since
//! DESeq2 and edgeR are the reference implementations.

pub mod glm;
pub mod linalg;
pub mod lowess;
pub mod negbin;
pub mod optimise;
pub mod pca;
pub mod rmath;
/// Median of finite values (R's `median`: mean of the two middle values for an even count).
/// `None` for an empty input.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

/// R's `quantile(x, p, type = 7)` (linear interpolation between order statistics), which numpy's
/// default percentile and scipy's `scoreatpercentile` also use.
pub fn quantile_type7(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let h = (values.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(values[lo] + (h - lo as f64) * (values[hi] - values[lo]))
}

/// R's `rank(x)` with ties averaged (`ties.method = "average"`), 1-based.
pub fn rank_average(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
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
    fn median_and_quantile_follow_r() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        // R: quantile(c(1, 2, 3, 4, 10), 0.75) = 4; quantile(1:10, 0.75) = 7.75
        assert_eq!(quantile_type7(&mut [10.0, 1.0, 3.0, 2.0, 4.0], 0.75), Some(4.0));
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_type7(&mut v, 0.75), Some(7.75));
    }

    #[test]
    fn ranks_average_ties_like_r() {
        // R: rank(c(10, 20, 10, 30, 20)) = 1.5 3.5 1.5 5.0 3.5
        assert_eq!(rank_average(&[10.0, 20.0, 10.0, 30.0, 20.0]), vec![1.5, 3.5, 1.5, 5.0, 3.5]);
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
    fn geometric_mean_of_reciprocals_is_one() {
        assert!((geometric_mean(&[2.0, 0.5, 4.0, 0.25]) - 1.0).abs() < 1e-15);
    }
}
