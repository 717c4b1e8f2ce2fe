//! The epigenome layer of `run`: per-sample calls (from alignments) or imports (from other
//! tools' tables) → `epigenome/samples/<id>.parquet`, then the streaming cohort merge.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray, UInt64Array};
use rayon::prelude::*;
use serde_json::json;

use super::context::{RunContext, json_text};
use super::layer::{LayerStep, QcTable, open_sample_file, sample_file};
use super::{At, RunError, arrow_err, io_err, metadata, stage};
use crate::cohort::{self, Cohort, Layer};
use crate::epigenome::calls::CallStats;
use crate::epigenome::cohort::{AssembleError, CPG_FILES, assemble};
use crate::epigenome::regions::RegionSet;
use crate::epigenome::sites::write_sample;
use crate::epigenome::{SampleSource, sample_calls};
use crate::io::parquet::write_batch;
use crate::parallel::CollectInOrder;

/// The epigenome's [`LayerStep`].
pub(crate) struct Epigenome;

impl LayerStep for Epigenome {
    fn options(&self, cohort: &Cohort) -> Result<String, RunError> {
        json_text(&cohort.config.epigenome)
    }

    fn scatter(&self, cohort: &Cohort, _samples: &[&cohort::Sample]) -> Result<Option<String>, RunError> {
        json_text(&cohort.config.epigenome.quant).map(Some)
    }

    fn whole(&self, _cohort: &Cohort, _samples: &[&cohort::Sample]) -> Result<String, RunError> {
        Ok("every epigenome sample is quantified on its own".into())
    }

    fn step_inputs(&self, cohort: &Cohort) -> Vec<(&'static str, PathBuf)> {
        cohort.config.epigenome.regions.iter().filter_map(|r| r.bed.clone()).map(|b| ("regions", b)).collect()
    }

    fn quantify(&self, ctx: &mut RunContext, samples: &[&cohort::Sample], dir: &Path) -> Result<(), RunError> {
        quantify_samples(ctx, samples, dir)
    }

    fn assemble(&self, ctx: &mut RunContext, _samples: &[&cohort::Sample], dir: &Path) -> Result<(), RunError> {
        assemble_layer(ctx, dir)
    }

    /// The first region set when one is configured, else the kept CpGs.
    fn primary_files(&self, cohort: &Cohort) -> (PathBuf, PathBuf) {
        match cohort.config.epigenome.regions.first() {
            Some(set) => (
                Path::new("regions").join(format!("{}.parquet", set.name)),
                Path::new("regions").join(format!("{}.coverage.parquet", set.name)),
            ),
            None => ("normalised.parquet".into(), "raw.parquet".into()),
        }
    }

    fn qc(&self) -> QcTable {
        QcTable {
            file: "qc.parquet",
            keys: &["sample_id"],
            description: "CpG sites and calls, depth, global methylation and bisulfite conversion per sample",
        }
    }
}

impl From<AssembleError> for RunError {
    fn from(e: AssembleError) -> Self {
        match e {
            AssembleError::Input(e) => RunError::Epigenome(e),
            AssembleError::Output(e) => RunError::Output(e),
        }
    }
}

/// The region sets the config asks for.
pub fn region_sets(cohort: &Cohort) -> Result<Vec<RegionSet>, RunError> {
    let mut sets = Vec::new();
    let mut features = None;
    for r in &cohort.config.epigenome.regions {
        if let Some(bed) = &r.bed {
            sets.push(RegionSet::bed(&r.name, bed)?);
            continue;
        }
        let Some(spec) = &cohort.config.annotation else {
            return Err(RunError::Config {
                at: At::config(cohort, "[[epigenome.regions]]"),
                message: format!("{:?} has no `bed`, so it means promoters, which need an [annotation]", r.name),
            });
        };
        if features.is_none() {
            features = Some(spec.read()?);
        }
        if let Some(f) = &features {
            sets.push(RegionSet::promoters(&r.name, f, r.upstream, r.downstream));
        }
    }
    Ok(sets)
}

