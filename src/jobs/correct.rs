//! `harmonomics correct`: batch correction of one matrix outside a cohort, like calling sva's
//! `ComBat`/`ComBat_seq` on a table: a matrix, a sample table naming each sample's batch and the
//! covariates to protect, one corrected matrix out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::batch::{BatchError, Prior};
use crate::io::parquet::write_matrix;
use crate::matrix::FeatureMatrix;
use crate::pipeline::At;
use crate::pipeline::{Progress, RunError};
use crate::transcriptome::normalise::input;

crate::choice::named_enum! {
    /// Which correction.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CorrectMethod {
        /// ComBat on log-scale values (VST, log-CPM, M-values, log intensities).
        Combat = "combat",
        /// ComBat-seq on raw counts; the output is counts.
        CombatSeq = "combat-seq",
    }
}

/// One `correct` job.
#[derive(Clone, Debug)]
pub struct CorrectJob {
    /// The matrix: our Parquet, a featureCounts table or a TSV (feature id, one column per sample).
    pub input: PathBuf,
    /// Sample table (CSV or TSV): sample ids in `sample_id` (or the first column), then labels.
    pub samples: PathBuf,
    /// Method.
    pub method: CorrectMethod,
    /// ComBat's prior.
    pub prior: Prior,
    /// Column of `samples` holding the batch.
    pub batch: String,
    /// Columns of `samples` to protect.
    pub protect: Vec<String>,
    /// Correct with nothing protected when batch and a covariate are confounded.
    pub force: bool,
    /// Only the sample table's rows whose `layer` column has this value (a samplesheet lists
    /// each layer's samples under the same ids).
    pub layer: Option<String>,
    /// Output Parquet.
    pub out: PathBuf,
}

/// A sample table: the ids in order, and each column's values in that order.
type SampleTable = (Vec<String>, HashMap<String, Vec<String>>);

/// Reads the sample table (CSV, or TSV when the header has tabs).
fn read_samples(path: &Path, layer: Option<&str>) -> Result<SampleTable, RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunError::Io { path: path.to_path_buf(), source })?;
    let delimiter = if text.lines().next().is_some_and(|l| l.contains('\t')) { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(text.as_bytes());
    let bad = |line: Option<u64>, m: String| RunError::Samples {
        at: At::File(crate::error::Location { path: path.to_path_buf(), line, column: None }),
        message: m,
    };
    let header: Vec<String> =
        reader.headers().map_err(|e| bad(Some(1), e.to_string()))?.iter().map(str::to_string).collect();
    let id_column = header.iter().position(|h| h == "sample_id").unwrap_or(0);
    let layer_column = match layer {
        None => None,
        Some(l) => Some((
            header
                .iter()
                .position(|h| h == "layer")
                .ok_or_else(|| bad(Some(1), format!("--layer {l}: the table has no `layer` column")))?,
            l,
        )),
    };
    let mut ids = Vec::new();
    let mut columns: HashMap<String, Vec<String>> = header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for record in reader.records() {
        let record = record.map_err(|e| bad(e.position().map(|p| p.line()), e.to_string()))?;
        let line = record.position().map(|p| p.line());
        if let Some((k, l)) = layer_column
            && record.get(k) != Some(l)
        {
            continue;
        }
        let id = record.get(id_column).unwrap_or_default().to_string();
        if id.is_empty() || ids.contains(&id) {
            let hint = if layer.is_none() && header.iter().any(|h| h == "layer") {
                " (a samplesheet repeats ids across layers: choose one with --layer)"
            } else {
                ""
            };
            return Err(bad(line, format!("sample id {id:?} is empty or repeated{hint}")));
        }
        ids.push(id);
        for (h, v) in header.iter().zip(record.iter()) {
            columns.entry(h.clone()).or_default().push(v.to_string());
        }
    }
    Ok((ids, columns))
}

