//! Alignment of every layer on the patient × timepoint grid.
//!
//! `samples.parquet` describes each sample's place on the grid; `harmonised.parquet` is the long
//! table (one row per sample × feature) ordered by patient, then timepoint, then layer, then
//! feature, so "how does patient P's gene G move over time" is one filter away; its
//! `change_from_baseline` is the value minus the patient's first-timepoint value (null when that
//! sample is missing). `completeness.parquet` says which grid cells are present, missing or
//! outside their protocol window.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use crate::cohort::{Cohort, Layer, Sample};
use crate::io::OutputError;
use crate::io::parquet::{Metadata, batch, write_columns_by_slice, write_parquet};
use crate::io::wide::{ColumnReader, WideError};
use crate::matrix::FeatureMatrix;

/// One layer's matrices, ready to be aligned.
pub struct LayerData {
    /// Which layer.
    pub layer: Layer,
    /// Raw values (counts as f64 for the long table; NaN marks a missing value, written as null),
    /// rows as `normalised`'s.
    pub raw: RawValues,
    /// The primary normalisation (NaN: filtered out or undefined, written as null; 8 bytes a
    /// cell instead of `Option`'s 16, for matrices of tens of millions of cells).
    pub normalised: FeatureMatrix<f64>,
}

/// A layer's raw values: left on disk and read a sample at a time (only the long table needs
/// them), or in memory where batch correction changed them (ComBat-seq's corrected counts).
pub enum RawValues {
    /// The layer's raw matrix file.
    OnDisk(ColumnReader),
    /// Corrected values, columns in the layer's sample order.
    InMemory(FeatureMatrix<f64>),
}

impl RawValues {
    /// The values of sample `j` (of `sample_ids`, the layer's sample order).
    pub fn column(&self, j: usize, sample_ids: &[String]) -> Result<Vec<f64>, WideError> {
        match self {
            RawValues::OnDisk(reader) => reader.column(&sample_ids[j]),
            RawValues::InMemory(m) => Ok(m
                .columns
                .get(j)
                .and_then(Option::as_ref)
                .cloned()
                .unwrap_or_else(|| vec![f64::NAN; m.feature_ids.len()])),
        }
    }

    /// The whole matrix in memory (read now if it is on disk), rows and columns as `like`'s.
    pub fn load(&mut self, like: &FeatureMatrix<f64>) -> Result<&mut FeatureMatrix<f64>, WideError> {
        use rayon::prelude::*;
        if let RawValues::OnDisk(reader) = self {
            let columns = (0..like.sample_ids.len())
                .into_par_iter()
                .map(|j| reader.column(&like.sample_ids[j]).map(Some))
                .collect::<Result<_, _>>()?;
            *self = RawValues::InMemory(FeatureMatrix {
                feature_ids: like.feature_ids.clone(),
                sample_ids: like.sample_ids.clone(),
                columns,
            });
        }
        match self {
            RawValues::InMemory(m) => Ok(m),
            RawValues::OnDisk(_) => unreachable!("loaded above"),
        }
    }
}

/// Input path as the samplesheet wrote it (relative to the samplesheet where possible), so the
/// table does not depend on where the cohort was checked out.
fn input_text(cohort: &Cohort, sample: &Sample) -> String {
    let base = cohort.config.samplesheet.parent().unwrap_or(Path::new(""));
    sample.path.strip_prefix(base).unwrap_or(&sample.path).display().to_string()
}

/// Extra numeric columns of `samples.parquet`: (name, one value per samplesheet row).
pub type Covariates = Vec<(String, Vec<Option<f64>>)>;

