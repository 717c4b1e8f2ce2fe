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

use crate::io::OutputError;
use crate::io::atomic::write_atomic;
use crate::matrix::FeatureMatrix;

/// Rows per row group: fixed so the file layout never depends on how work was split.
pub const ROW_GROUP_ROWS: usize = 1 << 16;

/// Key-value metadata pairs.
pub type Metadata = Vec<(String, String)>;

/// Builds a file's key-value metadata from extra (key, value) pairs.
pub type MetadataFor<'a> = dyn Fn(&[(&str, String)]) -> Metadata + 'a;

/// Rows per row group of a wide matrix with `columns` columns: 65,536 for narrow tables, fewer
/// for wide ones so a row group stays near 16 M cells (a 10,000 × 2,000 matrix is not buffered
/// whole; smaller groups cost a zstd context per column chunk, which at 4 M cells was a tenth of
/// writing a 60,000 × 900 matrix). A function of the shape only, so the bytes never depend on how work was split.
pub fn row_group_rows(columns: usize) -> usize {
    ((16 << 20) / columns.max(1)).max(256)
}

/// Rows per row group of a matrix written row by row ([`MatrixStream`], the cohort merges):
/// near 8 M cells, as the stream buffers a whole row group beside the data it merges (at 850
/// methylation samples 16 M cells cost 0.35 GiB more peak memory than 8 M, and 4 M cost 15%
/// more time in zstd contexts).
pub fn stream_row_group_rows(columns: usize) -> usize {
    ((8 << 20) / columns.max(1)).max(256)
}

fn properties(metadata: &Metadata) -> WriterProperties {
    properties_with(metadata, ROW_GROUP_ROWS)
}

fn properties_with(metadata: &Metadata, rows: usize) -> WriterProperties {
    properties_builder(metadata, rows).build()
}

fn properties_builder(metadata: &Metadata, rows: usize) -> parquet::file::properties::WriterPropertiesBuilder {
    // Level 1: at cohort size the outputs are gigabytes and zstd was a fifth of a run's CPU; level
    // 1 costs ~15% less CPU than 3 in the long tables for files 1-4% larger.
    let level = ZstdLevel::try_new(1).unwrap_or_default();
    WriterProperties::builder()
        .set_created_by(format!("harmonomics {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::ZSTD(level))
        // Dictionary pages buffer up to 1 MB per column before falling back: for a matrix with
        // thousands of sample columns that is gigabytes, and numeric values gain nothing from
        // them that zstd does not already give.
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(rows))
        .set_key_value_metadata(Some(metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect()))
}

/// Writer properties of a [`MatrixGroups`] matrix of `data_type` values (the methylation merge's
/// outputs). Whole-number sample columns are delta-encoded and left uncompressed: 5-8% larger
/// than zstd over plain 64-bit integers on methylation coverage, and 12% faster to write at
/// 1,900 samples, where each row group creates a zstd context per column. (Kept to the merge's
/// own outputs: parquet's delta decoder panics on some damaged pages, so matrices that users feed
/// back in, the count matrices, stay zstd.) Float sample columns are dictionary-encoded before
/// zstd: betas and M-values are ratios of small counts, so a column chunk holds a few hundred
/// distinct values; at 854 samples that halves the two files (246 → 109 MB for the betas) and
/// takes a quarter off the merge's CPU, as zstd then sees small dictionary indices instead of
/// 8-byte floats. A chunk whose dictionary outgrows the page limit falls back to plain values.
fn matrix_properties(
    metadata: &Metadata,
    rows: usize,
    sample_ids: &[String],
    data_type: &DataType,
) -> WriterProperties {
    use parquet::basic::Encoding;
    use parquet::schema::types::ColumnPath;
    let mut builder = properties_builder(metadata, rows);
    for id in sample_ids {
        let column = ColumnPath::from(id.as_str());
        builder = if data_type.is_integer() {
            builder
                .set_column_encoding(column.clone(), Encoding::DELTA_BINARY_PACKED)
                .set_column_compression(column, Compression::UNCOMPRESSED)
        } else {
            builder.set_column_dictionary_enabled(column, true)
        };
    }
    builder.build()
}

/// The schema of a wide matrix: `feature_id`, then one nullable column of `data_type` per sample.
fn matrix_schema(sample_ids: &[String], data_type: &DataType) -> SchemaRef {
    let mut fields = vec![Field::new("feature_id", DataType::Utf8, false)];
    fields.extend(sample_ids.iter().map(|s| Field::new(s, data_type.clone(), true)));
    Arc::new(Schema::new(fields))
}

/// Writes `path` atomically; `fill` pushes record batches of `schema` into the writer.
pub fn write_parquet<F>(path: &Path, schema: SchemaRef, metadata: &Metadata, fill: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn FnMut(RecordBatch) -> std::io::Result<()>) -> std::io::Result<()>,
{
    write_with(path, schema, properties(metadata), fill)
}

/// Rows per data page of files that are read back many at a time ([`write_parquet_streamable`]).
pub const STREAM_PAGE_ROWS: usize = 4096;

/// [`write_parquet`], as one of `staged`'s outputs, with data pages of at most [`STREAM_PAGE_ROWS`] rows, for files a cohort
/// merge keeps open by the hundred: a reader holds one decompressed page per column, so small
/// pages bound its memory (65,536-row pages cost ~2 MB per open file), and so does leaving the
/// pages uncompressed. Columns named in `dictionary` are dictionary-encoded (a chromosome per
/// row), the other integer columns delta-encoded (sorted positions, small counts): both decode
/// fast and keep the file small without compression.
pub fn stage_parquet_streamable<F>(
    staged: &mut crate::io::atomic::Staged,
    path: &Path,
    schema: SchemaRef,
    metadata: &Metadata,
    dictionary: &[&str],
    fill: F,
) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn FnMut(RecordBatch) -> std::io::Result<()>) -> std::io::Result<()>,
{
    use parquet::basic::Encoding;
    use parquet::schema::types::ColumnPath;
    // No zstd: a reader holds a decompression context per column (~150 KB), which for a merge of
    // 2,000 files is over a gigabyte; the encodings below already make the file small.
    let mut builder = properties_builder(metadata, ROW_GROUP_ROWS)
        .set_data_page_row_count_limit(STREAM_PAGE_ROWS)
        .set_compression(Compression::UNCOMPRESSED);
    for field in schema.fields() {
        let column = ColumnPath::from(field.name().as_str());
        if dictionary.contains(&field.name().as_str()) {
            builder = builder.set_column_dictionary_enabled(column, true);
        } else if field.data_type().is_integer() {
            builder = builder.set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
        }
    }
    let properties = builder.build();
    staged.write(path, |w| encode(w, schema, properties, fill))
}

