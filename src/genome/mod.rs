//! The genome layer: germline genotypes from VCF/BCF (called or imputed), one sample per patient.
//! [`vcf`] reads biallelic variants with noodles (VCF and BCF through one record trait), [`qc`]
//! counts what plink2 and bcftools report per variant and per sample (call rate, allele
//! frequency, Hardy–Weinberg exact test, heterozygosity, Ti/Tv), so figures can be checked
//! against theirs on the same file.

pub mod qc;
pub mod tables;
pub mod vcf;

/// A genotype file that cannot be read: the file, the record where one applies, and what was
/// expected.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read, or its bytes are not VCF/BCF.
    #[error("{location}: cannot read: {source}")]
    Io {
        /// The file.
        location: crate::error::Location,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Content that is not what the format says.
    #[error("{location}: {message}")]
    Malformed {
        /// The file, and the line where known.
        location: crate::error::Location,
        /// What was expected.
        message: String,
    },
}
