//! The harmonise stage: read each layer's matrices back from its `<layer>/` directory, correct
//! batches, and write the cohort-wide tables (`samples`, `harmonised`, `mofa`, `completeness`,
//! the wide exports, MultiQC files and the report).
//!
//! `run` calls it on its own output directory; `harmonomics harmonise` calls it on the `<layer>/`
//! directories of scattered runs, so a workflow manager can gather. Both read the same files the
//! same way, so a gathered cohort is byte-identical to a single `run`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

use super::context::{self, RunContext};
use super::layer::{QcTable, step};
use super::{At, RunError, RunSummary, arrow_err, batch, io_err, metadata, stage};
use crate::cohort::{self, Cohort, Layer};
use crate::io::hash::hash_file;
use crate::io::parquet::{read_table, write_batch};
use crate::io::wide::{ColumnReader, read_wide_parallel_nan};
use crate::matrix::FeatureMatrix;
use crate::output::harmonised::{self, LayerData, RawValues};
use crate::output::manifest::FileRecord;
use crate::output::multiqc::{self, LayerQc};
use crate::output::report::{self, LayerPca, ReportInput};
use crate::parallel::CollectInOrder;
use crate::stats::pca::{TOP_FEATURES, pca, silhouettes, top_variable_complete};

/// Options of `harmonomics harmonise`.
#[derive(Clone, Debug)]
pub struct HarmoniseOptions {
    /// `cohort.toml`.
    pub config: PathBuf,
    /// Directories holding `<layer>/` outputs (searched in order; default: `out`).
    pub inputs: Vec<PathBuf>,
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads (for the manifest; the pool is sized by the caller).
    pub threads: usize,
    /// No messages on stderr.
    pub quiet: bool,
    /// argv, for the manifest.
    pub command_line: Vec<String>,
}

/// Refuses a file whose sample ids (`found`) do not match the samplesheet's samples of `layer`.
fn check_samples(cohort: &Cohort, layer: Layer, path: &Path, found: &[String]) -> Result<(), RunError> {
    let expected: Vec<&str> = cohort.samples_of(layer).iter().map(|s| s.sample_id.as_str()).collect();
    let unknown: Vec<&str> = found.iter().map(String::as_str).filter(|s| !expected.contains(s)).collect();
    let absent: Vec<&str> = expected.iter().copied().filter(|s| !found.iter().any(|f| f == s)).collect();
    if unknown.is_empty() && absent.is_empty() {
        return Ok(());
    }
    let list = |v: &[&str]| {
        let shown: Vec<String> = v.iter().take(5).map(|s| format!("{s:?}")).collect();
        let more = if v.len() > 5 { format!(" and {} more", v.len() - 5) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!("columns not among the samplesheet's {} samples: {}", layer, list(&unknown)));
    }
    if !absent.is_empty() {
        problems.push(format!("samplesheet {} samples with no column: {}", layer, list(&absent)));
    }
    Err(RunError::Samples {
        at: At::file(path),
        message: format!(
            "sample ids do not match the samplesheet ({}): {}; harmonise the outputs of runs made with this \
             samplesheet",
            cohort.config.samplesheet.display(),
            problems.join("; ")
        ),
    })
}

/// Puts a matrix's columns in samplesheet order, refusing a file whose sample ids do not match
/// the samplesheet's samples of that layer.
fn match_samples<T>(
    cohort: &Cohort,
    layer: Layer,
    path: &Path,
    m: FeatureMatrix<T>,
) -> Result<FeatureMatrix<T>, RunError> {
    check_samples(cohort, layer, path, &m.sample_ids)?;
    let expected: Vec<&str> = cohort.samples_of(layer).iter().map(|s| s.sample_id.as_str()).collect();
    let found: HashMap<&str, usize> = m.sample_ids.iter().enumerate().map(|(j, s)| (s.as_str(), j)).collect();
    let mut columns = m.columns;
    let ordered = expected.iter().map(|s| columns[found[s]].take()).collect();
    Ok(FeatureMatrix {
        feature_ids: m.feature_ids,
        sample_ids: expected.iter().map(|s| s.to_string()).collect(),
        columns: ordered,
    })
}

