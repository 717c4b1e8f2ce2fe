//! The genome layer: one multi-sample VCF/BCF, the patients' germline genotypes, read in one
//! streaming pass into `genome/{features,raw,normalised,qc}.parquet`. Time-invariant: one sample
//! per patient, with or without a timepoint.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::context::{RunContext, json_text};
use super::layer::{LayerStep, QcTable};
use super::{At, RunError, arrow_err, metadata, sample_attribute, stage};
use crate::cohort::{Cohort, Layer, Sample};
use crate::error::Location;
use crate::genome::GenomeOptions;
use crate::genome::tables::{self, TablesSpec};

/// The genome's [`LayerStep`]: the VCF is read whole (one pass over every variant).
pub(crate) struct Genome;

impl LayerStep for Genome {
    fn options(&self, cohort: &Cohort) -> Result<String, RunError> {
        json_text(&cohort.config.genome)
    }

    fn whole(&self, _cohort: &Cohort, _samples: &[&Sample]) -> Result<String, RunError> {
        Ok("genotypes are read whole by `harmonomics normalise layer --layer genome`: there is nothing to \
            quantify per sample"
            .into())
    }

    fn assemble(&self, ctx: &mut RunContext, samples: &[&Sample], dir: &Path) -> Result<(), RunError> {
        run_layer(ctx, samples, dir)
    }

    fn qc(&self) -> QcTable {
        QcTable {
            file: "qc.parquet",
            keys: &["sample_id"],
            description: "genome: call rate, heterozygosity, Ti/Tv and plink's chrX sex check per patient",
        }
    }
}

/// The VCF column of each sample (by position), named by `[genome] column` or the sample id; the
/// samplesheet line of a sample the file lacks.
pub(super) fn vcf_columns(
    cohort: &Cohort,
    samples: &[&Sample],
    in_file: &[String],
) -> Result<Vec<(usize, String)>, RunError> {
    let options: &GenomeOptions = &cohort.config.genome;
    let line = |s: &Sample| At::File(Location::line(&cohort.config.samplesheet, s.line));
    samples
        .iter()
        .map(|s| {
            let name = match &options.column {
                Some(c) => sample_attribute(cohort, s, c).ok_or_else(|| RunError::Samples {
                    at: line(s),
                    message: format!("sample {} has no value in column {c:?} ([genome] column)", s.sample_id),
                })?,
                None => s.sample_id.clone(),
            };
            let i = in_file.iter().position(|n| *n == name).ok_or_else(|| RunError::Samples {
                at: line(s),
                message: format!(
                    "{} has no sample {name:?} (for {}); its samples are {}",
                    s.path.display(),
                    s.sample_id,
                    super::preview(in_file)
                ),
            })?;
            Ok((i, s.sample_id.clone()))
        })
        .collect()
}

/// Runs the layer for `run`.
fn run_layer(ctx: &mut RunContext, samples: &[&Sample], dir: &Path) -> Result<(), RunError> {
    let (cohort, stages, written) = (ctx.cohort, &mut ctx.stages, &mut ctx.written);
    let options: &GenomeOptions = &cohort.config.genome;
    options
        .filter
        .check()
        .map_err(|message| RunError::Config { at: At::config(cohort, "[genome.filter]"), message })?;
    // `validate` has refused genome rows that name different files.
    let vcf = samples[0].path.as_path();
    let params = json!({ "input": vcf, "options": options });
    stage::stage(stages, "process_genome", params, |report| {
        let in_file = crate::genome::vcf::VariantReader::open(vcf).map_err(tables::TablesError::from)?.samples();
        let columns = vcf_columns(cohort, samples, &in_file)?;
        std::fs::create_dir_all(dir).map_err(super::io_err(dir))?;
        let paths: Vec<PathBuf> = ["features.parquet", "raw.parquet", "normalised.parquet", "qc.parquet"]
            .iter()
            .map(|f| dir.join(f))
            .collect();
        let meta = metadata(
            cohort,
            Some(Layer::Genome),
            &[("dosage", options.dosage.name().to_string()), ("filter", json_text(&options.filter)?)],
        );
        let spec = TablesSpec {
            columns: Some(&columns),
            dosage: options.dosage,
            raw: &paths[1],
            features: &paths[0],
            normalised: Some((&paths[2], &options.filter)),
            metadata: &meta,
            ancestry: Some(crate::genome::ancestry::AncestryOptions::default()),
        };
        let summary = tables::write_tables(vcf, &spec)?;
        let qc = tables::sample_qc_batch(&summary).map_err(arrow_err(&paths[3]))?;
        crate::io::parquet::write_batch(&paths[3], qc, &meta)?;
        written.extend(paths);
        let ancestry = dir.join("ancestry.parquet");
        match &summary.ancestry {
            Some(components) => {
                tables::write_ancestry(&ancestry, &summary.samples, components, &meta)?;
                written.push(ancestry);
            }
            None => report.warnings.push(
                "genome: no ancestry components: no common autosomal SNV passed the filters, or fewer than 2 patients"
                    .into(),
            ),
        }

        // The sex the samplesheet gives against the one chrX says.
        let (female_f, male_f) = tables::SEX_F_THRESHOLDS;
        for (s, counts) in samples.iter().zip(&summary.sample_counts) {
            let inferred = counts.sex.infer(female_f, male_f);
            let given = sample_attribute(cohort, s, "sex").and_then(|v| crate::genome::qc::recorded_sex(&v));
            if let Some(given) = given
                && inferred != crate::genome::qc::InferredSex::Unknown
                && inferred.as_str() != given
            {
                report.warnings.push(format!(
                    "genome: sample {} of patient {} is recorded {given} but its chrX says {} (plink F = {:.3} over {} \
                     sites): a sample swap or a mislabelled sex",
                    s.sample_id,
                    s.patient_id,
                    inferred.as_str(),
                    counts.sex.f().unwrap_or(f64::NAN),
                    counts.sex.x_sites
                ));
            }
        }
        let skipped = summary.skipped;
        if skipped.multiallelic > 0 {
            report.warnings.push(format!(
                "genome: {} multiallelic records of {} left out; split them with `bcftools norm -m -any` to keep them",
                skipped.multiallelic,
                vcf.display()
            ));
        }
        report.counts = json!({
            "samples": samples.len(),
            "samples_in_file": in_file.len(),
            "variants": summary.variants,
            "dosage_variants": summary.dosage_variants,
            "kept": summary.kept,
            "multiallelic_skipped": skipped.multiallelic,
            "no_alternate_skipped": skipped.no_alternate,
            "half_calls": skipped.half_calls,
            "ancestry_variants_offered": summary.ancestry.as_ref().map_or(0, |a| a.offered),
            "ancestry_variants_kept": summary.ancestry.as_ref().map_or(0, |a| a.kept),
        });
        Ok::<_, RunError>(())
    })
}
