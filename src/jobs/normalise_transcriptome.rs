//! `harmonomics normalise transcriptome`: one count matrix normalised, outside a cohort.

use std::path::PathBuf;

use serde_json::json;

use crate::annotation;
use crate::io::parquet::write_matrix_nan_as_null;
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
}

/// Runs one `normalise transcriptome` job.
pub fn run(job: &NormaliseJob) -> Result<(), RunError> {
    let counts = normalise::input::read(&job.counts)?;
    let lengths = match (&counts.lengths, &job.annotation) {
        (_, Some(spec)) => spec.read()?.lengths_of(&counts.matrix.feature_ids),
        (Some(l), None) => Some(l.clone()),
        (None, None) => None,
    };
    let keep = if job.options.filter_by_expr {
        normalise::filter::filter_by_expr(&counts.matrix, None, Default::default())
    } else {
        vec![true; counts.matrix.feature_ids.len()]
    };
    let normalised = normalise::apply_filtered(job.method, &counts.matrix, lengths.as_deref(), &keep, &job.options)
        .map_err(|reason| RunError::NormaliseFile { path: job.counts.clone(), reason })?;
    for warning in &normalised.warnings {
        eprintln!("warning: {}: {warning}", job.counts.display());
    }
    let mut params = json!({
        "method": job.method.name(),
        "prior_count": job.options.prior_count,
        "filter_by_expr": job.options.filter_by_expr,
        "kept_features": keep.iter().filter(|k| **k).count(),
    });
    if job.method == normalise::Method::Vst {
        params["vst_fit_type"] = json!(job.options.vst_fit_type);
        params["vst_nsub"] = json!(job.options.vst_nsub);
        params["fit"] = normalised.fit;
    }
    let params = params.to_string();
    let matrix = normalised.matrix;
    let meta = super::metadata(Layer::Transcriptome, &[("method", job.method.name().to_string()), ("params", params)]);
    // The matrix and the factors table appear together or not at all.
    let mut staged = crate::io::atomic::Staged::default();
    staged.write_path(&job.out, |tmp| write_matrix_nan_as_null(tmp, &matrix, &meta))?;
    if let Some(path) = &job.factors {
        let factors = normalise::factors(&counts.matrix);
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
