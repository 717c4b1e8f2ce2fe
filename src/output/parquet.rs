//! Parquet writing with fixed, reproducible settings.
//!
//! Same inputs → same bytes: `created_by` is fixed to our version (not the parquet crate's),
//! row groups have a fixed size, and nothing time-dependent goes into data or metadata (timings
//! belong in `manifest.json`). Method and parameters go in the key-value metadata.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::OutputError;
use crate::io::atomic::write_atomic;
use crate::matrix::FeatureMatrix;

/// Rows per row group: fixed so the file layout never depends on how work was split.
pub const ROW_GROUP_ROWS: usize = 1 << 16;

/// Key-value metadata pairs.
pub type Metadata = Vec<(String, String)>;

fn properties(metadata: &Metadata) -> WriterProperties {
    let level = ZstdLevel::try_new(3).unwrap_or_default();
    WriterProperties::builder()
        .set_created_by(format!("harmonomics {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_key_value_metadata(Some(metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect()))
        .build()
}

/// Writes `path` atomically; `fill` pushes record batches of `schema` into the writer.
pub fn write_parquet<F>(path: &Path, schema: SchemaRef, metadata: &Metadata, fill: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn FnMut(RecordBatch) -> std::io::Result<()>) -> std::io::Result<()>,
{
    let to_io = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    write_atomic(path, |w| {
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(properties(metadata))).map_err(to_io)?;
        fill(&mut |batch| writer.write(&batch).map_err(to_io))?;
        writer.close().map_err(to_io)?;
        Ok(())
    })
    .map_err(|source| OutputError { path: path.to_path_buf(), source })
}

/// Writes one record batch.
pub fn write_batch(path: &Path, batch: RecordBatch, metadata: &Metadata) -> Result<(), OutputError> {
    write_parquet(path, batch.schema(), metadata, |push| push(batch))
}

/// Builds a record batch from named columns (all nullable).
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, ArrowError> {
    let fields: Vec<Field> = columns.iter().map(|(name, a)| Field::new(*name, a.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a)| a).collect())
}

/// A value type that can fill a wide-matrix column.
pub trait MatrixValue: Copy {
    /// Arrow type of the column.
    const DATA_TYPE: DataType;
    /// A column of these values, or an all-null column of `len` rows.
    fn array(values: Option<&[Self]>, len: usize) -> ArrayRef;
}

impl MatrixValue for u64 {
    const DATA_TYPE: DataType = DataType::UInt64;
    fn array(values: Option<&[u64]>, len: usize) -> ArrayRef {
        match values {
            Some(v) => Arc::new(UInt64Array::from(v.to_vec())),
            None => Arc::new(UInt64Array::new_null(len)),
        }
    }
}

impl MatrixValue for f64 {
    const DATA_TYPE: DataType = DataType::Float64;
    fn array(values: Option<&[f64]>, len: usize) -> ArrayRef {
        match values {
            Some(v) => Arc::new(Float64Array::from(v.to_vec())),
            None => Arc::new(Float64Array::new_null(len)),
        }
    }
}

impl MatrixValue for Option<f64> {
    const DATA_TYPE: DataType = DataType::Float64;
    fn array(values: Option<&[Option<f64>]>, len: usize) -> ArrayRef {
        match values {
            Some(v) => Arc::new(Float64Array::from(v.to_vec())),
            None => Arc::new(Float64Array::new_null(len)),
        }
    }
}

/// Writes a wide matrix: `feature_id`, then one column per sample, in sample order.
pub fn write_matrix<T: MatrixValue>(
    path: &Path,
    matrix: &FeatureMatrix<T>,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    let n = matrix.feature_ids.len();
    let mut fields = vec![Field::new("feature_id", DataType::Utf8, false)];
    fields.extend(matrix.sample_ids.iter().map(|s| Field::new(s, T::DATA_TYPE, true)));
    let schema = Arc::new(Schema::new(fields));
    write_parquet(path, schema.clone(), metadata, |push| {
        for start in (0..n.max(1)).step_by(ROW_GROUP_ROWS) {
            let end = (start + ROW_GROUP_ROWS).min(n);
            let ids: ArrayRef = Arc::new(StringArray::from_iter_values(matrix.feature_ids[start..end].iter()));
            let mut arrays = vec![ids];
            arrays.extend(matrix.columns.iter().map(|c| T::array(c.as_deref().map(|c| &c[start..end]), end - start)));
            let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
            push(batch)?;
        }
        Ok(())
    })
}
