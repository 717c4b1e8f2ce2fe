//! Wide matrices as every layer writes them (`feature_id`, then one column per sample, integers
//! or floats), read back: by `normalise` and `correct` for their input, and by harmonise for
//! each layer's primary matrices.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Float64Array, Int64Array, StringArray, UInt32Array, UInt64Array};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use crate::error::Location;
use crate::matrix::FeatureMatrix;

/// Errors reading a wide matrix.
#[derive(Debug, thiserror::Error)]
pub enum WideError {
    /// Unreadable file.
    #[error("{}: cannot read the matrix", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a matrix as we write them.
    #[error("{location}: {message}")]
    Malformed {
        /// The file.
        location: Location,
        /// What was expected.
        message: String,
    },
}

fn malformed(path: &Path, message: impl Into<String>) -> WideError {
    WideError::Malformed { location: Location::file(path), message: message.into() }
}

/// A failed open or decode of `path`.
fn unreadable(path: &Path, e: impl std::fmt::Display) -> WideError {
    WideError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) }
}

/// `path` opened for reading, its footer parsed.
fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, WideError> {
    let file = File::open(path).map_err(|e| unreadable(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(path, e))
}

/// The footer `builder` parsed, kept so that further readers of the file need not parse it again
/// (it lists every column chunk: row groups × samples).
fn footer(path: &Path, builder: &ParquetRecordBatchReaderBuilder<File>) -> Result<ArrowReaderMetadata, WideError> {
    ArrowReaderMetadata::try_new(builder.metadata().clone(), Default::default()).map_err(|e| unreadable(path, e))
}

/// `path` opened again with its already parsed `footer`.
fn reopen(path: &Path, footer: &ArrowReaderMetadata) -> Result<ParquetRecordBatchReaderBuilder<File>, WideError> {
    let file = File::open(path).map_err(|e| unreadable(path, e))?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(file, footer.clone()))
}

/// The sample columns of a wide matrix's schema, once its first column is `feature_id`.
fn sample_names(path: &Path, schema: &arrow_schema::SchemaRef) -> Result<Vec<String>, WideError> {
    if schema.fields().first().map(|f| f.name().as_str()) != Some("feature_id") {
        return Err(malformed(path, "expected a wide matrix whose first column is `feature_id`"));
    }
    Ok(schema.fields().iter().skip(1).map(|f| f.name().clone()).collect())
}

/// A batch's first column (`feature_id`) as strings; a null id is refused (it would otherwise
/// become an empty name that matches nothing).
fn feature_ids<'b>(
    path: &Path,
    batch: &'b arrow_array::RecordBatch,
) -> Result<impl Iterator<Item = &'b str> + 'b, WideError> {
    let ids = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| malformed(path, "`feature_id` is not a string column"))?;
    if ids.null_count() > 0 {
        return Err(malformed(path, "`feature_id` has a null value: every row needs a feature id"));
    }
    Ok((0..ids.len()).map(move |i| ids.value(i)))
}

/// One column's cells as `f64` (unsigned and signed integers, floats); `name` for the message.
pub fn column_values(path: &Path, name: &str, array: &dyn Array) -> Result<Vec<Option<f64>>, WideError> {
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<UInt64Array>() {
        return Ok(a.iter().map(|v| v.map(|v| v as f64)).collect());
    }
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Ok(a.iter().map(|v| v.map(|v| v as f64)).collect());
    }
    if let Some(a) = any.downcast_ref::<UInt32Array>() {
        return Ok(a.iter().map(|v| v.map(f64::from)).collect());
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return Ok(a.iter().collect());
    }
    Err(malformed(path, format!("column {name:?} is {}, expected counts (integers or floats)", array.data_type())))
}

