//! A normalised matrix as what its method fitted, applied to the counts cell by cell. Every
//! method here maps a cell's count (and, for TPM and FPKM, its gene's length) to its value, so
//! the normalised matrix is computed as it is written, a row group at a time, instead of being
//! held whole beside the counts: at 60,000 genes × 900 samples each copy is 0.43 GB.

use crate::matrix::FeatureMatrix;

/// Fills `out` with a column's values for the genes from `first` on, given their counts.
type Fill = dyn Fn(usize, usize, &[f64], &mut [f64]) + Send + Sync;

/// A fitted normalisation, ready to apply to the counts it was fitted on.
pub struct Transform {
    /// Whether each sample's column is defined (an empty library has no CPM: its column is null).
    present: Vec<bool>,
    fill: Box<Fill>,
    /// Each column's values depend on the count alone, not on the gene: a column holds as many
    /// distinct values as distinct counts (a few thousand), which dictionary encoding exploits.
    by_count: bool,
}

impl Transform {
    /// Column `j`'s cells are `f(j, count)` where `present[j]`.
    pub fn by_count(present: Vec<bool>, f: impl Fn(usize, f64) -> f64 + Send + Sync + 'static) -> Self {
        let fill = move |j: usize, _first: usize, counts: &[f64], out: &mut [f64]| {
            for (o, &y) in out.iter_mut().zip(counts) {
                *o = f(j, y);
            }
        };
        Transform { present, fill: Box::new(fill), by_count: true }
    }

    /// Column `j`'s cells are `f(j, gene, count)` where `present[j]`.
    pub fn by_gene(present: Vec<bool>, f: impl Fn(usize, usize, f64) -> f64 + Send + Sync + 'static) -> Self {
        let fill = move |j: usize, first: usize, counts: &[f64], out: &mut [f64]| {
            for (i, (o, &y)) in out.iter_mut().zip(counts).enumerate() {
                *o = f(j, first + i, y);
            }
        };
        Transform { present, fill: Box::new(fill), by_count: false }
    }

    /// Column `j`'s cells are `f(scale[j], count)` where the column and its scale (a size
    /// factor, a library size) exist.
    pub fn by_sample(
        counts: &FeatureMatrix<f64>,
        scale: &[Option<f64>],
        f: impl Fn(f64, f64) -> f64 + Send + Sync + 'static,
    ) -> Self {
        let (present, scale) = scales(counts, scale);
        Self::by_count(present, move |j, y| f(scale[j], y))
    }

    /// A transform whose own `fill` does the work (one that needs per-run state).
    pub fn with_fill(
        present: Vec<bool>,
        by_count: bool,
        fill: impl Fn(usize, usize, &[f64], &mut [f64]) + Send + Sync + 'static,
    ) -> Self {
        Transform { present, fill: Box::new(fill), by_count }
    }

    /// Whether column `j` has values (of counts that have column `j`).
    pub fn is_present(&self, j: usize) -> bool {
        self.present.get(j).copied().unwrap_or(false)
    }

    /// How many columns have no values.
    pub fn absent(&self) -> usize {
        self.present.iter().filter(|p| !**p).count()
    }

    /// Whether each column's values are a function of the count alone.
    pub fn by_count_only(&self) -> bool {
        self.by_count
    }

    /// Column `j`'s values for the genes from `first` on, whose counts are `counts`. A column's
    /// runs come in gene order, starting from gene 0 (the local VST's spline search resumes
    /// where the column's previous run stopped, as R's one call on the whole column does).
    pub fn fill(&self, j: usize, first: usize, counts: &[f64], out: &mut [f64]) {
        (self.fill)(j, first, counts, out);
    }

    /// The whole normalised matrix of `counts` (columns in parallel).
    pub fn apply(&self, counts: &FeatureMatrix<f64>) -> FeatureMatrix<f64> {
        counts.par_map_columns(|j, c| {
            self.is_present(j).then(|| {
                let mut values = vec![0.0; c.len()];
                self.fill(j, 0, c, &mut values);
                values
            })
        })
    }

    /// This transform, fitted on the kept genes of a matrix, applied to the whole matrix: the
    /// genes `keep` leaves out are NaN (written as nulls).
    pub fn spread(self, keep: &[bool]) -> Self {
        // The kept genes before each gene: a run's kept genes are consecutive among the kept.
        let mut before = Vec::with_capacity(keep.len());
        let mut kept = 0;
        for &k in keep {
            before.push(kept);
            kept += usize::from(k);
        }
        let keep = keep.to_vec();
        let Transform { present, fill: inner, by_count } = self;
        let fill = move |j: usize, first: usize, counts: &[f64], out: &mut [f64]| {
            let keep = &keep[first..first + counts.len()];
            let chosen: Vec<f64> = counts.iter().zip(keep).filter(|(_, k)| **k).map(|(y, _)| *y).collect();
            let mut values = vec![0.0; chosen.len()];
            if !chosen.is_empty() {
                inner(j, before[first], &chosen, &mut values);
            }
            let mut values = values.into_iter();
            for (o, &k) in out.iter_mut().zip(keep) {
                *o = if k { values.next().unwrap_or(f64::NAN) } else { f64::NAN };
            }
        };
        Transform { present, fill: Box::new(fill), by_count }
    }

    /// This transform applied to the counts rounded as R's `round` does (half to even), for the
    /// DESeq2 methods given non-integer counts and `round`.
    pub fn of_rounded(self) -> Self {
        let Transform { present, fill: inner, by_count } = self;
        let fill = move |j: usize, first: usize, counts: &[f64], out: &mut [f64]| {
            let rounded: Vec<f64> = counts.iter().map(|v| v.round_ties_even()).collect();
            inner(j, first, &rounded, out);
        };
        Transform { present, fill: Box::new(fill), by_count }
    }
}

/// Which columns have values (the column and its scale exist), and each column's scale (NaN
/// where there is none).
pub fn scales(counts: &FeatureMatrix<f64>, scale: &[Option<f64>]) -> (Vec<bool>, Vec<f64>) {
    let present = counts.columns.iter().zip(scale).map(|(c, s)| c.is_some() && s.is_some()).collect();
    (present, scale.iter().map(|s| s.unwrap_or(f64::NAN)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::test_matrix as m;

    #[test]
    fn spread_applies_the_kept_genes_transform_and_leaves_the_others_nan() {
        // By gene: the value tells which kept gene (0, 1, 2) and which count it saw.
        let t = Transform::by_gene(vec![true, false], |_, gene, y| gene as f64 * 100.0 + y);
        let keep = [false, true, true, false, true];
        let spread = t.spread(&keep);
        let counts = m(vec![vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![0.0; 5]]);
        let whole = spread.apply(&counts);
        let col = whole.columns[0].as_ref().expect("present");
        assert!(col[0].is_nan() && col[3].is_nan());
        assert_eq!((col[1], col[2], col[4]), (2.0, 103.0, 205.0));
        assert!(whole.columns[1].is_none());
        // A run starting mid-matrix sees the same genes.
        let mut out = [0.0; 3];
        spread.fill(0, 2, &[3.0, 4.0, 5.0], &mut out);
        assert_eq!(out[0], 103.0);
        assert!(out[1].is_nan());
        assert_eq!(out[2], 205.0);
    }

    #[test]
    fn rounding_happens_before_the_transform_half_to_even() {
        let t = Transform::by_count(vec![true], |_, y| y * 10.0).of_rounded();
        let mut out = [0.0; 3];
        t.fill(0, 0, &[2.5, 3.5, 1.2], &mut out);
        assert_eq!(out, [20.0, 40.0, 10.0]);
    }
}
