//! Count matrices to normalise, whoever wrote them: our `raw.parquet` (with lengths from the
//! `features.parquet` beside it), a featureCounts table (one or many samples; lengths from its
//! `Length` column), or a tab-separated matrix (first column feature ids, then one column per
//! sample).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use arrow_array::{Array, Float64Array, Int64Array, StringArray, UInt32Array, UInt64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::Location;
use crate::matrix::FeatureMatrix;

/// A count matrix and, when its source has them, gene lengths.
#[derive(Debug)]
pub struct Counts {
    /// Features × samples.
    pub matrix: FeatureMatrix<f64>,
    /// Gene lengths (featureCounts' `Length`), when known.
    pub lengths: Option<Vec<f64>>,
}

/// Errors reading a count matrix.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Unreadable file.
    #[error("{}: cannot read counts", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Malformed content.
    #[error("{location}: {message}")]
    Malformed {
        /// File and line.
        location: Location,
        /// What was expected.
        message: String,
    },
}

fn malformed(path: &Path, line: Option<u64>, message: impl Into<String>) -> InputError {
    InputError::Malformed {
        location: Location { path: path.to_path_buf(), line, column: None },
        message: message.into(),
    }
}

/// Whether `path` is a Parquet file (by its magic bytes).
pub fn is_parquet(path: &Path) -> Result<bool, InputError> {
    let io_err = |source| InputError::Io { path: path.to_path_buf(), source };
    let mut magic = [0u8; 4];
    let n = std::io::Read::read(&mut File::open(path).map_err(io_err)?, &mut magic).map_err(io_err)?;
    Ok(n == 4 && &magic == b"PAR1")
}

/// Reads counts from Parquet (by magic bytes) or text.
pub fn read(path: &Path) -> Result<Counts, InputError> {
    if is_parquet(path)? { read_parquet(path) } else { read_text(path) }
}

fn column_values(path: &Path, name: &str, array: &dyn Array) -> Result<Vec<Option<f64>>, InputError> {
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
    Err(malformed(
        path,
        None,
        format!("column {name:?} is {}, expected counts (integers or floats)", array.data_type()),
    ))
}

/// A wide matrix as we write them (`feature_id`, then one column per sample, integers or
/// floats), null cells as `None`. `keep` selects rows by feature id while reading, so a matrix
/// can be cut down to the rows of another without holding the whole file.
pub fn read_wide(
    path: &Path,
    keep: Option<&std::collections::HashMap<&str, usize>>,
) -> Result<FeatureMatrix<Option<f64>>, InputError> {
    read_wide_as(path, keep, None, |v| v)
}

/// [`read_wide`] with null cells as NaN: half the memory of `Option<f64>` for the cohort-wide
/// matrices harmonise holds.
pub fn read_wide_nan(
    path: &Path,
    keep: Option<&std::collections::HashMap<&str, usize>>,
) -> Result<FeatureMatrix<f64>, InputError> {
    read_wide_as(path, keep, f64::NAN, |v| v.unwrap_or(f64::NAN))
}

/// [`read_wide`] with each cell converted by `cell` as it is read (`missing` fills rows not yet
/// found).
fn read_wide_as<T: Clone>(
    path: &Path,
    keep: Option<&std::collections::HashMap<&str, usize>>,
    missing: T,
    cell: impl Fn(Option<f64>) -> T,
) -> Result<FeatureMatrix<T>, InputError> {
    let io_err = |e: String| InputError::Io { path: path.to_path_buf(), source: std::io::Error::other(e) };
    let file = File::open(path).map_err(|e| io_err(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io_err(e.to_string()))?;
    let schema = reader.schema().clone();
    if schema.fields().first().map(|f| f.name().as_str()) != Some("feature_id") {
        return Err(malformed(path, None, "expected a wide matrix whose first column is `feature_id`"));
    }
    let samples: Vec<String> = schema.fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let rows = keep.map(|k| k.len());
    let mut ids = Vec::new();
    let mut columns: Vec<Vec<T>> = vec![rows.map_or_else(Vec::new, |n| vec![missing; n]); samples.len()];
    let mut found = vec![false; rows.unwrap_or(0)];
    for batch in reader.build().map_err(|e| io_err(e.to_string()))? {
        let batch = batch.map_err(|e| io_err(e.to_string()))?;
        let id = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| malformed(path, None, "`feature_id` is not a string column"))?;
        let values: Vec<Vec<Option<f64>>> = samples
            .iter()
            .enumerate()
            .map(|(j, name)| column_values(path, name, batch.column(j + 1).as_ref()))
            .collect::<Result<_, _>>()?;
        for (k, feature) in id.iter().enumerate() {
            let feature = feature.unwrap_or_default();
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
            return Err(malformed(path, None, format!("feature {missing:?} is not in this matrix")));
        }
        ids = by_row.into_iter().map(|(id, _)| id.to_string()).collect();
    }
    Ok(FeatureMatrix::new(ids, samples, columns))
}

