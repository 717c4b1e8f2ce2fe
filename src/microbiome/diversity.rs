//! Diversity of taxon profiles. Alpha (within a sample): observed taxa, Shannon, Gini–Simpson and
//! Chao1, as vegan 2.6's `specnumber`, `diversity` and `estimateR` compute them (natural-log
//! Shannon; scikit-bio's `shannon` takes `base = e` for the same value). Beta (between two
//! samples): Bray–Curtis on the abundances and the Aitchison distance (Euclidean distance of the
//! CLRs), as vegan's `vegdist(x, "bray")` and `vegdist(x, "aitchison", pseudocount = p)`.

use super::{CompositionError, check, composition};

/// Taxa with a non-zero abundance (vegan's `specnumber`).
pub fn observed(values: &[f64]) -> Result<usize, CompositionError> {
    check(values)?;
    Ok(values.iter().filter(|v| **v > 0.0).count())
}

/// Shannon entropy `−Σ p ln p` over the non-zero proportions (vegan's `diversity(x, "shannon")`).
pub fn shannon(values: &[f64]) -> Result<f64, CompositionError> {
    let p = composition::closure(values)?;
    Ok(-p.iter().filter(|p| **p > 0.0).map(|p| p * p.ln()).sum::<f64>())
}

/// Gini–Simpson index `1 − Σ p²` (vegan's `diversity(x, "simpson")`, scikit-bio's `simpson`).
pub fn simpson(values: &[f64]) -> Result<f64, CompositionError> {
    let p = composition::closure(values)?;
    Ok(1.0 - p.iter().map(|p| p * p).sum::<f64>())
}

/// Bias-corrected Chao1 richness `S_obs + F1 (F1 − 1) / (2 (F2 + 1))`, with F1 and F2 the taxa
/// seen once and twice: vegan's `estimateR` `S.chao1` and scikit-bio's `chao1(bias_corrected =
/// True)`. Defined on read counts only, so fractions are an error.
pub fn chao1(values: &[f64]) -> Result<f64, CompositionError> {
    check(values)?;
    if let Some(index) = values.iter().position(|v| v.fract() != 0.0) {
        return Err(CompositionError::NotCounts { index, value: values[index], what: "Chao1" });
    }
    let count = |k: f64| values.iter().filter(|v| **v == k).count() as f64;
    let (f1, f2) = (count(1.0), count(2.0));
    Ok(observed(values)? as f64 + f1 * (f1 - 1.0) / (f2 + 1.0) / 2.0)
}

/// Bray–Curtis dissimilarity `Σ |a − b| / Σ (a + b)` (vegan's `vegdist(x, "bray")`; 0 for two
/// empty samples is not defined there, so it is an error here).
pub fn bray_curtis(a: &[f64], b: &[f64]) -> Result<f64, CompositionError> {
    if a.len() != b.len() {
        return Err(CompositionError::Lengths(a.len(), b.len()));
    }
    check(a)?;
    check(b)?;
    let (difference, total) = a.iter().zip(b).fold((0.0, 0.0), |(d, t), (x, y)| (d + (x - y).abs(), t + x + y));
    if total == 0.0 {
        return Err(CompositionError::Empty);
    }
    Ok(difference / total)
}

/// Euclidean distance between two CLR vectors: the Aitchison distance when they are the CLRs of
/// two samples (`composition::clr` with vegan's pseudocount, or `clr_replaced`).
pub fn euclidean(a: &[f64], b: &[f64]) -> Result<f64, CompositionError> {
    if a.len() != b.len() {
        return Err(CompositionError::Lengths(a.len(), b.len()));
    }
    Ok(a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_by_hand() {
        let x = [4.0, 2.0, 1.0, 1.0, 0.0];
        assert_eq!(observed(&x).unwrap(), 4);
        let p = [0.5, 0.25, 0.125, 0.125];
        let h = -p.iter().map(|p: &f64| p * p.ln()).sum::<f64>();
        assert!((shannon(&x).unwrap() - h).abs() < 1e-15);
        assert!((simpson(&x).unwrap() - (1.0 - (0.25 + 0.0625 + 2.0 * 0.015625))).abs() < 1e-15);
        // F1 = 2, F2 = 1: 4 + 2·1 / (2·2) = 4.5.
        assert_eq!(chao1(&x).unwrap(), 4.5);
        assert!(matches!(chao1(&[1.5, 2.0]), Err(CompositionError::NotCounts { index: 0, .. })));
        assert_eq!(shannon(&[0.0, 0.0]), Err(CompositionError::Empty));
    }

    #[test]
    fn beta_by_hand() {
        // |1−3| + |2−2| + |0−1| = 3 over 9.
        assert!((bray_curtis(&[1.0, 2.0, 0.0], &[3.0, 2.0, 1.0]).unwrap() - 3.0 / 9.0).abs() < 1e-15);
        assert_eq!(bray_curtis(&[1.0, 2.0], &[1.0, 2.0]).unwrap(), 0.0);
        assert_eq!(bray_curtis(&[1.0], &[1.0, 2.0]), Err(CompositionError::Lengths(1, 2)));
        assert_eq!(euclidean(&[0.0, 3.0], &[4.0, 0.0]).unwrap(), 5.0);
    }
}