/// Appends one column's cells to `out` as `f64`, null cells as NaN (the types of
/// [`column_values`]).
fn append_nan(path: &Path, name: &str, array: &dyn Array, out: &mut Vec<f64>) -> Result<(), WideError> {
    let any = array.as_any();
    macro_rules! extend {
        ($t:ty, $conv:expr) => {
            if let Some(a) = any.downcast_ref::<$t>() {
                if a.null_count() == 0 {
                    out.extend(a.values().iter().map(|&v| $conv(v)));
                } else {
                    out.extend(a.iter().map(|v| v.map_or(f64::NAN, $conv)));
                }
                return Ok(());
            }
        };
    }
    extend!(UInt64Array, |v: u64| v as f64);
    extend!(Int64Array, |v: i64| v as f64);
    extend!(UInt32Array, f64::from);
    extend!(Float64Array, |v: f64| v);
    Err(malformed(path, format!("column {name:?} is {}, expected counts (integers or floats)", array.data_type())))
}

/// Every row of a wide matrix with null cells as NaN, its sample columns decoded in parallel
/// (slices of 32 columns, each from its own reader of the file): reading a 60,000 × 900 matrix
/// is otherwise one core's work.
pub fn read_wide_parallel_nan(path: &Path) -> Result<FeatureMatrix<f64>, WideError> {
    use parquet::arrow::ProjectionMask;
    use rayon::prelude::*;
    const SLICE: usize = 32;
    let builder = open(path)?;
    // The footer is parsed once and shared by the slices: it describes every column chunk of
    // the file (row groups × samples), so parsing it once per slice had made the read grow with
    // the cube of the cohort (the merge's betas at 1,883 samples: 59 slices × 110,000 chunks).
    let metadata = footer(path, &builder)?;
    let samples = sample_names(path, builder.schema())?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [0]);
    let mut ids = Vec::new();
    for batch in builder.with_projection(mask).build().map_err(|e| unreadable(path, e))? {
        let batch = batch.map_err(|e| unreadable(path, e))?;
        let id = feature_ids(path, &batch)?;
        ids.extend(id.map(str::to_string));
    }
    let starts: Vec<usize> = (0..samples.len()).step_by(SLICE).collect();
    let slices: Vec<Vec<Vec<f64>>> = starts
        .par_iter()
        .map(|&start| {
            let end = (start + SLICE).min(samples.len());
            let builder = reopen(path, &metadata)?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), (start..end).map(|j| j + 1));
            let mut columns: Vec<Vec<f64>> = (start..end).map(|_| Vec::with_capacity(ids.len())).collect();
            for batch in builder.with_projection(mask).build().map_err(|e| unreadable(path, e))? {
                let batch = batch.map_err(|e| unreadable(path, e))?;
                for (k, column) in columns.iter_mut().enumerate() {
                    append_nan(path, &samples[start + k], batch.column(k).as_ref(), column)?;
                }
            }
            Ok(columns)
        })
        .collect::<Result<_, WideError>>()?;
    let columns: Vec<Option<Vec<f64>>> = slices.into_iter().flatten().map(Some).collect();
    Ok(FeatureMatrix { feature_ids: ids, sample_ids: samples, columns })
}

/// A wide matrix as we write them (`feature_id`, then one column per sample, integers or
/// floats), null cells as `None`. `keep` selects rows by feature id while reading, so a matrix
/// can be cut down to the rows of another without holding the whole file.
pub fn read_wide(
    path: &Path,
    keep: Option<&std::collections::HashMap<&str, usize>>,
) -> Result<FeatureMatrix<Option<f64>>, WideError> {
    read_wide_as(path, keep, None, |v| v)
}

/// [`read_wide`] with null cells as NaN: half the memory of `Option<f64>` for the cohort-wide
/// matrices harmonise holds.
pub fn read_wide_nan(
    path: &Path,
    keep: Option<&std::collections::HashMap<&str, usize>>,
) -> Result<FeatureMatrix<f64>, WideError> {
    read_wide_as(path, keep, f64::NAN, |v| v.unwrap_or(f64::NAN))
}