fn read_parquet(path: &Path) -> Result<Counts, InputError> {
    let wide = read_wide(path, None)?;
    let (ids, samples) = (wide.feature_ids, wide.sample_ids);
    let columns: Vec<Vec<Option<f64>>> = wide.columns.into_iter().map(Option::unwrap_or_default).collect();
    let matrix = to_matrix(path, ids, samples, columns)?;
    // Lengths from our features.parquet beside raw.parquet, matched by feature id.
    let lengths = path.parent().map(|d| d.join("features.parquet")).filter(|p| p.exists()).and_then(|p| {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&p).ok()?).ok()?.build().ok()?;
        let mut by_id = std::collections::HashMap::new();
        for batch in reader {
            let batch = batch.ok()?;
            let id = batch.column_by_name("feature_id")?.as_any().downcast_ref::<StringArray>()?.clone();
            // Our features.parquet: UInt64 (union of exons) or Float64 (imported effective lengths).
            let len = column_values(&p, "length", batch.column_by_name("length")?.as_ref()).ok()?;
            for (k, l) in len.into_iter().enumerate() {
                by_id.insert(id.value(k).to_string(), l?);
            }
        }
        matrix.feature_ids.iter().map(|f| by_id.get(f).copied()).collect::<Option<Vec<f64>>>()
    });
    Ok(Counts { matrix, lengths })
}

fn to_matrix(
    path: &Path,
    ids: Vec<String>,
    samples: Vec<String>,
    columns: Vec<Vec<Option<f64>>>,
) -> Result<FeatureMatrix<f64>, InputError> {
    let mut out = Vec::with_capacity(columns.len());
    for (j, c) in columns.into_iter().enumerate() {
        if c.iter().all(Option::is_none) {
            out.push(None);
            continue;
        }
        let values: Option<Vec<f64>> = c.into_iter().collect();
        let values = values.ok_or_else(|| {
            malformed(path, None, format!("sample {:?} has missing counts for some features", samples[j]))
        })?;
        if let Some(i) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(malformed(
                path,
                None,
                format!("sample {:?}, feature {:?}: counts must be ≥ 0", samples[j], ids[i]),
            ));
        }
        out.push(Some(values));
    }
    Ok(FeatureMatrix { feature_ids: ids, sample_ids: samples, columns: out })
}

fn read_text(path: &Path) -> Result<Counts, InputError> {
    let io_err = |source| InputError::Io { path: path.to_path_buf(), source };
    let reader = BufReader::new(crate::io::open::decompress(File::open(path).map_err(io_err)?).map_err(io_err)?);
    let mut header: Option<Vec<String>> = None;
    let mut first_sample = 1;
    let mut length_column = None;
    let mut ids = Vec::new();
    let mut lengths = Vec::new();
    let mut columns: Vec<Vec<Option<f64>>> = Vec::new();
    for (k, line) in reader.lines().enumerate() {
        let line = line.map_err(io_err)?;
        let n = k as u64 + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let Some(h) = &header else {
            // featureCounts: Geneid Chr Start End Strand Length <samples...>
            if fields.len() >= 7 && fields[0] == "Geneid" && fields[5] == "Length" {
                first_sample = 6;
                length_column = Some(5);
            }
            let h: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            if h.len() <= first_sample {
                return Err(malformed(path, Some(n), "expected a header with a feature id column and sample columns"));
            }
            columns = vec![Vec::new(); h.len() - first_sample];
            header = Some(h);
            continue;
        };
        if fields.len() != h.len() {
            return Err(malformed(
                path,
                Some(n),
                format!("expected {} tab-separated fields, found {}", h.len(), fields.len()),
            ));
        }
        ids.push(fields[0].to_string());
        if let Some(c) = length_column {
            lengths.push(
                fields[c]
                    .parse::<f64>()
                    .map_err(|_| malformed(path, Some(n), format!("Length {:?} is not a number", fields[c])))?,
            );
        }
        for (j, v) in fields[first_sample..].iter().enumerate() {
            let parsed = if v.is_empty() || *v == "NA" {
                None
            } else {
                Some(v.parse::<f64>().map_err(|_| {
                    malformed(path, Some(n), format!("{:?} in column {:?} is not a count", v, h[first_sample + j]))
                })?)
            };
            columns[j].push(parsed);
        }
    }
    let Some(h) = header else {
        return Err(malformed(path, None, "the file is empty"));
    };
    let samples = h[first_sample..].to_vec();
    let matrix = to_matrix(path, ids, samples, columns)?;
    Ok(Counts { matrix, lengths: length_column.map(|_| lengths) })
}