/// Reads one layer's primary matrices from `dir` (`<root>/<layer>`): the normalised matrix
/// whole, the raw one left on disk (read a sample at a time by the long table) with its rows
/// matched to the normalised matrix's features.
pub fn load_layer(cohort: &Cohort, layer: Layer, dir: &Path) -> Result<(LayerData, Vec<PathBuf>), RunError> {
    let (normalised_file, raw_file) = step(layer).primary_files(cohort);
    let (normalised_path, raw_path) = (dir.join(normalised_file), dir.join(raw_file));
    let normalised = match_samples(cohort, layer, &normalised_path, read_wide_parallel_nan(&normalised_path)?)?;
    let rows: HashMap<&str, usize> =
        normalised.feature_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let raw = ColumnReader::open(&raw_path, &rows)?;
    check_samples(cohort, layer, &raw_path, raw.sample_ids())?;
    Ok((LayerData { layer, raw: RawValues::OnDisk(raw), normalised }, vec![normalised_path, raw_path]))
}

/// The first of `roots` that holds `<layer>/` with its primary matrix.
fn layer_dir(cohort: &Cohort, layer: Layer, roots: &[PathBuf]) -> Result<PathBuf, RunError> {
    let (normalised, _) = step(layer).primary_files(cohort);
    roots.iter().map(|r| r.join(layer.as_str())).find(|d| d.join(&normalised).is_file()).ok_or_else(|| {
        RunError::Stale {
            at: At::file(&cohort.config.samplesheet),
            message: format!(
                "the samplesheet has {layer} samples but no {layer}/{} under {}; run `harmonomics run` (or the \
                 layer's quant and normalise steps) first, or pass the directory with --input",
                normalised.display(),
                roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        }
    })
}

/// The stage: loads every layer of the cohort from `roots`, corrects batches, writes the
/// cohort-wide outputs under `out`. Returns the matrix files it read.
pub(crate) fn harmonise_stage(ctx: &mut RunContext, roots: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
    let (cohort, progress, out) = (ctx.cohort, ctx.progress, ctx.out.clone());
    let out = out.as_path();
    let (stages, written) = (&mut ctx.stages, &mut ctx.written);
    // Loading the layers back and their PCA before correction are a stage of their own, so every
    // second of a run belongs to a named stage.
    let (mut layers, read, dirs, mut pcas) = stage::stage(stages, "load_layers", json!({ "roots": roots }), |r| {
        // The layers load at once (each reads its matrix by column slices in parallel too).
        let loaded = cohort
            .layers()
            .into_par_iter()
            .map(|layer| {
                let dir = layer_dir(cohort, layer, roots)?;
                let (data, files) = load_layer(cohort, layer, &dir)?;
                Ok::<_, RunError>((data, files, dir))
            })
            .collect_in_order()?;
        let (mut layers, mut read, mut dirs) = (Vec::new(), Vec::new(), Vec::new());
        for (data, files, dir) in loaded {
            layers.push(data);
            read.extend(files);
            dirs.push(dir);
        }
        let pcas: Vec<LayerPca> = layers.par_iter().map(|l| layer_pca(cohort, l, "normalised")).collect();
        r.counts = json!({ "layers": layers.len(), "matrices": read.len() });
        Ok::<_, RunError>((layers, read, dirs, pcas))
    })?;
    let batch_options = &cohort.config.batch_correction;
    batch::correct(cohort, out, &mut layers, &dirs, stages, written)?;
    if batch_options.method != batch::BatchMethod::None {
        stage::stage(stages, "pca_corrected", json!({}), |_| {
            let corrected: Vec<LayerPca> = layers
                .par_iter()
                .filter(|l| batch_options.layers.contains(&l.layer))
                .map(|l| layer_pca(cohort, l, "batch-corrected"))
                .collect();
            for pca in corrected {
                let k = pcas.iter().rposition(|p| p.layer == pca.layer).map_or(pcas.len(), |k| k + 1);
                pcas.insert(k, pca);
            }
            Ok::<_, RunError>(())
        })?;
    }
    progress.note(format!("harmonising {} layers on the patient × timepoint grid", layers.len()));

    stage::stage(stages, "harmonise", json!({ "layers_from": dirs }), |r| {
        let meta = metadata(cohort, None, &[]);
        let wide_dir = out.join("wide");
        std::fs::create_dir_all(&wide_dir).map_err(io_err(&wide_dir))?;
        // The cohort-wide files are independent: the long tables, the wide exports and the small
        // tables with the report are written at once (each file's bytes do not depend on it).
        let long_tables = || -> Result<(), RunError> {
            let (harmonised, mofa) = rayon::join(
                || harmonised::write_harmonised(&out.join("harmonised.parquet"), cohort, &layers, &meta),
                || harmonised::write_mofa(&out.join("mofa.parquet"), cohort, &layers, &meta),
            );
            harmonised?;
            mofa?;
            Ok(())
        };
        let wide = || -> Vec<Result<(PathBuf, bool), RunError>> {
            layers
                .par_iter()
                .map(|layer| {
                    let path = wide_dir.join(format!("{}.parquet", layer.layer.as_str()));
                    let meta = metadata(cohort, Some(layer.layer), &[]);
                    Ok((path.clone(), harmonised::write_wide(&path, cohort, layer, &meta)?))
                })
                .collect()
        };
        let small = || -> Result<Vec<PathBuf>, RunError> {
            write_batch(
                &out.join("samples.parquet"),
                harmonised::samples_table(cohort, &genetic_components(cohort, &dirs)?).map_err(arrow_err(out))?,
                &meta,
            )?;
            write_batch(
                &out.join("completeness.parquet"),
                harmonised::completeness_table(cohort).map_err(arrow_err(out))?,
                &meta,
            )?;
            let qcs = layer_qc(cohort, &dirs)?;
            let grid = harmonised::grid(cohort);
            let mut files = multiqc::write_all(&out.join("multiqc"), &qcs, &grid)?;
            let genome_dir = cohort.layers().iter().position(|l| *l == Layer::Genome).map(|k| dirs[k].as_path());
            let identity = super::identity::report_view(cohort, &out.join("identity"), genome_dir)?;
            let input = ReportInput {
                cohort,
                grid: &grid,
                qcs: &qcs,
                pcas: &pcas,
                batch_column: &batch_options.batch,
                identity: identity.as_ref(),
            };
            report::write(&out.join("report.html"), &input)?;
            files.push(out.join("report.html"));
            Ok(files)
        };
        let (long, (wide, small)) = rayon::join(long_tables, || rayon::join(wide, small));
        long?;
        written.extend(
            ["samples.parquet", "harmonised.parquet", "completeness.parquet", "mofa.parquet"].map(|f| out.join(f)),
        );
        for (layer, result) in layers.iter().zip(wide) {
            match result? {
                (path, true) => written.push(path),
                (_, false) => r.warnings.push(format!(
                    "{}: {} features are too many columns for a samples × features export; \
                     wide/{}.parquet not written (use harmonised.parquet or {}/normalised.parquet)",
                    layer.layer,
                    layer.normalised.feature_ids.len(),
                    layer.layer,
                    layer.layer
                )),
            }
        }
        written.extend(small?);
        r.counts = json!({ "layers": layers.len(), "samples": cohort.samples.len() });
        Ok::<_, RunError>(())
    })?;
    Ok(read)
}

/// PCA and silhouette widths of a layer's primary matrix (features complete in every sample).
fn layer_pca(cohort: &Cohort, layer: &LayerData, stage: &'static str) -> LayerPca {
    // Samples whose whole column is missing (a microbiome library left out for depth) are left
    // out of the PCA rather than leaving it no complete feature.
    let full = &layer.normalised;
    let keep = full.measured_columns();
    let subset;
    let m = if keep.len() == full.columns.len() {
        full
    } else {
        subset = crate::matrix::FeatureMatrix {
            feature_ids: full.feature_ids.clone(),
            sample_ids: keep.iter().map(|&j| full.sample_ids[j].clone()).collect(),
            columns: keep.iter().map(|&j| full.columns[j].clone()).collect(),
        };
        &subset
    };
    let (top, complete_features) = top_variable_complete(m, TOP_FEATURES);
    let samples: Vec<Option<&cohort::Sample>> = m
        .sample_ids
        .iter()
        .map(|id| cohort.samples.iter().find(|s| s.layer == layer.layer && &s.sample_id == id))
        .collect();
    let batch_column = &cohort.config.batch_correction.batch;
    let timepoints: Vec<String> = samples
        .iter()
        .map(|s| s.and_then(|s| cohort.timepoint_of(s)).map(|t| t.name.clone()).unwrap_or_default())
        .collect();
    let batches: Vec<String> = samples
        .iter()
        .map(|s| s.and_then(|s| super::sample_attribute(cohort, s, batch_column)).unwrap_or_default())
        .collect();
    let grouping = silhouettes(&top, &[&batches, &timepoints]);
    LayerPca {
        layer: layer.layer,
        stage,
        sample_ids: m.sample_ids.clone(),
        pca: pca(&top),
        complete_features,
        silhouette: (grouping[0], grouping[1]),
        timepoints,
        batches,
    }
}

/// Each layer's per-sample QC table, where its step wrote one.
fn layer_qc(cohort: &Cohort, dirs: &[PathBuf]) -> Result<Vec<LayerQc>, RunError> {
    let mut qcs = Vec::new();
    for (layer, dir) in cohort.layers().into_iter().zip(dirs) {
        let QcTable { file, keys, description } = step(layer).qc();
        let path = dir.join(file);
        if path.is_file() {
            let table = read_table(&path).map_err(io_err(&path))?;
            qcs.push(LayerQc { layer, table, keys, description });
        }
    }
    Ok(qcs)
}

/// The genome's ancestry components (`genome/ancestry.parquet`) as `samples.parquet` columns
/// `genetic_pc1`…: each patient's values on every one of its rows (null for a patient without a
/// genome); none when the cohort has no genome layer or no components.
fn genetic_components(cohort: &Cohort, dirs: &[PathBuf]) -> Result<harmonised::Covariates, RunError> {
    let Some(k) = cohort.layers().iter().position(|l| *l == Layer::Genome) else { return Ok(Vec::new()) };
    let path = dirs[k].join("ancestry.parquet");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let table = read_table(&path).map_err(io_err(&path))?;
    let id = table.column("sample_id").unwrap_or(usize::MAX);
    let patient_of = |sample: &str| {
        cohort.samples.iter().find(|s| s.layer == Layer::Genome && s.sample_id == sample).map(|s| s.patient_id.as_str())
    };
    let by_patient: HashMap<&str, &Vec<serde_json::Value>> =
        table.rows.iter().filter_map(|row| patient_of(row.get(id)?.as_str()?).map(|p| (p, row))).collect();
    Ok(table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, name)| name.starts_with("pc"))
        .map(|(c, name)| {
            let values = cohort
                .samples
                .iter()
                .map(|s| {
                    by_patient.get(s.patient_id.as_str()).and_then(|row| row.get(c)).and_then(serde_json::Value::as_f64)
                })
                .collect();
            (format!("genetic_{name}"), values)
        })
        .collect())
}

