//! Batch correction inside `run`: ComBat on each selected layer's primary normalised matrix,
//! with the timepoint (and any configured covariate) protected, so the time course survives.
//! A design where batch and a protected covariate cannot be told apart is refused with the
//! counts that show it, unless `force = true` (then nothing is protected, and a warning says so).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

use super::{At, RunError, metadata, sample_attribute, stage};
pub use crate::batch::{BatchCorrectionOptions, BatchMethod};
use crate::cohort::{Cohort, Layer};
use crate::io::parquet::{write_matrix, write_matrix_nan_as_null};
use crate::output::harmonised::LayerData;
use crate::output::manifest::StageReport;
use crate::parallel::CollectInOrder;
use crate::transcriptome::normalise::Method;

/// What one layer's correction did, for the manifest.
struct Corrected {
    /// The corrected rows (the others were left as they are).
    rows: usize,
    /// Extra manifest parameters.
    params: serde_json::Map<String, serde_json::Value>,
}

/// Corrects the selected layers in place and writes `<layer>/normalised.combat.parquet` (ComBat)
/// or `<layer>/raw.combat_seq.parquet` and `<layer>/normalised.combat_seq.parquet` (ComBat-seq).
/// `dirs[k]` is the directory `layers[k]` was read from.
pub fn correct(
    cohort: &Cohort,
    out: &Path,
    layers: &mut [LayerData],
    dirs: &[PathBuf],
    stages: &mut Vec<StageReport>,
    written: &mut Vec<PathBuf>,
) -> Result<(), RunError> {
    let options = &cohort.config.batch_correction;
    if options.method == BatchMethod::None {
        return Ok(());
    }
    stage::stage(stages, "batch_correction", json!(options), |r| {
        // The layers are corrected at once; their reports merge in layer order.
        let corrected: Vec<LayerCorrected> = layers
            .par_iter_mut()
            .zip(dirs.par_iter())
            .filter(|(l, _)| options.layers.contains(&l.layer))
            .map(|(layer, source)| {
                let mut warnings = Vec::new();
                let mut written = Vec::new();
                let of_layer: std::collections::HashMap<&str, &crate::cohort::Sample> = cohort
                    .samples
                    .iter()
                    .filter(|s| s.layer == layer.layer)
                    .map(|s| (s.sample_id.as_str(), s))
                    .collect();
                let samples: Vec<&crate::cohort::Sample> =
                    layer.normalised.sample_ids.iter().filter_map(|id| of_layer.get(id.as_str()).copied()).collect();
                let counts_layer = options.method == BatchMethod::CombatSeq && layer.layer == Layer::Transcriptome;
                // ComBat fits the samples that were measured: a sample whose whole column is null
                // (a microbiome library left out for depth) stays null rather than blocking every
                // row. ComBat-seq works on the raw counts, which have no such columns.
                let measured: Vec<usize> =
                    if counts_layer { (0..samples.len()).collect() } else { layer.normalised.measured_columns() };
                let samples: Vec<&crate::cohort::Sample> = measured.iter().map(|&j| samples[j]).collect();
                let label = |s: &crate::cohort::Sample, column: &str| {
                    sample_attribute(cohort, s, column).ok_or_else(|| RunError::Samples {
                        at: At::file(&cohort.config.samplesheet),
                        message: format!(
                            "[batch_correction]: {} sample {:?} has no value in samplesheet column {column:?}",
                            layer.layer, s.sample_id
                        ),
                    })
                };
                let batches: Vec<String> =
                    samples.iter().map(|s| label(s, &options.batch)).collect::<Result<_, _>>()?;
                let mut protected: Vec<Vec<String>> = vec![
                    samples
                        .iter()
                        .map(|s| cohort.timepoint_of(s).map(|t| t.name.clone()).unwrap_or_default())
                        .collect(),
                ];
                for column in &options.protect {
                    protected.push(samples.iter().map(|s| label(s, column)).collect::<Result<_, _>>()?);
                }
                let sample_ids: Vec<String> =
                    measured.iter().map(|&j| layer.normalised.sample_ids[j].clone()).collect();
                let labels = Labels {
                    at: At::config(cohort, "[batch_correction]"),
                    layer: layer.layer,
                    sample_ids: &sample_ids,
                    batches: &batches,
                    protected: &protected,
                    options,
                };
                // The 500 most variable complete features before and after, for the silhouettes.
                let top = |m: &crate::matrix::FeatureMatrix<f64>| {
                    crate::stats::pca::top_variable_complete(m, crate::stats::pca::TOP_FEATURES).0
                };
                let before = top(&layer.normalised);
                let (method, corrected) = if counts_layer {
                    let c = combat_seq_layer(cohort, layer, source, &samples, &labels, &mut warnings)?;
                    ("combat-seq", c)
                } else {
                    ("combat", combat_layer(layer, &measured, &labels, options.prior, &mut warnings)?)
                };
                let dir = out.join(layer.layer.as_str());
                std::fs::create_dir_all(&dir).map_err(|source| RunError::Io { path: dir.clone(), source })?;
                let protected_names: Vec<&str> =
                    std::iter::once("timepoint").chain(options.protect.iter().map(String::as_str)).collect();
                // How strongly samples group by batch and by timepoint, before and after, among the
                // 500 most variable complete features (silhouette width; see stats::pca).
                let after = top(&layer.normalised);
                let labelings: [&[String]; 2] = [&batches, &protected[0]];
                let (by_before, by_after) = rayon::join(
                    || crate::stats::pca::silhouettes(&before, &labelings),
                    || crate::stats::pca::silhouettes(&after, &labelings),
                );
                let mut params = json!({
                    "method": method,
                    "silhouette_batch_before": by_before[0],
                    "silhouette_batch_after": by_after[0],
                    "silhouette_timepoint_before": by_before[1],
                    "silhouette_timepoint_after": by_after[1],
                    "batch": options.batch,
                    "protected": protected_names,
                    "corrected_features": corrected.rows,
                    "left_as_is": layer.normalised.feature_ids.len() - corrected.rows,
                });
                if let Some(map) = params.as_object_mut() {
                    map.extend(corrected.params);
                }
                let suffix = if counts_layer { "combat_seq" } else { "combat" };
                if counts_layer {
                    let path = dir.join("raw.combat_seq.parquet");
                    let integer = layer
                        .raw
                        .load(&layer.normalised)?
                        .map_columns(|_, c| Some(c.iter().map(|&v| v as u64).collect()));
                    write_matrix(
                        &path,
                        &integer,
                        &metadata(
                            cohort,
                            Some(layer.layer),
                            &[("values", "counts".into()), ("method", method.into()), ("params", params.to_string())],
                        ),
                    )?;
                    written.push(path);
                }
                let path = dir.join(format!("normalised.{suffix}.parquet"));
                write_matrix_nan_as_null(
                    &path,
                    &layer.normalised,
                    &metadata(cohort, Some(layer.layer), &[("method", method.into()), ("params", params.to_string())]),
                )?;
                written.push(path);
                Ok::<_, RunError>(LayerCorrected { layer: layer.layer, params, written, warnings })
            })
            .collect_in_order()?;
        let mut counts = serde_json::Map::new();
        for done in corrected {
            counts.insert(done.layer.as_str().into(), done.params);
            written.extend(done.written);
            r.warnings.extend(done.warnings);
        }
        r.counts = serde_json::Value::Object(counts);
        Ok::<_, RunError>(())
    })
}

