//! Batch correction inside `run`: ComBat on each selected layer's primary normalised matrix,
//! with the timepoint (and any configured covariate) protected, so the time course survives.
//! A design where batch and a protected covariate cannot be told apart is refused with the
//! counts that show it, unless `force = true` (then nothing is protected, and a warning says so).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{RunError, metadata, sample_attribute, stage};
use crate::cohort::{Cohort, Layer};
use crate::harmonise::LayerData;
use crate::output::manifest::StageReport;
use crate::output::parquet::write_matrix;

/// `[batch_correction]` in `cohort.toml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchCorrectionOptions {
    /// `none` (default) or `combat`.
    #[serde(default)]
    pub method: BatchMethod,
    /// ComBat's empirical Bayes prior: `parametric` (default) or `nonparametric`.
    #[serde(default)]
    pub prior: crate::batch::Prior,
    /// The samplesheet column naming the batch (default `batch`).
    #[serde(default = "default_batch")]
    pub batch: String,
    /// Samplesheet columns protected besides the timepoint (e.g. an immunotype column).
    #[serde(default)]
    pub protect: Vec<String>,
    /// Correct even when batch and a protected covariate are confounded (nothing is protected).
    #[serde(default)]
    pub force: bool,
    /// Layers to correct (default: transcriptome and metabolome, whose primary scales are logs).
    #[serde(default = "default_layers")]
    pub layers: Vec<Layer>,
}

fn default_batch() -> String {
    "batch".into()
}

fn default_layers() -> Vec<Layer> {
    vec![Layer::Transcriptome, Layer::Metabolome]
}

/// The correction method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchMethod {
    /// No correction.
    #[default]
    None,
    /// Parametric ComBat.
    Combat,
}

/// A protected covariate × batch table, for the refusal message.
fn crosstab(labels: &[String], batches: &[String]) -> String {
    let mut levels: Vec<&String> = labels.iter().collect();
    levels.sort();
    levels.dedup();
    let mut names: Vec<&String> = batches.iter().collect();
    names.sort();
    names.dedup();
    levels
        .iter()
        .map(|l| {
            let counts: Vec<String> = names
                .iter()
                .map(|b| {
                    let n = labels.iter().zip(batches).filter(|(x, y)| x == l && y == b).count();
                    format!("{b}: {n}")
                })
                .collect();
            format!("{l} ({})", counts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Corrects the selected layers in place and writes `<layer>/normalised.combat.parquet`.
pub fn correct(
    cohort: &Cohort,
    out: &Path,
    layers: &mut [LayerData],
    stages: &mut Vec<StageReport>,
    written: &mut Vec<PathBuf>,
) -> Result<(), RunError> {
    let options = &cohort.config.batch_correction;
    if options.method == BatchMethod::None {
        return Ok(());
    }
    stage::stage(stages, "batch_correction", json!(options), |r| {
        let mut counts = serde_json::Map::new();
        for layer in layers.iter_mut().filter(|l| options.layers.contains(&l.layer)) {
            let samples: Vec<&crate::cohort::Sample> = layer
                .normalised
                .sample_ids
                .iter()
                .filter_map(|id| cohort.samples.iter().find(|s| s.layer == layer.layer && &s.sample_id == id))
                .collect();
            let label = |s: &crate::cohort::Sample, column: &str| {
                sample_attribute(cohort, s, column).ok_or_else(|| {
                    RunError::Usage(format!(
                        "[batch_correction]: {} sample {:?} has no value in samplesheet column {column:?}",
                        layer.layer, s.sample_id
                    ))
                })
            };
            let batches: Vec<String> = samples.iter().map(|s| label(s, &options.batch)).collect::<Result<_, _>>()?;
            let mut protected: Vec<Vec<String>> =
                vec![samples.iter().map(|s| cohort.timepoints[s.timepoint].name.clone()).collect()];
            for column in &options.protect {
                protected.push(samples.iter().map(|s| label(s, column)).collect::<Result<_, _>>()?);
            }
            // ComBat needs complete rows that vary: the others are left as they are.
            let m = &layer.normalised;
            let rows: Vec<usize> = (0..m.feature_ids.len())
                .filter(|&i| {
                    let v: Vec<f64> = (0..m.sample_ids.len()).filter_map(|j| m.get(i, j).copied().flatten()).collect();
                    v.len() == m.sample_ids.len() && v.iter().any(|x| (x - v[0]).abs() > 1e-12)
                })
                .collect();
            let data: Vec<Vec<f64>> = rows
                .iter()
                .map(|&i| (0..m.sample_ids.len()).map(|j| m.get(i, j).copied().flatten().unwrap_or(0.0)).collect())
                .collect();
            let corrected = match crate::batch::combat(&data, &batches, &protected, options.prior) {
                Ok(c) => c,
                Err(e) if !options.force => {
                    let tables: Vec<String> = std::iter::once("timepoint".to_string())
                        .chain(options.protect.iter().cloned())
                        .zip(&protected)
                        .map(|(name, labels)| format!("{name} × {}: {}", options.batch, crosstab(labels, &batches)))
                        .collect();
                    return Err(RunError::Usage(format!(
                        "{} batch correction refused: {e}. Counts: {}. Correcting anyway would erase that \
                         covariate's effect; set force = true in [batch_correction] to do it regardless",
                        layer.layer,
                        tables.join(" | ")
                    )));
                }
                Err(_) => {
                    r.warnings.push(format!(
                        "{}: batch and a protected covariate are confounded; force = true: corrected with nothing protected",
                        layer.layer
                    ));
                    crate::batch::combat(&data, &batches, &[], options.prior)
                        .map_err(|e| RunError::Usage(e.to_string()))?
                }
            };
            for (k, &i) in rows.iter().enumerate() {
                for (j, column) in layer.normalised.columns.iter_mut().enumerate() {
                    if let Some(c) = column.as_mut() {
                        c[i] = Some(corrected[k][j]);
                    }
                }
            }
            let dir = out.join(layer.layer.as_str());
            std::fs::create_dir_all(&dir).map_err(|source| RunError::Io { path: dir.clone(), source })?;
            let path = dir.join("normalised.combat.parquet");
            let protected_names: Vec<&str> =
                std::iter::once("timepoint").chain(options.protect.iter().map(String::as_str)).collect();
            // How strongly samples group by batch and by timepoint, before and after, among the
            // 500 most variable corrected features (silhouette width; see stats::pca).
            let grouping = |m: &[Vec<f64>], labels: &[String]| {
                crate::stats::pca::silhouette(
                    &crate::stats::pca::top_variable(m, crate::stats::pca::TOP_FEATURES),
                    labels,
                )
            };
            let params = json!({
                "method": "combat",
                "silhouette_batch_before": grouping(&data, &batches),
                "silhouette_batch_after": grouping(&corrected, &batches),
                "silhouette_timepoint_before": grouping(&data, &protected[0]),
                "silhouette_timepoint_after": grouping(&corrected, &protected[0]),
                "prior": options.prior,
                "batch": options.batch,
                "protected": protected_names,
                "corrected_features": rows.len(),
                "left_as_is": layer.normalised.feature_ids.len() - rows.len(),
            });
            write_matrix(
                &path,
                &layer.normalised,
                &metadata(cohort, Some(layer.layer), &[("method", "combat".into()), ("params", params.to_string())]),
            )?;
            written.push(path);
            counts.insert(layer.layer.as_str().into(), params);
        }
        r.counts = serde_json::Value::Object(counts);
        Ok::<_, RunError>(())
    })
}
