//! harmonomics: turn the omics files of a longitudinal clinical cohort (RNA-seq alignments today;
//! methylation and metabolomics next) into harmonised, analysis-ready Parquet matrices aligned
//! on the patient × timepoint grid.
//!
//! The stages are library functions (see [`pipeline`]); the `harmonomics` binary is a thin
//! wrapper over them.

#![warn(missing_docs)]

pub mod annotation;
pub mod batch;
pub mod choice;
pub mod cli;
pub mod cohort;
pub mod epigenome;
pub mod error;
pub mod genome;
pub mod identity;
pub mod io;
pub(crate) mod jobs;
pub mod layer;
pub mod matrix;
pub mod metabolome;
pub mod microbiome;
pub mod output;
pub mod parallel;
pub mod pipeline;
pub mod stats;
pub mod transcriptome;
