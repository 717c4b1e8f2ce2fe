//! The cohort engine: `harmonomics run` (validate → hash inputs → per layer: quantify, assemble,
//! normalise → harmonise → manifest, in one process), its scatter steps and the gather.
//!
//! Layers differ only through `layer::LayerStep`; `run`, `scatter` and `harmonise` are loops
//! over it that share one start and finish (`context`). Each step is a plain library call
//! wrapped in [`stage::stage`] for timing and provenance. Nothing is written before validation
//! passes, every file is written atomically, and the manifest comes last, so a directory with a
//! `manifest.json` holds a finished run.

pub mod batch;
mod context;
pub mod epigenome;
pub mod harmonise;
mod layer;
pub mod metabolome;
pub mod progress;
pub mod resume;
mod run;
pub mod scatter;
pub mod stage;
mod transcriptome;

use std::path::{Path, PathBuf};

use crate::annotation::AnnotationError;
use crate::cohort::{self, Cohort, Layer, ValidationError};
use crate::error::ExitClass;
use crate::io::OutputError;
use crate::io::parquet::Metadata;
use crate::transcriptome::import::ImportError;
use crate::transcriptome::normalise;
use crate::transcriptome::quant::QuantError;
pub(crate) use context::json_text;
pub use progress::Progress;
pub use run::run;

/// Options of one `run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `cohort.toml`.
    pub config: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads (the rayon pool is already sized by the caller).
    pub threads: usize,
    /// No progress or messages on stderr.
    pub quiet: bool,
    /// argv, for the manifest.
    pub command_line: Vec<String>,
    /// Skip units whose fingerprints match the last finished run's ([`resume`]).
    pub resume: bool,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cohort is invalid (exit code 2).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The annotation could not be read.
    #[error(transparent)]
    Annotation(#[from] AnnotationError),
    /// A sample could not be quantified.
    #[error(transparent)]
    Quant(#[from] QuantError),
    /// An output could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A normalisation method does not apply to these data.
    #[error(transparent)]
    Normalise(#[from] normalise::NormaliseError),
    /// A count matrix could not be read.
    #[error(transparent)]
    Input(#[from] normalise::input::InputError),
    /// Another tool's output could not be imported.
    #[error(transparent)]
    Import(ImportError),
    /// Methylation input could not be read.
    #[error(transparent)]
    Epigenome(#[from] crate::epigenome::EpigenomeError),
    /// A metabolomics table or injection list is wrong.
    #[error(transparent)]
    Metabolome(crate::metabolome::MetabolomeError),
    /// The command line asks for something inconsistent (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Options could not be rendered as JSON for a fingerprint or a file's metadata.
    #[error("cannot render options as JSON: {0}")]
    Serialise(#[source] serde_json::Error),
    /// A fingerprint asked for the hash of a file the run did not hash (a bug, not bad input).
    #[error("{}: not among the hashed inputs of this run", .0.display())]
    Unhashed(PathBuf),
    /// A file could not be read or a directory created.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// Exit code class: configuration problems are usage errors.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            RunError::Invalid(_) | RunError::Usage(_) | RunError::Import(ImportError::NoTranscriptMap) => {
                ExitClass::Usage
            }
            _ => ExitClass::Runtime,
        }
    }
}

impl From<ImportError> for RunError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Io { path, source } => RunError::Io { path, source },
            other => RunError::Import(other),
        }
    }
}

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunSummary {
    /// The output directory.
    pub out: PathBuf,
    /// Samples quantified.
    pub samples: usize,
    /// Warnings recorded in the manifest.
    pub warnings: usize,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io { path: path.to_path_buf(), source }
}

pub(crate) fn metadata(cohort: &Cohort, layer: Option<Layer>, extra: &[(&str, String)]) -> Metadata {
    let mut kv = vec![
        ("harmonomics.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("harmonomics.study".to_string(), cohort.config.study.name.clone()),
    ];
    if let Some(layer) = layer {
        kv.push(("harmonomics.layer".to_string(), layer.as_str().to_string()));
    }
    kv.extend(extra.iter().map(|(k, v)| (format!("harmonomics.{k}"), v.clone())));
    kv
}

pub(crate) fn arrow_err(path: &Path) -> impl FnOnce(arrow_schema::ArrowError) -> RunError + '_ {
    move |e| RunError::Output(OutputError { path: path.to_path_buf(), source: std::io::Error::other(e) })
}

/// A sample's value in a samplesheet column (known or extra).
pub(crate) fn sample_attribute(cohort: &Cohort, sample: &cohort::Sample, column: &str) -> Option<String> {
    match column {
        "timepoint" => Some(cohort.timepoints[sample.timepoint].name.clone()),
        "patient_id" => Some(sample.patient_id.clone()),
        "batch" => sample.batch.clone(),
        "site" => sample.site.clone(),
        other => {
            let k = cohort.extra_columns.iter().position(|c| c == other)?;
            sample.extra[k].clone()
        }
    }
}