fn write_with<F>(path: &Path, schema: SchemaRef, properties: WriterProperties, fill: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut dyn FnMut(RecordBatch) -> std::io::Result<()>) -> std::io::Result<()>,
{
    write_atomic(path, |w| encode(w, schema, properties, fill))
        .map_err(|source| OutputError { path: path.to_path_buf(), source })
}

/// The Parquet bytes of the batches `fill` pushes, onto `w`.
fn encode<W, F>(w: W, schema: SchemaRef, properties: WriterProperties, fill: F) -> std::io::Result<()>
where
    W: std::io::Write + Send,
    F: FnOnce(&mut dyn FnMut(RecordBatch) -> std::io::Result<()>) -> std::io::Result<()>,
{
    let to_io = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    let mut writer = ArrowWriter::try_new(w, schema, Some(properties)).map_err(to_io)?;
    fill(&mut |batch| writer.write(&batch).map_err(to_io))?;
    writer.close().map_err(to_io)?;
    Ok(())
}

/// [`write_batch`] as one of a command's [`crate::io::atomic::Staged`] outputs.
pub fn stage_batch(
    staged: &mut crate::io::atomic::Staged,
    path: &Path,
    batch: RecordBatch,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    staged.write(path, |w| encode(w, batch.schema(), properties(metadata), |push| push(batch)))
}

/// Columns whose writers are open at once while a row group is encoded column by column.
const COLUMNS_AT_ONCE: usize = 64;

type FileWriter<W> = parquet::file::writer::SerializedFileWriter<W>;

/// A Parquet file writer that takes whole row groups and encodes each a slice of
/// [`COLUMNS_AT_ONCE`] columns at a time (in parallel within a slice), closing every column
/// writer as soon as its column is done. For the wide matrices (a column per sample):
/// [`ArrowWriter`] opens a writer for every column of a row group at once, and every parquet
/// column writer holds its own zstd compression and decompression contexts (~100 KB before
/// anything is written), so a 2,000-sample matrix costs ~200 MB per open row group that way.
/// The bytes equal [`ArrowWriter`]'s for batches of one row group each: the same column writers,
/// in the same order, behind the same file writer.
struct RowGroupWriter<W: std::io::Write + Send> {
    writer: FileWriter<W>,
    props: Arc<WriterProperties>,
}

impl<W: std::io::Write + Send> RowGroupWriter<W> {
    fn new(w: W, schema: &SchemaRef, mut props: WriterProperties) -> parquet::errors::Result<Self> {
        parquet::arrow::add_encoded_arrow_schema_to_metadata(schema, &mut props);
        let parquet_schema =
            parquet::arrow::ArrowSchemaConverter::new().with_coerce_types(props.coerce_types()).convert(schema)?;
        let props = Arc::new(props);
        let writer = FileWriter::new(w, parquet_schema.root_schema_ptr(), Arc::clone(&props))?;
        Ok(Self { writer, props })
    }

