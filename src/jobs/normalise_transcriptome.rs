//! `harmonomics normalise transcriptome`: one count matrix normalised, outside a cohort.

use std::path::PathBuf;

use serde_json::json;

use crate::annotation;
use crate::layer::Layer;
use crate::pipeline::{RunError, arrow_err};
use crate::transcriptome::{normalise, tables};

/// One `normalise transcriptome` job.
#[derive(Clone, Debug)]
pub struct NormaliseJob {
    /// The count matrix.
    pub counts: PathBuf,
    /// The method.
    pub method: normalise::Method,
    /// Wide Parquet output.
    pub out: PathBuf,
    /// Optional factors table.
    pub factors: Option<PathBuf>,
    /// Annotation for gene lengths.
    pub annotation: Option<annotation::AnnotationSpec>,
    /// Method options.
    pub options: normalise::NormaliseOptions,
    /// A samples table (CSV/TSV with `sample_id`) giving `options.filter_group`'s column.
    pub samples: Option<PathBuf>,
}

/// Runs one `normalise transcriptome` job.
pub fn run(job: &NormaliseJob) -> Result<(), RunError> {
    let counts = normalise::input::read(&job.counts)?;
    let lengths = match (&counts.lengths, &job.annotation) {
        (_, Some(spec)) => spec.read()?.lengths_of(&counts.matrix.feature_ids),
        (Some(l), None) => Some(l.clone()),
        (None, None) => None,
    };
    // The --samples table is read once, when an option names its columns.
    let options = &job.options;
    let named = (options.filter_by_expr && (options.filter_group.is_some() || options.filter_design.is_some()))
        || options.vst_design.is_some();
    let table = match &job.samples {
        Some(path) if named => Some(SamplesTable::read(path)?),
        _ => None,
    };
    // The labels of the samples present in the matrix (filterByExpr sees only those).
    let present = |labels: Vec<String>| -> Vec<String> {
        labels.into_iter().zip(&counts.matrix.columns).filter(|(_, c)| c.is_some()).map(|(g, _)| g).collect()
    };
    // Each sample's label in each column of a design.
    let design_labels = |table: &SamplesTable, formula: &str| -> Result<Vec<Vec<String>>, RunError> {
        normalise::design_columns(formula)
            .iter()
            .map(|column| table.labels(column, &counts.matrix.sample_ids))
            .collect()
    };
    let keep = if options.filter_by_expr {
        use normalise::filter::SampleGroups;
        let groups = match (&options.filter_group, &table) {
            (Some(column), Some(table)) => Some(present(table.labels(column, &counts.matrix.sample_ids)?)),
            _ => None,
        };
        let design = match (&options.filter_design, &table) {
            (Some(formula), Some(table)) => {
                let labels: Vec<Vec<String>> = design_labels(table, formula)?.into_iter().map(present).collect();
                let labels: Vec<Vec<&str>> = labels.iter().map(|f| f.iter().map(String::as_str).collect()).collect();
                Some(normalise::design::Design::from_factors(&labels).map_err(|e| RunError::NormaliseFile {
                    path: job.counts.clone(),
                    reason: normalise::NormaliseError::Method { method: "filter_by_expr", message: e.to_string() },
                })?)
            }
            _ => None,
        };
        let by = match (&groups, &design) {
            (Some(g), _) => SampleGroups::Groups(g),
            (None, Some(d)) => SampleGroups::Design(d),
            (None, None) => SampleGroups::One,
        };
        normalise::filter::filter_by_expr(&counts.matrix, by, Default::default())
    } else {
        vec![true; counts.matrix.feature_ids.len()]
    };
    let design = match (&options.vst_design, &table) {
        (Some(formula), Some(table)) => Some(design_labels(table, formula)?),
        _ => None,
    };
    let normalised = normalise::apply_filtered(
        job.method,
        &counts.matrix,
        lengths.as_deref(),
        &keep,
        &job.options,
        design.as_deref(),
    )
    .map_err(|reason| RunError::NormaliseFile { path: job.counts.clone(), reason })?;
    for warning in &normalised.warnings {
        eprintln!("harmonomics: warning: {}: {warning}", job.counts.display());
    }
    let mut params = json!({
        "method": job.method.name(),
        "prior_count": job.options.prior_count,
        "filter_by_expr": job.options.filter_by_expr,
        "filter_group": job.options.filter_group,
        "filter_design": job.options.filter_design,
        "control_genes": job.options.control_genes.len(),
        "round": job.options.round,
        "kept_features": keep.iter().filter(|k| **k).count(),
    });
    if job.method == normalise::Method::Vst {
        params["vst_fit_type"] = json!(job.options.vst_fit_type);
        params["vst_nsub"] = json!(job.options.vst_nsub);
        params["vst_design"] = json!(job.options.vst_design);
    }
    if !normalised.fit.is_null() {
        params["fit"] = normalised.fit.clone();
    }
    let params = params.to_string();
    let meta = super::metadata(Layer::Transcriptome, &[("method", job.method.name().to_string()), ("params", params)]);
    // The matrix and the factors table appear together or not at all.
    let mut staged = crate::io::atomic::Staged::default();
    staged.write_path(&job.out, |tmp| normalised.write(tmp, &counts.matrix, &meta))?;
    if let Some(path) = &job.factors {
        let controls = normalise::control_mask(&counts.matrix, &job.options)
            .map_err(|reason| RunError::NormaliseFile { path: job.counts.clone(), reason })?;
        let factors = normalise::factors(&counts.matrix, controls.as_deref());
        let ids: Vec<&str> = counts.matrix.sample_ids.iter().map(String::as_str).collect();
        if path.extension().is_some_and(|e| e == "parquet") {
            let batch = tables::factors(&ids, &factors).map_err(arrow_err(path))?;
            crate::io::parquet::stage_batch(&mut staged, path, batch, &meta)?;
        } else {
            let cell = |v: Option<f64>| v.map_or_else(|| "NA".to_string(), |v| format!("{v}"));
            let mut text =
                String::from("sample_id\tlibrary_size\tsize_factor\tsize_factor_poscounts\ttmm_factor\tuq_factor\n");
            for (j, id) in ids.iter().enumerate() {
                text.push_str(&format!(
                    "{id}\t{}\t{}\t{}\t{}\t{}\n",
                    cell(factors.library_size[j]),
                    cell(factors.size_factor[j]),
                    cell(factors.size_factor_poscounts[j]),
                    cell(factors.tmm_factor[j]),
                    cell(factors.uq_factor[j])
                ));
            }
            staged.write(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
        }
    }
    staged.commit()?;
    Ok(())
}

/// The samples table of `--samples` (CSV with a `sample_id` column, e.g. the cohort's
/// samplesheet), whose columns give filterByExpr's groups or design and the VST's design.
struct SamplesTable<'a> {
    path: &'a std::path::Path,
    parsed: crate::cohort::samplesheet::Table,
}

