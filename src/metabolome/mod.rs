//! LC-MS metabolomics: a feature table (MZmine, XCMS, mzTab-M or any features × injections table) with
//! the run's injection list (order, batch, sample / pooled QC / blank), processed in the order
//! the field uses (MetaboAnalyst, notame, pmp): zeros → missing, blank filter, QC-based drift and
//! batch correction (QC-RSC with LOESS), QC RSD and detection filters, imputation, PQN, log or
//! glog, optional scaling. Every step's parameters and the features it removed are reported.

pub mod injections;
pub mod mztab;
pub mod process;
pub mod table;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Location;

/// `[metabolome]` in `cohort.toml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetabolomeOptions {
    /// The injection list: `column,injection_order,batch,sample_type[,sample_id]`.
    #[serde(default)]
    pub injections: Option<PathBuf>,
    /// How the feature table is read (`[metabolome.import]`).
    #[serde(default)]
    pub import: table::ImportOptions,
    /// The processing chain (`[metabolome.process]`).
    #[serde(default)]
    pub process: process::ProcessOptions,
}

/// Why metabolomics input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetabolomeError {
    /// The file could not be opened or read.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line, cell or column is wrong.
    #[error("{location}: {message}")]
    At {
        /// File, line, column.
        location: Location,
        /// What was expected.
        message: String,
    },
    /// The options or the study design cannot be processed.
    #[error("{0}")]
    Design(String),
}

impl MetabolomeError {
    /// An error at a place in a file.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        MetabolomeError::At { location, message: message.into() }
    }
}

/// A processed table: what was read and what the chain made of it.
pub struct ProcessedTable {
    /// The table as read.
    pub table: table::FeatureTable,
    /// The injection list.
    pub injections: Vec<injections::Injection>,
    /// The chain's output.
    pub processed: process::Processed,
}

/// Reads and processes one table.
pub fn read_and_process(
    table_path: &Path,
    injections_path: &Path,
    import: &table::ImportOptions,
    options: &process::ProcessOptions,
) -> Result<ProcessedTable, MetabolomeError> {
    let injections = injections::read(injections_path)?;
    let table = table::read(table_path, &injections, injections_path, import)?;
    let processed = process::process(&table.rows, &injections, options)?;
    Ok(ProcessedTable { table, injections, processed })
}