/// `samples.parquet`: one row per samplesheet row, in samplesheet order, with `covariates`
/// (name, one value per row) appended: the genetic ancestry components.
pub fn samples_table(cohort: &Cohort, covariates: &Covariates) -> Result<RecordBatch, ArrowError> {
    let s = &cohort.samples;
    let tp = |x: &Sample| cohort.timepoint_of(x);
    let strings =
        |f: &dyn Fn(&Sample) -> Option<String>| -> ArrayRef { Arc::new(StringArray::from_iter(s.iter().map(f))) };
    // A time-invariant sample (the germline genome) given without a timepoint has nulls here.
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("sample_id", strings(&|x| Some(x.sample_id.clone()))),
        ("patient_id", strings(&|x| Some(x.patient_id.clone()))),
        ("timepoint", strings(&|x| tp(x).map(|t| t.name.clone()))),
        ("timepoint_order", Arc::new(UInt32Array::from_iter(s.iter().map(|x| tp(x).map(|t| t.order))))),
        ("days_from_admission", Arc::new(Float64Array::from_iter(s.iter().map(|x| x.days_from_admission)))),
        ("within_window", Arc::new(BooleanArray::from_iter(s.iter().map(|x| x.within_window)))),
        ("site", strings(&|x| x.site.clone())),
        ("batch", strings(&|x| x.batch.clone())),
        ("layer", strings(&|x| Some(x.layer.as_str().to_string()))),
        ("input", strings(&|x| Some(input_text(cohort, x)))),
    ];
    for (i, name) in cohort.extra_columns.iter().enumerate() {
        columns.push((name.as_str(), strings(&|x| x.extra[i].clone())));
    }
    for (name, values) in covariates {
        columns.push((name.as_str(), Arc::new(Float64Array::from_iter(values.iter().copied()))));
    }
    batch(columns)
}

/// One cell of the patient × timepoint × layer grid.
pub struct GridCell<'a> {
    /// The patient.
    pub patient: &'a str,
    /// The timepoint; `None` for a time-invariant layer's one cell per patient.
    pub timepoint: Option<&'a crate::cohort::Timepoint>,
    /// The layer.
    pub layer: Layer,
    /// `present`, `missing` or `outside_window`.
    pub status: &'static str,
    /// The sample filling the cell.
    pub sample: Option<&'a Sample>,
}

/// The grid, layer by layer, then patients in cohort order, then timepoints in protocol order. A
/// time-invariant layer (the germline genome) has one cell per patient, without a timepoint.
pub fn grid(cohort: &Cohort) -> Vec<GridCell<'_>> {
    let mut cells = Vec::new();
    let status = |sample: Option<&Sample>| match sample {
        None => "missing",
        Some(s) if s.within_window == Some(false) => "outside_window",
        Some(_) => "present",
    };
    for layer in cohort.layers() {
        for patient in &cohort.patients {
            let of_patient = |s: &&Sample| s.layer == layer && s.patient_id == patient.patient_id;
            if layer.is_time_invariant() {
                let sample = cohort.samples.iter().find(of_patient);
                let status = status(sample);
                cells.push(GridCell { patient: &patient.patient_id, timepoint: None, layer, status, sample });
                continue;
            }
            for (t, tp) in cohort.timepoints.iter().enumerate() {
                let sample = cohort.samples.iter().filter(of_patient).find(|s| s.timepoint == Some(t));
                let status = status(sample);
                cells.push(GridCell { patient: &patient.patient_id, timepoint: Some(tp), layer, status, sample });
            }
        }
    }
    cells
}

/// `completeness.parquet`: one row per patient × timepoint × layer present in the cohort, with
/// `status` = present, missing or outside_window, and the sample when there is one.
pub fn completeness_table(cohort: &Cohort) -> Result<RecordBatch, ArrowError> {
    let rows = grid(cohort);
    batch(vec![
        ("patient_id", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.patient))) as ArrayRef),
        ("timepoint", Arc::new(StringArray::from_iter(rows.iter().map(|r| r.timepoint.map(|t| t.name.as_str()))))),
        ("timepoint_order", Arc::new(UInt32Array::from_iter(rows.iter().map(|r| r.timepoint.map(|t| t.order))))),
        ("layer", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.layer.as_str())))),
        ("status", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.status)))),
        ("sample_id", Arc::new(StringArray::from_iter(rows.iter().map(|r| r.sample.map(|s| s.sample_id.as_str()))))),
    ])
}

