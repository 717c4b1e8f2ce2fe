//! The features × samples matrix every layer produces: feature ids as rows, samples as columns.
//!
//! Stored column-major (one `Vec` per sample) because every normaliser works per sample and
//! Parquet writes per column. A column that is `None` is entirely missing (e.g. a sample whose
//! library is empty has no defined CPM): missing is null, never 0 or NaN.

/// The first id that repeats an earlier one: (earlier index, repeat index). Every matrix row must
/// be one feature: two rows of one gene would be normalised as two genes and summed or picked
/// arbitrarily downstream.
pub fn first_repeat<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<(usize, usize)> {
    let mut seen = std::collections::HashMap::new();
    for (i, id) in ids.into_iter().enumerate() {
        if let Some(&earlier) = seen.get(id) {
            return Some((earlier, i));
        }
        seen.insert(id, i);
    }
    None
}

/// A features × samples matrix of `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMatrix<T> {
    /// Row names, in annotation order.
    pub feature_ids: Vec<String>,
    /// Column names, in samplesheet order.
    pub sample_ids: Vec<String>,
    /// One column per sample; `None` when the whole column is missing.
    pub columns: Vec<Option<Vec<T>>>,
}

impl<T> FeatureMatrix<T> {
    /// A fully present matrix.
    pub fn new(feature_ids: Vec<String>, sample_ids: Vec<String>, columns: Vec<Vec<T>>) -> Self {
        Self { feature_ids, sample_ids, columns: columns.into_iter().map(Some).collect() }
    }

    /// A matrix of the same shape and names with each present column transformed by `f`
    /// (which may itself declare the column missing).
    pub fn map_columns<U>(&self, mut f: impl FnMut(usize, &[T]) -> Option<Vec<U>>) -> FeatureMatrix<U> {
        FeatureMatrix {
            feature_ids: self.feature_ids.clone(),
            sample_ids: self.sample_ids.clone(),
            columns: self.columns.iter().enumerate().map(|(j, c)| c.as_deref().and_then(|c| f(j, c))).collect(),
        }
    }

    /// [`Self::map_columns`] with the columns transformed in parallel (each column is independent,
    /// so the result does not depend on the thread count).
    pub fn par_map_columns<U: Send>(&self, f: impl Fn(usize, &[T]) -> Option<Vec<U>> + Sync) -> FeatureMatrix<U>
    where
        T: Sync,
    {
        use rayon::prelude::*;
        FeatureMatrix {
            feature_ids: self.feature_ids.clone(),
            sample_ids: self.sample_ids.clone(),
            columns: self.columns.par_iter().enumerate().map(|(j, c)| c.as_deref().and_then(|c| f(j, c))).collect(),
        }
    }

    /// Value at (feature `i`, sample `j`), `None` when missing.
    pub fn get(&self, i: usize, j: usize) -> Option<&T> {
        self.columns.get(j)?.as_ref()?.get(i)
    }
}

impl FeatureMatrix<f64> {
    /// The samples with at least one value (NaN is missing): a column that is `None` or all NaN
    /// was not measured (e.g. a microbiome library left out for depth), and the cohort-wide fits
    /// leave it out rather than let it make every feature incomplete.
    pub fn measured_columns(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&j| self.columns[j].as_ref().is_some_and(|c| c.iter().any(|v| !v.is_nan())))
            .collect()
    }
}

/// A fully present f64 matrix with generated names (`g0…`, `s0…`), for unit tests.
#[cfg(test)]
pub(crate) fn test_matrix(columns: Vec<Vec<f64>>) -> FeatureMatrix<f64> {
    let n = columns.first().map_or(0, Vec::len);
    FeatureMatrix::new(
        (0..n).map(|i| format!("g{i}")).collect(),
        (0..columns.len()).map(|j| format!("s{j}")).collect(),
        columns,
    )
}
