//! `harmonomics normalise metabolome`: one feature table and its injection list through the
//! processing chain, outside a cohort; the same outputs as the cohort's metabolome layer.

use std::path::PathBuf;

use crate::layer::Layer;
use crate::metabolome::injections::Kind;
use crate::metabolome::process::ProcessOptions;
use crate::metabolome::read_and_process;
use crate::metabolome::table::ImportOptions;
use crate::pipeline::RunError;
use crate::pipeline::metabolome::write_outputs;

/// One `normalise metabolome` job.
#[derive(Clone, Debug)]
pub struct NormaliseMetabolomeJob {
    /// The feature table.
    pub table: PathBuf,
    /// The injection list.
    pub injections: PathBuf,
    /// Import options.
    pub import: ImportOptions,
    /// The chain's options.
    pub options: ProcessOptions,
    /// Output directory.
    pub out: PathBuf,
}

/// Runs one `normalise metabolome` job; returns the steps for the caller to print.
pub fn run(job: &NormaliseMetabolomeJob) -> Result<Vec<crate::metabolome::process::Step>, RunError> {
    // A refused design comes from the injection list (and the options on the command line).
    let r = read_and_process(&job.table, &job.injections, &job.import, &job.options)
        .map_err(|e| crate::pipeline::metabolome::metabolome_error(e, crate::pipeline::At::file(&job.injections)))?;
    let study: Vec<(String, usize)> = (0..r.injections.len())
        .filter(|&j| r.injections[j].kind == Kind::Sample)
        .map(|j| (r.injections[j].sample_id.clone().unwrap_or_else(|| r.injections[j].column.clone()), j))
        .collect();
    let meta = |extra: &[(&str, String)]| super::metadata(Layer::Metabolome, extra);
    // The five tables appear together or not at all.
    let staged = crate::io::atomic::StagedDir::new(&job.out)?;
    write_outputs(staged.path(), &r, &study, &meta, &job.options)?;
    staged.commit()?;
    Ok(r.processed.steps)
}