/// [`read_wide`] with each cell converted by `cell` as it is read (`missing` fills rows not yet
/// found).
fn read_wide_as<T: Clone>(
    path: &Path,
    keep: Option<&std::collections::HashMap<&str, usize>>,
    missing: T,
    cell: impl Fn(Option<f64>) -> T,
) -> Result<FeatureMatrix<T>, WideError> {
    let reader = open(path)?;
    let samples = sample_names(path, reader.schema())?;
    let rows = keep.map(|k| k.len());
    let mut ids = Vec::new();
    let mut columns: Vec<Vec<T>> = vec![rows.map_or_else(Vec::new, |n| vec![missing; n]); samples.len()];
    let mut found = vec![false; rows.unwrap_or(0)];
    for batch in reader.build().map_err(|e| unreadable(path, e))? {
        let batch = batch.map_err(|e| unreadable(path, e))?;
        let id = feature_ids(path, &batch)?;
        let values: Vec<Vec<Option<f64>>> = samples
            .iter()
            .enumerate()
            .map(|(j, name)| column_values(path, name, batch.column(j + 1).as_ref()))
            .collect::<Result<_, _>>()?;
        for (k, feature) in id.enumerate() {
            match keep {
                None => {
                    ids.push(feature.to_string());
                    for (column, v) in columns.iter_mut().zip(&values) {
                        column.push(cell(v[k]));
                    }
                }
                Some(keep) => {
                    let Some(&i) = keep.get(feature) else { continue };
                    found[i] = true;
                    for (column, v) in columns.iter_mut().zip(&values) {
                        column[i] = cell(v[k]);
                    }
                }
            }
        }
    }
    if let Some(keep) = keep {
        let mut by_row: Vec<(&str, usize)> = keep.iter().map(|(id, &i)| (*id, i)).collect();
        by_row.sort_by_key(|&(_, i)| i);
        if let Some((missing, _)) = by_row.iter().find(|&&(_, i)| !found[i]) {
            return Err(malformed(path, format!("feature {missing:?} is not in this matrix")));
        }
        ids = by_row.into_iter().map(|(id, _)| id.to_string()).collect();
    }
    Ok(FeatureMatrix::new(ids, samples, columns))
}

/// A wide matrix left on disk and read one sample column at a time, its rows put in the order of
/// another matrix's features: the long table needs each sample's raw values once, so a cohort's
/// raw matrices need not be held while it is written.
#[derive(Debug)]
pub struct ColumnReader {
    path: PathBuf,
    /// Sample ids in file order (the file's columns after `feature_id`).
    samples: Vec<String>,
    /// For each row of the file, its row in the output (`None`: not wanted).
    rows: Vec<Option<usize>>,
    out_rows: usize,
    /// The footer, parsed once (a wide matrix's footer describes every column chunk).
    metadata: ArrowReaderMetadata,
}

