//! Count matrices to normalise, whoever wrote them: our `raw.parquet` (with lengths from the
//! `features.parquet` beside it), a featureCounts table (one or many samples; lengths from its
//! `Length` column), or a text matrix (first column feature ids, then one column per sample):
//! tab-separated, or R's `write.csv` / `write.table` output.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use arrow_array::StringArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::Location;
use crate::io::wide::{WideError, column_values, read_wide_parallel_nan};
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
    /// A wide Parquet matrix could not be read.
    #[error(transparent)]
    Wide(#[from] WideError),
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

fn read_parquet(path: &Path) -> Result<Counts, InputError> {
    let wide = read_wide_parallel_nan(path)?;
    let (ids, samples) = (wide.feature_ids, wide.sample_ids);
    let columns: Vec<Vec<f64>> = wide.columns.into_iter().map(Option::unwrap_or_default).collect();
    let matrix = to_matrix(path, ids, samples, columns, None)?;
    // Lengths from our features.parquet beside raw.parquet, matched by feature id. A file there
    // that cannot be read is an error, not a silent loss of lengths (TPM and FPKM need them).
    let features = path.parent().map(|d| d.join("features.parquet")).filter(|p| p.exists());
    let lengths = match features {
        Some(p) => feature_lengths(&p)?
            .and_then(|by_id| matrix.feature_ids.iter().map(|f| by_id.get(f).copied()).collect::<Option<Vec<f64>>>()),
        None => None,
    };
    Ok(Counts { matrix, lengths })
}

/// The `length` column of our `features.parquet` by feature id (`UInt64`: union of exons;
/// `Float64`: imported effective lengths); `None` when it has no such column (as for layers
/// without lengths).
fn feature_lengths(path: &Path) -> Result<Option<std::collections::HashMap<String, f64>>, InputError> {
    let io_err = |e: String| InputError::Io { path: path.to_path_buf(), source: std::io::Error::other(e) };
    let file = File::open(path).map_err(|e| io_err(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io_err(e.to_string()))?;
    if reader.schema().column_with_name("length").is_none() {
        return Ok(None);
    }
    let mut by_id = std::collections::HashMap::new();
    for batch in reader.build().map_err(|e| io_err(e.to_string()))? {
        let batch = batch.map_err(|e| io_err(e.to_string()))?;
        let ids = batch
            .column_by_name("feature_id")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| malformed(path, None, "expected a string `feature_id` column"))?;
        let Some(length) = batch.column_by_name("length") else { return Ok(None) };
        for (id, l) in ids.iter().zip(column_values(path, "length", length.as_ref())?) {
            if let (Some(id), Some(l)) = (id, l) {
                by_id.insert(id.to_string(), l);
            }
        }
    }
    Ok(Some(by_id))
}

/// The matrix, once every row is a distinct feature and every count a count (`columns` hold
/// missing cells as NaN; a column with nothing but missing cells is a sample without counts).
/// `lines[i]` is the text line of row `i` (`None` for Parquet, where the row is named instead).
fn to_matrix(
    path: &Path,
    ids: Vec<String>,
    samples: Vec<String>,
    columns: Vec<Vec<f64>>,
    lines: Option<&[u64]>,
) -> Result<FeatureMatrix<f64>, InputError> {
    let line = |i: usize| lines.map(|l| l[i]);
    if ids.is_empty() {
        return Err(malformed(path, None, "no features: the matrix has a header but no rows"));
    }
    if let Some((first, again)) = crate::matrix::first_repeat(ids.iter().map(String::as_str)) {
        let earlier = match line(first) {
            Some(l) => format!("line {l}"),
            None => format!("row {}", first + 1),
        };
        return Err(malformed(
            path,
            line(again),
            format!("feature {:?} again (first on {earlier}): each feature must be one row", ids[again]),
        ));
    }
    // Each column checked in one pass, on all cores; the first problem in column order is reported.
    let checks: Vec<(usize, Option<usize>)> = {
        use rayon::prelude::*;
        columns
            .par_iter()
            .map(|values| {
                let missing = values.iter().filter(|v| v.is_nan()).count();
                (missing, values.iter().position(|v| v.is_infinite() || *v < 0.0))
            })
            .collect()
    };
    let mut out = Vec::with_capacity(columns.len());
    for (j, (values, (missing, bad))) in columns.into_iter().zip(checks).enumerate() {
        if missing == values.len() {
            out.push(None);
            continue;
        }
        if missing > 0 {
            return Err(malformed(path, None, format!("sample {:?} has missing counts for some features", samples[j])));
        }
        if let Some(i) = bad {
            let what = if values[i].is_finite() { "is negative" } else { "is not a finite number" };
            return Err(malformed(
                path,
                line(i),
                format!("sample {:?}, feature {:?}: the count {} {what}", samples[j], ids[i], values[i]),
            ));
        }
        out.push(Some(values));
    }
    Ok(FeatureMatrix { feature_ids: ids, sample_ids: samples, columns: out })
}

/// The field separator of a text matrix, told from its header line: a tab, else a comma (R's
/// `write.csv`), else a space (R's default `write.table`).
fn sniff_delimiter(header: &str) -> u8 {
    if header.contains('\t') {
        b'\t'
    } else if header.contains(',') {
        b','
    } else {
        b' '
    }
}

/// A text matrix: ours and featureCounts' TSV, R's `write.csv` and `write.table` output (quoted
/// fields; a header one field short when R wrote the row names without a column name), read
/// with the `csv` crate. Lines starting with `#` are comments.
fn read_text(path: &Path) -> Result<Counts, InputError> {
    let io_err = |source| InputError::Io { path: path.to_path_buf(), source };
    let mut reader = BufReader::new(crate::io::open::decompress(File::open(path).map_err(io_err)?).map_err(io_err)?);
    // The first line that is neither a comment nor blank decides the separator.
    let mut skipped = 0u64;
    let mut first = String::new();
    loop {
        first.clear();
        if reader.read_line(&mut first).map_err(io_err)? == 0 {
            return Err(malformed(path, None, "the file is empty"));
        }
        if !(first.starts_with('#') || first.trim().is_empty()) {
            break;
        }
        skipped += 1;
    }
    let delimiter = sniff_delimiter(&first);
    let mut records = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(std::io::Read::chain(first.as_bytes(), reader));
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line() + skipped);
        match e.into_kind() {
            csv::ErrorKind::Io(source) => InputError::Io { path: path.to_path_buf(), source },
            csv::ErrorKind::Utf8 { err, .. } => malformed(path, line, format!("not UTF-8 text ({err})")),
            other => malformed(path, line, format!("unreadable record ({other:?})")),
        }
    };
    let mut record = csv::StringRecord::new();
    let line_of = |r: &csv::StringRecord| r.position().map(|p| p.line() + skipped);
    if !records.read_record(&mut record).map_err(csv_err)? {
        return Err(malformed(path, None, "the file is empty"));
    }
    let mut header: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
    // featureCounts: Geneid Chr Start End Strand Length <samples...>
    let (first_sample, length_column) =
        if header.len() >= 7 && header[0] == "Geneid" && header[5] == "Length" { (6, Some(5)) } else { (1, None) };
    let mut ids = Vec::new();
    let mut row_lines = Vec::new();
    let mut lengths = Vec::new();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    let mut first_row = true;
    while records.read_record(&mut record).map_err(csv_err)? {
        let n = line_of(&record);
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if first_row {
            // R writes row names without a header field: the header is one field short.
            if length_column.is_none() && record.len() == header.len() + 1 {
                header.insert(0, String::new());
            }
            if header.len() <= first_sample {
                return Err(malformed(path, n, "expected a header with a feature id column and sample columns"));
            }
            columns = vec![Vec::new(); header.len() - first_sample];
            first_row = false;
        }
        if record.len() != header.len() {
            let what = match delimiter {
                b'\t' => "tab-separated",
                b',' => "comma-separated",
                _ => "space-separated",
            };
            return Err(malformed(path, n, format!("expected {} {what} fields, found {}", header.len(), record.len())));
        }
        ids.push(record[0].to_string());
        row_lines.push(n.unwrap_or_default());
        if let Some(c) = length_column {
            lengths.push(
                record[c]
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| malformed(path, n, format!("Length {:?} is not a number", &record[c])))?,
            );
        }
        for (j, v) in record.iter().skip(first_sample).enumerate() {
            let v = v.trim();
            let parsed = if v.is_empty() || v == "NA" {
                f64::NAN
            } else {
                let x = v.parse::<f64>().map_err(|_| {
                    malformed(path, n, format!("{:?} in column {:?} is not a count", v, header[first_sample + j]))
                })?;
                // NaN marks missing cells from here on: a written NaN is refused where it stands.
                if x.is_nan() {
                    return Err(malformed(
                        path,
                        n,
                        format!(
                            "sample {:?}, feature {:?}: the count {v} is not a finite number",
                            header[first_sample + j],
                            &record[0]
                        ),
                    ));
                }
                x
            };
            columns[j].push(parsed);
        }
    }
    if first_row {
        columns = vec![Vec::new(); header.len().saturating_sub(first_sample)];
        if header.len() <= first_sample {
            return Err(malformed(path, None, "expected a header with a feature id column and sample columns"));
        }
    }
    let samples = header[first_sample..].to_vec();
    let matrix = to_matrix(path, ids, samples, columns, Some(&row_lines))?;
    Ok(Counts { matrix, lengths: length_column.map(|_| lengths) })
}
