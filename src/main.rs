//! The `harmonomics` binary: parse the command line, size the thread pool, call the library,
//! map failures to exit codes (0 ok, 1 runtime error, 2 usage or configuration error).

use std::process::ExitCode;

use clap::Parser;
use harmonomics::cli::{Cli, Command, normalise::NormaliseCommand, quant::QuantCommand, run::default_config};
use harmonomics::pipeline::{self, RunError};
use harmonomics::{cohort, error::ExitClass, jobs};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads =
        cli.threads.filter(|&n| n > 0).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global() {
        eprintln!("harmonomics: cannot start {threads} worker threads: {e}");
        return ExitCode::from(1);
    }
    match dispatch(cli, threads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let class = e
                .chain()
                .find_map(|c| c.downcast_ref::<RunError>().map(RunError::exit_class))
                .or_else(|| {
                    e.chain().find_map(|c| c.downcast_ref::<cohort::ValidationError>().map(|_| ExitClass::Usage))
                })
                .unwrap_or(ExitClass::Runtime);
            eprintln!("harmonomics: {e:#}");
            ExitCode::from(class.code())
        }
    }
}

fn dispatch(cli: Cli, threads: usize) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => {
            let summary = pipeline::run(&args.into_options(threads, cli.quiet))?;
            if !cli.quiet {
                println!(
                    "harmonomics: {} samples done, {} warnings; outputs in {} (see manifest.json)",
                    summary.samples,
                    summary.warnings,
                    summary.out.display()
                );
            }
        }
        Command::Quant(QuantCommand::Sample(args)) => {
            let n = pipeline::scatter::quant_samples(&args.into_options(threads, cli.quiet))?;
            if !cli.quiet {
                eprintln!("harmonomics: quantified {n} samples");
            }
        }
        Command::Normalise(NormaliseCommand::Layer(args)) => {
            pipeline::scatter::layer_step(&args.into_options(threads, cli.quiet))?;
        }
        Command::Harmonise(args) => {
            let summary = pipeline::harmonise::gather(&args.into_options(threads, cli.quiet))?;
            if !cli.quiet {
                println!(
                    "harmonomics: {} samples harmonised, {} warnings; outputs in {} (see manifest.json)",
                    summary.samples,
                    summary.warnings,
                    summary.out.display()
                );
            }
        }
        Command::Validate(args) => {
            let config = args.config.unwrap_or_else(default_config);
            let cohort = cohort::load(&config)?;
            for w in &cohort.warnings {
                eprintln!("{w}");
            }
            println!(
                "{}: valid: {} patients, {} samples, {} timepoints, {} warnings",
                config.display(),
                cohort.patients.len(),
                cohort.samples.len(),
                cohort.timepoints.len(),
                cohort.warnings.len()
            );
        }
        Command::Quant(QuantCommand::Rna(args)) => {
            let command = std::env::args().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" ");
            jobs::quant_rna::run(&args.into_job(threads, command), &pipeline::Progress::new(cli.quiet))?;
        }
        Command::Quant(QuantCommand::Methylation(args)) => {
            let job = args.into_job(threads);
            let source = jobs::quant_methylation::run(&job)?;
            if let Some(stats) = &source.stats
                && !cli.quiet
            {
                let conversion = stats.conversion_rate().map_or("n/a".into(), |r| format!("{:.2}%", 100.0 * r));
                eprintln!(
                    "harmonomics: {}: {} CpGs, {} calls ({} methylated), {} of {} records used, conversion rate {conversion}",
                    job.input.display(),
                    source.sites,
                    stats.cpg_methylated + stats.cpg_unmethylated,
                    stats.cpg_methylated,
                    stats.used,
                    stats.records
                );
            }
            if !source.strands_merged {
                eprintln!(
                    "harmonomics: warning: {}: per-cytosine table without strands; the two strands of each CpG stay separate",
                    job.input.display()
                );
            }
        }
        Command::Import(args) => {
            for w in jobs::import::run(&args.into_job())? {
                eprintln!("harmonomics: warning: {w}");
            }
        }
        Command::Normalise(NormaliseCommand::Transcriptome(args)) => {
            jobs::normalise_transcriptome::run(&args.into_job())?
        }
        Command::Correct(args) => {
            let job = args.into_job();
            let changed = jobs::correct::correct_matrix(&job, &pipeline::Progress::new(cli.quiet))?;
            if !cli.quiet {
                eprintln!("harmonomics: {changed} values changed; written to {}", job.out.display());
            }
        }
        Command::Normalise(NormaliseCommand::Metabolome(args)) => {
            let steps = jobs::normalise_metabolome::run(&args.into_job())?;
            if !cli.quiet {
                for s in steps {
                    eprintln!(
                        "harmonomics: {:<18} {} features in, {} removed, {} values changed",
                        s.name, s.features_in, s.removed, s.values_changed
                    );
                }
            }
        }
    }
    Ok(())
}
