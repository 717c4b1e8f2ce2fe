//! `run`'s steps as separate commands, for workflow managers: `quant sample` (one job per
//! sample: the scatter), `normalise layer` (one job per layer, from the per-sample files) and
//! `harmonise` (the gather). They call the very functions `run` calls, on the same directory
//! layout, so a cohort run in pieces gives the same bytes as one `run`.

use std::path::PathBuf;

use super::{Progress, RunError, epigenome, import_layer, imported_tool, io_err, load_annotation, metabolome};
use crate::cohort::{self, Cohort, Layer};

/// What one step command works on.
#[derive(Clone, Debug)]
pub struct StepOptions {
    /// `cohort.toml`.
    pub config: PathBuf,
    /// The run's output directory (the step reads and writes `<out>/<layer>/`).
    pub out: PathBuf,
    /// The layer.
    pub layer: Layer,
    /// Samplesheet sample ids of that layer (`quant sample` only; empty: all of them).
    pub samples: Vec<String>,
    /// Worker threads (the pool is sized by the caller).
    pub threads: usize,
    /// No messages on stderr.
    pub quiet: bool,
}

fn selected<'a>(cohort: &'a Cohort, options: &StepOptions) -> Result<Vec<&'a cohort::Sample>, RunError> {
    let all = cohort.samples_of(options.layer);
    if options.samples.is_empty() {
        return Ok(all);
    }
    options
        .samples
        .iter()
        .map(|id| {
            all.iter().copied().find(|s| &s.sample_id == id).ok_or_else(|| {
                RunError::Usage(format!(
                    "no {} sample {id:?} in {}",
                    options.layer,
                    cohort.config.samplesheet.display()
                ))
            })
        })
        .collect()
}

/// `harmonomics quant sample`: quantifies the chosen samples of one layer into
/// `<out>/<layer>/samples/<id>.parquet`. Returns how many.
pub fn quant_samples(options: &StepOptions) -> Result<usize, RunError> {
    let cohort = cohort::load(&options.config)?;
    let samples = selected(&cohort, options)?;
    let dir = options.out.join(options.layer.as_str());
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let progress = Progress::new(options.quiet);
    let (mut stages, mut written) = (Vec::new(), Vec::new());
    match options.layer {
        Layer::Transcriptome => {
            if let Some(tool) = imported_tool(&cohort.samples_of(Layer::Transcriptome))? {
                return Err(RunError::Usage(format!(
                    "the transcriptome rows are {} outputs, read together by `harmonomics normalise layer \
                     --layer transcriptome`: there is nothing to quantify per sample",
                    tool.name()
                )));
            }
            let (features, index) = load_annotation(&cohort, &mut stages)?;
            super::quantify_transcriptome(
                &cohort,
                &samples,
                &features,
                &index,
                options.threads,
                &dir,
                &progress,
                &mut stages,
                &mut written,
            )?;
        }
        Layer::Epigenome => {
            epigenome::quantify_samples(&cohort, &samples, options.threads, &dir, &progress, &mut stages, &mut written)?
        }
        Layer::Metabolome => {
            return Err(RunError::Usage(
                "the metabolome is one feature table, processed whole by `harmonomics normalise layer --layer \
                 metabolome`: there is nothing to quantify per sample"
                    .into(),
            ));
        }
    }
    for stage in &stages {
        for w in &stage.warnings {
            progress.note(format!("warning: {w}"));
        }
    }
    Ok(samples.len())
}

/// `harmonomics normalise layer`: the layer step of `run` from `<out>/<layer>/samples/`
/// (transcriptome, epigenome) or from the inputs themselves (imported tables, the metabolome).
pub fn layer_step(options: &StepOptions) -> Result<(), RunError> {
    let cohort = cohort::load(&options.config)?;
    let samples = cohort.samples_of(options.layer);
    if samples.is_empty() {
        return Err(RunError::Usage(format!("the samplesheet has no {} samples", options.layer)));
    }
    let dir = options.out.join(options.layer.as_str());
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let progress = Progress::new(options.quiet);
    let (mut stages, mut written) = (Vec::new(), Vec::new());
    match options.layer {
        Layer::Transcriptome => match imported_tool(&samples)? {
            Some(tool) => import_layer(&cohort, tool, &dir, &samples, &mut stages, &mut written)?,
            None => {
                let (features, _) = load_annotation(&cohort, &mut stages)?;
                super::assemble_transcriptome(&cohort, &samples, &features, &dir, &mut stages, &mut written)?
            }
        },
        Layer::Epigenome => epigenome::assemble_layer(&cohort, &dir, &mut stages, &mut written)?,
        Layer::Metabolome => metabolome::run_layer(&cohort, &dir, &mut stages, &mut written)?,
    }
    for stage in &stages {
        for w in &stage.warnings {
            progress.note(format!("warning: {w}"));
        }
    }
    Ok(())
}