/// Writes `harmonised.parquet` (long format) for every layer present.
pub fn write_harmonised(
    path: &Path,
    cohort: &Cohort,
    layers: &[LayerData],
    metadata: &Metadata,
) -> Result<(), OutputError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("patient_id", DataType::Utf8, false),
        // Null for the time-invariant layer (the germline genome).
        Field::new("timepoint", DataType::Utf8, true),
        Field::new("timepoint_order", DataType::UInt32, true),
        Field::new("days_from_admission", DataType::Float64, true),
        Field::new("layer", DataType::Utf8, false),
        Field::new("feature_id", DataType::Utf8, false),
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("raw", DataType::Float64, true),
        Field::new("normalised", DataType::Float64, true),
        Field::new("change_from_baseline", DataType::Float64, true),
    ]));
    let patient_rank: HashMap<&str, usize> =
        cohort.patients.iter().enumerate().map(|(i, p)| (p.patient_id.as_str(), i)).collect();
    let mut order: Vec<&Sample> = cohort.samples.iter().collect();
    // A patient's time-invariant samples come after its timepoints.
    order.sort_by_key(|s| {
        (
            patient_rank.get(s.patient_id.as_str()).copied(),
            cohort.timepoint_of(s).map_or(u32::MAX, |t| t.order),
            s.layer,
        )
    });
    let columns: Vec<HashMap<&str, usize>> = layers
        .iter()
        .map(|l| l.normalised.sample_ids.iter().enumerate().map(|(j, id)| (id.as_str(), j)).collect())
        .collect();
    // Each patient's baseline sample per layer: the first timepoint of the protocol (day 0).
    let baseline_timepoint = cohort.timepoints.iter().map(|t| t.order).min();
    let baseline: HashMap<(&str, Layer), &str> = cohort
        .samples
        .iter()
        .filter(|s| cohort.timepoint_of(s).map(|t| t.order) == baseline_timepoint && !s.layer.is_time_invariant())
        .map(|s| ((s.patient_id.as_str(), s.layer), s.sample_id.as_str()))
        .collect();

    // Per layer, the columns every one of its samples repeats, built once (a layer of 250,000
    // CpGs would otherwise copy its feature ids once per sample).
    let repeat = |v: &str, n: usize| -> ArrayRef { Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, n))) };
    let features: Vec<ArrayRef> = layers
        .iter()
        .map(|l| Arc::new(StringArray::from_iter_values(l.normalised.feature_ids.iter())) as ArrayRef)
        .collect();
    let layer_names: Vec<ArrayRef> =
        layers.iter().map(|l| repeat(l.layer.as_str(), l.normalised.feature_ids.len())).collect();
    let mut timepoints: HashMap<(usize, Option<usize>), ArrayRef> = HashMap::new();
    write_parquet(path, schema.clone(), metadata, |push| {
        for sample in order {
            let Some(li) = layers.iter().position(|l| l.layer == sample.layer) else { continue };
            let layer = &layers[li];
            let Some(&j) = columns[li].get(sample.sample_id.as_str()) else { continue };
            let n = layer.normalised.feature_ids.len();
            let tp = cohort.timepoint_of(sample);
            let timepoint = timepoints
                .entry((li, sample.timepoint))
                .or_insert_with(|| match tp {
                    Some(tp) => repeat(&tp.name, n),
                    None => Arc::new(StringArray::new_null(n)),
                })
                .clone();
            let raw = layer.raw.column(j, &layer.normalised.sample_ids).map_err(std::io::Error::other)?;
            let raw =
                Arc::new(Float64Array::from_iter(raw.into_iter().map(|v| (!v.is_nan()).then_some(v)))) as ArrayRef;
            let value = |i: usize, j: usize| layer.normalised.get(i, j).copied().filter(|v| !v.is_nan());
            let normalised = Arc::new(Float64Array::from_iter((0..n).map(|i| value(i, j)))) as ArrayRef;
            // Change from the patient's baseline on the normalised scale; null without a baseline.
            let j0 =
                baseline.get(&(sample.patient_id.as_str(), sample.layer)).and_then(|id| columns[li].get(id).copied());
            let change =
                Arc::new(Float64Array::from_iter((0..n).map(|i| j0.and_then(|j0| Some(value(i, j)? - value(i, j0)?)))))
                    as ArrayRef;
            let arrays: Vec<ArrayRef> = vec![
                repeat(&sample.patient_id, n),
                timepoint,
                Arc::new(UInt32Array::from_iter(std::iter::repeat_n(tp.map(|t| t.order), n))),
                Arc::new(Float64Array::from_iter(std::iter::repeat_n(sample.days_from_admission, n))),
                layer_names[li].clone(),
                features[li].clone(),
                repeat(&sample.sample_id, n),
                raw,
                normalised,
                change,
            ];
            push(RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?)?;
        }
        Ok(())
    })
}

