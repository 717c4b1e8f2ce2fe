//! The genome layer: germline genotypes from VCF/BCF (called or imputed), one sample per patient.
//! [`vcf`] reads biallelic variants with noodles (VCF and BCF through one record trait), [`qc`]
//! counts what plink2 and bcftools report per variant and per sample (call rate, allele
//! frequency, Hardy–Weinberg exact test, heterozygosity, Ti/Tv), so figures can be checked
//! against theirs on the same file.

pub mod ancestry;
pub mod qc;
pub mod tables;
pub mod vcf;

/// A genotype file that cannot be read (the crate's shared shape: file, record, what was expected).
pub use crate::error::InputError;

/// `[genome]` in `cohort.toml`: how the layer reads its VCF and which variants it keeps.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenomeOptions {
    /// Samplesheet column naming each sample's column in the VCF (default: `sample_id`).
    pub column: Option<String>,
    /// Where the matrix value comes from (`auto`: DS/GP where present, else GT; `gt`).
    pub dosage: tables::DosageSource,
    /// The variants of `normalised.parquet` (plink2 `--geno`, `--maf`, `--hwe`).
    pub filter: qc::VariantFilter,
}
