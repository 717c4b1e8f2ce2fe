//! `harmonomics run`: validate → hash inputs → quantify (scatter) → assemble → normalise →
//! harmonise → manifest, in one process.
//!
//! Each step is a plain library call wrapped in [`stage::stage`] for timing and provenance.
//! Nothing is written before validation passes, every file is written atomically, and the
//! manifest comes last, so a directory with a `manifest.json` holds a finished run.

pub mod batch;
pub mod epigenome;
pub mod harmonise;
pub mod metabolome;
pub mod progress;
pub mod resume;
pub mod scatter;
pub mod stage;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arrow_array::ArrayRef;

use rayon::prelude::*;
use serde_json::json;

use crate::annotation::{self, AnnotationError, FeatureIndex};
use crate::cohort::{self, Cohort, Layer, ValidationError};
use crate::error::ExitClass;
use crate::io::OutputError;
use crate::io::hash::hash_file;
use crate::io::parquet::{Metadata, write_batch, write_matrix};
use crate::matrix::FeatureMatrix;
use crate::output::manifest::{self, FileRecord, Manifest, StageReport, Tool};
use crate::transcriptome::import::ImportError;
use crate::transcriptome::quant::{Category, QuantError, SampleCounts, quantify};
use crate::transcriptome::{normalise, tables};
pub use progress::Progress;
use resume::Resume;

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
    /// A count matrix could not be read.
    #[error(transparent)]
    Input(#[from] normalise::input::InputError),
    /// Another tool's output could not be imported.
    #[error(transparent)]
    Import(ImportError),
    /// Methylation input could not be read.
    #[error(transparent)]
    Epigenome(#[from] crate::epigenome::EpigenomeError),
    /// A metabolomics table or injection list is wrong.
    #[error(transparent)]
    Metabolome(crate::metabolome::MetabolomeError),
    /// The command line asks for something inconsistent (exit code 2).
    #[error("{0}")]
    Usage(String),
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

impl RunError {
    /// Exit code class: configuration problems are usage errors.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            RunError::Invalid(_) | RunError::Usage(_) | RunError::Import(ImportError::NoTranscriptMap) => {
                ExitClass::Usage
            }
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

fn metadata(cohort: &Cohort, layer: Option<Layer>, extra: &[(&str, String)]) -> Metadata {
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

/// Runs the whole pipeline for one cohort.
pub fn run(options: &RunOptions) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let progress = Progress::new(options.quiet);
    let mut stages: Vec<StageReport> = Vec::new();

    let cohort = stage::stage(&mut stages, "validate", json!({ "config": options.config }), |r| {
        let cohort = cohort::load(&options.config)?;
        r.counts = json!({ "samples": cohort.samples.len(), "patients": cohort.patients.len() });
        r.warnings = cohort.warnings.iter().map(ToString::to_string).collect();
        Ok::<_, RunError>(cohort)
    })?;
    for w in &cohort.warnings {
        progress.note(w.to_string());
    }
    progress.note(format!(
        "cohort {:?}: {} patients, {} samples, layers: {}",
        cohort.config.study.name,
        cohort.patients.len(),
        cohort.samples.len(),
        cohort.layers().iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ")
    ));

    let out = &options.out;
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let mut resume = if options.resume { Resume::load(out) } else { Resume::default() };
    // A manifest left by an earlier run would vouch for a directory this run is rewriting.
    let manifest_path = out.join("manifest.json");
    match std::fs::remove_file(&manifest_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err(&manifest_path)(e)),
        _ => {}
    }
    // Temporary files of a run killed earlier (SIGKILL skips their clean-up) go now.
    let stale = crate::io::atomic::remove_stale_temporaries(out).map_err(io_err(out))?;
    if stale > 0 {
        progress.note(format!("removed {stale} temporary files left by an interrupted run in {}", out.display()));
    }

    let inputs = stage::stage(&mut stages, "hash_inputs", json!({ "algorithm": "BLAKE3" }), |r| {
        let inputs = hash_inputs(&cohort)?;
        r.counts = json!({ "files": inputs.len(), "bytes": inputs.iter().map(|i| i.size).sum::<u64>() });
        Ok::<_, RunError>(inputs)
    })?;

    let mut ctx = RunContext {
        cohort: &cohort,
        out,
        threads: options.threads,
        progress: &progress,
        stages,
        written: Vec::new(),
        hashes: resume::input_hashes(&inputs),
        resume: &mut resume,
    };
    let mut layer_fingerprints = Vec::new();
    for layer in cohort.layers() {
        layer_fingerprints.push((layer.as_str(), run_layer_resumable(&mut ctx, layer)?));
    }
    // Harmonisation reads the layers back from disk, as `harmonomics harmonise` does after a
    // scattered run: one code path, byte-identical results.
    let c = &cohort.config;
    let mut parts = vec![
        ("study", serde_json::to_string(&c.study).unwrap_or_default()),
        ("timepoints", serde_json::to_string(&c.timepoints).unwrap_or_default()),
        ("batch_correction", serde_json::to_string(&c.batch_correction).unwrap_or_default()),
        ("epigenome.regions", serde_json::to_string(&c.epigenome.regions).unwrap_or_default()),
        ("samplesheet", ctx.hash_of(&c.samplesheet)),
    ];
    if let Some(p) = &c.patients {
        parts.push(("patients", ctx.hash_of(p)));
    }
    parts.extend(layer_fingerprints.iter().map(|(l, f)| (*l, f.clone())));
    ctx.unit("harmonise".into(), &parts, |ctx, stages, written| {
        harmonise::harmonise_stage(
            ctx.cohort,
            std::slice::from_ref(&ctx.out.to_path_buf()),
            ctx.out,
            ctx.progress,
            stages,
            written,
        )
        .map(|_| ())
    })?;
    let RunContext { stages: mut all_stages, written, .. } = ctx;
    if options.resume {
        all_stages.push(StageReport {
            name: "resume".into(),
            params: json!({ "units_recorded": resume.recorded.len() }),
            counts: json!({ "skipped": resume.skipped.len(), "skipped_units": resume.skipped }),
            ..StageReport::default()
        });
    }
    let stages = all_stages;

    let provenance = Provenance {
        command_line: &options.command_line,
        config: &options.config,
        threads: options.threads,
        started,
        started_at,
    };
    finish(out, &cohort, &provenance, stages, inputs, &written, resume.recorded)
}

/// Who ran what, when: the manifest's header.
struct Provenance<'a> {
    command_line: &'a [String],
    config: &'a Path,
    threads: usize,
    started: Instant,
    started_at: u64,
}