    /// Appends `batch` (flat columns only) as one row group; an empty batch writes nothing, as
    /// with [`ArrowWriter`].
    fn write(&mut self, batch: &RecordBatch) -> parquet::errors::Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.write_columns(&batch.schema(), &|k| Arc::clone(batch.column(k)))
    }

    /// Appends one row group of `schema`'s flat columns, column `k` made by `column(k)` when its
    /// slice is encoded: a table of tens of thousands of columns is never held as arrays whole.
    fn write_columns(
        &mut self,
        schema: &SchemaRef,
        column: &(dyn Fn(usize) -> ArrayRef + Sync),
    ) -> parquet::errors::Result<()> {
        use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
        use rayon::prelude::*;
        let mut chunks: Vec<ArrowColumnChunk> = Vec::with_capacity(schema.fields().len());
        for (s, slice) in schema.fields().chunks(COLUMNS_AT_ONCE).enumerate() {
            // Column writers of a slice come from a throwaway writer of that slice's schema (flat
            // columns have the same descriptors there).
            let sub_schema = Arc::new(Schema::new(slice.to_vec()));
            let sub_parquet = parquet::arrow::ArrowSchemaConverter::new()
                .with_coerce_types(self.props.coerce_types())
                .convert(&sub_schema)?;
            let scratch = FileWriter::new(std::io::sink(), sub_parquet.root_schema_ptr(), Arc::clone(&self.props))?;
            let writers = ArrowRowGroupWriterFactory::new(&scratch, sub_schema).create_column_writers(0)?;
            let encoded: Vec<ArrowColumnChunk> = writers
                .into_par_iter()
                .zip(slice.par_iter())
                .enumerate()
                .map(|(k, (mut writer, field))| {
                    let array = column(s * COLUMNS_AT_ONCE + k);
                    for leaf in compute_leaves(field, &array)? {
                        writer.write(&leaf)?;
                    }
                    writer.close()
                })
                .collect::<Result<_, _>>()?;
            chunks.extend(encoded);
        }
        let mut row_group = self.writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// Writes the footer and returns the underlying writer.
    fn into_inner(self) -> parquet::errors::Result<W> {
        self.writer.into_inner()
    }
}