/// Writes `mofa.parquet`: the long table MOFA+/MEFISTO read (`sample, group, feature, view,
/// value, time`). A sample is one blood draw (`<patient>_<timepoint>`, shared by its layers), a
/// group is a patient (MEFISTO's longitudinal setting), a view is a layer, features are prefixed
/// with their layer so names stay unique across views, and time is days from admission (the
/// timepoint's nominal day when the draw has no date). Missing values are left out, as MOFA
/// expects.
pub fn write_mofa(path: &Path, cohort: &Cohort, layers: &[LayerData], metadata: &Metadata) -> Result<(), OutputError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, false),
        Field::new("feature", DataType::Utf8, false),
        Field::new("view", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("time", DataType::Float64, true),
    ]));
    // Each patient's draws in protocol order, named and timed by the first sample taken at them.
    let draw_of = |s: &Sample, tp: &crate::cohort::Timepoint| {
        (format!("{}_{}", s.patient_id, tp.name), s.days_from_admission.or(Some(tp.nominal_day)))
    };
    let mut timed: Vec<(&Sample, &crate::cohort::Timepoint)> =
        cohort.samples.iter().filter_map(|s| cohort.timepoint_of(s).map(|tp| (s, tp))).collect();
    timed.sort_by_key(|(_, tp)| tp.order);
    let mut draws: HashMap<&str, Vec<(String, Option<f64>)>> = HashMap::new();
    for (s, tp) in timed {
        let (name, time) = draw_of(s, tp);
        let of_patient = draws.entry(s.patient_id.as_str()).or_default();
        if !of_patient.iter().any(|(n, _)| *n == name) {
            of_patient.push((name, time));
        }
    }
    write_parquet(path, schema.clone(), metadata, |push| {
        for layer in layers {
            let by_id: HashMap<&str, &Sample> =
                cohort.samples.iter().filter(|s| s.layer == layer.layer).map(|s| (s.sample_id.as_str(), s)).collect();
            // Built once per layer: the prefixed feature names and the view column, sliced per sample.
            let prefixed: Vec<String> =
                layer.normalised.feature_ids.iter().map(|f| format!("{}:{f}", layer.layer.as_str())).collect();
            let views = StringArray::from_iter_values(std::iter::repeat_n(layer.layer.as_str(), prefixed.len()));
            for (j, id) in layer.normalised.sample_ids.iter().enumerate() {
                let Some(sample) = by_id.get(id.as_str()) else { continue };
                // A time-invariant sample (the genome) joins every draw of its patient.
                let at: Vec<(String, Option<f64>)> = match cohort.timepoint_of(sample) {
                    Some(tp) => vec![draw_of(sample, tp)],
                    None => draws.get(sample.patient_id.as_str()).cloned().unwrap_or_default(),
                };
                let present: Vec<(usize, f64)> = (0..layer.normalised.feature_ids.len())
                    .filter_map(|i| layer.normalised.get(i, j).copied().filter(|v| !v.is_nan()).map(|v| (i, v)))
                    .collect();
                let n = present.len();
                let repeat =
                    |v: &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, n))) };
                let features: ArrayRef =
                    Arc::new(StringArray::from_iter_values(present.iter().map(|(i, _)| prefixed[*i].as_str())));
                let values: ArrayRef = Arc::new(Float64Array::from_iter_values(present.iter().map(|(_, v)| *v)));
                for (draw, time) in at {
                    let arrays: Vec<ArrayRef> = vec![
                        repeat(&draw),
                        repeat(&sample.patient_id),
                        features.clone(),
                        Arc::new(views.slice(0, n)),
                        values.clone(),
                        Arc::new(Float64Array::from_iter(std::iter::repeat_n(time, n))),
                    ];
                    push(RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?)?;
                }
            }
        }
        Ok(())
    })
}