/// The scatter step: calls (or imports) `samples` into `<dir>/samples/<id>.parquet`, with how
/// they were obtained in the file's metadata so the layer step needs nothing else.
fn quantify_samples(ctx: &mut RunContext, samples: &[&cohort::Sample], dir: &Path) -> Result<(), RunError> {
    let (cohort, threads, progress) = (ctx.cohort, ctx.threads, ctx.progress);
    let (stages, written) = (&mut ctx.stages, &mut ctx.written);
    let options = &cohort.config.epigenome;
    std::fs::create_dir_all(dir.join("samples")).map_err(io_err(dir))?;
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Epigenome), extra);
    stage::stage(stages, "quantify_epigenome", json!(options.quant), |r| {
        let bar = progress.bar(samples.len() as u64, "methylation");
        let workers = (threads / samples.len().max(1)).max(1);
        let quant = json_text(&options.quant)?;
        let sources: Result<Vec<SampleSource>, RunError> = samples
            .par_iter()
            .map(|s| {
                let (calls, source) = sample_calls(&s.path, &options.quant, workers)?;
                let m = meta(&[
                    ("sample_id", s.sample_id.clone()),
                    ("source", source.source.clone()),
                    ("quant", quant.clone()),
                    ("calls", json_text(&source)?),
                ]);
                write_sample(&sample_file(dir, s), &calls, &m)?;
                bar.inc(1);
                Ok(source)
            })
            .collect_in_order();
        bar.finish_and_clear();
        let sources = sources?;
        for (s, src) in samples.iter().zip(&sources) {
            if !src.strands_merged {
                r.warnings.push(format!(
                    "sample {:?}: {} lists single cytosines without a strand, so the two strands of each CpG stay \
                     separate sites; give a CpG_report, a --merge_CpG .cov or a --mergeContext bedGraph instead",
                    s.sample_id, src.source
                ));
            }
            if src.sites == 0 {
                r.warnings.push(format!("sample {:?}: no CpG calls", s.sample_id));
            }
        }
        r.counts = json!({
            "samples": sources.len(),
            "sites": sources.iter().map(|s| s.sites as u64).sum::<u64>(),
        });
        Ok::<_, RunError>(())
    })?;
    written.extend(samples.iter().map(|s| sample_file(dir, s)));
    progress.note(format!("called methylation in {} epigenome samples", samples.len()));
    Ok(())
}

/// How a per-sample file's calls were obtained, from its metadata; refuses a file called with
/// other options than this cohort's.
fn read_source(cohort: &Cohort, sample: &cohort::Sample, dir: &Path) -> Result<SampleSource, RunError> {
    let (path, _, kv) = open_sample_file(dir, Layer::Epigenome, sample)?;
    let get = |key: &str| kv.get(key).cloned();
    let stale = |what: &str| RunError::Stale {
        at: At::file(&path),
        message: format!("{what} differ from this cohort's; call the sample again with this config"),
    };
    if get("harmonomics.quant") != Some(json_text(&cohort.config.epigenome.quant)?) {
        return Err(stale("its calling options ([epigenome.quant])"));
    }
    get("harmonomics.calls").and_then(|c| serde_json::from_str(&c).ok()).ok_or_else(|| stale("its call metadata"))
}