/// Hashes the outputs and writes `manifest.json`, last, so its presence means a finished run.
fn finish(
    out: &Path,
    cohort: &Cohort,
    provenance: &Provenance,
    stages: Vec<StageReport>,
    inputs: Vec<FileRecord>,
    written: &[PathBuf],
    units: Vec<manifest::Unit>,
) -> Result<RunSummary, RunError> {
    let outputs = hash_outputs(out, written)?;
    let finished_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let warnings: Vec<String> = cohort.warnings.iter().map(ToString::to_string).collect();
    let manifest = Manifest {
        tool: Tool::default(),
        command_line: provenance.command_line.to_vec(),
        started_at: manifest::rfc3339(provenance.started_at),
        finished_at: manifest::rfc3339(finished_at),
        wall_seconds: provenance.started.elapsed().as_secs_f64(),
        threads: provenance.threads,
        config_path: provenance.config.display().to_string(),
        config: serde_json::to_value(&cohort.config).unwrap_or_default(),
        inputs,
        stages,
        warnings: warnings.clone(),
        outputs,
        units,
    };
    manifest::write(&out.join("manifest.json"), &manifest)?;
    Ok(RunSummary { out: out.to_path_buf(), samples: cohort.samples.len(), warnings: warnings.len() })
}

/// The state `run` threads through its units.
struct RunContext<'a> {
    cohort: &'a Cohort,
    out: &'a Path,
    threads: usize,
    progress: &'a Progress,
    stages: Vec<StageReport>,
    written: Vec<PathBuf>,
    hashes: std::collections::HashMap<PathBuf, String>,
    resume: &'a mut Resume,
}

impl RunContext<'_> {
    /// The BLAKE3 of an input file, as hashed at the start of the run.
    fn hash_of(&self, path: &Path) -> String {
        self.hashes.get(path).cloned().unwrap_or_default()
    }

    /// Runs `work` as unit `name` unless the last run did the same work (see [`resume`]);
    /// records the unit and its outputs either way. Returns the unit's fingerprint.
    fn unit(
        &mut self,
        name: String,
        parts: &[(&str, String)],
        work: impl FnOnce(&RunContext, &mut Vec<StageReport>, &mut Vec<PathBuf>) -> Result<(), RunError>,
    ) -> Result<String, RunError> {
        let parts: Vec<(&str, &str)> = parts.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let fingerprint = resume::fingerprint(&parts);
        if let Some(outputs) = self.resume.reusable(self.out, &name, &fingerprint) {
            self.progress.note(format!("resume: {name} unchanged, skipped"));
            self.resume.skipped.push(name.clone());
            self.resume.record(self.out, name, fingerprint.clone(), &outputs);
            self.written.extend(outputs);
            return Ok(fingerprint);
        }
        let (mut stages, mut written) = (std::mem::take(&mut self.stages), Vec::new());
        let result = work(self, &mut stages, &mut written);
        self.stages = stages;
        result?;
        self.resume.record(self.out, name, fingerprint.clone(), &written);
        self.written.extend(written);
        Ok(fingerprint)
    }
}