/// One layer's correction: its parameters, the files written and the warnings.
struct LayerCorrected {
    layer: Layer,
    params: serde_json::Value,
    written: Vec<PathBuf>,
    warnings: Vec<String>,
}

/// A layer's samples as the correction sees them: ids, batch labels and protected covariates.
struct Labels<'a> {
    /// Where a refusal points: the `[batch_correction]` section.
    at: At,
    layer: Layer,
    sample_ids: &'a [String],
    batches: &'a [String],
    protected: &'a [Vec<String>],
    options: &'a BatchCorrectionOptions,
}

impl Labels<'_> {
    /// Runs `method` protecting the covariates. Where batch and a protected covariate are
    /// confounded it refuses with the covariate × batch counts, or with `force` corrects with
    /// nothing protected and says so in `warnings`.
    fn correct<T>(
        &self,
        method: &str,
        warnings: &mut Vec<String>,
        run: impl Fn(&[Vec<String>]) -> Result<T, crate::batch::BatchError>,
    ) -> Result<T, RunError> {
        let (options, layer) = (self.options, self.layer);
        match crate::batch::protecting(self.protected, options.force, run) {
            Ok((corrected, forced)) => {
                if forced {
                    warnings.push(format!(
                        "{layer}: batch and a protected covariate are confounded; force = true: corrected with nothing protected"
                    ));
                }
                Ok(corrected)
            }
            Err(e @ crate::batch::BatchError::Confounded) => {
                let tables: Vec<String> = std::iter::once("timepoint".to_string())
                    .chain(options.protect.iter().cloned())
                    .zip(self.protected)
                    .map(|(name, labels)| {
                        format!("{name} × {}: {}", options.batch, crate::batch::crosstab(labels, self.batches))
                    })
                    .collect();
                Err(RunError::Design {
                    at: self.at.clone(),
                    message: format!(
                        "{layer} batch correction refused: {e}. Counts: {}. Correcting anyway would erase that \
                         covariate's effect; set force = true in [batch_correction] to do it regardless",
                        tables.join(" | ")
                    ),
                })
            }
            Err(e) => {
                let named = e.named(|_| "", |j| self.sample_ids[j].as_str());
                Err(RunError::Design { at: self.at.clone(), message: format!("{layer} {method}: {named}") })
            }
        }
    }
}