impl<'a> SamplesTable<'a> {
    fn read(path: &'a std::path::Path) -> Result<Self, RunError> {
        use crate::pipeline::At;
        let mut problems = Vec::new();
        let parsed = crate::cohort::samplesheet::read_table(path, &mut problems);
        if let Some((location, message)) = problems.into_iter().next() {
            return Err(RunError::Samples { at: At::File(location), message });
        }
        let parsed = parsed
            .ok_or_else(|| RunError::Samples { at: At::file(path), message: "unreadable samples table".into() })?;
        Ok(SamplesTable { path, parsed })
    }

    /// Each matrix sample's value in `column`.
    fn labels(&self, column: &str, samples: &[String]) -> Result<Vec<String>, RunError> {
        use crate::pipeline::At;
        let fail = |message: String| RunError::Samples { at: At::file(self.path), message };
        let parsed = &self.parsed;
        for needed in ["sample_id", column] {
            if parsed.column(needed).is_none() {
                return Err(fail(format!(
                    "no {needed:?} column (--filter-group, --filter-design and --design name columns of --samples)"
                )));
            }
        }
        let by_id: std::collections::HashMap<&str, &str> = parsed
            .rows
            .iter()
            .filter_map(|row| Some((parsed.get(row, "sample_id")?, parsed.get(row, column).unwrap_or(""))))
            .collect();
        samples
            .iter()
            .map(|s| match by_id.get(s.as_str()) {
                Some(group) if !group.is_empty() => Ok(group.to_string()),
                Some(_) => Err(fail(format!("sample {s:?} has no value in column {column:?}"))),
                None => Err(fail(format!("sample {s:?} of the count matrix is not in the samples table"))),
            })
            .collect()
    }
}