/// One layer of `run`, unit by unit: each sample's quantification (where the layer scatters),
/// then the layer step. Returns the layer step's fingerprint.
fn run_layer_resumable(ctx: &mut RunContext, layer: Layer) -> Result<String, RunError> {
    let cohort = ctx.cohort;
    let c = &cohort.config;
    let dir = ctx.out.join(layer.as_str());
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let samples = cohort.samples_of(layer);
    let study = serde_json::to_string(&c.study).unwrap_or_default();
    let annotation = c.annotation.as_ref().map(|a| ctx.hash_of(&a.path)).unwrap_or_default();
    // Which samples this layer quantifies one by one, with the options their files depend on.
    let scattered = match layer {
        Layer::Transcriptome if imported_tool(&samples)?.is_none() => {
            Some(serde_json::to_string(&c.transcriptome.quant).unwrap_or_default())
        }
        Layer::Epigenome => Some(serde_json::to_string(&c.epigenome.quant).unwrap_or_default()),
        _ => None,
    };
    let mut sample_parts: Vec<(String, String)> = Vec::new();
    // The annotation, read once for both the quantification and the layer step.
    let mut annotation_cache: Option<(annotation::FeatureSet, FeatureIndex)> = None;
    if let Some(quant) = &scattered {
        let mut todo = Vec::new();
        let mut fingerprints = Vec::new();
        for s in &samples {
            let mut parts = vec![
                ("study", study.clone()),
                ("sample", s.sample_id.clone()),
                ("input", ctx.hash_of(&s.path)),
                ("options", quant.clone()),
            ];
            if layer == Layer::Transcriptome {
                parts.push(("annotation", annotation.clone()));
            }
            let p: Vec<(&str, &str)> = parts.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let fingerprint = resume::fingerprint(&p);
            let name = format!("quant {} {}", layer.as_str(), s.sample_id);
            match ctx.resume.reusable(ctx.out, &name, &fingerprint) {
                Some(outputs) => {
                    ctx.resume.skipped.push(name.clone());
                    ctx.resume.record(ctx.out, name, fingerprint.clone(), &outputs);
                    ctx.written.extend(outputs);
                }
                None => todo.push((*s, name, fingerprint.clone())),
            }
            fingerprints.push(fingerprint);
        }
        if !todo.is_empty() {
            let chosen: Vec<&cohort::Sample> = todo.iter().map(|t| t.0).collect();
            let mut written = Vec::new();
            match layer {
                Layer::Transcriptome => {
                    let (features, index) = annotation_cache.insert(load_annotation(cohort, &mut ctx.stages)?);
                    quantify_transcriptome(
                        cohort,
                        &chosen,
                        features,
                        index,
                        ctx.threads,
                        &dir,
                        ctx.progress,
                        &mut ctx.stages,
                        &mut written,
                    )?;
                }
                _ => epigenome::quantify_samples(
                    cohort,
                    &chosen,
                    ctx.threads,
                    &dir,
                    ctx.progress,
                    &mut ctx.stages,
                    &mut written,
                )?,
            }
            for (s, name, fingerprint) in todo {
                let path = dir.join("samples").join(format!("{}.parquet", s.sample_id));
                ctx.resume.record(ctx.out, name, fingerprint, std::slice::from_ref(&path));
            }
            ctx.written.extend(written);
        } else if !samples.is_empty() {
            ctx.progress.note(format!("resume: every {layer} sample unchanged, none quantified"));
        }
        sample_parts = samples.iter().map(|s| s.sample_id.clone()).zip(fingerprints).collect();
    } else {
        for s in &samples {
            sample_parts.push((s.sample_id.clone(), ctx.hash_of(&s.path)));
        }
    }
    // The layer step: its options, the files it reads, its samples in samplesheet order.
    let section = match layer {
        Layer::Transcriptome => serde_json::to_string(&c.transcriptome),
        Layer::Epigenome => serde_json::to_string(&c.epigenome),
        Layer::Metabolome => serde_json::to_string(&c.metabolome),
    }
    .unwrap_or_default();
    let mut parts = vec![("study", study), ("options", section), ("annotation", annotation)];
    for r in &c.epigenome.regions {
        if let (Layer::Epigenome, Some(bed)) = (layer, &r.bed) {
            parts.push(("regions", ctx.hash_of(bed)));
        }
    }
    if let (Layer::Metabolome, Some(p)) = (layer, &c.metabolome.injections) {
        parts.push(("injections", ctx.hash_of(p)));
    }
    parts.extend(sample_parts.iter().map(|(id, f)| ("sample", format!("{id}={f}"))));
    ctx.unit(format!("layer {}", layer.as_str()), &parts, |ctx, stages, written| {
        let samples = ctx.cohort.samples_of(layer);
        match layer {
            Layer::Transcriptome => match imported_tool(&samples)? {
                Some(tool) => import_layer(ctx.cohort, tool, &dir, &samples, stages, written),
                None => {
                    let features = match annotation_cache.take() {
                        Some((features, _)) => features,
                        None => load_annotation(ctx.cohort, stages)?.0,
                    };
                    assemble_transcriptome(ctx.cohort, &samples, &features, &dir, stages, written)
                }
            },
            Layer::Epigenome => epigenome::assemble_layer(ctx.cohort, &dir, stages, written),
            Layer::Metabolome => metabolome::run_layer(ctx.cohort, &dir, stages, written),
        }
    })
}