impl ColumnReader {
    /// Opens `path` (reading its `feature_id` column only) to give the rows `keep` names, in
    /// `keep`'s order; every one of them must be in the file.
    pub fn open(path: &Path, keep: &std::collections::HashMap<&str, usize>) -> Result<Self, WideError> {
        use parquet::arrow::ProjectionMask;
        let builder = open(path)?;
        let metadata = footer(path, &builder)?;
        let samples = sample_names(path, builder.schema())?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [0]);
        let mut rows = Vec::new();
        let mut found = vec![false; keep.len()];
        for batch in builder.with_projection(mask).build().map_err(|e| unreadable(path, e))? {
            let batch = batch.map_err(|e| unreadable(path, e))?;
            let ids = feature_ids(path, &batch)?;
            for id in ids {
                let row = keep.get(id).copied();
                if let Some(i) = row {
                    found[i] = true;
                }
                rows.push(row);
            }
        }
        if let Some(i) = found.iter().position(|f| !f) {
            let missing = keep.iter().find(|&(_, &k)| k == i).map_or("", |(id, _)| *id);
            return Err(malformed(path, format!("feature {missing:?} is not in this matrix")));
        }
        Ok(Self { path: path.to_path_buf(), samples, rows, out_rows: keep.len(), metadata })
    }

    /// The file's sample columns, in file order.
    pub fn sample_ids(&self) -> &[String] {
        &self.samples
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One sample's values in output row order, null cells as NaN. Each call opens the file
    /// afresh, so calls from several threads do not share a file offset.
    pub fn column(&self, sample: &str) -> Result<Vec<f64>, WideError> {
        use parquet::arrow::ProjectionMask;
        let j = self
            .samples
            .iter()
            .position(|s| s == sample)
            .ok_or_else(|| malformed(&self.path, format!("no column for sample {sample:?}")))?;
        let path = self.path.as_path();
        let builder = reopen(path, &self.metadata)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [j + 1]);
        let mut out = vec![f64::NAN; self.out_rows];
        let mut row = 0;
        for batch in builder.with_projection(mask).build().map_err(|e| unreadable(path, e))? {
            let batch = batch.map_err(|e| unreadable(path, e))?;
            for v in column_values(&self.path, sample, batch.column(0).as_ref())? {
                if let Some(Some(i)) = self.rows.get(row) {
                    out[*i] = v.unwrap_or(f64::NAN);
                }
                row += 1;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    /// A matrix of `ids` rows and `samples` float columns (cell (i, j) = i·1000 + j, every
    /// seventh cell null), written in row groups of two rows so the reader crosses groups.
    fn write(path: &Path, ids: &[Option<&str>], samples: usize) {
        let mut fields = vec![Field::new("feature_id", DataType::Utf8, true)];
        let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(ids.to_vec()))];
        for j in 0..samples {
            fields.push(Field::new(format!("s{j}"), DataType::Float64, true));
            let values: Vec<Option<f64>> =
                (0..ids.len()).map(|i| ((i + j) % 7 != 0).then_some((i * 1000 + j) as f64)).collect();
            columns.push(Arc::new(Float64Array::from(values)));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let properties =
            parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(2)).build();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(properties))
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    /// The parallel reader (slices of 32 columns sharing one parsed footer) returns what the
    /// row-wise reader does, over several slices and row groups.
    #[test]
    fn parallel_read_equals_the_row_wise_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.parquet");
        write(&path, &[Some("a"), Some("b"), Some("c"), Some("d"), Some("e")], 70);
        let parallel = read_wide_parallel_nan(&path).unwrap();
        let rows = read_wide_nan(&path, None).unwrap();
        assert_eq!(parallel.feature_ids, ["a", "b", "c", "d", "e"]);
        assert_eq!(parallel.sample_ids, rows.sample_ids);
        assert_eq!(parallel.sample_ids.len(), 70);
        for (p, r) in parallel.columns.iter().zip(&rows.columns) {
            let (p, r) = (p.as_ref().unwrap(), r.as_ref().unwrap());
            assert_eq!(p.len(), 5);
            assert!(p.iter().zip(r).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        assert_eq!(parallel.columns[69].as_ref().unwrap()[4], 4069.0);
        assert!(parallel.columns[0].as_ref().unwrap()[0].is_nan());
    }

    /// A null feature id is an error naming the file, in every reader.
    #[test]
    fn a_null_feature_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("null-id.parquet");
        write(&path, &[Some("a"), None, Some("c")], 3);
        let keep: std::collections::HashMap<&str, usize> = [("a", 0)].into();
        let errors =
            [read_wide_parallel_nan(&path).err(), read_wide(&path, None).err(), ColumnReader::open(&path, &keep).err()];
        for e in errors {
            let message = e.expect("a null feature id must be refused").to_string();
            assert!(message.contains("null-id.parquet") && message.contains("null value"), "{message}");
        }
    }
}
