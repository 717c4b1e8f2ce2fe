//! Where a problem is (file, line, column) and how it ends the process.
//!
//! Every module that reads user files reports errors through [`Location`] so that a message always
//! names the file and, where one exists, the line; [`ExitClass`] lets `main` map the root cause to
//! DESIGN.md's exit codes without a crate-wide error enum.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a user's input: file, optional 1-based line, optional column name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file as the user named it (after resolving relative to the config).
    pub path: PathBuf,
    /// 1-based line number, when the problem belongs to one line.
    pub line: Option<u64>,
    /// Column (CSV header name) or field, when known.
    pub column: Option<String>,
}

impl Location {
    /// A whole-file location.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), line: None, column: None }
    }

    /// A location on one line.
    pub fn line(path: impl Into<PathBuf>, line: u64) -> Self {
        Self { path: path.into(), line: Some(line), column: None }
    }

    /// The same location, narrowed to a column.
    pub fn with_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// The file this location is in.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, " (column {column:?})")?;
        }
        Ok(())
    }
}

/// Which exit code a failure maps to (DESIGN.md §2: 1 runtime, 2 usage or configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    /// The user's configuration or command line is wrong: exit code 2.
    Usage,
    /// Something failed while working: exit code 1.
    Runtime,
}

impl ExitClass {
    /// The process exit code for this class.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Usage => 2,
            ExitClass::Runtime => 1,
        }
    }
}

/// A user file that cannot be read: the file, the line (and column) where one applies, and what
/// was expected. The shape every reader of a domain module shares.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("{location}: cannot read")]
    Io {
        /// The file.
        location: Location,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Content that is not what the format says.
    #[error("{location}: {message}")]
    Malformed {
        /// The file, and the line or column.
        location: Location,
        /// What was expected.
        message: String,
    },
}

/// An error and its causes, `: `-joined (the top message alone often says only which file).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}