pub(crate) fn arrow_err(path: &Path) -> impl FnOnce(arrow_schema::ArrowError) -> RunError + '_ {
    move |e| RunError::Output(OutputError { path: path.to_path_buf(), source: std::io::Error::other(e) })
}

/// The cohort's `[annotation]`, read and indexed (the transcriptome needs one to count).
fn load_annotation(
    cohort: &Cohort,
    stages: &mut Vec<StageReport>,
) -> Result<(annotation::FeatureSet, FeatureIndex), RunError> {
    let Some(annotation_config) = &cohort.config.annotation else {
        return Err(RunError::Invalid(ValidationError {
            problems: vec![cohort::Problem {
                severity: cohort::Severity::Error,
                location: crate::error::Location::file(&cohort.config_path),
                message: "transcriptome samples need an [annotation] section".into(),
            }],
        }));
    };
    stage::stage(stages, "annotation", json!(annotation_config), |r| {
        let features = annotation_config.read()?;
        let index = FeatureIndex::new(&features);
        r.counts =
            json!({ "genes": features.genes.len(), "exons": features.exons.len(), "contigs": features.contigs.len() });
        Ok::<_, RunError>((features, index))
    })
}

/// The per-sample file of an RNA sample.
fn rna_sample_path(dir: &Path, sample: &cohort::Sample) -> PathBuf {
    dir.join("samples").join(format!("{}.parquet", sample.sample_id))
}

/// Counts `samples` (the scatter step) into `<dir>/samples/<id>.parquet`, with the whole
/// featureCounts summary and the strand tally in the file's metadata, so the layer step can be
/// run later, elsewhere, from the files alone.
#[allow(clippy::too_many_arguments)]
pub fn quantify_transcriptome(
    cohort: &Cohort,
    samples: &[&cohort::Sample],
    features: &annotation::FeatureSet,
    index: &FeatureIndex,
    threads: usize,
    dir: &Path,
    progress: &Progress,
    stages: &mut Vec<StageReport>,
    written: &mut Vec<PathBuf>,
) -> Result<(), RunError> {
    let options = &cohort.config.transcriptome;
    std::fs::create_dir_all(dir.join("samples")).map_err(io_err(dir))?;
    stage::stage(stages, "quantify", json!(options.quant), |r| {
        let bar = progress.bar(samples.len() as u64, "quantify");
        let quant_meta = serde_json::to_string(&options.quant).unwrap_or_default();
        // Parallel across samples first; spare threads decompress within a sample.
        let workers = (threads / samples.len().max(1)).max(1);
        let results: Vec<Result<SampleCounts, RunError>> = samples
            .par_iter()
            .map(|s| {
                let counts = quantify(&s.path, features, index, &options.quant, workers)?;
                let path = rna_sample_path(dir, s);
                let qc: serde_json::Map<String, serde_json::Value> =
                    Category::ALL.iter().map(|c| (c.name().to_string(), json!(counts.summary.get(*c)))).collect();
                let meta = metadata(
                    cohort,
                    Some(Layer::Transcriptome),
                    &[
                        ("sample_id", s.sample_id.clone()),
                        ("quant", quant_meta.clone()),
                        ("qc", serde_json::Value::Object(qc).to_string()),
                        ("strand", json!(counts.strand).to_string()),
                    ],
                );
                write_batch(&path, tables::sample_counts(features, &counts).map_err(arrow_err(&path))?, &meta)?;
                bar.inc(1);
                Ok(counts)
            })
            .collect();
        bar.finish_and_clear();
        let counted = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        let total: u64 = counted.iter().map(|c| c.summary.total()).sum();
        let assigned: u64 = counted.iter().map(|c| c.summary.get(Category::Assigned)).sum();
        r.counts = json!({ "samples": counted.len(), "alignments": total, "assigned": assigned });
        for (s, c) in samples.iter().zip(&counted) {
            if c.summary.get(Category::Assigned) == 0 {
                r.warnings.push(format!("sample {:?}: no read was assigned to any gene", s.sample_id));
            }
            if let Some(w) = c.strand.check(options.quant.strandedness) {
                r.warnings.push(format!("sample {:?}: {w}", s.sample_id));
            }
        }
        Ok::<_, RunError>(())
    })?;
    progress.note(format!("quantified {} transcriptome samples", samples.len()));
    written.extend(samples.iter().map(|s| rna_sample_path(dir, s)));
    Ok(())
}

