//! The processing chain, on a features × injections matrix (study samples, QCs and blanks):
//!
//! 1. zeros → missing (LC-MS software writes 0 for "not detected");
//! 2. blank filter: drop a feature whose mean in study samples is below `blank_ratio` × its mean
//!    in blanks (missing blank values count as 0);
//! 3. QC-RSC drift and batch correction: per feature and batch, LOESS (statsmodels' `lowess`,
//!    `frac = loess_span`, `it = loess_iterations`) of QC intensity on injection order, evaluated
//!    at every injection of the batch; each value is divided by the fit and multiplied by the
//!    median of the feature's QC intensities over all batches, which also removes batch shifts.
//!    A batch with fewer than `min_qc_per_batch` QC values for a feature is left as it is;
//! 4. filters: QC RSD (sample standard deviation / mean, after correction) above `max_qc_rsd`,
//!    and detection in fewer than `min_detection` of the study samples;
//! 5. imputation, over study samples and QCs only (blanks neither give nor receive values: a
//!    blank's near-zero reading would sit far below the study range): half of the feature's
//!    smallest observed value (`half_min`), KNN, or none;
//! 6. PQN: each injection divided by the median of its quotients to a reference profile (the
//!    median of the QCs, else of the study samples) over the features with a positive reference;
//! 7. `log2`, `glog` (log2((x + √(x² + λ)) / 2), pmp's form) or none;
//! 8. scaling over study samples: `pareto` ((x − mean) / √sd), `auto` ((x − mean) / sd) or none.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::MetabolomeError;
use super::injections::{Injection, Kind};
use crate::stats::lowess::lowess;

/// `[metabolome.process]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessOptions {
    /// Keep features whose study-sample mean is at least this many times the blank mean (0: off).
    pub blank_ratio: f64,
    /// QC-based drift correction.
    pub drift: Drift,
    /// LOESS span (fraction of a batch's QCs in each local fit).
    pub loess_span: f64,
    /// LOESS robustifying iterations.
    pub loess_iterations: usize,
    /// Fewest QC values a batch needs for its drift to be corrected.
    pub min_qc_per_batch: usize,
    /// Drop features with a QC RSD above this (0.3 = 30%; 0: off).
    pub max_qc_rsd: f64,
    /// Drop features detected in fewer than this fraction of study samples.
    pub min_detection: f64,
    /// Missing-value imputation.
    pub impute: Impute,
    /// Neighbours for `impute = "knn"`.
    pub knn_neighbours: usize,
    /// Probabilistic quotient normalisation.
    pub pqn: bool,
    /// Transformation.
    pub transform: Transform,
    /// λ of `glog`.
    pub glog_lambda: f64,
    /// Scaling.
    pub scaling: Scaling,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        Self {
            blank_ratio: 3.0,
            drift: Drift::Loess,
            loess_span: 0.75,
            loess_iterations: 3,
            min_qc_per_batch: 5,
            max_qc_rsd: 0.3,
            min_detection: 0.5,
            impute: Impute::HalfMin,
            knn_neighbours: 5,
            pqn: true,
            transform: Transform::Log2,
            glog_lambda: 1.0,
            scaling: Scaling::None,
        }
    }
}

crate::choice::named_enum! {
    /// Drift correction.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Drift {
        /// QC-RSC with LOESS.
        Loess = "loess",
        /// No correction.
        None = "none",
    }
}

crate::choice::named_enum! {
    /// Imputation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Impute {
        /// Half the feature's minimum.
        HalfMin = "half_min",
        /// The mean of the `knn_neighbours` nearest injections that have the feature (scikit-learn's
        /// `KNNImputer`: nan-Euclidean distance over the features both have, uniform weights).
        Knn = "knn",
        /// Leave missing.
        None = "none",
    }
}

crate::choice::named_enum! {
    /// Transformation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Transform {
        /// log2.
        Log2 = "log2",
        /// Generalised log.
        Glog = "glog",
        /// None.
        None = "none",
    }
}