/// ComBat on the layer's primary normalised matrix, in place.
fn combat_layer(
    layer: &mut LayerData,
    measured: &[usize],
    labels: &Labels,
    prior: crate::batch::Prior,
    warnings: &mut Vec<String>,
) -> Result<Corrected, RunError> {
    let m = &layer.normalised;
    let rows = crate::batch::correctable_rows_of(m, measured, |v| Some(*v).filter(|v| !v.is_nan()));
    // Rows 64 at a time, each column's run of 64 values read in one go.
    let n = measured.len();
    let data: Vec<Vec<f64>> = rows
        .par_chunks(64)
        .flat_map_iter(|block| {
            let mut out = vec![Vec::with_capacity(n); block.len()];
            for &j in measured {
                for (row, &i) in out.iter_mut().zip(block) {
                    row.push(m.get(i, j).copied().filter(|v| !v.is_nan()).unwrap_or(0.0));
                }
            }
            out
        })
        .collect();
    // Corrected in place: a refused attempt changes nothing, so a forced retry starts afresh.
    let data = std::cell::RefCell::new(data);
    labels.correct("ComBat", warnings, |p| {
        crate::batch::combat_in_place(&mut data.borrow_mut(), labels.batches, p, prior)
    })?;
    let corrected = data.into_inner();
    // Back into the columns 64 at a time, each row's run of 64 values read in one go (a column
    // at a time would read every row's vector once per sample).
    let mut position = vec![None; layer.normalised.columns.len()];
    for (k, &j) in measured.iter().enumerate() {
        position[j] = Some(k);
    }
    layer.normalised.columns.par_chunks_mut(64).enumerate().for_each(|(block, columns)| {
        let first = block * 64;
        for (k, &i) in rows.iter().enumerate() {
            for (offset, column) in columns.iter_mut().enumerate() {
                if let (Some(c), Some(p)) = (column.as_mut(), position[first + offset]) {
                    c[i] = corrected[k][p];
                }
            }
        }
    });
    let mut params = serde_json::Map::new();
    params.insert("prior".into(), json!(prior));
    Ok(Corrected { rows: rows.len(), params })
}

