//! A run killed mid-write (SIGTERM as a scheduler sends at its time limit, SIGKILL as the OOM
//! killer does) leaves no file that looks complete: every output under its final name is whole,
//! there is no manifest, the signal is reported as the cause (not masked into an exit code), and a
//! re-run completes with the same bytes as an undisturbed run.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

/// Every file under its final name is complete: Parquet files read to the end, nothing else is
/// a leftover temporary name that looks like an output.
fn assert_nothing_looks_complete_but_is_not(root: &Path) {
    for p in files_under(root).into_iter().map(|f| root.join(f)) {
        let name = p.file_name().and_then(|n| n.to_str()).expect("name").to_string();
        if name.starts_with('.') && name.contains(".tmp-") {
            continue; // a temporary file: hidden, and named so
        }
        if name.ends_with(".parquet") {
            let file = std::fs::File::open(&p).expect("open");
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap_or_else(|e| panic!("{} looks complete but is not: {e}", p.display()));
            for batch in reader.build().expect("reader") {
                batch.unwrap_or_else(|e| panic!("{} is truncated: {e}", p.display()));
            }
        }
    }
}

fn killed_run(signal: &str, after: Duration, out: &Path) -> std::process::ExitStatus {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harmonomics"))
        .args(["--quiet", "--threads", "2", "run", "--config"])
        .arg(fixture_config())
        .arg("--out")
        .arg(out)
        .spawn()
        .expect("spawn");
    std::thread::sleep(after);
    let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill");
    assert!(sent.success() || child.try_wait().expect("wait").is_some());
    child.wait().expect("wait")
}

#[test]
fn a_run_killed_mid_write_leaves_no_complete_looking_file_and_the_rerun_completes() {
    use std::os::unix::process::ExitStatusExt;
    let dir = Workdir::new();
    let reference = dir.join("reference");
    run_fixture(&reference, "2");
    let mut interrupted = 0;
    for (k, (signal, number)) in [("-TERM", 15), ("-KILL", 9)].into_iter().enumerate() {
        for (m, ms) in [40u64, 120, 250].into_iter().enumerate() {
            let out = dir.join(&format!("run-{k}-{m}"));
            let status = killed_run(signal, Duration::from_millis(ms), &out);
            if status.success() {
                continue; // finished before the signal: nothing to check here
            }
            interrupted += 1;
            // The signal is the cause, as the shell and the scheduler expect (128 + n there).
            assert_eq!(status.signal(), Some(number), "{signal} after {ms} ms: {status:?}");
            assert!(!out.join("manifest.json").exists(), "a killed run must not look finished");
            assert_nothing_looks_complete_but_is_not(&out);
            // The re-run into the same directory completes, with the undisturbed run's bytes.
            // It also clears the killed run's temporary files, or the file lists would differ.
            run_fixture(&out, "2");
            assert_same_files(&reference, &out, "an undisturbed run and a re-run after a kill");
        }
    }
    assert!(interrupted >= 2, "only {interrupted} runs were interrupted: the fixture ran faster than the kills");
}
