//! The microbiome layer (taxon count tables from 16S amplicon or shotgun profilers): its
//! statistics first. Profiles are compositional (only ratios between taxa carry information), so
//! the transcriptome's scaling methods do not apply; [`composition`] holds the log-ratio
//! transforms and [`diversity`] the within- and between-sample diversity, each written to equal
//! vegan (R) and scikit-bio on the same table. Table readers and the layer's `LayerStep` build on
//! these.

pub mod composition;
pub mod diversity;
pub mod process;
pub mod profile;
pub mod table;
pub mod taxonomy;

/// A profile or table file that cannot be read (the crate's shared shape).
pub use crate::error::InputError;

/// The whole text of a file, gzip-compressed or not.
fn read_text(path: &std::path::Path) -> Result<String, InputError> {
    let io = |source| InputError::Io { location: crate::error::Location::file(path), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut crate::io::open::decompress(file).map_err(io)?, &mut text).map_err(io)?;
    Ok(text)
}

/// A sample's abundances that no transform or index accepts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompositionError {
    /// A negative, NaN or infinite abundance.
    #[error("abundance {value} of taxon {index} is not a non-negative finite number")]
    Invalid {
        /// Position of the taxon in the sample.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// Every abundance is zero: the sample has no composition.
    #[error("every abundance is zero: the sample has no composition")]
    Empty,
    /// A pseudocount that leaves a zero or negative value to take the log of.
    #[error("pseudocount {0} leaves a value of zero or less to take the logarithm of (use a positive pseudocount)")]
    Pseudocount(f64),
    /// Multiplicative replacement with more zeros than `delta` leaves room for.
    #[error("multiplicative replacement: {zeros} zeros × delta {delta} is not below 1 (use a smaller delta)")]
    TooManyZeros {
        /// Zeros in the sample.
        zeros: usize,
        /// The replacement value.
        delta: f64,
    },
    /// An index defined on whole counts (Chao1) given fractions.
    #[error("abundance {value} of taxon {index} is not a whole count ({what} needs read counts)")]
    NotCounts {
        /// Position of the taxon in the sample.
        index: usize,
        /// The value found.
        value: f64,
        /// The index that needs counts.
        what: &'static str,
    },
    /// Two samples of different lengths compared.
    #[error("samples of {0} and {1} taxa cannot be compared")]
    Lengths(usize, usize),
}

/// Checks that every abundance is finite and non-negative.
fn check(values: &[f64]) -> Result<(), CompositionError> {
    match values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(index) => Err(CompositionError::Invalid { index, value: values[index] }),
        None => Ok(()),
    }
}
