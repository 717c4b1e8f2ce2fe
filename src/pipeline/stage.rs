//! The one helper every pipeline step goes through: it times the step and records its
//! parameters, counts and warnings for the manifest.

use std::time::Instant;

use crate::output::manifest::StageReport;

/// Runs `f` as stage `name`, appending its report (also when it fails, for the message).
pub fn stage<T, E>(
    reports: &mut Vec<StageReport>,
    name: &str,
    params: serde_json::Value,
    f: impl FnOnce(&mut StageReport) -> Result<T, E>,
) -> Result<T, E> {
    let started = Instant::now();
    let mut report = StageReport { name: name.to_string(), params, ..StageReport::default() };
    let result = f(&mut report);
    report.seconds = started.elapsed().as_secs_f64();
    reports.push(report);
    result
}
