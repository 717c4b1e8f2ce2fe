//! `harmonomics run`: start → hash inputs → for each layer: quantify its samples (where it
//! scatters) and run its step → harmonise → finish. Each piece is a resumable unit (see
//! [`super::resume`]).

use serde_json::json;

use super::context::{self, RunContext, json_text};
use super::layer::{LayerStep, sample_file, step};
use super::{RunError, RunOptions, RunSummary, harmonise, identity, io_err, resume};
use crate::cohort::Layer;
use crate::output::manifest::StageReport;

/// Runs the whole pipeline for one cohort.
pub fn run(options: &RunOptions) -> Result<RunSummary, RunError> {
    let (mut cohort, started) = context::start(&options.config, options.quiet)?;
    if let Some(mode) = options.identity {
        mode.apply(&mut cohort.config.identity);
    }
    let mut ctx = RunContext::new(&cohort, started, &options.out, options.threads, options.resume)?;
    ctx.announce();
    let out = ctx.out.clone();
    // Temporary files of a run killed earlier (SIGKILL skips their clean-up) go now.
    let stale = crate::io::atomic::remove_stale_temporaries(&out).map_err(io_err(&out))?;
    if stale > 0 {
        ctx.progress.note(format!("removed {stale} temporary files left by an interrupted run in {}", out.display()));
    }
    let inputs = ctx.hash_inputs()?;

    let mut layer_fingerprints = Vec::new();
    for layer in cohort.layers() {
        layer_fingerprints.push((layer.as_str(), run_layer(&mut ctx, layer, step(layer))?));
    }
    identity_unit(&mut ctx)?;
    // Harmonisation reads the layers back from disk, as `harmonomics harmonise` does after a
    // scattered run: one code path, byte-identical results.
    let c = &cohort.config;
    let mut parts = vec![
        ("study", json_text(&c.study)?),
        ("timepoints", json_text(&c.timepoints)?),
        ("batch_correction", json_text(&c.batch_correction)?),
        ("epigenome.regions", json_text(&c.epigenome.regions)?),
        ("samplesheet", ctx.hash_of(&c.samplesheet)?),
    ];
    if let Some(p) = &c.patients {
        parts.push(("patients", ctx.hash_of(p)?));
    }
    parts.extend(layer_fingerprints);
    ctx.unit("harmonise".into(), &parts, |ctx| {
        let roots = [ctx.out.clone()];
        harmonise::harmonise_stage(ctx, &roots).map(|_| ())
    })?;
    if options.resume {
        let (recorded, skipped) = (ctx.resume.recorded.len(), ctx.resume.skipped.clone());
        ctx.stages.push(StageReport {
            name: "resume".into(),
            params: json!({ "units_recorded": recorded }),
            counts: json!({ "skipped": skipped.len(), "skipped_units": skipped }),
            ..StageReport::default()
        });
    }
    ctx.finish(&options.command_line, &options.config, inputs)
}

/// The identity check across layers, as one resumable unit (or a note on why there is none).
fn identity_unit(ctx: &mut RunContext) -> Result<(), RunError> {
    let cohort = ctx.cohort;
    let c = &cohort.config;
    let plan = match identity::plan(cohort) {
        Ok(plan) => plan,
        Err(why) => {
            ctx.progress.note(format!("identity: not checked: {why}"));
            return Ok(());
        }
    };
    let mut parts = vec![
        ("options", json_text(&c.identity)?),
        ("genome", json_text(&c.genome)?),
        ("samplesheet", ctx.hash_of(&c.samplesheet)?),
        ("sites", ctx.hash_of(&plan.sites)?),
    ];
    for s in &plan.alignments {
        parts.push(("sample", format!("{}={}", s.sample_id, ctx.hash_of(&s.path)?)));
    }
    ctx.unit("identity".into(), &parts, |ctx| {
        let dir = ctx.out.join("identity");
        let written = identity::check(cohort, &plan, &dir, &mut ctx.stages)?;
        ctx.written.extend(written);
        Ok(())
    })?;
    Ok(())
}

