//! What each subcommand does with its parsed arguments, and what it says when done: the CLI
//! edge, where library errors become `anyhow` errors (`main` maps them to exit codes).

use super::{Cli, Command, normalise::NormaliseCommand, quant::QuantCommand, run::default_config};
use crate::pipeline;
use crate::{cohort, jobs};

/// Runs the parsed command line with `threads` worker threads (the pool is already sized).
pub fn dispatch(cli: Cli, threads: usize) -> anyhow::Result<()> {
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
            if let Some(mode) = args.identity.filter(|m| *m != crate::identity::IdentityMode::Off) {
                let mut cohort = cohort;
                mode.apply(&mut cohort.config.identity);
                let summary = pipeline::identity::validate(&cohort, &args.out)?;
                println!("{summary}");
            }
        }
        Command::Quant(QuantCommand::Rna(args)) => {
            let command = std::env::args().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" ");
            jobs::quant_rna::run(&args.into_job(threads, command), &pipeline::Progress::new(cli.quiet))?;
        }
        Command::Quant(QuantCommand::Genotypes(args)) => {
            let summary = jobs::quant_genotypes::run(&args.into_job())?;
            if !cli.quiet {
                let s = summary.skipped;
                eprintln!(
                    "harmonomics: {} biallelic variants × {} samples ({} from DS/GP); skipped {} multiallelic and {} without a usable ALT; {} half-calls read as missing",
                    summary.variants,
                    summary.samples.len(),
                    summary.dosage_variants,
                    s.multiallelic,
                    s.no_alternate,
                    s.half_calls
                );
            }
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
            jobs::normalise_transcriptome::run(&args.into_job()?)?
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