/// Reads one per-sample RNA file back: counts in annotation order, summary and strand tally.
/// Refuses a file counted against another annotation or with other counting options.
fn read_rna_sample(
    cohort: &Cohort,
    sample: &cohort::Sample,
    features: &annotation::FeatureSet,
    dir: &Path,
) -> Result<SampleCounts, RunError> {
    let path = rna_sample_path(dir, sample);
    if !path.is_file() {
        return Err(RunError::Usage(format!(
            "{}: missing; quantify the sample first (harmonomics quant sample --layer transcriptome --sample {})",
            path.display(),
            sample.sample_id
        )));
    }
    let options = &cohort.config.transcriptome;
    let (table, meta) = crate::io::parquet::read_table_with_metadata(&path).map_err(io_err(&path))?;
    let stale = |what: &str| {
        RunError::Usage(format!(
            "{}: {what} differ from this cohort's; quantify the sample again with this config",
            path.display()
        ))
    };
    if meta.get("harmonomics.quant").map(String::as_str)
        != Some(&serde_json::to_string(&options.quant).unwrap_or_default())
    {
        return Err(stale("its counting options ([transcriptome.quant])"));
    }
    let (Some(ids), Some(counts)) = (table.column("feature_id"), table.column("count")) else {
        return Err(stale("its columns"));
    };
    if table.rows.len() != features.genes.len()
        || table.rows.iter().zip(&features.genes).any(|(r, g)| r[ids].as_str() != Some(g.id.as_str()))
    {
        return Err(stale("its genes (the annotation)"));
    }
    let parse = |key: &str| -> Result<serde_json::Value, RunError> {
        meta.get(key).and_then(|v| serde_json::from_str(v).ok()).ok_or_else(|| stale(&format!("its {key} metadata")))
    };
    let qc = parse("harmonomics.qc")?;
    let mut summary = crate::transcriptome::quant::Summary::default();
    for c in Category::ALL {
        summary.set(c, qc[c.name()].as_u64().unwrap_or(0));
    }
    let strand = serde_json::from_value(parse("harmonomics.strand")?).map_err(|_| stale("its strand metadata"))?;
    Ok(SampleCounts {
        counts: table.rows.iter().map(|r| r[counts].as_f64().unwrap_or(0.0)).collect(),
        fractional: options.quant.fractional(),
        summary,
        strand,
    })
}

/// The layer step: the per-sample files → features, raw counts and QC, then normalisation.
pub fn assemble_transcriptome(
    cohort: &Cohort,
    samples: &[&cohort::Sample],
    features: &annotation::FeatureSet,
    dir: &Path,
    stages: &mut Vec<StageReport>,
    written: &mut Vec<PathBuf>,
) -> Result<(), RunError> {
    let options = &cohort.config.transcriptome;
    let counted: Vec<SampleCounts> =
        samples.par_iter().map(|s| read_rna_sample(cohort, s, features, dir)).collect::<Result<_, _>>()?;
    let sample_ids: Vec<String> = samples.iter().map(|s| s.sample_id.clone()).collect();
    let feature_ids: Vec<String> = features.genes.iter().map(|g| g.id.clone()).collect();
    let raw = FeatureMatrix::new(feature_ids, sample_ids, counted.iter().map(|c| c.counts.clone()).collect());
    let fractional = options.quant.fractional();
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Transcriptome), extra);

    stage::stage(stages, "assemble", json!({}), |r| {
        write_batch(&dir.join("features.parquet"), tables::features(features).map_err(arrow_err(dir))?, &meta(&[]))?;
        if fractional {
            write_matrix(&dir.join("raw.parquet"), &raw, &meta(&[("values", "fractional counts".into())]))?;
        } else {
            let integer = raw.map_columns(|_, c| Some(c.iter().map(|&v| v as u64).collect()));
            write_matrix(&dir.join("raw.parquet"), &integer, &meta(&[("values", "counts".into())]))?;
        }
        let ids: Vec<&str> = samples.iter().map(|s| s.sample_id.as_str()).collect();
        let refs: Vec<&SampleCounts> = counted.iter().collect();
        write_batch(&dir.join("qc.parquet"), tables::qc(&ids, &refs).map_err(arrow_err(dir))?, &meta(&[]))?;
        written.extend(["features.parquet", "raw.parquet", "qc.parquet"].map(|f| dir.join(f)));
        r.counts = json!({ "features": raw.feature_ids.len(), "samples": raw.sample_ids.len() });
        Ok::<_, RunError>(())
    })?;

    let lengths: Vec<f64> = (0..features.genes.len()).map(|g| features.gene_length(g) as f64).collect();
    normalise_layer(cohort, dir, raw, Some(&lengths), samples, stages, written)
}