/// Runs one job; returns the number of values the correction changed.
pub fn correct_matrix(job: &CorrectJob, progress: &Progress) -> Result<usize, RunError> {
    let (ids, columns) = read_samples(&job.samples, job.layer.as_deref())?;
    // Parquet may hold nulls (a normalised matrix); text and featureCounts tables do not.
    let matrix: FeatureMatrix<Option<f64>> = if input::is_parquet(&job.input)? {
        crate::io::wide::read_wide(&job.input, None)?
    } else {
        input::read(&job.input)?.matrix.map_columns(|_, c| Some(c.iter().map(|v| Some(*v)).collect()))
    };
    let row_of: HashMap<&str, usize> = ids.iter().enumerate().map(|(k, id)| (id.as_str(), k)).collect();
    let missing: Vec<&String> = matrix.sample_ids.iter().filter(|s| !row_of.contains_key(s.as_str())).collect();
    if !missing.is_empty() {
        return Err(RunError::Samples {
            at: At::file(&job.samples),
            message: format!("samples {missing:?} of {} are not in the sample table", job.input.display()),
        });
    }
    let labels = |column: &str| -> Result<Vec<String>, RunError> {
        let values = columns.get(column).ok_or_else(|| RunError::Samples {
            at: At::file(&job.samples),
            message: format!("no column {column:?}"),
        })?;
        Ok(matrix.sample_ids.iter().map(|s| values[row_of[s.as_str()]].clone()).collect())
    };
    let batches = labels(&job.batch)?;
    let protected: Vec<Vec<String>> = job.protect.iter().map(|c| labels(c)).collect::<Result<_, _>>()?;
    let n = matrix.sample_ids.len();
    let rows = crate::batch::correctable_rows(&matrix, |v| *v);
    let data: Vec<Vec<f64>> =
        rows.iter().map(|&i| (0..n).map(|j| matrix.get(i, j).copied().flatten().unwrap_or(0.0)).collect()).collect();
    let run = |protected: &[Vec<String>]| match job.method {
        CorrectMethod::Combat => crate::batch::combat(&data, &batches, protected, job.prior),
        CorrectMethod::CombatSeq => crate::batch::combat_seq::combat_seq(&data, &batches, protected),
    };
    let corrected = match crate::batch::protecting(&protected, job.force, run) {
        Ok((corrected, forced)) => {
            if forced {
                progress.note("warning: batch and a protected covariate are confounded; --force: nothing protected");
            }
            corrected
        }
        Err(e @ BatchError::Confounded) => {
            // The place to fix is the sample table: name it, its columns and their counts.
            let tables: Vec<String> = job
                .protect
                .iter()
                .zip(&protected)
                .map(|(name, labels)| format!("{name} × {}: {}", job.batch, crate::batch::crosstab(labels, &batches)))
                .collect();
            return Err(RunError::Design {
                at: At::file(&job.samples),
                message: format!(
                    "column {:?} (batch) and protected column(s) {:?}: {e}. Counts: {}; --force corrects with \
                     nothing protected",
                    job.batch,
                    job.protect,
                    tables.join(" | ")
                ),
            });
        }
        Err(e) => {
            let hint = match e {
                BatchError::NotACount { .. } => {
                    " (round estimated counts first, or use --method combat on log-scale values)"
                }
                _ => "",
            };
            let named = e.named(|k| matrix.feature_ids[rows[k]].as_str(), |j| matrix.sample_ids[j].as_str());
            return Err(RunError::Design { at: At::file(&job.input), message: format!("{named}{hint}") });
        }
    };
    let features = matrix.feature_ids.len();
    let mut out = matrix;
    let mut changed = 0;
    for (k, &i) in rows.iter().enumerate() {
        for (j, column) in out.columns.iter_mut().enumerate() {
            if let Some(c) = column.as_mut() {
                changed += usize::from(c[i] != Some(corrected[k][j]));
                c[i] = Some(corrected[k][j]);
            }
        }
    }
    drop((corrected, data));
    let method = match job.method {
        CorrectMethod::Combat => "combat",
        CorrectMethod::CombatSeq => "combat-seq",
    };
    let params = json!({
        "method": method,
        "prior": (job.method == CorrectMethod::Combat).then_some(job.prior),
        "batch": job.batch,
        "protected": job.protect,
        "corrected_features": rows.len(),
        "left_as_is": features - rows.len(),
        "values_changed": changed,
        "input": job.input,
    });
    let meta = vec![
        ("harmonomics.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("harmonomics.method".to_string(), method.to_string()),
        ("harmonomics.params".to_string(), params.to_string()),
    ];
    if job.method == CorrectMethod::CombatSeq {
        // Column by column, so the float matrix is freed as the integer one fills.
        let counts = FeatureMatrix {
            feature_ids: out.feature_ids,
            sample_ids: out.sample_ids,
            columns: out
                .columns
                .into_iter()
                .map(|c| c.map(|c| c.into_iter().map(|v| v.map(|v| v as u64)).collect::<Vec<_>>()))
                .collect(),
        };
        write_matrix(&job.out, &counts, &meta)?;
    } else {
        write_matrix(&job.out, &out, &meta)?;
    }
    Ok(changed)
}
