//! Compositional transforms of one sample's abundances: closure (relative abundance), the
//! centred log-ratio with a pseudocount or after multiplicative replacement of zeros, and the
//! robust CLR over the non-zero taxa. Each follows vegan 2.6's `decostand` and scikit-bio's
//! `composition` module operation for operation (named where they differ).

use super::{CompositionError, check};

/// Relative abundances (each value over the sample's total): vegan's `decostand(x, "total")`,
/// scikit-bio's `closure`.
pub fn closure(values: &[f64]) -> Result<Vec<f64>, CompositionError> {
    check(values)?;
    let total: f64 = values.iter().sum();
    if total == 0.0 {
        return Err(CompositionError::Empty);
    }
    Ok(values.iter().map(|v| v / total).collect())
}

/// Centred log-ratio of `values + pseudocount`: `log(x) − mean(log(x))`, as vegan's
/// `decostand(x, "clr", pseudocount = p)` (which does not close the sample first: the CLR of a
/// composition does not depend on its total).
pub fn clr(values: &[f64], pseudocount: f64) -> Result<Vec<f64>, CompositionError> {
    check(values)?;
    let logs: Vec<f64> = values
        .iter()
        .map(|v| {
            let x = v + pseudocount;
            if x > 0.0 { Ok(x.ln()) } else { Err(CompositionError::Pseudocount(pseudocount)) }
        })
        .collect::<Result<_, _>>()?;
    Ok(centre(logs))
}

/// `logs` minus their mean.
fn centre(mut logs: Vec<f64>) -> Vec<f64> {
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    for l in &mut logs {
        *l -= mean;
    }
    logs
}

/// scikit-bio's `multiplicative_replacement` (`multi_replace` since 0.6): the sample is closed,
/// each zero becomes `delta` (default `1 / D²` for `D` taxa) and each non-zero proportion is
/// scaled by `1 − zeros · delta`, so the result still sums to one (Martín-Fernández et al. 2003).
pub fn multiplicative_replacement(values: &[f64], delta: Option<f64>) -> Result<Vec<f64>, CompositionError> {
    let closed = closure(values)?;
    let delta = delta.unwrap_or_else(|| (1.0 / closed.len() as f64).powi(2));
    let zeros = closed.iter().filter(|v| **v == 0.0).count();
    let scale = 1.0 - zeros as f64 * delta;
    if scale <= 0.0 {
        return Err(CompositionError::TooManyZeros { zeros, delta });
    }
    Ok(closed.into_iter().map(|v| if v == 0.0 { delta } else { scale * v }).collect())
}

/// CLR after multiplicative replacement: scikit-bio's `clr(multi_replace(x))`.
pub fn clr_replaced(values: &[f64], delta: Option<f64>) -> Result<Vec<f64>, CompositionError> {
    let replaced = multiplicative_replacement(values, delta)?;
    Ok(centre(replaced.iter().map(|v| v.ln()).collect()))
}

/// Robust CLR (Martino et al. 2019): the log-ratio to the geometric mean of the sample's
/// non-zero taxa, zeros kept as zero, as vegan's `decostand(x, "rclr")`. A sample of zeros only
/// is an error.
pub fn rclr(values: &[f64]) -> Result<Vec<f64>, CompositionError> {
    check(values)?;
    let (sum, n) = values.iter().filter(|v| **v > 0.0).fold((0.0, 0usize), |(s, n), v| (s + v.ln(), n + 1));
    if n == 0 {
        return Err(CompositionError::Empty);
    }
    let mean = sum / n as f64;
    Ok(values.iter().map(|v| if *v > 0.0 { v.ln() - mean } else { 0.0 }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn closure_and_clr_by_hand() {
        assert!(close(&closure(&[1.0, 3.0, 0.0]).unwrap(), &[0.25, 0.75, 0.0]));
        // log(2), log(4), log(8) around their mean log(4).
        let c = clr(&[1.0, 3.0, 7.0], 1.0).unwrap();
        assert!(close(&c, &[-(2f64.ln()), 0.0, 2f64.ln()]));
        // The CLR does not depend on the total.
        assert!(close(&clr(&[2.0, 4.0, 8.0], 0.0).unwrap(), &clr(&[0.5, 1.0, 2.0], 0.0).unwrap()));
        assert_eq!(clr(&[0.0, 1.0], 0.0), Err(CompositionError::Pseudocount(0.0)));
        assert_eq!(closure(&[0.0, 0.0]), Err(CompositionError::Empty));
        assert!(matches!(closure(&[1.0, -1.0]), Err(CompositionError::Invalid { index: 1, .. })));
        assert!(matches!(clr(&[1.0, f64::NAN], 1.0), Err(CompositionError::Invalid { index: 1, .. })));
    }

    #[test]
    fn multiplicative_replacement_keeps_the_sum_and_the_ratios() {
        // D = 4: delta 1/16; two zeros leave 1 - 2/16 for the non-zero parts, in their ratio.
        let r = multiplicative_replacement(&[0.0, 1.0, 3.0, 0.0], None).unwrap();
        assert!(close(&r, &[1.0 / 16.0, 0.25 * 0.875, 0.75 * 0.875, 1.0 / 16.0]));
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(
            multiplicative_replacement(&[0.0, 0.0, 1.0], Some(0.5)),
            Err(CompositionError::TooManyZeros { zeros: 2, delta: 0.5 })
        );
        let c = clr_replaced(&[0.0, 1.0, 3.0, 0.0], None).unwrap();
        assert!(c.iter().sum::<f64>().abs() < 1e-12);
        assert!((c[2] - c[1] - 3f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn robust_clr_ignores_zeros() {
        let r = rclr(&[0.0, 1.0, 4.0]).unwrap();
        assert!(close(&r, &[0.0, -(2f64.ln()), 2f64.ln()]));
        assert_eq!(rclr(&[0.0, 0.0]), Err(CompositionError::Empty));
    }
}