/// ComBat-seq on the layer's raw counts, in place; the normalised matrix is then recomputed
/// from the corrected counts with the layer's primary method (and filter), as `run` made it.
fn combat_seq_layer(
    cohort: &Cohort,
    layer: &mut LayerData,
    source: &Path,
    samples: &[&crate::cohort::Sample],
    labels: &Labels,
    warnings: &mut Vec<String>,
) -> Result<Corrected, RunError> {
    let raw = &*layer.raw.load(&layer.normalised)?;
    let n = raw.sample_ids.len();
    // Rows with a missing value are left as they are; fractional estimated counts (Salmon,
    // kallisto) are rounded, as DESeq2's tximport import does.
    let rows: Vec<usize> =
        (0..raw.feature_ids.len()).filter(|&i| (0..n).all(|j| raw.get(i, j).is_some_and(|v| v.is_finite()))).collect();
    let mut rounded = 0usize;
    let data: Vec<Vec<f64>> = rows
        .iter()
        .map(|&i| {
            (0..n)
                .map(|j| {
                    let v = raw.get(i, j).copied().unwrap_or(0.0).max(0.0);
                    if v.fract() != 0.0 {
                        rounded += 1;
                    }
                    v.round()
                })
                .collect()
        })
        .collect();
    if rounded > 0 {
        warnings.push(format!(
            "{}: {rounded} fractional counts rounded to integers for ComBat-seq (estimated counts from a quantifier)",
            layer.layer
        ));
    }
    let corrected =
        labels.correct("ComBat-seq", warnings, |p| crate::batch::combat_seq::combat_seq(&data, labels.batches, p))?;
    let moved = data.iter().zip(&corrected).flat_map(|(a, b)| a.iter().zip(b)).filter(|(a, b)| a != b).count();
    let raw = layer.raw.load(&layer.normalised)?;
    for (k, &i) in rows.iter().enumerate() {
        for (j, column) in raw.columns.iter_mut().enumerate() {
            if let Some(c) = column.as_mut() {
                c[i] = corrected[k][j];
            }
        }
    }
    // Normalise the corrected counts as the layer step normalised the originals.
    let options = &cohort.config.transcriptome.normalise;
    let Some(&method) = options.methods.first() else {
        return Err(RunError::Config {
            at: At::config(cohort, "[batch_correction]"),
            message: "method = \"combat-seq\" needs a normalisation method in [transcriptome.normalise] to turn \
                      the corrected counts into the harmonised values"
                .into(),
        });
    };
    // TPM and FPKM need the gene lengths the layer step wrote beside raw.parquet.
    let lengths = match method {
        Method::Tpm | Method::Fpkm => {
            crate::transcriptome::normalise::input::read(&source.join("raw.parquet"))?.lengths
        }
        _ => None,
    };
    let keep = super::transcriptome::transcriptome_keep(cohort, raw, samples)?;
    let design = super::transcriptome::vst_design_labels(cohort, samples)?;
    let counts = raw.map_columns(|_, c| Some(c.iter().map(|v| if v.is_finite() { *v } else { 0.0 }).collect()));
    let normalised = crate::transcriptome::normalise::apply_filtered(
        method,
        &counts,
        lengths.as_deref(),
        &keep,
        options,
        design.as_deref(),
    )?;
    layer.normalised = normalised.transform.apply(&counts);
    let mut params = serde_json::Map::new();
    params.insert("normalisation".into(), json!(method.name()));
    if !normalised.fit.is_null() {
        params.insert("normalisation_fit".into(), normalised.fit);
    }
    params.insert("counts_moved".into(), json!(moved));
    params.insert("counts_rounded".into(), json!(rounded));
    Ok(Corrected { rows: rows.len(), params })
}