/// Writes one row group of `rows` rows whose columns are made one slice at a time by
/// `column(k)` (for the samples × features exports: the arrays of tens of thousands of feature
/// columns are never all held). The bytes equal [`write_batch`]'s of the same columns.
pub fn write_columns_by_slice(
    path: &Path,
    schema: SchemaRef,
    rows: usize,
    column: &(dyn Fn(usize) -> ArrayRef + Sync),
    metadata: &Metadata,
) -> Result<(), OutputError> {
    let to_io = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    if rows > ROW_GROUP_ROWS || rows == 0 || schema.fields().iter().any(|f| f.data_type().is_nested()) {
        let batch = RecordBatch::try_new(schema.clone(), (0..schema.fields().len()).map(column).collect())
            .map_err(|e| OutputError { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
        return write_batch(path, batch, metadata);
    }
    write_atomic(path, |w| {
        let mut writer = RowGroupWriter::new(w, &schema, properties(metadata)).map_err(to_io)?;
        writer.write_columns(&schema, column).map_err(to_io)?;
        writer.into_inner().map_err(to_io)?;
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
pub trait MatrixValue: Copy + Send {
    /// Arrow type of the column.
    const DATA_TYPE: DataType;
    /// How [`MatrixStream`] buffers a value: `Option<f64>` as `f64` with NaN for `None` (half
    /// the memory of a row group; the values streamed, betas and M-values, are never NaN).
    type Stored: Copy + Send;
    /// A column of these values (taking the vector, without a copy where the layout allows).
    fn array(values: Vec<Self>) -> ArrayRef;
    /// The buffered form of a value.
    fn store(self) -> Self::Stored;
    /// A column of buffered values.
    fn stored_array(values: Vec<Self::Stored>) -> ArrayRef;
}

impl MatrixValue for u64 {
    const DATA_TYPE: DataType = DataType::UInt64;
    type Stored = u64;
    fn array(values: Vec<u64>) -> ArrayRef {
        Arc::new(UInt64Array::from(values))
    }
    fn store(self) -> u64 {
        self
    }
    fn stored_array(values: Vec<u64>) -> ArrayRef {
        Self::array(values)
    }
}

impl MatrixValue for Option<u64> {
    const DATA_TYPE: DataType = DataType::UInt64;
    type Stored = Option<u64>;
    fn array(values: Vec<Option<u64>>) -> ArrayRef {
        Arc::new(UInt64Array::from(values))
    }
    fn store(self) -> Option<u64> {
        self
    }
    fn stored_array(values: Vec<Option<u64>>) -> ArrayRef {
        Self::array(values)
    }
}

impl MatrixValue for f64 {
    const DATA_TYPE: DataType = DataType::Float64;
    type Stored = f64;
    fn array(values: Vec<f64>) -> ArrayRef {
        Arc::new(Float64Array::from(values))
    }
    fn store(self) -> f64 {
        self
    }
    fn stored_array(values: Vec<f64>) -> ArrayRef {
        Self::array(values)
    }
}

impl MatrixValue for Option<f64> {
    const DATA_TYPE: DataType = DataType::Float64;
    type Stored = f64;
    fn array(values: Vec<Option<f64>>) -> ArrayRef {
        Arc::new(Float64Array::from(values))
    }
    fn store(self) -> f64 {
        self.unwrap_or(f64::NAN)
    }
    fn stored_array(values: Vec<f64>) -> ArrayRef {
        Arc::new(Float64Array::from_iter(values.into_iter().map(|v| (!v.is_nan()).then_some(v))))
    }
}

/// A matrix whose missing cells are NaN, written as nulls, its sample columns uncompressed: the
/// batch-corrected matrices, whose every value differs in its last bits, so zstd saved ~8% of
/// the file for three quarters of the write (0.9 → 0.25 s at 180 × 5, a third of the stage).
pub fn write_matrix_nan_as_null(
    path: &Path,
    matrix: &FeatureMatrix<f64>,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    write_matrix_with(path, matrix, metadata, DataType::Float64, SampleColumns::Uncompressed, |values| {
        nan_as_null(values.to_vec())
    })
}

/// [`write_matrix`] of whole-number counts held as `f64`, written as `UInt64` (the same bytes as
/// the `u64` matrix), converting one row group at a time instead of copying the matrix.
pub fn write_matrix_as_counts(
    path: &Path,
    matrix: &FeatureMatrix<f64>,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    write_matrix_with(path, matrix, metadata, DataType::UInt64, SampleColumns::Zstd, |values| {
        Arc::new(UInt64Array::from_iter_values(values.iter().map(|&v| v as u64)))
    })
}

/// Writes a wide matrix: `feature_id`, then one column per sample, in sample order.
pub fn write_matrix<T: MatrixValue + Sync>(
    path: &Path,
    matrix: &FeatureMatrix<T>,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    write_matrix_with(path, matrix, metadata, T::DATA_TYPE, SampleColumns::Zstd, |values| T::array(values.to_vec()))
}

/// How a wide matrix's sample columns are encoded (the `feature_id` column is always zstd).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SampleColumns {
    /// Plain values, zstd.
    Zstd,
    /// Plain values, uncompressed (full-precision floats, which zstd barely shrinks).
    Uncompressed,
    /// Dictionary-encoded, uncompressed (columns of few distinct values: the bit-packed indices
    /// are small, and zstd over them cost 40% of the write for 16% of the file).
    Dictionary,
}

impl SampleColumns {
    /// `builder` with this encoding for every sample column.
    fn apply(
        self,
        mut builder: parquet::file::properties::WriterPropertiesBuilder,
        sample_ids: &[String],
    ) -> parquet::file::properties::WriterPropertiesBuilder {
        if self == SampleColumns::Zstd {
            return builder;
        }
        for id in sample_ids {
            let column = parquet::schema::types::ColumnPath::from(id.as_str());
            builder = builder
                .set_column_dictionary_enabled(column.clone(), self == SampleColumns::Dictionary)
                .set_column_compression(column, Compression::UNCOMPRESSED);
        }
        builder
    }
}

/// [`write_matrix`] with `array` turning a run of a column's values into an Arrow column.
fn write_matrix_with<T: Sync>(
    path: &Path,
    matrix: &FeatureMatrix<T>,
    metadata: &Metadata,
    data_type: DataType,
    encoding: SampleColumns,
    array: impl Fn(&[T]) -> ArrayRef + Sync,
) -> Result<(), OutputError> {
    let group = row_group_rows(matrix.sample_ids.len() + 1).min(ROW_GROUP_ROWS);
    let properties = encoding.apply(properties_builder(metadata, group), &matrix.sample_ids).build();
    write_columns_by(path, &matrix.feature_ids, &matrix.sample_ids, &data_type, properties, group, |j, rows| {
        match &matrix.columns[j] {
            Some(c) => array(&c[rows]),
            None => arrow_array::new_null_array(&data_type, rows.len()),
        }
    })
}

/// Writes a wide `Float64` matrix computed a row group at a time, never held whole:
/// `fill(sample, first_row, values)` fills a run of a sample's column (NaN is written as null;
/// a column's runs come in row order), and samples that `present` rejects are null columns.
/// `few_values`: each column holds few distinct values (a function of whole counts, such as CPM
/// or DESeq2's VST: a few thousand per column), so the sample columns are dictionary-encoded
/// (at 60,000 × 900 CPM: a fifth less time to write than zstd over plain floats, a file 18%
/// smaller) and left uncompressed: zstd over the bit-packed indices took 40% of the write
/// (a context per page) for a file 16% smaller. A column chunk's dictionary never outgrows its
/// page (at most 65,536 rows × 8 bytes, under the 1 MB limit), so no chunk falls back to plain
/// floats.
pub fn write_computed_matrix(
    path: &Path,
    feature_ids: &[String],
    sample_ids: &[String],
    present: impl Fn(usize) -> bool + Sync,
    fill: impl Fn(usize, usize, &mut [f64]) + Sync,
    few_values: bool,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    let group = row_group_rows(sample_ids.len() + 1).min(ROW_GROUP_ROWS);
    let encoding = if few_values { SampleColumns::Dictionary } else { SampleColumns::Zstd };
    let properties = encoding.apply(properties_builder(metadata, group), sample_ids).build();
    write_columns_by(path, feature_ids, sample_ids, &DataType::Float64, properties, group, |j, rows| {
        if !present(j) {
            return arrow_array::new_null_array(&DataType::Float64, rows.len());
        }
        let mut values = vec![0.0; rows.len()];
        fill(j, rows.start, &mut values);
        nan_as_null(values)
    })
}

/// `values` as an Arrow column with NaN as null (no null buffer when there is no NaN).
fn nan_as_null(values: Vec<f64>) -> ArrayRef {
    if values.iter().any(|v| v.is_nan()) {
        Arc::new(Float64Array::from_iter(values.into_iter().map(|v| (!v.is_nan()).then_some(v))))
    } else {
        Arc::new(Float64Array::from(values))
    }
}

/// Writes a wide matrix of `feature_ids` × `sample_ids` in row groups of `group` rows, each
/// sample's run of rows made by `column(sample, rows)` inside the parallel encoding, column by
/// column: a wide matrix is never copied whole into Arrow arrays or encoder buffers.
fn write_columns_by(
    path: &Path,
    feature_ids: &[String],
    sample_ids: &[String],
    data_type: &DataType,
    properties: WriterProperties,
    group: usize,
    column: impl Fn(usize, std::ops::Range<usize>) -> ArrayRef + Sync,
) -> Result<(), OutputError> {
    let n = feature_ids.len();
    let schema = matrix_schema(sample_ids, data_type);
    let to_io = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    let column = &column;
    write_atomic(path, |w| {
        let mut writer = RowGroupWriter::new(w, &schema, properties).map_err(to_io)?;
        for start in (0..n).step_by(group) {
            let end = (start + group).min(n);
            let array = |k: usize| -> ArrayRef {
                if k == 0 {
                    return Arc::new(StringArray::from_iter_values(feature_ids[start..end].iter()));
                }
                column(k - 1, start..end)
            };
            writer.write_columns(&schema, &array).map_err(to_io)?;
        }
        writer.into_inner().map_err(to_io)?;
        Ok(())
    })
    .map_err(|source| OutputError { path: path.to_path_buf(), source })
}

/// A Parquet file written batch by batch and renamed into place only by [`ParquetStream::finish`]:
/// dropping it (an error, a panic) deletes the temporary file, so nothing half-written remains.
pub struct ParquetStream {
    path: std::path::PathBuf,
    writer: StreamWriter,
    tmp: tempfile::TempPath,
    schema: SchemaRef,
}

/// Batches gathered into row groups by [`ArrowWriter`], or each batch a row group of its own
/// encoded column by column ([`RowGroupWriter`], for wide matrices).
enum StreamWriter {
    Rows(ArrowWriter<std::io::BufWriter<std::fs::File>>),
    RowGroups(RowGroupWriter<std::io::BufWriter<std::fs::File>>),
}

impl ParquetStream {
    /// Starts `path` (its temporary file sits beside it).
    pub fn create(path: &Path, schema: SchemaRef, metadata: &Metadata) -> Result<Self, OutputError> {
        Self::create_with(path, schema, metadata, ROW_GROUP_ROWS)
    }

    /// [`ParquetStream::create`] with `rows` per row group.
    pub fn create_with(path: &Path, schema: SchemaRef, metadata: &Metadata, rows: usize) -> Result<Self, OutputError> {
        Self::open(path, schema, |file, schema| {
            ArrowWriter::try_new(file, schema, Some(properties_with(metadata, rows))).map(StreamWriter::Rows)
        })
    }

    /// A stream whose every [`ParquetStream::write`] is one row group of flat columns, encoded
    /// column by column ([`RowGroupWriter`]).
    fn create_row_groups(path: &Path, schema: SchemaRef, properties: WriterProperties) -> Result<Self, OutputError> {
        Self::open(path, schema, |file, schema| {
            RowGroupWriter::new(file, &schema, properties).map(StreamWriter::RowGroups)
        })
    }

    fn open(
        path: &Path,
        schema: SchemaRef,
        writer: impl FnOnce(std::io::BufWriter<std::fs::File>, SchemaRef) -> parquet::errors::Result<StreamWriter>,
    ) -> Result<Self, OutputError> {
        let err = |source| OutputError { path: path.to_path_buf(), source };
        let (file, tmp) = crate::io::atomic::temporary_beside(path).map_err(err)?.into_parts();
        let writer = writer(std::io::BufWriter::new(file), schema.clone())
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        Ok(Self { path: path.to_path_buf(), writer, tmp, schema })
    }

    /// The schema batches must have.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        match &mut self.writer {
            StreamWriter::Rows(w) => w.write(batch),
            StreamWriter::RowGroups(w) => w.write(batch),
        }
        .map_err(|e| OutputError { path: self.path.clone(), source: std::io::Error::other(e.to_string()) })
    }

    /// Appends one row group of `rows` rows whose column `k` is made by `column(k)`: encoded a
    /// slice of columns at a time on a row-group stream, gathered into one batch otherwise.
    fn write_columns(&mut self, rows: usize, column: &(dyn Fn(usize) -> ArrayRef + Sync)) -> Result<(), OutputError> {
        let width = self.schema.fields().len();
        match &mut self.writer {
            StreamWriter::RowGroups(w) if rows > 0 => w.write_columns(&self.schema, column),
            StreamWriter::RowGroups(_) => Ok(()),
            StreamWriter::Rows(w) => RecordBatch::try_new(self.schema.clone(), (0..width).map(column).collect())
                .map_err(|e| parquet::errors::ParquetError::General(e.to_string()))
                .and_then(|batch| w.write(&batch)),
        }
        .map_err(|e| OutputError { path: self.path.clone(), source: std::io::Error::other(e.to_string()) })
    }

    /// Closes, syncs and renames the file into place.
    pub fn finish(self) -> Result<(), OutputError> {
        let err = |source| OutputError { path: self.path.clone(), source };
        let buffered = match self.writer {
            StreamWriter::Rows(w) => w.into_inner(),
            StreamWriter::RowGroups(w) => w.into_inner(),
        }
        .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        let file = buffered.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        self.tmp.persist(&self.path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

/// How `rows` new rows fill row groups of `group` rows when `buffered` are already held: the
/// runs of row indices that go into each row group, each with whether its group is then full
/// (and must be written).
pub fn row_group_runs(
    rows: usize,
    buffered: usize,
    group: usize,
) -> impl Iterator<Item = (std::ops::Range<usize>, bool)> {
    let group = group.max(1);
    let mut state = (0usize, buffered % group);
    std::iter::from_fn(move || {
        let (done, held) = &mut state;
        if *done >= rows {
            return None;
        }
        let take = (group - *held).min(rows - *done);
        let run = *done..*done + take;
        *done += take;
        *held = (*held + take) % group;
        Some((run, *held == 0))
    })
}

/// A wide matrix written row by row: `feature_id`, then one column per sample.
pub struct MatrixStream<T: MatrixValue> {
    stream: ParquetStream,
    ids: Vec<String>,
    columns: Vec<Vec<T::Stored>>,
    group: usize,
}

impl<T: MatrixValue> MatrixStream<T> {
    /// Starts a matrix with these sample columns.
    pub fn create(path: &Path, sample_ids: &[String], metadata: &Metadata) -> Result<Self, OutputError> {
        let group = stream_row_group_rows(sample_ids.len() + 1).min(ROW_GROUP_ROWS);
        let schema = matrix_schema(sample_ids, &T::DATA_TYPE);
        let stream = ParquetStream::create_row_groups(path, schema, properties_with(metadata, group))?;
        Ok(Self { stream, ids: Vec::new(), columns: vec![Vec::new(); sample_ids.len()], group })
    }

    /// Room for `more` values in a column buffer: doubling, but never past a row group, so a
    /// buffer holds at most one row group (growth by doubling alone overshoots by up to 2×).
    fn reserve(group: usize, column: &mut Vec<T::Stored>, more: usize) {
        let needed = column.len() + more;
        if needed > column.capacity() {
            let target = (2 * column.capacity()).max(needed).min(group.max(needed));
            column.reserve_exact(target - column.len());
        }
    }

    /// Appends one row (one value per sample, in column order).
    pub fn push(&mut self, feature_id: String, values: &[T]) -> Result<(), OutputError> {
        self.ids.push(feature_id);
        for (c, v) in self.columns.iter_mut().zip(values) {
            Self::reserve(self.group, c, 1);
            c.push(v.store());
        }
        if self.ids.len() == self.group { self.flush() } else { Ok(()) }
    }

    /// The number of sample columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The file this stream becomes.
    pub fn path(&self) -> &Path {
        &self.stream.path
    }

    /// Appends `ids.len()` rows given column by column: `values` holds one run of `ids.len()`
    /// values per sample column, in column order. Same bytes as pushing the rows one by one.
    pub fn push_columns(&mut self, ids: &[String], values: &[T]) -> Result<(), OutputError> {
        let rows = ids.len();
        for (run, full) in row_group_runs(rows, self.ids.len(), self.group) {
            self.ids.extend_from_slice(&ids[run.clone()]);
            for (j, c) in self.columns.iter_mut().enumerate() {
                let column = &values[j * rows..(j + 1) * rows];
                Self::reserve(self.group, c, run.len());
                c.extend(column[run.clone()].iter().map(|v| v.store()));
            }
            if full {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(self.ids.drain(..)))];
        // The buffered columns move into the arrays: no second copy of a row group.
        arrays.extend(self.columns.iter_mut().map(|c| T::stored_array(std::mem::take(c))));
        let batch = RecordBatch::try_new(self.stream.schema(), arrays)
            .map_err(|e| OutputError { path: self.stream.path.clone(), source: std::io::Error::other(e) })?;
        self.stream.write(&batch)
    }

    /// Writes what is buffered and renames the file into place.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.flush()?;
        self.stream.finish()
    }
}

/// A wide matrix written a whole row group at a time, each sample column built only when its
/// slice of columns is encoded: for writers that hold a row group's values in a form of their
/// own ([`MatrixStream`] buffers the values themselves). The methylation merge keeps one pair of
/// counts per cell for its four matrices and makes each matrix's columns from them.
pub struct MatrixGroups {
    stream: ParquetStream,
}

impl MatrixGroups {
    /// Starts a matrix of `data_type` values with these sample columns.
    pub fn create(
        path: &Path,
        sample_ids: &[String],
        data_type: DataType,
        metadata: &Metadata,
    ) -> Result<Self, OutputError> {
        let properties = matrix_properties(metadata, ROW_GROUP_ROWS, sample_ids, &data_type);
        Ok(Self { stream: ParquetStream::create_row_groups(path, matrix_schema(sample_ids, &data_type), properties)? })
    }

    /// Appends one row group: these features, sample `j`'s values made by `column(j)` (an array
    /// of `feature_ids.len()` values of the matrix's type). No features, no row group.
    pub fn write(
        &mut self,
        feature_ids: &[String],
        column: &(dyn Fn(usize) -> ArrayRef + Sync),
    ) -> Result<(), OutputError> {
        let all = |k: usize| -> ArrayRef {
            if k == 0 { Arc::new(StringArray::from_iter_values(feature_ids.iter())) } else { column(k - 1) }
        };
        self.stream.write_columns(feature_ids.len(), &all)
    }

    /// The file this stream becomes.
    pub fn path(&self) -> &Path {
        &self.stream.path
    }

    /// Writes the footer and renames the file into place.
    pub fn finish(self) -> Result<(), OutputError> {
        self.stream.finish()
    }
}

/// A small table (per-sample QC) read whole, for the MultiQC files and the report: column names
/// and one JSON cell per row and column (numbers, strings, booleans; null when missing).
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column names, in file order.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

fn json_cells(array: &dyn arrow_array::Array) -> Vec<serde_json::Value> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, UInt32Type, UInt64Type};
    use serde_json::Value;
    let n = array.len();
    let cell = |k: usize, f: &dyn Fn(usize) -> Value| if array.is_null(k) { Value::Null } else { f(k) };
    match array.data_type() {
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            (0..n)
                .map(|k| cell(k, &|k| serde_json::Number::from_f64(a.value(k)).map_or(Value::Null, Value::Number)))
                .collect()
        }
        DataType::UInt64 => {
            let a = array.as_primitive::<UInt64Type>();
            (0..n).map(|k| cell(k, &|k| Value::from(a.value(k)))).collect()
        }
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            (0..n).map(|k| cell(k, &|k| Value::from(a.value(k)))).collect()
        }
        DataType::UInt32 => {
            let a = array.as_primitive::<UInt32Type>();
            (0..n).map(|k| cell(k, &|k| Value::from(a.value(k)))).collect()
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n).map(|k| cell(k, &|k| Value::from(a.value(k)))).collect()
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..n).map(|k| cell(k, &|k| Value::from(a.value(k)))).collect()
        }
        _ => vec![Value::Null; n],
    }
}