/// The tool that wrote every transcriptome input, or `None` when they are all alignments.
fn imported_tool(samples: &[&cohort::Sample]) -> Result<Option<crate::transcriptome::import::Tool>, RunError> {
    let mut kinds = Vec::new();
    for s in samples {
        let kind = crate::transcriptome::import::detect(&s.path).map_err(io_err(&s.path))?;
        kinds.push((kind, s));
    }
    let first = kinds.first().map(|k| k.0);
    if let Some((kind, s)) = kinds.iter().find(|k| Some(k.0) != first) {
        let name = |k: Option<crate::transcriptome::import::Tool>| k.map_or("alignments", |t| t.name());
        return Err(RunError::Usage(format!(
            "the transcriptome layer mixes inputs: {:?} is {} but {:?} is {}; quantify every sample the same way",
            kinds[0].1.sample_id,
            name(first.flatten()),
            s.sample_id,
            name(*kind)
        )));
    }
    Ok(first.flatten())
}

/// The transcriptome layer from other quantifiers' outputs (samplesheet rows pointing at
/// `quant.sf`, `abundance.tsv`, featureCounts/htseq-count tables or STAR `ReadsPerGene`).
fn import_layer(
    cohort: &Cohort,
    tool: crate::transcriptome::import::Tool,
    dir: &Path,
    samples: &[&cohort::Sample],
    stages: &mut Vec<StageReport>,
    written: &mut Vec<PathBuf>,
) -> Result<(), RunError> {
    std::fs::create_dir_all(dir.join("samples")).map_err(io_err(dir))?;
    let options = &cohort.config.transcriptome;
    let annotation_map = cohort
        .config
        .annotation
        .as_ref()
        .filter(|a| matches!(a.format, annotation::AnnotationFormat::Gtf | annotation::AnnotationFormat::Gff))
        .map(|a| a.path.clone());
    let tx2gene = options.import.tx2gene.clone().or(annotation_map);
    let params = json!({ "tool": tool.name(), "import": options.import, "tx2gene": tx2gene });
    let imported = stage::stage(stages, "import", params, |r| {
        let inputs: Vec<(PathBuf, String)> = samples.iter().map(|s| (s.path.clone(), s.sample_id.clone())).collect();
        let imported = crate::transcriptome::import::read_all(
            tool,
            &inputs,
            tx2gene.as_deref(),
            options.import.counts_from_abundance,
            options.quant.strandedness,
            &mut r.warnings,
        )?;
        if imported.len() != samples.len() {
            return Err(RunError::Usage(format!(
                "{} samples in the samplesheet but {} in the imported files (one sample per file)",
                samples.len(),
                imported.len()
            )));
        }
        for (s, i) in samples.iter().zip(&imported) {
            if i.feature_ids != imported[0].feature_ids {
                return Err(RunError::Usage(format!(
                    "sample {:?} has different genes from sample {:?}: import samples quantified against one annotation",
                    s.sample_id, samples[0].sample_id
                )));
            }
        }
        r.counts = json!({ "samples": imported.len(), "genes": imported[0].feature_ids.len() });
        Ok::<_, RunError>(imported)
    })?;
    let feature_ids = imported[0].feature_ids.clone();
    let sample_ids: Vec<String> = samples.iter().map(|s| s.sample_id.clone()).collect();
    let raw = FeatureMatrix::new(
        feature_ids.clone(),
        sample_ids.clone(),
        imported.iter().map(|i| i.counts.clone()).collect(),
    );
    let integral = raw.columns.iter().flatten().all(|c| c.iter().all(|v| v.fract() == 0.0));
    // Gene lengths: the tool's own (mean over samples for tximport), else the annotation's.
    let lengths: Option<Vec<f64>> = if imported.iter().all(|i| i.lengths.is_some()) {
        Some(
            (0..feature_ids.len())
                .map(|g| {
                    imported.iter().filter_map(|i| i.lengths.as_ref()).map(|l| l[g]).sum::<f64>()
                        / imported.len() as f64
                })
                .collect(),
        )
    } else if let Some(a) = &cohort.config.annotation {
        a.read()?.lengths_of(&feature_ids)
    } else {
        None
    };
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Transcriptome), extra);
    stage::stage(stages, "assemble", json!({}), |r| {
        for (s, i) in samples.iter().zip(&imported) {
            let path = dir.join("samples").join(format!("{}.parquet", s.sample_id));
            let counts = if integral {
                Arc::new(arrow_array::UInt64Array::from_iter_values(i.counts.iter().map(|&v| v as u64))) as ArrayRef
            } else {
                Arc::new(arrow_array::Float64Array::from(i.counts.clone())) as ArrayRef
            };
            let batch = crate::io::parquet::batch(vec![
                ("feature_id", Arc::new(arrow_array::StringArray::from(feature_ids.clone())) as ArrayRef),
                ("count", counts),
            ])
            .map_err(arrow_err(&path))?;
            write_batch(&path, batch, &meta(&[("sample_id", s.sample_id.clone()), ("import", tool.name().into())]))?;
            written.push(path);
        }
        let lengths_col: Vec<Option<f64>> = match &lengths {
            Some(l) => l.iter().map(|v| Some(*v)).collect(),
            None => vec![None; feature_ids.len()],
        };
        let features = crate::io::parquet::batch(vec![
            ("feature_id", Arc::new(arrow_array::StringArray::from(feature_ids.clone())) as ArrayRef),
            ("length", Arc::new(arrow_array::Float64Array::from(lengths_col)) as ArrayRef),
        ])
        .map_err(arrow_err(dir))?;
        write_batch(&dir.join("features.parquet"), features, &meta(&[("import", tool.name().into())]))?;
        if integral {
            let integer = raw.map_columns(|_, c| Some(c.iter().map(|&v| v as u64).collect()));
            write_matrix(&dir.join("raw.parquet"), &integer, &meta(&[("values", "counts".into())]))?;
        } else {
            write_matrix(&dir.join("raw.parquet"), &raw, &meta(&[("values", "estimated counts".into())]))?;
        }
        written.extend(["features.parquet", "raw.parquet"].map(|f| dir.join(f)));
        let mut categories: Vec<String> = Vec::new();
        for i in &imported {
            for (c, _) in &i.qc {
                if !categories.contains(c) {
                    categories.push(c.clone());
                }
            }
        }
        let mut columns: Vec<(&str, ArrayRef)> =
            vec![("sample_id", Arc::new(arrow_array::StringArray::from(sample_ids.clone())))];
        for c in &categories {
            let values: Vec<Option<f64>> =
                imported.iter().map(|i| i.qc.iter().find(|(k, _)| k == c).map(|(_, v)| *v)).collect();
            columns.push((c.as_str(), Arc::new(arrow_array::Float64Array::from(values))));
        }
        let qc = dir.join("qc.parquet");
        write_batch(&qc, crate::io::parquet::batch(columns).map_err(arrow_err(&qc))?, &meta(&[]))?;
        written.push(qc);
        r.counts = json!({ "features": feature_ids.len(), "samples": sample_ids.len() });
        Ok::<_, RunError>(())
    })?;
    normalise_layer(cohort, dir, raw, lengths.as_deref(), samples, stages, written)
}

