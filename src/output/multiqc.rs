//! MultiQC custom-content files (`multiqc/*_mqc.tsv`, `*_mqc.json`), so a `multiqc .` over a
//! project folds the cohort's per-sample QC from every layer into the report users already read.
//!
//! Formats: <https://docs.seqera.io/multiqc/custom_content>. A TSV carries its section in
//! `# key: value` comment lines above the header; a JSON file carries it as keys beside `data`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cohort::Layer;
use crate::io::OutputError;
use crate::io::atomic::write_bytes_atomic;
use crate::io::parquet::Table;
use crate::output::harmonised::GridCell;

/// One layer's per-sample QC table and the column naming each row's sample.
pub struct LayerQc {
    /// The layer.
    pub layer: Layer,
    /// The table (`<layer>/qc.parquet`, or the metabolome's injection list).
    pub table: Table,
    /// Columns tried in turn for the row's MultiQC sample name.
    pub keys: &'static [&'static str],
    /// One line on what the rows are.
    pub description: &'static str,
}

impl LayerQc {
    /// Each row's sample name (the first non-null key column), or `None`.
    pub fn names(&self) -> Vec<Option<String>> {
        let keys: Vec<usize> = self.keys.iter().filter_map(|k| self.table.column(k)).collect();
        self.table.rows.iter().map(|row| keys.iter().find_map(|&k| row[k].as_str().map(String::from))).collect()
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_bytes_atomic(path, bytes).map_err(|source| OutputError { path: path.to_path_buf(), source })
}

/// A TSV cell: numbers as JSON prints them (shortest round trip), text with tabs and newlines
/// replaced, null as empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.replace(['\t', '\n', '\r'], " "),
        other => other.to_string(),
    }
}

fn section_tsv(qc: &LayerQc) -> String {
    let layer = qc.layer.as_str();
    let mut text = format!(
        "# id: 'harmonomics_{layer}_qc'\n# section_name: 'harmonomics: {layer} QC'\n# description: '{}'\n\
         # plot_type: 'table'\n# pconfig:\n#     id: 'harmonomics_{layer}_qc_table'\n#     namespace: 'harmonomics'\n",
        qc.description.replace('\'', "")
    );
    let keys: Vec<usize> = qc.keys.iter().filter_map(|k| qc.table.column(k)).collect();
    let shown: Vec<usize> = (0..qc.table.columns.len()).filter(|c| !keys.contains(c)).collect();
    text.push_str("Sample");
    for &c in &shown {
        text.push('\t');
        text.push_str(&qc.table.columns[c]);
    }
    text.push('\n');
    for (row, name) in qc.table.rows.iter().zip(qc.names()) {
        let Some(name) = name else { continue };
        text.push_str(&cell(&Value::String(name)));
        for &c in &shown {
            text.push('\t');
            text.push_str(&cell(&row[c]));
        }
        text.push('\n');
    }
    text
}

/// featureCounts-style assignment bar graph from the transcriptome QC (`Assigned` and every
/// `Unassigned_*` category that is not zero in the whole cohort).
fn assignment_json(qc: &LayerQc) -> Option<Value> {
    let t = &qc.table;
    let categories: Vec<usize> = (0..t.columns.len())
        .filter(|&c| t.columns[c] == "Assigned" || t.columns[c].starts_with("Unassigned_"))
        .filter(|&c| t.rows.iter().any(|r| r[c].as_u64().unwrap_or(0) > 0))
        .collect();
    if categories.is_empty() {
        return None;
    }
    let data: serde_json::Map<String, Value> = t
        .rows
        .iter()
        .zip(qc.names())
        .filter_map(|(row, name)| {
            let counts: serde_json::Map<String, Value> =
                categories.iter().map(|&c| (t.columns[c].clone(), row[c].clone())).collect();
            Some((name?, Value::Object(counts)))
        })
        .collect();
    Some(json!({
        "id": "harmonomics_transcriptome_assignment",
        "section_name": "harmonomics: read assignment",
        "description": "Alignments per featureCounts category, per RNA sample (library size and assignment rate).",
        "plot_type": "bargraph",
        "pconfig": { "id": "harmonomics_transcriptome_assignment_plot", "title": "harmonomics: read assignment", "ylab": "Alignments" },
        "categories": categories.iter().map(|&c| t.columns[c].clone()).collect::<Vec<_>>(),
        "data": data,
    }))
}

/// Grid completeness per layer and timepoint: samples present, outside their window, missing.
fn completeness_json(grid: &[GridCell]) -> Value {
    let mut data = serde_json::Map::new();
    for cell in grid {
        let key = match cell.timepoint {
            Some(tp) => format!("{} {:02} {}", cell.layer.as_str(), tp.order, tp.name),
            None => cell.layer.as_str().to_string(),
        };
        let entry = data.entry(key).or_insert_with(|| json!({ "present": 0, "outside_window": 0, "missing": 0 }));
        if let Some(n) = entry.get_mut(cell.status) {
            *n = json!(n.as_u64().unwrap_or(0) + 1);
        }
    }
    json!({
        "id": "harmonomics_completeness",
        "section_name": "harmonomics: time-course completeness",
        "description": "Patients per layer and timepoint with a sample inside its protocol window, outside it, or none.",
        "plot_type": "bargraph",
        "pconfig": { "id": "harmonomics_completeness_plot", "title": "harmonomics: completeness", "ylab": "Patients" },
        "categories": ["present", "outside_window", "missing"],
        "data": data,
    })
}

/// Writes the MultiQC files under `dir`; returns their paths.
pub fn write_all(dir: &Path, qcs: &[LayerQc], grid: &[GridCell]) -> Result<Vec<PathBuf>, OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError { path: dir.to_path_buf(), source })?;
    let mut written = Vec::new();
    for qc in qcs {
        let path = dir.join(format!("harmonomics_{}_qc_mqc.tsv", qc.layer.as_str()));
        write(&path, section_tsv(qc).as_bytes())?;
        written.push(path);
        if qc.layer == Layer::Transcriptome
            && let Some(j) = assignment_json(qc)
        {
            let path = dir.join("harmonomics_transcriptome_assignment_mqc.json");
            write(&path, serde_json::to_string_pretty(&j).unwrap_or_default().as_bytes())?;
            written.push(path);
        }
    }
    let path = dir.join("harmonomics_completeness_mqc.json");
    write(&path, serde_json::to_string_pretty(&completeness_json(grid)).unwrap_or_default().as_bytes())?;
    written.push(path);
    Ok(written)
}
