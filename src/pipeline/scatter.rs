//! `run`'s steps as separate commands, for workflow managers: `quant sample` (one job per
//! sample: the scatter), `normalise layer` (one job per layer, from the per-sample files) and
//! `harmonise` (the gather). They call the very [`LayerStep`] methods `run` calls, on the same
//! directory layout, so a cohort run in pieces gives the same bytes as one `run`.

use std::path::PathBuf;

use super::context::{self, RunContext};
use super::layer::{LayerStep, step};
use super::{At, RunError, io_err};
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
            all.iter().copied().find(|s| &s.sample_id == id).ok_or_else(|| RunError::Samples {
                at: At::file(&cohort.config.samplesheet),
                message: format!("no {} sample {id:?}", options.layer),
            })
        })
        .collect()
}

/// The step command's context: the cohort validated, `<out>/<layer>/` created. Step commands
/// write no manifest (the gather does), so the output directory's own manifest stays.
fn layer_context<'a>(
    cohort: &'a Cohort,
    started: context::Started,
    options: &StepOptions,
) -> Result<(RunContext<'a>, PathBuf, &'static dyn LayerStep), RunError> {
    let dir = options.out.join(options.layer.as_str());
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let ctx = RunContext::for_step(cohort, started, &options.out, options.threads);
    Ok((ctx, dir, step(options.layer)))
}

/// `harmonomics quant sample`: quantifies the chosen samples of one layer into
/// `<out>/<layer>/samples/<id>.parquet`. Returns how many.
pub fn quant_samples(options: &StepOptions) -> Result<usize, RunError> {
    let (cohort, started) = context::start(&options.config, options.quiet)?;
    let samples = selected(&cohort, options)?;
    let (mut ctx, dir, step) = layer_context(&cohort, started, options)?;
    let all = cohort.samples_of(options.layer);
    if step.scatter(&cohort, &all)?.is_none() {
        return Err(RunError::Samples {
            at: At::file(&cohort.config.samplesheet),
            message: step.whole(&cohort, &all)?,
        });
    }
    step.quantify(&mut ctx, &samples, &dir)?;
    ctx.note_warnings();
    Ok(samples.len())
}

/// `harmonomics normalise layer`: the layer step of `run` from `<out>/<layer>/samples/`
/// (per-sample layers) or from the inputs themselves (imported tables, the metabolome).
pub fn layer_step(options: &StepOptions) -> Result<(), RunError> {
    let (cohort, started) = context::start(&options.config, options.quiet)?;
    let samples = cohort.samples_of(options.layer);
    if samples.is_empty() {
        return Err(RunError::Samples {
            at: At::file(&cohort.config.samplesheet),
            message: format!("the samplesheet has no {} samples", options.layer),
        });
    }
    let (mut ctx, dir, step) = layer_context(&cohort, started, options)?;
    step.assemble(&mut ctx, &samples, &dir)?;
    ctx.note_warnings();
    Ok(())
}
