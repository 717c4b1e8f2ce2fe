//! The one helper every pipeline step goes through: it times the step and records its
//! parameters, counts and warnings for the manifest; in a log it also says when the step
//! starts and ends, and keeps a heartbeat going while it runs.

use std::sync::mpsc;
use std::time::Instant;

use super::progress;
use crate::output::manifest::StageReport;

/// Runs `f` as stage `name`, appending its report (also when it fails, for the message).
pub fn stage<T, E>(
    reports: &mut Vec<StageReport>,
    name: &str,
    params: serde_json::Value,
    f: impl FnOnce(&mut StageReport) -> Result<T, E>,
) -> Result<T, E> {
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let mut report = StageReport { name: name.to_string(), params, ..StageReport::default() };
    let result = if progress::logging() {
        eprintln!("harmonomics: {name}: started");
        let interval = progress::heartbeat_interval();
        std::thread::scope(|scope| {
            let (stop, stopped) = mpsc::channel::<()>();
            scope.spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    progress::heartbeat(name, started.elapsed().as_secs_f64());
                }
            });
            let result = f(&mut report);
            drop(stop);
            result
        })
    } else {
        f(&mut report)
    };
    release_freed_memory();
    report.seconds = started.elapsed().as_secs_f64();
    report.cpu_seconds = cpu_before.zip(cpu_seconds()).map(|(a, b)| b - a);
    report.peak_rss_bytes = peak_rss_bytes();
    if progress::logging() {
        let outcome = if result.is_ok() { "done" } else { "failed" };
        let cores = match report.cpu_seconds {
            Some(cpu) if report.seconds >= 0.5 => format!(", {:.2} cores", cpu / report.seconds),
            _ => String::new(),
        };
        eprintln!("harmonomics: {name}: {outcome} in {:.1} s{cores}{}", report.seconds, summary(&report.counts));
    }
    reports.push(report);
    result
}

/// Hands the memory a finished stage freed back to the system. glibc keeps freed blocks in
/// per-thread arenas, where the next stage's threads often cannot reuse them, so without this
/// the process's footprint is the sum of its stages' rather than the largest.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live block.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A stage's scalar counts as `(samples 39, alignments 276927)` for its log line.
fn summary(counts: &serde_json::Value) -> String {
    let Some(map) = counts.as_object() else { return String::new() };
    let parts: Vec<String> = map
        .iter()
        .filter(|(_, v)| v.is_number() || v.is_string() || v.is_boolean())
        .map(|(k, v)| format!("{} {}", k.replace('_', " "), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
}

/// User + system CPU seconds of this process (all threads), from `/proc/self/stat` (Linux; the
/// kernel's clock tick is 100 Hz on every Linux ABI we build for).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let (user, system): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some((user + system) as f64 / 100.0)
}

/// The process's peak resident set (`VmHWM` in `/proc/self/status`, Linux), in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
