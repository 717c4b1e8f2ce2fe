//! The study model: who was sampled, when, and which file holds each sample's data.
//!
//! `cohort.toml` ([`config`]) names the timepoints and their protocol windows, the samplesheet and
//! the per-layer options; the samplesheet ([`samplesheet`]) has one row per sample and layer.
//! [`validate::load`] turns both into a [`Cohort`] or reports every problem at once.

pub mod config;
pub mod model;
pub mod samplesheet;
pub mod validate;
pub mod window;

pub use config::CohortConfig;
pub use model::{Anchor, Cohort, Layer, Patient, Sample, Timepoint};
pub use validate::{Problem, Severity, ValidationError, load};