/// The normalise stage of the transcriptome layer, whatever produced the counts.
fn normalise_layer(
    cohort: &Cohort,
    dir: &Path,
    raw: FeatureMatrix<f64>,
    lengths: Option<&[f64]>,
    samples: &[&cohort::Sample],
    stages: &mut Vec<StageReport>,
    written: &mut Vec<PathBuf>,
) -> Result<(), RunError> {
    let options = &cohort.config.transcriptome;
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Transcriptome), extra);
    stage::stage(stages, "normalise", json!(options.normalise), |r| {
        let keep = transcriptome_keep(cohort, &raw, samples)?;
        let kept = keep.iter().filter(|k| **k).count();
        r.counts = json!({ "features": keep.len(), "kept_by_filter": kept });
        let factors = normalise::factors(&raw);
        let ids: Vec<&str> = raw.sample_ids.iter().map(String::as_str).collect();
        write_batch(
            &dir.join("factors.parquet"),
            tables::factors(&ids, &factors).map_err(arrow_err(dir))?,
            &meta(&[]),
        )?;
        written.push(dir.join("factors.parquet"));
        for (k, method) in options.normalise.methods.iter().enumerate() {
            let matrix = normalise::apply_filtered(*method, &raw, lengths, &keep, &options.normalise)?;
            let params = json!({
                "method": method.name(),
                "prior_count": options.normalise.prior_count,
                "filter_by_expr": options.normalise.filter_by_expr,
                "filter_group": options.normalise.filter_group,
                "kept_features": kept,
            })
            .to_string();
            let name =
                if k == 0 { "normalised.parquet".to_string() } else { format!("normalised.{}.parquet", method.name()) };
            write_matrix(&dir.join(&name), &matrix, &meta(&[("method", method.name().into()), ("params", params)]))?;
            written.push(dir.join(name));
            let empty = matrix.columns.iter().filter(|c| c.is_none()).count();
            if empty > 0 {
                r.warnings
                    .push(format!("{}: {empty} samples have no counted reads; their columns are null", method.name()));
            }
        }
        if options.normalise.methods.is_empty() {
            // No method: the primary matrix is all null, so harmonised.parquet keeps its shape.
            let none: FeatureMatrix<Option<f64>> = raw.map_columns(|_, _| None);
            write_matrix(&dir.join("normalised.parquet"), &none, &meta(&[("method", "none".into())]))?;
            written.push(dir.join("normalised.parquet"));
        }
        Ok::<_, RunError>(())
    })
}

