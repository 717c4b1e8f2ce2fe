//! The cohort engine: `harmonomics run` (validate → hash inputs → per layer: quantify, assemble,
//! normalise → harmonise → manifest, in one process), its scatter steps and the gather.
//!
//! Layers differ only through `layer::LayerStep`; `run`, `scatter` and `harmonise` are loops
//! over it that share one start and finish (`context`). Each step is a plain library call
//! wrapped in [`stage::stage`] for timing and provenance. Nothing is written before validation
//! passes, every file is written atomically, and the manifest comes last, so a directory with a
//! `manifest.json` holds a finished run.

pub(crate) mod batch;
mod context;
pub(crate) mod epigenome;
mod genome;
pub(crate) mod harmonise;
pub mod identity;
mod layer;
pub(crate) mod metabolome;
mod microbiome;
pub mod progress;
pub(crate) mod resume;
mod run;
pub(crate) mod scatter;
pub(crate) mod stage;
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
    /// Overrides `[identity]`'s `enabled` and `strict` (`--identity`).
    pub identity: Option<crate::identity::IdentityMode>,
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
    /// A normalisation method is undefined for the matrix in this file.
    #[error("{}: {reason}", path.display())]
    NormaliseFile {
        /// The count matrix.
        path: PathBuf,
        /// Why (in the message, not a separate cause).
        reason: normalise::NormaliseError,
    },
    /// A count matrix could not be read.
    #[error(transparent)]
    Input(#[from] normalise::input::InputError),
    /// A layer's matrix could not be read back.
    #[error(transparent)]
    Matrix(#[from] crate::io::wide::WideError),
    /// Another tool's output could not be imported.
    #[error(transparent)]
    Import(ImportError),
    /// Methylation input could not be read.
    #[error(transparent)]
    Epigenome(#[from] crate::epigenome::EpigenomeError),
    /// A genotype file could not be read or its tables written.
    #[error(transparent)]
    Genome(#[from] crate::genome::tables::TablesError),
    /// An alignment or sites file of the identity check could not be read.
    #[error(transparent)]
    Identity(crate::error::InputError),
    /// A metabolomics table or injection list is wrong.
    #[error(transparent)]
    Metabolome(crate::metabolome::MetabolomeError),
    /// The configuration asks for something it cannot have (exit code 2).
    #[error("{at}: {message}")]
    Config {
        /// The config section or file at fault.
        at: At,
        /// What is wrong and what to do.
        message: String,
    },
    /// The samples of a layer and what was found for them do not match (exit code 2).
    #[error("{at}: {message}")]
    Samples {
        /// The samplesheet, sample table or matrix at fault.
        at: At,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file an earlier step writes is missing, or was made with other options (exit code 2).
    #[error("{at}: {message}")]
    Stale {
        /// The file.
        at: At,
        /// What is wrong and what to do.
        message: String,
    },
    /// Batch correction refused the design (exit code 2).
    #[error("{at}: {message}")]
    Design {
        /// The layer's config section or the matrix corrected.
        at: At,
        /// Why, with the counts that show it.
        message: String,
    },
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

/// Where a usage error points (its message starts with it, so it names what to fix): a place in
/// a file, a section of `cohort.toml`, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// A file (samplesheet, sample table, matrix, per-sample output), at a line where known.
    File(crate::error::Location),
    /// A section of `cohort.toml`.
    Config {
        /// The config file.
        path: PathBuf,
        /// The section, as written in the file (e.g. `[batch_correction]`).
        section: String,
    },
    /// The command line's arguments.
    CommandLine,
}

impl At {
    /// A section of the cohort's config file.
    pub fn config(cohort: &crate::cohort::Cohort, section: impl Into<String>) -> Self {
        At::Config { path: cohort.config_path.clone(), section: section.into() }
    }

    /// A whole file.
    pub fn file(path: &Path) -> Self {
        At::File(crate::error::Location::file(path))
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::File(location) => write!(f, "{location}"),
            At::Config { path, section } => write!(f, "{} {section}", path.display()),
            At::CommandLine => write!(f, "command line"),
        }
    }
}

impl RunError {
    /// Exit code class: configuration problems are usage errors.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            RunError::Invalid(_)
            | RunError::Config { .. }
            | RunError::Samples { .. }
            | RunError::Stale { .. }
            | RunError::Design { .. }
            | RunError::Import(ImportError::NoTranscriptMap) => ExitClass::Usage,
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

/// The first few names of a list, for messages.
pub(crate) fn preview(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

/// A sample's value in a samplesheet column (known or extra).
pub(crate) fn sample_attribute(cohort: &Cohort, sample: &cohort::Sample, column: &str) -> Option<String> {
    match column {
        "timepoint" => cohort.timepoint_of(sample).map(|t| t.name.clone()),
        "patient_id" => Some(sample.patient_id.clone()),
        "batch" => sample.batch.clone(),
        "site" => sample.site.clone(),
        other => {
            let k = cohort.extra_columns.iter().position(|c| c == other)?;
            sample.extra[k].clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_start_with_where_to_look_and_exit_2() {
        let config = RunError::Config {
            at: At::Config { path: "cohort.toml".into(), section: "[metabolome]".into() },
            message: "metabolome samples need `injections`".into(),
        };
        assert_eq!(config.to_string(), "cohort.toml [metabolome]: metabolome samples need `injections`");
        let line = RunError::Samples {
            at: At::File(crate::error::Location::line("samples.csv", 4)),
            message: "no column \"batch\"".into(),
        };
        assert_eq!(line.to_string(), "samples.csv:4: no column \"batch\"");
        let stale = RunError::Stale { at: At::file(Path::new("x.parquet")), message: "missing".into() };
        assert_eq!(stale.to_string(), "x.parquet: missing");
        let design = RunError::Design { at: At::CommandLine, message: "refused".into() };
        assert_eq!(design.to_string(), "command line: refused");
        for e in [config, line, stale, design] {
            assert_eq!(e.exit_class(), ExitClass::Usage, "{e}");
        }
        let io = RunError::Io { path: "y".into(), source: std::io::Error::other("disk full") };
        assert_eq!(io.exit_class(), ExitClass::Runtime);
    }
}
