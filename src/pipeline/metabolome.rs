//! The metabolome layer: one feature table for the cohort plus its injection list, processed and
//! written as `metabolome/{features,raw,normalised,qc,injections}.parquet`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use serde_json::json;

use super::context::{RunContext, json_text};
use super::layer::{LayerStep, QcTable};
use super::{At, RunError, arrow_err, io_err, metadata, stage};
use crate::cohort::{Cohort, Layer, Problem, Severity, ValidationError};
use crate::io::parquet::{MatrixStream, MetadataFor, batch, write_batch};
use crate::metabolome::injections::{self, Kind};
use crate::metabolome::process::ProcessOptions;
use crate::metabolome::{MetabolomeError, MetabolomeOptions, ProcessedTable, read_and_process};

/// The metabolome's [`LayerStep`]: one feature table for the cohort, processed whole.
pub(crate) struct Metabolome;

impl LayerStep for Metabolome {
    fn options(&self, cohort: &Cohort) -> Result<String, RunError> {
        json_text(&cohort.config.metabolome)
    }

    fn whole(&self, _cohort: &Cohort, _samples: &[&crate::cohort::Sample]) -> Result<String, RunError> {
        Ok("the metabolome is one feature table, processed whole by `harmonomics normalise layer --layer \
            metabolome`: there is nothing to quantify per sample"
            .into())
    }

    fn step_inputs(&self, cohort: &Cohort) -> Vec<(&'static str, PathBuf)> {
        cohort.config.metabolome.injections.iter().map(|p| ("injections", p.clone())).collect()
    }

    fn assemble(&self, ctx: &mut RunContext, _samples: &[&crate::cohort::Sample], dir: &Path) -> Result<(), RunError> {
        run_layer(ctx, dir)
    }

    fn qc(&self) -> QcTable {
        QcTable {
            file: "injections.parquet",
            keys: &["sample_id", "column"],
            description: "LC-MS injections: order, batch, type and PQN dilution factor",
        }
    }
}

impl From<MetabolomeError> for RunError {
    fn from(e: MetabolomeError) -> Self {
        metabolome_error(e, At::CommandLine)
    }
}

/// A metabolome error as a run error, a refused design pointing `at` what defines it (the
/// layer's config section, or the injection list of a single-table job).
pub(crate) fn metabolome_error(e: MetabolomeError, design_at: At) -> RunError {
    match e {
        MetabolomeError::Io { path, source } => RunError::Io { path, source },
        MetabolomeError::Design(message) => RunError::Design { at: design_at, message },
        other => RunError::Metabolome(other),
    }
}

