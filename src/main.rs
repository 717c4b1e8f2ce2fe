//! The `harmonomics` binary: parse the command line, size the thread pool, call the library,
//! map failures to exit codes (0 ok, 1 runtime error, 2 usage or configuration error).

use std::process::ExitCode;

use clap::Parser;
use harmonomics::cli::{Cli, dispatch::dispatch};
use harmonomics::pipeline::RunError;
use harmonomics::{cohort, error::ExitClass};

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