/// Reads a small Parquet table whole (see [`Table`]).
pub fn read_table(path: &Path) -> std::io::Result<Table> {
    Ok(read_table_with_metadata(path)?.0)
}

/// A Parquet file's Arrow reader, with the file's key-value metadata (keys without a value left out).
pub fn open_reader(path: &Path) -> std::io::Result<(FileReader, std::collections::HashMap<String, String>)> {
    let file = std::fs::File::open(path)?;
    let reader = FileReader::try_new(file).map_err(|e| std::io::Error::other(e.to_string()))?;
    let metadata = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| kv.iter().filter_map(|k| Some((k.key.clone(), k.value.clone()?))).collect())
        .unwrap_or_default();
    Ok((reader, metadata))
}

/// The reader [`open_reader`] returns.
pub type FileReader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<std::fs::File>;

/// [`read_table`], with the file's key-value metadata.
pub fn read_table_with_metadata(path: &Path) -> std::io::Result<(Table, std::collections::HashMap<String, String>)> {
    let err = std::io::Error::other;
    let (reader, metadata) = open_reader(path)?;
    let columns: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in reader.build().map_err(|e| err(e.to_string()))? {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let cells: Vec<Vec<serde_json::Value>> = batch.columns().iter().map(|c| json_cells(c.as_ref())).collect();
        rows.extend((0..batch.num_rows()).map(|k| cells.iter().map(|c| c[k].clone()).collect::<Vec<_>>()));
    }
    Ok((Table { columns, rows }, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column-by-column writer gives [`write_batch`]'s bytes, across several slices of
    /// columns, with nulls, strings and integers among them.
    #[test]
    fn writing_by_slice_of_columns_gives_the_same_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = 37;
        let mut columns: Vec<(String, ArrayRef)> = vec![
            ("sample_id".into(), Arc::new(StringArray::from_iter_values((0..rows).map(|r| format!("S{r}"))))),
            ("count".into(), Arc::new(UInt64Array::from_iter_values((0..rows).map(|r| r as u64 * 7)))),
        ];
        for c in 0..(2 * COLUMNS_AT_ONCE + 17) {
            let values = (0..rows).map(|r| ((r + c) % 5 != 0).then(|| (r * c) as f64 / 3.0));
            columns.push((format!("feature{c}"), Arc::new(Float64Array::from_iter(values))));
        }
        let named: Vec<(&str, ArrayRef)> = columns.iter().map(|(n, a)| (n.as_str(), Arc::clone(a))).collect();
        let table = batch(named).expect("batch");
        let meta = vec![("harmonomics.test".to_string(), "1".to_string())];
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write_batch(&a, table.clone(), &meta).expect("write_batch");
        let column = |k: usize| Arc::clone(table.column(k));
        write_columns_by_slice(&b, table.schema(), rows, &column, &meta).expect("write_columns_by_slice");
        assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    }

    #[test]
    fn row_group_runs_fill_each_group_before_the_next() {
        let runs = |rows, buffered, group| row_group_runs(rows, buffered, group).collect::<Vec<_>>();
        assert_eq!(runs(10, 3, 4), [(0..1, true), (1..5, true), (5..9, true), (9..10, false)]);
        assert_eq!(runs(2, 0, 4), [(0..2, false)]);
        assert_eq!(runs(4, 0, 4), [(0..4, true)]);
        assert!(runs(0, 2, 4).is_empty());
        assert_eq!(runs(3, 0, 1), [(0..1, true), (1..2, true), (2..3, true)]);
    }

    #[test]
    fn wide_matrices_written_by_row_group_equal_arrow_writers_bytes() {
        // 150 samples (three column slices) × enough features for two full row groups and a
        // short third, as `write_matrix` and `MatrixStream` lay them out.
        let dir = tempfile::tempdir().expect("tempdir");
        let samples = 2 * COLUMNS_AT_ONCE + 22;
        let features = 2 * row_group_rows(samples + 1).min(ROW_GROUP_ROWS) + 1_000;
        let ids: Vec<String> = (0..features).map(|i| format!("cg{i}")).collect();
        let names: Vec<String> = (0..samples).map(|j| format!("S{j}")).collect();
        let columns: Vec<Option<Vec<Option<f64>>>> = (0..samples)
            .map(|j| {
                (j != 3).then(|| (0..features).map(|i| ((i + j) % 7 != 0).then(|| (i * j) as f64 / 9.0)).collect())
            })
            .collect();
        let matrix = FeatureMatrix { feature_ids: ids.clone(), sample_ids: names.clone(), columns };
        let meta = vec![("harmonomics.test".to_string(), "1".to_string())];
        let group = row_group_rows(samples + 1).min(ROW_GROUP_ROWS);
        assert!(features > 2 * group);
        // The reference: the same row groups through ArrowWriter.
        let mut fields = vec![Field::new("feature_id", DataType::Utf8, false)];
        fields.extend(names.iter().map(|s| Field::new(s, DataType::Float64, true)));
        let schema = Arc::new(Schema::new(fields));
        let arrow_bytes = |group: usize| {
            let reference = dir.path().join(format!("arrow-{group}.parquet"));
            write_with(&reference, schema.clone(), properties_with(&meta, group), |push| {
                for start in (0..features).step_by(group) {
                    let end = (start + group).min(features);
                    let mut arrays: Vec<ArrayRef> =
                        vec![Arc::new(StringArray::from_iter_values(ids[start..end].iter()))];
                    arrays.extend(matrix.columns.iter().map(|c| match c {
                        Some(c) => Arc::new(Float64Array::from(c[start..end].to_vec())) as ArrayRef,
                        None => arrow_array::new_null_array(&DataType::Float64, end - start),
                    }));
                    push(RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?)?;
                }
                Ok(())
            })
            .expect("arrow writer");
            std::fs::read(&reference).expect("reference")
        };
        let expected = arrow_bytes(group);
        let written = dir.path().join("matrix.parquet");
        write_matrix(&written, &matrix, &meta).expect("write_matrix");
        assert!(std::fs::read(&written).expect("matrix") == expected, "write_matrix differs");
        // MatrixStream, fed in uneven runs of rows (a missing column as nulls).
        let streamed = dir.path().join("stream.parquet");
        let mut stream = MatrixStream::<Option<f64>>::create(&streamed, &names, &meta).expect("stream");
        let mut start = 0;
        for run in [1usize, 999, 30_000, 39_000].iter().cycle() {
            let end = (start + run).min(features);
            let values: Vec<Option<f64>> =
                matrix.columns.iter().flat_map(|c| (start..end).map(move |i| c.as_ref().and_then(|c| c[i]))).collect();
            stream.push_columns(&ids[start..end], &values).expect("push");
            start = end;
            if start == features {
                break;
            }
        }
        stream.finish().expect("finish");
        let expected = arrow_bytes(stream_row_group_rows(samples + 1).min(ROW_GROUP_ROWS));
        assert!(std::fs::read(&streamed).expect("stream") == expected, "MatrixStream differs");
    }
}