/// The genes `[transcriptome.normalise]` normalises: all, or those edgeR's `filterByExpr`
/// keeps (in the configured groups).
fn transcriptome_keep(
    cohort: &Cohort,
    raw: &FeatureMatrix<f64>,
    samples: &[&cohort::Sample],
) -> Result<Vec<bool>, RunError> {
    let options = &cohort.config.transcriptome.normalise;
    if !options.filter_by_expr {
        return Ok(vec![true; raw.feature_ids.len()]);
    }
    let groups: Option<Vec<String>> = match &options.filter_group {
        None => None,
        Some(column) => Some(
            samples.iter().map(|s| sample_attribute(cohort, s, column)).collect::<Option<Vec<String>>>().ok_or_else(
                || {
                    RunError::Usage(format!(
                        "filter_group = {column:?}: every transcriptome sample needs a value in that samplesheet column"
                    ))
                },
            )?,
        ),
    };
    Ok(normalise::filter::filter_by_expr(raw, groups.as_deref(), Default::default()))
}

/// A sample's value in a samplesheet column (known or extra).
fn sample_attribute(cohort: &Cohort, sample: &cohort::Sample, column: &str) -> Option<String> {
    match column {
        "timepoint" => Some(cohort.timepoints[sample.timepoint].name.clone()),
        "patient_id" => Some(sample.patient_id.clone()),
        "batch" => sample.batch.clone(),
        "site" => sample.site.clone(),
        other => {
            let k = cohort.extra_columns.iter().position(|c| c == other)?;
            sample.extra[k].clone()
        }
    }
}

fn hash_inputs(cohort: &Cohort) -> Result<Vec<FileRecord>, RunError> {
    let c = &cohort.config;
    let mut files: Vec<(String, PathBuf)> =
        vec![("config".into(), cohort.config_path.clone()), ("samplesheet".into(), c.samplesheet.clone())];
    if let Some(p) = &c.patients {
        files.push(("patients".into(), p.clone()));
    }
    if let Some(a) = &c.annotation {
        files.push(("annotation".into(), a.path.clone()));
    }
    if let Some(p) = c.metabolome.injections.as_ref().filter(|_| !cohort.samples_of(Layer::Metabolome).is_empty()) {
        files.push(("injections".into(), p.clone()));
    }
    for r in &c.epigenome.regions {
        if let Some(b) = &r.bed {
            files.push(("regions".into(), b.clone()));
        }
    }
    for s in &cohort.samples {
        files.push((s.layer.as_str().into(), s.path.clone()));
        if let Some(p) = &s.path_2 {
            files.push((s.layer.as_str().into(), p.clone()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|(_, p)| seen.insert(p.clone()));
    files
        .par_iter()
        .map(|(role, path)| {
            let (size, blake3) = hash_file(path).map_err(io_err(path))?;
            Ok(FileRecord { role: role.clone(), path: path.display().to_string(), size, blake3 })
        })
        .collect()
}

/// The files this run wrote (relative to the output directory), with hashes, in path order.
fn hash_outputs(out: &Path, written: &[PathBuf]) -> Result<Vec<FileRecord>, RunError> {
    let mut paths = written.to_vec();
    paths.sort();
    paths.dedup();
    paths
        .par_iter()
        .map(|path| {
            let (size, blake3) = hash_file(path).map_err(io_err(path))?;
            let rel = path.strip_prefix(out).unwrap_or(path).display().to_string();
            Ok(FileRecord { role: "output".into(), path: rel, size, blake3 })
        })
        .collect()
}