/// `harmonomics harmonise`: the harmonise stage alone, on the `<layer>/` outputs of earlier
/// (scattered) runs, with its own manifest.
pub fn gather(options: &HarmoniseOptions) -> Result<RunSummary, RunError> {
    let (cohort, started) = context::start(&options.config, options.quiet)?;
    let mut ctx = RunContext::new(&cohort, started, &options.out, options.threads, false)?;
    let roots = if options.inputs.is_empty() { vec![options.out.clone()] } else { options.inputs.clone() };
    // The identity check reads the inputs, not the scattered outputs: run it here, as `run` does
    // before harmonising.
    let mut identity_inputs = Vec::new();
    match super::identity::plan(&cohort) {
        Ok(plan) => {
            let dir = ctx.out.join("identity");
            let written = super::identity::check(&cohort, &plan, &dir, &mut ctx.stages)?;
            ctx.written.extend(written);
            identity_inputs.push(("identity_sites".to_string(), plan.sites.clone()));
            identity_inputs.extend(plan.alignments.iter().map(|s| (s.layer.as_str().to_string(), s.path.clone())));
        }
        Err(why) => ctx.progress.note(format!("identity: not checked: {why}")),
    }
    let read = harmonise_stage(&mut ctx, &roots)?;
    let mut inputs = vec![
        ("config".to_string(), cohort.config_path.clone()),
        ("samplesheet".to_string(), cohort.config.samplesheet.clone()),
    ];
    inputs.extend(identity_inputs);
    inputs.extend(read.into_iter().map(|p| ("matrix".to_string(), p)));
    let inputs = inputs
        .into_iter()
        .map(|(role, path)| {
            let (size, blake3) = hash_file(&path).map_err(io_err(&path))?;
            Ok(FileRecord { role, path: path.display().to_string(), size, blake3 })
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    ctx.finish(&options.command_line, &options.config, inputs)
}