/// The layer step: the per-sample files → the streamed cohort merge, region sets and QC.
fn assemble_layer(ctx: &mut RunContext, dir: &Path) -> Result<(), RunError> {
    let (cohort, stages, written) = (ctx.cohort, &mut ctx.stages, &mut ctx.written);
    let options = &cohort.config.epigenome;
    options
        .normalise
        .validate()
        .map_err(|message| RunError::Config { at: At::config(cohort, "[epigenome.normalise]"), message })?;
    let samples = cohort.samples_of(Layer::Epigenome);
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Epigenome), extra);
    let params = json!({ "normalise": options.normalise, "regions": options.regions });
    // Reading the samples' metadata and the region sets, and the QC table, belong to the stage
    // too: every second of a run is in a named stage (reading 1,900 files' footers is not free).
    stage::stage(stages, "normalise_epigenome", params, |r| {
        // In parallel; the first failing sample in samplesheet order is the one reported.
        let sources: Vec<SampleSource> = samples.par_iter().map(|s| read_source(cohort, s, dir)).collect_in_order()?;
        let sets = region_sets(cohort)?;
        let sample_ids: Vec<String> = samples.iter().map(|s| s.sample_id.clone()).collect();
        let paths: Vec<PathBuf> = samples.iter().map(|s| sample_file(dir, s)).collect();
        let a = assemble(&sample_ids, &paths, dir, &options.normalise, sets, &meta, None)?;
        r.counts = json!({ "cpgs": a.sites, "kept": a.kept, "sex_chromosome_dropped": a.sex_dropped });
        if a.kept == 0 {
            r.warnings.push(format!(
                "epigenome: no CpG reaches {} calls in {} of {} samples; normalised matrices are empty",
                options.normalise.min_coverage,
                options.normalise.min_samples(sample_ids.len()),
                sample_ids.len()
            ));
        }
        written.extend(CPG_FILES.iter().map(|f| dir.join(f)));
        written.extend(a.region_files.iter().cloned());
        let qc_path = dir.join("qc.parquet");
        let qc = qc_table(&sample_ids, &sources, &a.qc).map_err(arrow_err(&qc_path))?;
        write_batch(&qc_path, qc, &meta(&[]))?;
        written.push(qc_path);
        Ok::<_, RunError>(())
    })
}

/// `epigenome/qc.parquet`: one row per sample.
fn qc_table(
    ids: &[String],
    sources: &[SampleSource],
    qc: &[crate::epigenome::cohort::SampleQc],
) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let stat = |f: fn(&CallStats) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from(sources.iter().map(|s| s.stats.as_ref().map(f)).collect::<Vec<_>>()))
    };
    crate::io::parquet::batch(vec![
        ("sample_id", Arc::new(StringArray::from(ids.to_vec())) as ArrayRef),
        ("source", Arc::new(StringArray::from_iter_values(sources.iter().map(|s| s.source.as_str())))),
        ("sites_covered", Arc::new(UInt64Array::from_iter_values(qc.iter().map(|q| q.sites_covered)))),
        ("sites_min_coverage", Arc::new(UInt64Array::from_iter_values(qc.iter().map(|q| q.sites_min_coverage)))),
        ("cpg_calls", Arc::new(UInt64Array::from_iter_values(qc.iter().map(|q| q.calls)))),
        ("mean_depth", Arc::new(Float64Array::from(qc.iter().map(|q| q.mean_depth()).collect::<Vec<_>>()))),
        (
            "global_cpg_methylation",
            Arc::new(Float64Array::from(qc.iter().map(|q| q.global_methylation()).collect::<Vec<_>>())),
        ),
        (
            "conversion_rate",
            Arc::new(Float64Array::from(
                sources.iter().map(|s| s.stats.as_ref().and_then(CallStats::conversion_rate)).collect::<Vec<_>>(),
            )),
        ),
        ("records", stat(|s| s.records)),
        ("records_used", stat(|s| s.used)),
        ("unmapped", stat(|s| s.unmapped)),
        ("not_primary", stat(|s| s.not_primary)),
        ("qc_fail", stat(|s| s.qc_fail)),
        ("duplicate", stat(|s| s.duplicate)),
        ("low_mapq", stat(|s| s.low_mapq)),
        ("no_methylation_tags", stat(|s| s.no_tags)),
        ("low_base_quality_calls", stat(|s| s.low_base_quality)),
        ("trimmed_calls", stat(|s| s.trimmed)),
        ("overlap_calls", stat(|s| s.overlap)),
        ("ambiguous_mod_calls", stat(|s| s.ambiguous)),
    ])
}