crate::choice::named_enum! {
    /// Scaling.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Scaling {
        /// None.
        None = "none",
        /// Pareto.
        Pareto = "pareto",
        /// Unit variance.
        Auto = "auto",
    }
}

/// One step's report (a row of `metabolome/qc.parquet`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Step name.
    pub name: &'static str,
    /// Its parameters (JSON).
    pub params: serde_json::Value,
    /// Features going in.
    pub features_in: usize,
    /// Features it removed.
    pub removed: usize,
    /// Values it changed (set missing, corrected, imputed, ...).
    pub values_changed: usize,
}

/// Per-feature facts for `features.parquet`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureStats {
    /// Share of study samples with a value (after zeros → missing).
    pub detection: f64,
    /// QC RSD before drift correction.
    pub qc_rsd_raw: Option<f64>,
    /// QC RSD after drift correction.
    pub qc_rsd_corrected: Option<f64>,
    /// The step that removed it.
    pub removed_by: Option<&'static str>,
}

/// The chain's result.
#[derive(Clone, Debug)]
pub struct Processed {
    /// Processed values, features × injections (all injections), for kept features.
    pub values: Vec<Vec<Option<f64>>>,
    /// Kept features (indices into the input).
    pub kept: Vec<usize>,
    /// Per input feature.
    pub stats: Vec<FeatureStats>,
    /// Per step.
    pub steps: Vec<Step>,
    /// PQN dilution factor per injection (`None` without PQN).
    pub pqn_factors: Vec<Option<f64>>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Sample standard deviation (n − 1).
fn sd(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    (v.len() > 1).then(|| (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

/// RSD of the present values at `cols`.
fn rsd(row: &[Option<f64>], cols: &[usize]) -> Option<f64> {
    let v: Vec<f64> = cols.iter().filter_map(|&j| row[j]).collect();
    let m = mean(&v)?;
    sd(&v).filter(|_| m != 0.0).map(|s| s / m)
}

/// QC-RSC for one feature across its batches (`members`: injection indices per batch). Returns
/// (values corrected, batches left uncorrected).
fn correct_drift(
    row: &mut [Option<f64>],
    injections: &[Injection],
    qcs: &[usize],
    members: &[Vec<usize>],
    options: &ProcessOptions,
) -> (usize, usize) {
    let mut all_qc: Vec<f64> = qcs.iter().filter_map(|&j| row[j]).collect();
    let Some(target) = crate::stats::median(&mut all_qc) else {
        return (0, members.len());
    };
    let (mut corrected, mut uncorrected) = (0, 0);
    for batch in members {
        let (x, y): (Vec<f64>, Vec<f64>) = batch
            .iter()
            .filter(|&&j| injections[j].kind == Kind::Qc)
            .filter_map(|&j| row[j].map(|v| (injections[j].order, v)))
            .unzip();
        if x.len() < options.min_qc_per_batch {
            uncorrected += 1;
            continue;
        }
        let at: Vec<f64> = batch.iter().map(|&j| injections[j].order).collect();
        let fit = lowess(&x, &y, options.loess_span, options.loess_iterations, &at);
        for (&j, f) in batch.iter().zip(fit) {
            if let Some(v) = row[j] {
                row[j] = f.filter(|f| *f > 0.0).map(|f| v / f * target);
                corrected += 1;
            }
        }
    }
    (corrected, uncorrected)
}

/// scikit-learn's `KNNImputer(n_neighbors = k)` with injections as samples: for each missing
/// value, the mean of that feature in the `k` injections nearest by nan-Euclidean distance
/// (√(n_features / n_shared · Σ over shared features of the squared difference)) among those that
/// have it; distances come from the data before imputation; an injection sharing no feature is no
/// neighbour; with no neighbour at all, the feature's mean. Returns how many values it filled.
/// Only the injections in `cols` give or receive values.
fn knn_impute(rows: &mut [Vec<Option<f64>>], k: usize, cols: &[usize]) -> usize {
    let n_features = rows.len();
    if n_features == 0 || k == 0 {
        return 0;
    }
    let original: Vec<Vec<Option<f64>>> = rows.to_vec();
    let distance = |a: usize, b: usize| -> Option<f64> {
        let (mut sum, mut shared) = (0.0, 0usize);
        for row in &original {
            if let (Some(x), Some(y)) = (row[a], row[b]) {
                sum += (x - y) * (x - y);
                shared += 1;
            }
        }
        (shared > 0).then(|| (n_features as f64 / shared as f64 * sum).sqrt())
    };
    let mut filled = 0;
    for &receiver in cols {
        if original.iter().all(|row| row[receiver].is_some()) {
            continue;
        }
        let distances: Vec<(usize, Option<f64>)> =
            cols.iter().map(|&j| (j, if j == receiver { None } else { distance(receiver, j) })).collect();
        for (f, row) in rows.iter_mut().enumerate() {
            if original[f][receiver].is_some() {
                continue;
            }
            let mut donors: Vec<(f64, usize)> = distances
                .iter()
                .filter_map(|&(j, d)| Some((d?, j)))
                .filter(|(_, j)| original[f][*j].is_some())
                .collect();
            if donors.is_empty() {
                let present: Vec<f64> = cols.iter().filter_map(|&j| original[f][j]).collect();
                row[receiver] = mean(&present);
            } else {
                donors.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let chosen: Vec<f64> = donors.iter().take(k).filter_map(|(_, j)| original[f][*j]).collect();
                row[receiver] = mean(&chosen);
            }
            filled += usize::from(row[receiver].is_some());
        }
    }
    filled
}

/// Runs the chain on a working copy of `rows` (features × injections, in list order).
pub fn process(
    rows: &[Vec<Option<f64>>],
    injections: &[Injection],
    options: &ProcessOptions,
) -> Result<Processed, MetabolomeError> {
    if !(options.loess_span > 0.0 && options.loess_span <= 1.0) {
        return Err(MetabolomeError::Design(format!("loess_span must lie in (0, 1], got {}", options.loess_span)));
    }
    if !(0.0..=1.0).contains(&options.min_detection) {
        return Err(MetabolomeError::Design(format!(
            "min_detection must lie in [0, 1], got {}",
            options.min_detection
        )));
    }
    let of = |kind: Kind| -> Vec<usize> { (0..injections.len()).filter(|&j| injections[j].kind == kind).collect() };
    let (samples, qcs, blanks) = (of(Kind::Sample), of(Kind::Qc), of(Kind::Blank));
    if samples.is_empty() {
        return Err(MetabolomeError::Design("the injection list has no study samples".into()));
    }
    let n_features = rows.len();
    let mut rows = rows.to_vec();
    let mut stats = vec![FeatureStats::default(); n_features];
    let mut alive: Vec<bool> = vec![true; n_features];
    let mut steps = Vec::new();
    let count = |alive: &[bool]| alive.iter().filter(|a| **a).count();

    // 1. zeros → missing.
    let mut changed = 0;
    for row in &mut rows {
        for v in row.iter_mut() {
            if *v == Some(0.0) {
                *v = None;
                changed += 1;
            }
        }
    }
    steps.push(Step {
        name: "zeros_to_missing",
        params: json!({}),
        features_in: n_features,
        removed: 0,
        values_changed: changed,
    });
    for (i, row) in rows.iter().enumerate() {
        stats[i].detection = samples.iter().filter(|&&j| row[j].is_some()).count() as f64 / samples.len() as f64;
        stats[i].qc_rsd_raw = rsd(row, &qcs);
    }

    // 2. blank filter.
    let before = count(&alive);
    if !blanks.is_empty() && options.blank_ratio > 0.0 {
        for (i, row) in rows.iter().enumerate() {
            let in_samples: Vec<f64> = samples.iter().filter_map(|&j| row[j]).collect();
            let in_blanks: Vec<f64> = blanks.iter().map(|&j| row[j].unwrap_or(0.0)).collect();
            let (s, b) = (mean(&in_samples).unwrap_or(0.0), mean(&in_blanks).unwrap_or(0.0));
            if alive[i] && b > 0.0 && s < options.blank_ratio * b {
                alive[i] = false;
                stats[i].removed_by = Some("blank_filter");
            }
        }
    }
    steps.push(Step {
        name: "blank_filter",
        params: json!({ "blank_ratio": options.blank_ratio, "blanks": blanks.len() }),
        features_in: before,
        removed: before - count(&alive),
        values_changed: 0,
    });

    // 3. QC-RSC.
    let before = count(&alive);
    let mut corrected_values = 0;
    let mut uncorrected_batches = 0;
    if options.drift == Drift::Loess {
        if qcs.len() < options.min_qc_per_batch {
            return Err(MetabolomeError::Design(format!(
                "drift = \"loess\" needs pooled QC injections ({} listed, min_qc_per_batch = {}); set drift = \"none\" \
                 or add them",
                qcs.len(),
                options.min_qc_per_batch
            )));
        }
        let mut batches: Vec<&str> = injections.iter().map(|i| i.batch.as_str()).collect();
        batches.sort_unstable();
        batches.dedup();
        let members: Vec<Vec<usize>> =
            batches.iter().map(|b| (0..injections.len()).filter(|&j| injections[j].batch == *b).collect()).collect();
        // Features are independent: correct them in parallel; the counts add up in any order.
        let (corrected, uncorrected) = rows
            .par_iter_mut()
            .zip(alive.par_iter())
            .filter(|(_, alive)| **alive)
            .map(|(row, _)| correct_drift(row, injections, &qcs, &members, options))
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        corrected_values = corrected;
        uncorrected_batches = uncorrected;
    }
    for (i, row) in rows.iter().enumerate() {
        stats[i].qc_rsd_corrected = rsd(row, &qcs);
    }
    steps.push(Step {
        name: "drift_correction",
        params: json!({
            "method": options.drift, "loess_span": options.loess_span,
            "loess_iterations": options.loess_iterations, "min_qc_per_batch": options.min_qc_per_batch,
            "feature_batches_left_uncorrected": uncorrected_batches,
        }),
        features_in: before,
        removed: 0,
        values_changed: corrected_values,
    });

    // 4. filters.
    let before = count(&alive);
    if !qcs.is_empty() && options.max_qc_rsd > 0.0 {
        for i in 0..n_features {
            if alive[i] && stats[i].qc_rsd_corrected.is_some_and(|r| r > options.max_qc_rsd) {
                alive[i] = false;
                stats[i].removed_by = Some("qc_rsd_filter");
            }
        }
    }
    steps.push(Step {
        name: "qc_rsd_filter",
        params: json!({ "max_qc_rsd": options.max_qc_rsd, "qcs": qcs.len() }),
        features_in: before,
        removed: before - count(&alive),
        values_changed: 0,
    });
    let before = count(&alive);
    for i in 0..n_features {
        let detected = samples.iter().filter(|&&j| rows[i][j].is_some()).count() as f64 / samples.len() as f64;
        if alive[i] && detected < options.min_detection {
            alive[i] = false;
            stats[i].removed_by = Some("detection_filter");
        }
    }
    steps.push(Step {
        name: "detection_filter",
        params: json!({ "min_detection": options.min_detection }),
        features_in: before,
        removed: before - count(&alive),
        values_changed: 0,
    });
    let kept: Vec<usize> = (0..n_features).filter(|&i| alive[i]).collect();
    if kept.is_empty() && n_features > 0 {
        // An empty matrix is never a result: say which filters emptied it, with their thresholds.
        let removals: Vec<String> = steps
            .iter()
            .filter(|s| s.removed > 0)
            .map(|s| format!("{} removed {} ({})", s.name, s.removed, s.params))
            .collect();
        return Err(MetabolomeError::Design(format!(
            "the filters removed all {n_features} features: {}; loosen these options ([metabolome] in \
             cohort.toml, or the flags of `normalise metabolome`) or check the injection list's sample types",
            removals.join("; ")
        )));
    }
    let mut values: Vec<Vec<Option<f64>>> = kept.iter().map(|&i| std::mem::take(&mut rows[i])).collect();

    // 5. imputation, blanks left out.
    let mut imputed = 0;
    let study: Vec<usize> = (0..injections.len()).filter(|&j| injections[j].kind != Kind::Blank).collect();
    if options.impute == Impute::Knn {
        imputed = knn_impute(&mut values, options.knn_neighbours, &study);
    }
    if options.impute == Impute::HalfMin {
        for row in &mut values {
            let min = study.iter().filter_map(|&j| row[j]).fold(f64::INFINITY, f64::min);
            if min.is_finite() {
                for &j in &study {
                    if row[j].is_none() {
                        row[j] = Some(min / 2.0);
                        imputed += 1;
                    }
                }
            }
        }
    }
    steps.push(Step {
        name: "imputation",
        params: json!({ "method": options.impute, "knn_neighbours": options.knn_neighbours }),
        features_in: kept.len(),
        removed: 0,
        values_changed: imputed,
    });

    // 6. PQN.
    let mut pqn_factors = vec![None; injections.len()];
    if options.pqn {
        let reference_cols = if qcs.is_empty() { &samples } else { &qcs };
        let reference: Vec<Option<f64>> = values
            .iter()
            .map(|row| {
                let mut v: Vec<f64> = reference_cols.iter().filter_map(|&j| row[j]).collect();
                crate::stats::median(&mut v)
            })
            .collect();
        for (j, factor) in pqn_factors.iter_mut().enumerate() {
            let mut quotients: Vec<f64> =
                values.iter().zip(&reference).filter_map(|(row, r)| Some(row[j]? / r.filter(|r| *r > 0.0)?)).collect();
            *factor = crate::stats::median(&mut quotients).filter(|f| *f > 0.0);
        }
        for row in &mut values {
            for (j, v) in row.iter_mut().enumerate() {
                *v = v.and_then(|x| Some(x / pqn_factors[j]?));
            }
        }
    }
    steps.push(Step {
        name: "pqn",
        params: json!({ "enabled": options.pqn, "reference": if qcs.is_empty() { "median of study samples" } else { "median of QCs" } }),
        features_in: kept.len(),
        removed: 0,
        values_changed: 0,
    });

    // 7. transformation.
    let lambda = options.glog_lambda;
    for row in &mut values {
        for v in row.iter_mut() {
            *v = match options.transform {
                Transform::Log2 => v.filter(|x| *x > 0.0).map(f64::log2),
                Transform::Glog => v.map(|x| ((x + (x * x + lambda).sqrt()) / 2.0).log2()),
                Transform::None => *v,
            };
        }
    }
    steps.push(Step {
        name: "transform",
        params: json!({ "method": options.transform, "glog_lambda": lambda }),
        features_in: kept.len(),
        removed: 0,
        values_changed: 0,
    });

    // 8. scaling (over study samples).
    if options.scaling != Scaling::None {
        for row in &mut values {
            let v: Vec<f64> = samples.iter().filter_map(|&j| row[j]).collect();
            let (Some(m), Some(s)) = (mean(&v), sd(&v)) else { continue };
            let denominator = if options.scaling == Scaling::Pareto { s.sqrt() } else { s };
            for x in row.iter_mut() {
                *x = x.and_then(|x| (denominator > 0.0).then(|| (x - m) / denominator));
            }
        }
    }
    steps.push(Step {
        name: "scaling",
        params: json!({ "method": options.scaling }),
        features_in: kept.len(),
        removed: 0,
        values_changed: 0,
    });
    Ok(Processed { values, kept, stats, steps, pqn_factors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injection(column: &str, order: f64, kind: Kind) -> Injection {
        Injection { column: column.into(), order, batch: "1".into(), kind, sample_id: None, line: 0 }
    }

    #[test]
    fn each_filter_removes_what_it_should_and_reports_it() {
        let mut inj: Vec<Injection> =
            (0..10).map(|k| injection(&format!("s{k}"), k as f64 * 2.0 + 1.0, Kind::Sample)).collect();
        inj.extend((0..6).map(|k| injection(&format!("qc{k}"), k as f64 * 4.0, Kind::Qc)));
        inj.push(injection("blank", 30.0, Kind::Blank));
        let row = |sample: f64, qc: &[f64], blank: f64| -> Vec<Option<f64>> {
            let mut r = vec![Some(sample); 10];
            r.extend(qc.iter().map(|v| Some(*v)));
            r.push(Some(blank));
            r
        };
        let steady = [100.0, 101.0, 99.0, 100.5, 99.5, 100.0];
        let rows = vec![
            row(100.0, &steady, 1.0),                                  // kept
            row(100.0, &steady, 50.0),                                 // blank contaminant
            row(100.0, &[50.0, 150.0, 60.0, 140.0, 55.0, 160.0], 1.0), // noisy QC
            {
                let mut r = row(100.0, &steady, 1.0); // rarely detected
                for v in r.iter_mut().take(8) {
                    *v = Some(0.0);
                }
                r
            },
        ];
        let options = ProcessOptions { drift: Drift::None, ..Default::default() };
        let p = process(&rows, &inj, &options).expect("process");
        assert_eq!(p.kept, [0]);
        let by = |i: usize| p.stats[i].removed_by;
        assert_eq!((by(1), by(2), by(3)), (Some("blank_filter"), Some("qc_rsd_filter"), Some("detection_filter")));
        let removed: Vec<(&str, usize)> = p.steps.iter().map(|s| (s.name, s.removed)).collect();
        assert!(removed.contains(&("blank_filter", 1)) && removed.contains(&("detection_filter", 1)));
        assert_eq!(p.steps[0].values_changed, 8, "zeros became missing");
    }

    #[test]
    fn loess_drift_correction_flattens_a_linear_drift() {
        // QC and samples decline 40% over the run; after QC-RSC the samples are flat.
        let n = 30;
        let inj: Vec<Injection> = (0..n)
            .map(|k| injection(&format!("i{k}"), k as f64, if k % 3 == 0 { Kind::Qc } else { Kind::Sample }))
            .collect();
        let drift = |k: usize| 1.0 - 0.4 * k as f64 / n as f64;
        let rows = vec![(0..n).map(|k| Some(1000.0 * drift(k))).collect::<Vec<_>>()];
        let options = ProcessOptions {
            pqn: false,
            transform: Transform::None,
            impute: Impute::None,
            blank_ratio: 0.0,
            ..Default::default()
        };
        let p = process(&rows, &inj, &options).expect("process");
        let values: Vec<f64> = p.values[0].iter().map(|v| v.expect("value")).collect();
        let spread = values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - values.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(spread < 1e-6 * 1000.0, "{values:?}");
        assert!(p.stats[0].qc_rsd_raw.expect("rsd") > 0.1);
        assert!(p.stats[0].qc_rsd_corrected.expect("rsd") < 1e-9);
    }

    #[test]
    fn pqn_undoes_a_dilution() {
        let inj: Vec<Injection> = (0..4).map(|k| injection(&format!("s{k}"), k as f64, Kind::Sample)).collect();
        let base = [10.0, 200.0, 3000.0, 45.0, 7.0];
        let dilution = [1.0, 0.5, 2.0, 1.0];
        let rows: Vec<Vec<Option<f64>>> = base.iter().map(|b| dilution.iter().map(|d| Some(b * d)).collect()).collect();
        let options = ProcessOptions { drift: Drift::None, transform: Transform::None, ..Default::default() };
        let p = process(&rows, &inj, &options).expect("process");
        for (i, row) in p.values.iter().enumerate() {
            let first = row[0].expect("v");
            for v in row {
                assert!((v.expect("v") - first).abs() < 1e-9 * first, "feature {i}: {row:?}");
            }
        }
    }
}
