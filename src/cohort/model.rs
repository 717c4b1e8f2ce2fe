//! The validated study: timepoints, patients and samples, with everything resolved.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::layer::Layer;

use super::config::CohortConfig;
use super::validate::Problem;

/// What a timepoint's nominal day counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// ICU admission (day 0).
    Admission,
    /// Hospital discharge.
    Discharge,
}

/// One protocol timepoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timepoint {
    /// Name used in the samplesheet, e.g. `day0`.
    pub name: String,
    /// Position in the time course (sorts the grid).
    pub order: u32,
    /// Nominal day after the anchor.
    pub nominal_day: f64,
    /// How many days early a sample may be collected.
    pub window_before_days: f64,
    /// How many days late a sample may be collected.
    pub window_after_days: f64,
    /// What the nominal day counts from.
    pub anchor: Anchor,
}

/// A patient and the dates their windows are anchored on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Patient {
    /// Patient identifier.
    pub patient_id: String,
    /// ICU admission date, as days since 1970-01-01, when known.
    pub admission_day: Option<i64>,
    /// Hospital discharge, in days from admission, when known.
    pub discharge_day: Option<f64>,
}

/// One row of the samplesheet, validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// Sample identifier (unique within a layer).
    pub sample_id: String,
    /// The patient it was drawn from.
    pub patient_id: String,
    /// Index into [`Cohort::timepoints`]; `None` only for a time-invariant layer's sample (the
    /// germline genome) given without a timepoint.
    pub timepoint: Option<usize>,
    /// The omics layer of this row.
    pub layer: Layer,
    /// Input file, resolved relative to the samplesheet.
    pub path: PathBuf,
    /// Second input file (e.g. a mate FASTQ), when given.
    pub path_2: Option<PathBuf>,
    /// Processing batch (library prep, plate, run).
    pub batch: Option<String>,
    /// Recruiting site.
    pub site: Option<String>,
    /// Collection day counted from ICU admission.
    pub days_from_admission: Option<f64>,
    /// Whether the collection day lies inside the protocol window (`None`: not checkable).
    pub within_window: Option<bool>,
    /// Extra samplesheet columns, in header order, passed through to `samples.parquet`.
    pub extra: Vec<Option<String>>,
    /// 1-based samplesheet line, for messages.
    pub line: u64,
}

/// A validated cohort: the configuration plus every sample, in samplesheet order.
#[derive(Clone, Debug)]
pub struct Cohort {
    /// The configuration as written, with paths resolved.
    pub config: CohortConfig,
    /// Where `cohort.toml` was read from.
    pub config_path: PathBuf,
    /// Timepoints sorted by `order`.
    pub timepoints: Vec<Timepoint>,
    /// Patients, in order of first appearance in the samplesheet.
    pub patients: Vec<Patient>,
    /// Samples in samplesheet order.
    pub samples: Vec<Sample>,
    /// Names of extra samplesheet columns (see [`Sample::extra`]).
    pub extra_columns: Vec<String>,
    /// Warnings found while validating (e.g. samples outside their window).
    pub warnings: Vec<Problem>,
}

impl Cohort {
    /// The sample's timepoint; `None` for a time-invariant sample given without one.
    pub fn timepoint_of(&self, sample: &Sample) -> Option<&Timepoint> {
        sample.timepoint.map(|t| &self.timepoints[t])
    }

    /// Samples of one layer, in samplesheet order.
    pub fn samples_of(&self, layer: Layer) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.layer == layer).collect()
    }

    /// Layers that have at least one sample, in output order.
    pub fn layers(&self) -> Vec<Layer> {
        Layer::ALL.into_iter().filter(|l| self.samples.iter().any(|s| s.layer == *l)).collect()
    }
}