/// One layer of `run`, unit by unit: each sample's quantification (where the layer scatters),
/// then the layer step. Returns the layer step's fingerprint.
fn run_layer(ctx: &mut RunContext, layer: Layer, step: &dyn LayerStep) -> Result<String, RunError> {
    let cohort = ctx.cohort;
    let c = &cohort.config;
    let dir = ctx.out.join(layer.as_str());
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let samples = cohort.samples_of(layer);
    let study = json_text(&c.study)?;
    let annotation = match &c.annotation {
        Some(a) => ctx.hash_of(&a.path)?,
        None => String::new(),
    };
    let mut sample_parts: Vec<(String, String)> = Vec::new();
    if let Some(quant) = step.scatter(cohort, &samples)? {
        let extra: Vec<String> = step.sample_inputs(cohort).iter().map(|p| ctx.hash_of(p)).collect::<Result<_, _>>()?;
        // (sample, unit name, fingerprint, the outputs when the last run's can be reused)
        let mut units = Vec::new();
        for s in &samples {
            let mut parts = vec![
                ("study", study.clone()),
                ("sample", s.sample_id.clone()),
                ("input", ctx.hash_of(&s.path)?),
                ("options", quant.clone()),
            ];
            parts.extend(extra.iter().map(|h| ("annotation", h.clone())));
            let p: Vec<(&str, &str)> = parts.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let fingerprint = resume::fingerprint(&p);
            let name = format!("quant {} {}", layer.as_str(), s.sample_id);
            let reusable = ctx.resume.reusable(&ctx.out, &name, &fingerprint);
            units.push((*s, name, fingerprint, reusable));
        }
        let todo: Vec<&crate::cohort::Sample> = units.iter().filter(|u| u.3.is_none()).map(|u| u.0).collect();
        // The quantification stage belongs to every sample it counted; when no sample needs
        // counting, the last run's stage report is carried over with them.
        let stages: Vec<usize> = if todo.is_empty() {
            if !samples.is_empty() {
                ctx.progress.note(format!("resume: every {layer} sample unchanged, none quantified"));
            }
            let names: Vec<&str> = units.iter().map(|u| u.1.as_str()).collect();
            ctx.carry(&names)
        } else {
            let first = ctx.stages.len();
            step.quantify(ctx, &todo, &dir)?;
            (first..ctx.stages.len()).collect()
        };
        let mut fingerprints = Vec::new();
        for (s, name, fingerprint, reusable) in units {
            fingerprints.push(fingerprint.clone());
            match reusable {
                Some(outputs) => {
                    ctx.resume.skipped.push(name.clone());
                    let carried = if todo.is_empty() { stages.clone() } else { Vec::new() };
                    ctx.resume.record(&ctx.out, name, fingerprint, &outputs, carried);
                    ctx.written.extend(outputs);
                }
                None => {
                    let path = sample_file(&dir, s);
                    ctx.resume.record(&ctx.out, name, fingerprint, std::slice::from_ref(&path), stages.clone());
                }
            }
        }
        sample_parts = samples.iter().map(|s| s.sample_id.clone()).zip(fingerprints).collect();
    } else {
        for s in &samples {
            sample_parts.push((s.sample_id.clone(), ctx.hash_of(&s.path)?));
        }
    }
    // The layer step: its options, the files it reads, its samples in samplesheet order.
    let mut parts = vec![("study", study), ("options", step.options(cohort)?), ("annotation", annotation)];
    for (role, path) in step.step_inputs(cohort) {
        parts.push((role, ctx.hash_of(&path)?));
    }
    parts.extend(sample_parts.iter().map(|(id, f)| ("sample", format!("{id}={f}"))));
    ctx.unit(format!("layer {}", layer.as_str()), &parts, |ctx| step.assemble(ctx, &samples, &dir))
}