/// Writes the five tables; `study` lists (output column name, injection index) in output order.
/// Returns the paths written.
pub fn write_outputs(
    dir: &Path,
    r: &ProcessedTable,
    study: &[(String, usize)],
    meta: &MetadataFor<'_>,
    options: &ProcessOptions,
) -> Result<Vec<PathBuf>, RunError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let t = &r.table;
    let p = &r.processed;
    let ids: Vec<String> = study.iter().map(|(id, _)| id.clone()).collect();
    let paths: Vec<PathBuf> =
        ["features.parquet", "raw.parquet", "normalised.parquet", "qc.parquet", "injections.parquet"]
            .iter()
            .map(|f| dir.join(f))
            .collect();

    let kept: std::collections::HashSet<usize> = p.kept.iter().copied().collect();
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("feature_id", Arc::new(StringArray::from(t.ids.clone()))),
        ("mz", Arc::new(Float64Array::from(t.mz.clone()))),
        ("rt", Arc::new(Float64Array::from(t.rt.clone()))),
    ];
    for (name, values) in &t.annotations {
        columns.push((name.as_str(), Arc::new(StringArray::from(values.clone()))));
    }
    columns.extend([
        ("detection_rate", Arc::new(Float64Array::from_iter_values(p.stats.iter().map(|s| s.detection))) as ArrayRef),
        ("qc_rsd_raw", Arc::new(Float64Array::from(p.stats.iter().map(|s| s.qc_rsd_raw).collect::<Vec<_>>()))),
        (
            "qc_rsd_corrected",
            Arc::new(Float64Array::from(p.stats.iter().map(|s| s.qc_rsd_corrected).collect::<Vec<_>>())),
        ),
        ("kept", Arc::new(BooleanArray::from((0..t.ids.len()).map(|i| kept.contains(&i)).collect::<Vec<_>>()))),
        ("removed_by", Arc::new(StringArray::from(p.stats.iter().map(|s| s.removed_by).collect::<Vec<_>>()))),
    ]);
    write_batch(&paths[0], batch(columns).map_err(arrow_err(&paths[0]))?, &meta(&[("format", t.format.into())]))?;

    // Wide matrices streamed row by row: no second copy of the table in memory.
    let mut raw_out =
        MatrixStream::<Option<f64>>::create(&paths[1], &ids, &meta(&[("values", "intensity as imported".into())]))?;
    let mut values = vec![None; study.len()];
    for (i, row) in t.rows.iter().enumerate() {
        for (v, (_, j)) in values.iter_mut().zip(study) {
            *v = row[*j];
        }
        raw_out.push(t.ids[i].clone(), &values)?;
    }
    raw_out.finish()?;
    let params = serde_json::to_string(options).map_err(RunError::Serialise)?;
    let mut normalised_out = MatrixStream::<Option<f64>>::create(
        &paths[2],
        &ids,
        &meta(&[("method", "metabolome chain".into()), ("params", params)]),
    )?;
    for (row, &i) in p.values.iter().zip(&p.kept) {
        for (v, (_, j)) in values.iter_mut().zip(study) {
            *v = row[*j];
        }
        normalised_out.push(t.ids[i].clone(), &values)?;
    }
    normalised_out.finish()?;
    let steps = &p.steps;
    let qc = batch(vec![
        ("step", Arc::new(StringArray::from_iter_values(steps.iter().map(|s| s.name))) as ArrayRef),
        (
            "features_in",
            Arc::new(arrow_array::UInt64Array::from_iter_values(steps.iter().map(|s| s.features_in as u64))),
        ),
        ("removed", Arc::new(arrow_array::UInt64Array::from_iter_values(steps.iter().map(|s| s.removed as u64)))),
        (
            "values_changed",
            Arc::new(arrow_array::UInt64Array::from_iter_values(steps.iter().map(|s| s.values_changed as u64))),
        ),
        ("params", Arc::new(StringArray::from_iter_values(steps.iter().map(|s| s.params.to_string())))),
    ])
    .map_err(arrow_err(&paths[3]))?;
    write_batch(&paths[3], qc, &meta(&[]))?;

    let inj = &r.injections;
    let table: RecordBatch = batch(vec![
        ("column", Arc::new(StringArray::from_iter_values(inj.iter().map(|i| i.column.as_str()))) as ArrayRef),
        ("injection_order", Arc::new(Float64Array::from_iter_values(inj.iter().map(|i| i.order)))),
        ("batch", Arc::new(StringArray::from_iter_values(inj.iter().map(|i| i.batch.as_str())))),
        ("sample_type", Arc::new(StringArray::from_iter_values(inj.iter().map(|i| i.kind.as_str())))),
        ("sample_id", Arc::new(StringArray::from(inj.iter().map(|i| i.sample_id.clone()).collect::<Vec<_>>()))),
        ("pqn_factor", Arc::new(Float64Array::from(p.pqn_factors.clone()))),
    ])
    .map_err(arrow_err(&paths[4]))?;
    write_batch(&paths[4], table, &meta(&[]))?;

    Ok(paths)
}

/// Runs the metabolome layer for `run`.
fn run_layer(ctx: &mut RunContext, dir: &Path) -> Result<(), RunError> {
    let (cohort, stages, written) = (ctx.cohort, &mut ctx.stages, &mut ctx.written);
    let options: &MetabolomeOptions = &cohort.config.metabolome;
    let samples = cohort.samples_of(Layer::Metabolome);
    // `validate` has checked that the injection list is there and that the rows share one table.
    let Some(injections_path) = &options.injections else {
        return Err(RunError::Config {
            at: At::config(cohort, "[metabolome]"),
            message: "metabolome samples need `injections` in [metabolome]".into(),
        });
    };
    let table_path = samples[0].path.clone();
    let params = json!({ "table": table_path, "injections": injections_path, "import": options.import, "process": options.process });
    // Matching the injections to the samplesheet and writing the outputs are part of the stage.
    stage::stage(stages, "process_metabolome", params, |report| {
        let r = read_and_process(&table_path, injections_path, &options.import, &options.process)
            .map_err(|e| metabolome_error(e, At::config(cohort, "[metabolome.process]")))?;
        report.counts = json!({
            "features": r.table.ids.len(),
            "kept": r.processed.kept.len(),
            "injections": r.injections.len(),
            "qcs": r.injections.iter().filter(|i| i.kind == Kind::Qc).count(),
            "blanks": r.injections.iter().filter(|i| i.kind == Kind::Blank).count(),
            "steps": r.processed.steps,
        });
        // Study injections ↔ samplesheet rows (also checked by `validate`).
        let keys: Vec<(&str, u64)> = samples.iter().map(|s| (s.sample_id.as_str(), s.line)).collect();
        let found = injections::match_samples(&r.injections, injections_path, &keys, &cohort.config.samplesheet)
            .map_err(|problems| {
                RunError::Invalid(ValidationError {
                    problems: problems
                        .into_iter()
                        .map(|(location, message)| Problem { severity: Severity::Error, location, message })
                        .collect(),
                })
            })?;
        let study: Vec<(String, usize)> = samples.iter().zip(found).map(|(s, j)| (s.sample_id.clone(), j)).collect();
        let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Metabolome), extra);
        written.extend(write_outputs(dir, &r, &study, &meta, &options.process)?);
        Ok::<_, RunError>(())
    })
}
