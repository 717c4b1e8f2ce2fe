//! The injection list: which table column is which injection, in what order, in which batch,
//! and whether it is a study sample, a pooled QC or a blank.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::MetabolomeError;
use crate::error::Location;

/// What was injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A study sample.
    Sample,
    /// A pooled QC sample.
    Qc,
    /// A blank (solvent or extraction).
    Blank,
}

impl Kind {
    /// The name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sample => "sample",
            Kind::Qc => "qc",
            Kind::Blank => "blank",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        match text.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "sample" | "study" | "study_sample" => Some(Kind::Sample),
            "qc" | "pooled_qc" | "pool" | "pooled" | "sqc" => Some(Kind::Qc),
            "blank" | "solvent_blank" | "extraction_blank" | "procedural_blank" => Some(Kind::Blank),
            _ => None,
        }
    }
}

/// One injection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Injection {
    /// The feature-table column holding it (file extension optional).
    pub column: String,
    /// Position in the run.
    pub order: f64,
    /// Analytical batch.
    pub batch: String,
    /// Sample, QC or blank.
    pub kind: Kind,
    /// The samplesheet sample it measures (study samples; default: `column`).
    pub sample_id: Option<String>,
    /// 1-based line in the injection list.
    pub line: u64,
}

/// A column name without the raw-file extension MZmine/XCMS keep (`P01_day0.mzML` → `P01_day0`).
pub fn bare(column: &str) -> &str {
    for ext in [".mzML", ".mzml", ".mzXML", ".mzxml", ".raw", ".RAW", ".d", ".cdf", ".CDF", ".wiff", ".mzData"] {
        if let Some(stem) = column.strip_suffix(ext) {
            return stem;
        }
    }
    column
}

/// Reads the injection list (CSV or TSV by its header).
pub fn read(path: &Path) -> Result<Vec<Injection>, MetabolomeError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| MetabolomeError::Io { path: path.to_path_buf(), source })?;
    let delimiter = if text.lines().next().is_some_and(|l| l.contains('\t')) { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| MetabolomeError::at(Location::line(path, 1), e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(c_column), Some(c_order), Some(c_type)) = (col("column"), col("injection_order"), col("sample_type"))
    else {
        return Err(MetabolomeError::at(
            Location::line(path, 1),
            "expected columns column, injection_order, sample_type (and optionally batch, sample_id)",
        ));
    };
    let (c_batch, c_sample) = (col("batch"), col("sample_id"));
    let mut out: Vec<Injection> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (k, record) in reader.records().enumerate() {
        let line = k as u64 + 2;
        let record = record.map_err(|e| MetabolomeError::at(Location::line(path, line), e.to_string()))?;
        let get = |c: usize| record.get(c).map(str::trim).unwrap_or("");
        let at = |column: &str| Location::line(path, line).with_column(column);
        let column = get(c_column);
        if column.is_empty() {
            return Err(MetabolomeError::at(at("column"), "empty column name"));
        }
        if let Some(first) = seen.insert(bare(column).to_string(), line) {
            return Err(MetabolomeError::at(
                at("column"),
                format!("column {column:?} is listed twice (first on line {first})"),
            ));
        }
        let order: f64 = get(c_order).parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
            MetabolomeError::at(at("injection_order"), format!("expected a number, found {:?}", get(c_order)))
        })?;
        let kind = Kind::parse(get(c_type)).ok_or_else(|| {
            MetabolomeError::at(at("sample_type"), format!("expected sample, qc or blank, found {:?}", get(c_type)))
        })?;
        let batch = c_batch.map(get).filter(|b| !b.is_empty()).unwrap_or("1").to_string();
        let sample_id = match kind {
            Kind::Sample => Some(c_sample.map(get).filter(|s| !s.is_empty()).unwrap_or(bare(column)).to_string()),
            _ => None,
        };
        // Two injections of one batch at one order: a copied row or a typo, and the drift fit
        // would not know which came first. Orders may restart in each batch.
        if let Some(first) = out.iter().find(|i| i.batch == batch && i.order == order) {
            return Err(MetabolomeError::at(
                at("injection_order"),
                format!(
                    "injection order {order} of batch {batch:?} is also that of {:?} (line {}); each injection of a \
                     batch needs its own order",
                    first.column, first.line
                ),
            ));
        }
        out.push(Injection { column: column.to_string(), order, batch, kind, sample_id, line });
    }
    if out.is_empty() {
        return Err(MetabolomeError::at(Location::file(path), "no injections listed"));
    }
    Ok(out)
}

/// Pairs each metabolome sample (`(sample_id, samplesheet line)`) with its study injection, both
/// ways: every sample needs exactly one, and every study injection must be a sample. Returns the
/// injection index per sample, or every problem found (with the line to blame).
pub fn match_samples(
    injections: &[Injection],
    list_path: &Path,
    samples: &[(&str, u64)],
    samplesheet: &Path,
) -> Result<Vec<usize>, Vec<(Location, String)>> {
    let mut problems = Vec::new();
    let mut found = Vec::with_capacity(samples.len());
    for (id, line) in samples {
        let hits: Vec<usize> = (0..injections.len())
            .filter(|&j| injections[j].kind == Kind::Sample && injections[j].sample_id.as_deref() == Some(*id))
            .collect();
        match hits.as_slice() {
            [j] => found.push(*j),
            [] => problems.push((
                Location::line(samplesheet, *line).with_column("sample_id"),
                format!("metabolome sample {id:?} has no study injection in {}", list_path.display()),
            )),
            [_, second, ..] => problems.push((
                Location::line(list_path, injections[*second].line).with_column("sample_id"),
                format!("sample {id:?} is injected more than once"),
            )),
        }
    }
    for i in injections.iter().filter(|i| i.kind == Kind::Sample) {
        if !samples.iter().any(|(id, _)| Some(*id) == i.sample_id.as_deref()) {
            problems.push((
                Location::line(list_path, i.line).with_column("column"),
                format!(
                    "study injection {:?} (sample {:?}) is not a metabolome sample in {}",
                    i.column,
                    i.sample_id.as_deref().unwrap_or(""),
                    samplesheet.display()
                ),
            ));
        }
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}
