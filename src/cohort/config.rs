//! `cohort.toml`: the study's timepoints, its samplesheet, its annotation and per-layer options.
//!
//! Unknown keys are rejected so that a typo (`stranded = 1`) fails loudly instead of being
//! silently ignored. Relative paths are resolved against the directory of `cohort.toml`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::Anchor;
use crate::annotation::AnnotationSpec;
use crate::epigenome::EpigenomeOptions;
use crate::metabolome::MetabolomeOptions;
use crate::transcriptome::TranscriptomeOptions;

/// The parsed `cohort.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CohortConfig {
    /// The samplesheet CSV (one row per sample and layer).
    pub samplesheet: PathBuf,
    /// Optional patients CSV: `patient_id`, `admission_date`, `discharge_date` or `discharge_day`.
    #[serde(default)]
    pub patients: Option<PathBuf>,
    /// Study name and description.
    pub study: StudyConfig,
    /// The protocol timepoints.
    pub timepoints: Vec<TimepointConfig>,
    /// Gene annotation used by the transcriptome layer.
    #[serde(default)]
    pub annotation: Option<AnnotationSpec>,
    /// Transcriptome options (counting and normalisation).
    #[serde(default)]
    pub transcriptome: TranscriptomeOptions,
    /// Epigenome options (calls, filters, regions).
    #[serde(default)]
    pub epigenome: EpigenomeOptions,
    /// Metabolome options (injection list, table import, processing chain).
    #[serde(default)]
    pub metabolome: MetabolomeOptions,
    /// Genome options (VCF column, dosage source, variant filters).
    #[serde(default)]
    pub genome: crate::genome::GenomeOptions,
    /// Microbiome options (rank, shared-table columns, blanks, filters, normalisation).
    #[serde(default)]
    pub microbiome: crate::microbiome::process::MicrobiomeOptions,
    /// Batch correction of the normalised layers (`[batch_correction]`).
    #[serde(default)]
    pub batch_correction: crate::batch::BatchCorrectionOptions,
    /// Sample identity across layers (`[identity]`).
    #[serde(default)]
    pub identity: crate::identity::IdentityOptions,
}

/// `[study]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// Short study name, recorded in the manifest and Parquet metadata.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// `[[timepoints]]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimepointConfig {
    /// Name used in the samplesheet.
    pub name: String,
    /// The line of `name` in cohort.toml, for errors (set when read from a file).
    #[serde(skip)]
    pub line: Option<u64>,
    /// Position in the time course.
    pub order: u32,
    /// Nominal day after the anchor.
    pub nominal_day: f64,
    /// Days a sample may be early (default 0).
    #[serde(default)]
    pub window_before_days: f64,
    /// Days a sample may be late (default 0).
    #[serde(default)]
    pub window_after_days: f64,
    /// `admission` (default) or `discharge`.
    #[serde(default = "default_anchor")]
    pub anchor: Anchor,
}

fn default_anchor() -> Anchor {
    Anchor::Admission
}

impl CohortConfig {
    /// Makes every relative path absolute-from-`base` (the directory holding `cohort.toml`).
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.samplesheet);
        if let Some(p) = self.patients.as_mut() {
            resolve(p);
        }
        if let Some(a) = self.annotation.as_mut() {
            resolve(&mut a.path);
        }
        if let Some(r) = self.transcriptome.quant.reference.as_mut() {
            resolve(r);
        }
        if let Some(a) = self.transcriptome.quant.chromosome_aliases.as_mut() {
            resolve(a);
        }
        if let Some(t) = self.transcriptome.import.tx2gene.as_mut() {
            resolve(t);
        }
        if let Some(p) = self.metabolome.injections.as_mut() {
            resolve(p);
        }
        if let Some(p) = self.microbiome.taxonomy.as_mut() {
            resolve(p);
        }
        if let Some(p) = self.identity.sites.as_mut() {
            resolve(p);
        }
        for r in &mut self.epigenome.regions {
            if let Some(b) = r.bed.as_mut() {
                resolve(b);
            }
        }
    }
}