/// More features than this make a samples × features table unusable (Parquet and data-frame
/// libraries handle tens of thousands of columns, not millions); such layers get no wide export.
pub const WIDE_MAX_FEATURES: usize = 100_000;

/// Writes `wide/<layer>.parquet`: one row per sample of the layer (patient, timepoint, days,
/// batch, site), in harmonised order, then one Float64 column per feature (the normalised value,
/// batch-corrected when correction ran). Returns `false` (nothing written) above
/// [`WIDE_MAX_FEATURES`].
pub fn write_wide(path: &Path, cohort: &Cohort, layer: &LayerData, metadata: &Metadata) -> Result<bool, OutputError> {
    let m = &layer.normalised;
    if m.feature_ids.len() > WIDE_MAX_FEATURES {
        return Ok(false);
    }
    let by_id: HashMap<&str, &Sample> =
        cohort.samples.iter().filter(|s| s.layer == layer.layer).map(|s| (s.sample_id.as_str(), s)).collect();
    let patient_rank: HashMap<&str, usize> =
        cohort.patients.iter().enumerate().map(|(i, p)| (p.patient_id.as_str(), i)).collect();
    let mut rows: Vec<(usize, &Sample)> =
        m.sample_ids.iter().enumerate().filter_map(|(j, id)| by_id.get(id.as_str()).map(|s| (j, *s))).collect();
    rows.sort_by_key(|(_, s)| {
        (patient_rank.get(s.patient_id.as_str()).copied(), cohort.timepoint_of(s).map_or(u32::MAX, |t| t.order))
    });
    let tp = |s: &Sample| cohort.timepoint_of(s);
    let strings = |f: &dyn Fn(&Sample) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from_iter(rows.iter().map(|(_, s)| f(s))))
    };
    let mut fields = vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("patient_id", DataType::Utf8, false),
        // Null for the time-invariant layer's samples given without a timepoint.
        Field::new("timepoint", DataType::Utf8, layer.layer.is_time_invariant()),
        Field::new("timepoint_order", DataType::UInt32, layer.layer.is_time_invariant()),
        Field::new("days_from_admission", DataType::Float64, true),
        Field::new("batch", DataType::Utf8, true),
        Field::new("site", DataType::Utf8, true),
    ];
    let arrays: Vec<ArrayRef> = vec![
        strings(&|s| Some(s.sample_id.clone())),
        strings(&|s| Some(s.patient_id.clone())),
        strings(&|s| tp(s).map(|t| t.name.clone())),
        Arc::new(UInt32Array::from_iter(rows.iter().map(|(_, s)| tp(s).map(|t| t.order)))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|(_, s)| s.days_from_admission))),
        strings(&|s| s.batch.clone()),
        strings(&|s| s.site.clone()),
    ];
    let fixed = fields.len();
    for feature in &m.feature_ids {
        // A feature id that repeats a fixed column's name gets its layer as prefix.
        let name = if fields[..fixed].iter().any(|f| f.name() == feature) {
            format!("{}:{feature}", layer.layer.as_str())
        } else {
            feature.clone()
        };
        fields.push(Field::new(name, DataType::Float64, true));
    }
    // Feature columns are made as the writer reaches them, not held all at once.
    let column = |k: usize| -> ArrayRef {
        match k.checked_sub(fixed) {
            None => Arc::clone(&arrays[k]),
            Some(i) => Arc::new(Float64Array::from_iter(
                rows.iter().map(|(j, _)| m.get(i, *j).copied().filter(|v| !v.is_nan())),
            )),
        }
    };
    write_columns_by_slice(path, Arc::new(Schema::new(fields)), rows.len(), &column, metadata)?;
    Ok(true)
}
