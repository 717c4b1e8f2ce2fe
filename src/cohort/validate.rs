//! Turning `cohort.toml` + samplesheet into a [`Cohort`], reporting every problem at once.
//!
//! Users fix a samplesheet in one pass only if they see all of its mistakes together, so nothing
//! here stops at the first problem: each check appends a [`Problem`] naming file and line.
//! Samples collected outside their protocol window are warnings, recorded in the manifest.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use super::config::CohortConfig;
use super::model::{Cohort, Layer, Patient, Sample, Timepoint};
use super::samplesheet::read_table;
use super::window;
use crate::error::Location;

/// How serious a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The run cannot go on.
    Error,
    /// The run goes on and records it.
    Warning,
}

/// One finding of validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// File and line.
    pub location: Location,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// Where and what, without the level (for lists that are all warnings).
    pub fn described(&self) -> String {
        format!("{}: {}", self.location, self.message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.described())
    }
}

/// Validation failed; holds every error found (and the warnings, for context).
#[derive(Debug, thiserror::Error)]
pub struct ValidationError {
    /// All problems, errors first in file/line order.
    pub problems: Vec<Problem>,
}

impl ValidationError {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Error)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        writeln!(f, "the cohort is invalid ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for (i, p) in self.errors().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}

const REQUIRED_COLUMNS: [&str; 5] = ["sample_id", "patient_id", "timepoint", "layer", "path"];
const KNOWN_COLUMNS: [&str; 10] = [
    "sample_id",
    "patient_id",
    "timepoint",
    "layer",
    "path",
    "path_2",
    "batch",
    "site",
    "collection_date",
    "days_from_admission",
];

struct Collector {
    problems: Vec<Problem>,
}

impl Collector {
    fn error(&mut self, location: Location, message: impl Into<String>) {
        self.problems.push(Problem { severity: Severity::Error, location, message: message.into() });
    }
    fn warning(&mut self, location: Location, message: impl Into<String>) {
        self.problems.push(Problem { severity: Severity::Warning, location, message: message.into() });
    }
    fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
    fn extend_errors(&mut self, found: Vec<(Location, String)>) {
        for (location, message) in found {
            self.error(location, message);
        }
    }
}

/// Loads and validates a cohort; on failure every problem is in the error.
pub fn load(config_path: &Path) -> Result<Cohort, ValidationError> {
    let mut c = Collector { problems: Vec::new() };
    let mut config = match read_config(config_path) {
        Ok(config) => config,
        Err(problem) => return Err(ValidationError { problems: vec![problem] }),
    };
    let timepoints = check_timepoints(&config, config_path, &mut c);
    // Counting options featureCounts would refuse, before any alignment is read.
    let quant = &config.transcriptome.quant;
    if let Err(message) = quant.validate() {
        c.error(Location::file(config_path), format!("[transcriptome.quant]: {message}"));
    }
    if quant.feature_level {
        c.error(
            Location::file(config_path),
            "[transcriptome.quant]: feature_level = true counts annotation rows, but the cohort's matrices \
             are per gene; count exons with `harmonomics quant rna -f` instead",
        );
    }
    if quant.by_read_group {
        c.error(
            Location::file(config_path),
            "[transcriptome.quant]: by_read_group = true splits a file into a column per read group, but \
             the samplesheet gives one row per sample; give each read group its own row (one BAM each), \
             or count with `harmonomics quant rna --byReadGroup` instead",
        );
    }
    // The tables the config names must exist before their rows are checked: a mistyped path is
    // one error naming the config, not one per samplesheet row that then finds no patient.
    let mut seen = HashMap::new();
    let config_location = Location::file(config_path);
    let sheet_ok = check_input_file(&config.samplesheet, &config_location, "samplesheet", &mut seen, &mut c);
    let patients_ok =
        config.patients.as_ref().is_none_or(|p| check_input_file(p, &config_location, "patients", &mut seen, &mut c));
    if !(sheet_ok && patients_ok) {
        return Err(ValidationError { problems: c.problems });
    }
    let patients = match &config.patients {
        Some(path) => read_patients(path, &mut c),
        None => BTreeMap::new(),
    };
    let (samples, extra_columns, patient_order) = read_samples(&config, config_path, &timepoints, &patients, &mut c);

    // The annotation is needed to count alignments (imported gene counts need none); when it is
    // named, it must exist.
    if let Some(a) = config.annotation.as_mut() {
        let exists = check_input_file(&a.path, &Location::file(config_path), "annotation", &mut HashMap::new(), &mut c);
        // A format left out is told from the content here, once, so the manifest records it.
        if exists && a.format.is_none() {
            match crate::annotation::sniff_format(&a.path) {
                Ok(format) => a.format = Some(format),
                Err(e) => c.error(Location::file(config_path), format!("[annotation]: {}", crate::error::chain(&e))),
            }
        }
    }
    check_metabolome(&config, config_path, &samples, &mut c);
    check_microbiome(&config, config_path, &samples, &mut c);
    check_genome(&config, config_path, &samples, &mut c);
    // An empty timepoint is an empty column of every grid table and, for the first one, a
    // baseline no change can be computed from: almost always a typo in one of the two files.
    if !c.has_errors() {
        for tp in &timepoints {
            if !samples.iter().any(|s| s.timepoint.is_some_and(|t| timepoints[t].name == tp.name)) {
                let used: std::collections::BTreeSet<&str> =
                    samples.iter().filter_map(|s| s.timepoint.map(|t| timepoints[t].name.as_str())).collect();
                c.error(
                    Location::file(config_path),
                    format!(
                        "timepoint {:?} (order {}) has no samples in {}; the samplesheet uses {}. Remove it from \
                         [[timepoints]] until its samples exist, or fix the samplesheet's timepoint column",
                        tp.name,
                        tp.order,
                        config.samplesheet.display(),
                        used.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
    }

    if c.has_errors() {
        let mut problems = c.problems;
        problems.sort_by(|a, b| {
            (a.severity != Severity::Error, &a.location).cmp(&(b.severity != Severity::Error, &b.location))
        });
        return Err(ValidationError { problems });
    }
    let patients = patient_order
        .into_iter()
        .map(|id| {
            patients.get(&id).cloned().unwrap_or(Patient { patient_id: id, admission_day: None, discharge_day: None })
        })
        .collect();
    Ok(Cohort {
        config,
        config_path: config_path.to_path_buf(),
        timepoints,
        patients,
        samples,
        extra_columns,
        warnings: c.problems,
    })
}

/// Metabolome rows share one feature table, and the injection list pairs each of them with one
/// study injection (and nothing else).
fn check_metabolome(config: &CohortConfig, config_path: &Path, samples: &[Sample], c: &mut Collector) {
    let rows: Vec<&Sample> = samples.iter().filter(|s| s.layer == Layer::Metabolome).collect();
    let Some(first) = rows.first() else { return };
    for s in &rows[1..] {
        if s.path != first.path {
            c.error(
                Location::line(&config.samplesheet, s.line).with_column("path"),
                format!(
                    "metabolome samples must share one feature table: {} here, {} on line {}",
                    s.path.display(),
                    first.path.display(),
                    first.line
                ),
            );
        }
    }
    let Some(list) = &config.metabolome.injections else {
        c.error(
            Location::file(config_path),
            "metabolome samples need `injections` in [metabolome] (column, injection_order, batch, sample_type)",
        );
        return;
    };
    if !check_input_file(list, &Location::file(config_path), "injection list", &mut HashMap::new(), c) {
        return;
    }
    let injections = match crate::metabolome::injections::read(list) {
        Ok(i) => i,
        Err(crate::metabolome::MetabolomeError::At { location, message }) => return c.error(location, message),
        Err(e) => return c.error(Location::file(list), crate::error::chain(&e)),
    };
    let keys: Vec<(&str, u64)> = rows.iter().map(|s| (s.sample_id.as_str(), s.line)).collect();
    if let Err(problems) = crate::metabolome::injections::match_samples(&injections, list, &keys, &config.samplesheet) {
        c.extend_errors(problems);
    }
}

/// The microbiome's rank and processing options, when the cohort has microbiome rows.
fn check_microbiome(config: &CohortConfig, config_path: &Path, samples: &[Sample], c: &mut Collector) {
    if !samples.iter().any(|s| s.layer == Layer::Microbiome) {
        return;
    }
    let options = &config.microbiome;
    if let Err(message) = options.rank() {
        c.error(Location::file(config_path), format!("[microbiome]: {message}"));
    }
    if let Err(e) = crate::microbiome::process::check_options(&options.process) {
        c.error(Location::file(config_path), e.to_string());
    }
    if let Some(t) = &options.taxonomy {
        check_input_file(t, &Location::file(config_path), "taxonomy", &mut HashMap::new(), c);
    }
    // One shared table: every sample and blank must be one of its columns, found here rather
    // than after the other layers have run.
    let rows: Vec<&Sample> = samples.iter().filter(|s| s.layer == Layer::Microbiome).collect();
    if !rows.iter().all(|s| s.path == rows[0].path) {
        if !options.blanks.is_empty() {
            c.error(
                Location::file(config_path),
                "[microbiome] `blanks` names columns of a shared table, but the microbiome rows point at \
                 different files (one profile per sample); list blanks as study rows of one table, or leave \
                 `blanks` out",
            );
        }
        return;
    }
    if c.has_errors() || !rows[0].path.is_file() {
        return;
    }
    let table = match crate::microbiome::table::read(&rows[0].path) {
        Ok(t) => t,
        Err(crate::microbiome::InputError::Malformed { location, message }) => return c.error(location, message),
        Err(e) => return c.error(Location::file(&rows[0].path), crate::error::chain(&e)),
    };
    let columns: std::collections::HashSet<&str> = table.sample_ids.iter().map(String::as_str).collect();
    let preview = table.sample_ids.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    if options.column.is_none() {
        for s in &rows {
            if !columns.contains(s.sample_id.as_str()) {
                c.error(
                    Location::line(&config.samplesheet, s.line).with_column("sample_id"),
                    format!(
                        "{} has no column {:?} (the table's columns are {preview}, ...; name another samplesheet \
                         column with [microbiome] column)",
                        rows[0].path.display(),
                        s.sample_id
                    ),
                );
            }
        }
    }
    for b in &options.blanks {
        if !columns.contains(b.as_str()) {
            c.error(
                Location::file(config_path),
                format!(
                    "[microbiome] blank {b:?} is not a column of {}; it has {preview}, ...",
                    rows[0].path.display()
                ),
            );
        }
    }
}

fn check_genome(config: &CohortConfig, config_path: &Path, samples: &[Sample], c: &mut Collector) {
    let rows: Vec<&Sample> = samples.iter().filter(|s| s.layer == Layer::Genome).collect();
    if rows.is_empty() {
        return;
    }
    if let Err(message) = config.genome.filter.check() {
        c.error(Location::file(config_path), format!("[genome.filter]: {message}"));
    }
    if config.batch_correction.layers.contains(&Layer::Genome) {
        c.error(
            Location::file(config_path),
            "[batch_correction] layers lists genome: genotypes are not batch-corrected (remove it; genotyping \
             batches show up in the variant QC instead)",
        );
    }
    // One multi-sample VCF, whose header must name every sample: found here, before other layers run.
    if let Some(other) = rows.iter().find(|s| s.path != rows[0].path) {
        return c.error(
            Location::line(&config.samplesheet, other.line).with_column("path"),
            format!(
                "genome rows name {} and {}: the layer reads one multi-sample VCF/BCF; merge per-sample files \
                 first (bcftools merge -Oz -o cohort.vcf.gz *.vcf.gz)",
                rows[0].path.display(),
                other.path.display()
            ),
        );
    }
    if c.has_errors() || !rows[0].path.is_file() {
        return;
    }
    let in_file = match crate::genome::vcf::VariantReader::open(&rows[0].path) {
        Ok(reader) => reader.samples(),
        Err(crate::genome::InputError::Malformed { location, message }) => return c.error(location, message),
        Err(e) => return c.error(Location::file(&rows[0].path), crate::error::chain(&e)),
    };
    let preview = in_file.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    if config.genome.column.is_none() {
        for s in &rows {
            if !in_file.contains(&s.sample_id) {
                c.error(
                    Location::line(&config.samplesheet, s.line).with_column("sample_id"),
                    format!(
                        "{} has no sample {:?} (its samples are {preview}, ...; name another samplesheet column \
                         with [genome] column)",
                        rows[0].path.display(),
                        s.sample_id
                    ),
                );
            }
        }
    }
}

fn read_config(path: &Path) -> Result<CohortConfig, Problem> {
    let problem = |line: Option<u64>, message: String| Problem {
        severity: Severity::Error,
        location: Location { path: path.to_path_buf(), line, column: None },
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| problem(None, format!("cannot read the cohort config: {e}")))?;
    // The 1-based line of a byte offset into the text (TOML parsers give spans, not lines).
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u64 + 1;
    let mut config: CohortConfig = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| line_of(s.start));
        problem(line, format!("invalid cohort config: {}", e.message().trim_end()))
    })?;
    // Where each timepoint's name is, so that errors about it name the line. Serde's structs
    // carry no positions; a second read of the same text takes only the names, with their spans.
    #[derive(serde::Deserialize)]
    struct Names {
        #[serde(default)]
        timepoints: Vec<Name>,
    }
    #[derive(serde::Deserialize)]
    struct Name {
        name: toml::Spanned<String>,
    }
    if let Ok(names) = toml::from_str::<Names>(&text) {
        for (tp, name) in config.timepoints.iter_mut().zip(names.timepoints) {
            tp.line = Some(line_of(name.name.span().start));
        }
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    config.resolve_paths(&base);
    Ok(config)
}

fn check_timepoints(config: &CohortConfig, path: &Path, c: &mut Collector) -> Vec<Timepoint> {
    let loc = || Location::file(path);
    if config.timepoints.is_empty() {
        c.error(loc(), "no [[timepoints]] defined; expected at least one");
    }
    let mut names = HashMap::new();
    let mut orders = HashMap::new();
    for tp in &config.timepoints {
        let at = || Location { path: path.to_path_buf(), line: tp.line, column: None };
        if tp.name.trim().is_empty() {
            c.error(at(), "a timepoint has an empty name");
        }
        if let Some((prev, prev_line)) = names.insert(tp.name.as_str(), (tp.order, tp.line)) {
            let first = prev_line.map(|l| format!(", first on line {l}")).unwrap_or_default();
            c.error(at(), format!("timepoint {:?} is defined twice (orders {prev} and {}{first})", tp.name, tp.order));
        }
        if let Some(prev) = orders.insert(tp.order, tp.name.as_str()) {
            c.error(at(), format!("timepoints {prev:?} and {:?} share order {}", tp.name, tp.order));
        }
        for (what, v) in [("window_before_days", tp.window_before_days), ("window_after_days", tp.window_after_days)] {
            if !v.is_finite() || v < 0.0 {
                c.error(at(), format!("timepoint {:?}: {what} must be a non-negative number, found {v}", tp.name));
            }
        }
        if !tp.nominal_day.is_finite() {
            c.error(at(), format!("timepoint {:?}: nominal_day must be a finite number", tp.name));
        }
    }
    let mut timepoints: Vec<Timepoint> = config
        .timepoints
        .iter()
        .map(|tp| Timepoint {
            name: tp.name.clone(),
            order: tp.order,
            nominal_day: tp.nominal_day,
            window_before_days: tp.window_before_days,
            window_after_days: tp.window_after_days,
            anchor: tp.anchor,
        })
        .collect();
    timepoints.sort_by_key(|tp| tp.order);
    timepoints
}

fn read_patients(path: &Path, c: &mut Collector) -> BTreeMap<String, Patient> {
    let mut found = Vec::new();
    let table = read_table(path, &mut found);
    c.extend_errors(found);
    let mut patients = BTreeMap::new();
    let Some(table) = table else { return patients };
    if table.column("patient_id").is_none() {
        c.error(Location::line(path, 1), "missing required column \"patient_id\"");
        return patients;
    }
    let mut lines: HashMap<String, u64> = HashMap::new();
    for row in &table.rows {
        let loc = || Location::line(path, row.line);
        let Some(id) = table.get(row, "patient_id") else {
            c.error(loc().with_column("patient_id"), "empty patient_id");
            continue;
        };
        if let Some(prev) = lines.insert(id.to_string(), row.line) {
            c.error(loc(), format!("patient {id:?} is listed twice (first on line {prev})"));
            continue;
        }
        let admission_day = table.get(row, "admission_date").and_then(|d| {
            let day = window::parse_iso_date(d);
            if day.is_none() {
                c.error(loc().with_column("admission_date"), format!("bad date {d:?}; expected YYYY-MM-DD"));
            }
            day
        });
        let mut discharge_day = table.get(row, "discharge_day").and_then(|d| {
            let day = d.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
            if day.is_none() {
                c.error(loc().with_column("discharge_day"), format!("expected a number of days ≥ 0, found {d:?}"));
            }
            day
        });
        if let Some(d) = table.get(row, "discharge_date") {
            match (window::parse_iso_date(d), admission_day) {
                (None, _) => {
                    c.error(loc().with_column("discharge_date"), format!("bad date {d:?}; expected YYYY-MM-DD"))
                }
                (Some(_), None) => {
                    c.error(loc().with_column("discharge_date"), "discharge_date needs an admission_date")
                }
                (Some(day), Some(adm)) if day < adm => {
                    c.error(loc().with_column("discharge_date"), format!("discharge {d} is before admission"))
                }
                (Some(day), Some(adm)) => discharge_day = Some((day - adm) as f64),
            }
        }
        patients.insert(id.to_string(), Patient { patient_id: id.to_string(), admission_day, discharge_day });
    }
    patients
}

/// Returns the samples, the names of extra columns and the patients in first-seen order.
fn read_samples(
    config: &CohortConfig,
    config_path: &Path,
    timepoints: &[Timepoint],
    patients: &BTreeMap<String, Patient>,
    c: &mut Collector,
) -> (Vec<Sample>, Vec<String>, Vec<String>) {
    let path = config.samplesheet.as_path();
    let mut found = Vec::new();
    let table = read_table(path, &mut found);
    c.extend_errors(found);
    let Some(table) = table else { return (Vec::new(), Vec::new(), Vec::new()) };
    let missing: Vec<&str> = REQUIRED_COLUMNS.into_iter().filter(|col| table.column(col).is_none()).collect();
    if !missing.is_empty() {
        c.error(
            Location::line(path, 1),
            format!(
                "missing required column{} {}; the header must contain {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
                REQUIRED_COLUMNS.join(",")
            ),
        );
        return (Vec::new(), Vec::new(), Vec::new());
    }
    if table.rows.is_empty() && !c.has_errors() {
        c.error(Location::file(path), "the samplesheet has a header but no samples");
    }
    let extra_columns: Vec<String> =
        table.header.iter().filter(|h| !KNOWN_COLUMNS.contains(&h.as_str())).cloned().collect();
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let tp_names: Vec<&str> = timepoints.iter().map(|t| t.name.as_str()).collect();

    let mut samples = Vec::new();
    let mut patient_order: Vec<String> = Vec::new();
    let mut ids: HashMap<(Layer, String), u64> = HashMap::new();
    let mut slots: HashMap<(Layer, String, usize), u64> = HashMap::new();
    let mut checked_files: HashMap<PathBuf, bool> = HashMap::new();
    let mut late: Vec<LateDraw> = Vec::new();
    let mut dated_without_patients: Vec<u64> = Vec::new();
    for row in &table.rows {
        let before = c.problems.len();
        let loc = || Location::line(path, row.line);
        let required = |name: &str, c: &mut Collector| -> Option<String> {
            let v = table.get(row, name).map(str::to_string);
            if v.is_none() {
                c.error(loc().with_column(name), format!("empty {name}"));
            }
            v
        };
        let sample_id = required("sample_id", c);
        if let Some(id) = &sample_id
            && !is_safe_id(id)
        {
            c.error(
                loc().with_column("sample_id"),
                format!(
                    "sample_id {id:?} must use only letters, digits and . _ - + (it names output files and columns)"
                ),
            );
        }
        let patient_id = required("patient_id", c);
        let layer_name = required("layer", c);
        // A time-invariant layer (the germline genome) may leave the timepoint empty.
        let time_invariant = layer_name.as_deref().and_then(Layer::parse).is_some_and(Layer::is_time_invariant);
        let timepoint_name =
            if time_invariant { table.get(row, "timepoint").map(str::to_string) } else { required("timepoint", c) };
        let file = required("path", c);

        let layer = layer_name.as_deref().and_then(|l| {
            let layer = Layer::parse(l);
            match layer {
                None => c.error(
                    loc().with_column("layer"),
                    format!(
                        "unknown layer {l:?}; expected one of transcriptome, epigenome, metabolome, genome, microbiome"
                    ),
                ),
                Some(layer) if !layer.is_supported() => c.error(
                    loc().with_column("layer"),
                    format!("layer {layer} is not supported by harmonomics {} yet", env!("CARGO_PKG_VERSION")),
                ),
                Some(_) => {}
            }
            layer
        });
        let timepoint = timepoint_name.as_deref().and_then(|t| {
            let i = tp_names.iter().position(|n| *n == t);
            if i.is_none() {
                c.error(
                    loc().with_column("timepoint"),
                    format!("unknown timepoint {t:?}; cohort.toml defines {}", tp_names.join(", ")),
                );
            }
            i
        });
        if let (Some(pid), Some(table)) = (&patient_id, &config.patients)
            && !patients.contains_key(pid)
        {
            c.error(loc().with_column("patient_id"), format!("patient {pid:?} is not in {}", table.display()));
        }
        let resolve = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_relative() { base.join(p) } else { p }
        };
        let file = file.map(|f| resolve(&f));
        if let Some(f) = &file {
            check_input_file(f, &loc().with_column("path"), "input", &mut checked_files, c);
        }
        let path_2 = table.get(row, "path_2").map(resolve);
        if let Some(f) = &path_2 {
            check_input_file(f, &loc().with_column("path_2"), "input", &mut checked_files, c);
        }

        let patient = patient_id.as_ref().and_then(|p| patients.get(p));
        let mut dated_from_patients = false;
        let mut days = table.get(row, "days_from_admission").and_then(|d| {
            let v = d.parse::<f64>().ok().filter(|v| v.is_finite());
            if v.is_none() {
                c.error(loc().with_column("days_from_admission"), format!("expected a number of days, found {d:?}"));
            }
            v
        });
        if let Some(d) = table.get(row, "collection_date") {
            match window::parse_iso_date(d) {
                None => c.error(loc().with_column("collection_date"), format!("bad date {d:?}; expected YYYY-MM-DD")),
                Some(day) => {
                    match (patient.and_then(|p| p.admission_day), &config.patients) {
                        // Without a patients table every dated row would fail alike: one error,
                        // at the config, after the rows.
                        (None, None) => dated_without_patients.push(row.line),
                        // A patient missing from the table has its error above.
                        (None, Some(_)) if patient.is_none() => {}
                        (None, Some(table)) => c.error(
                            loc().with_column("collection_date"),
                            format!(
                                "collection_date needs the patient's admission_date in {} (or give \
                                 days_from_admission instead)",
                                table.display()
                            ),
                        ),
                        (Some(adm), _) => {
                            let from_date = (day - adm) as f64;
                            match days {
                            Some(given) if given != from_date => c.error(
                                loc(),
                                format!("days_from_admission {given} disagrees with collection_date {d} (day {from_date})"),
                            ),
                            _ => {
                                days = Some(from_date);
                                dated_from_patients = true;
                            }
                        }
                        }
                    }
                }
            }
        }
        if let Some(d) = days
            && d < -2.0
        {
            // Dated from the patients table, the mistake may be the admission date there.
            let source = match (&patient_id, &config.patients) {
                (Some(pid), Some(table)) if dated_from_patients => {
                    format!(" (its collection_date against patient {pid:?}'s admission_date in {})", table.display())
                }
                _ => String::new(),
            };
            c.error(loc(), format!("sample collected {} days before ICU admission{source}", -d));
        }

        if let (Some(layer), Some(id)) = (layer, &sample_id)
            && let Some(prev) = ids.insert((layer, id.clone()), row.line)
        {
            c.error(
                loc().with_column("sample_id"),
                format!("duplicate sample_id {id:?} in layer {layer} (first on line {prev})"),
            );
        }
        if let (Some(layer), Some(pid)) = (layer, &patient_id)
            && layer.is_time_invariant()
            && let Some(prev) = slots.insert((layer, pid.clone(), usize::MAX), row.line)
        {
            c.error(
                loc(),
                format!(
                    "patient {pid:?} has two {layer} samples (the other on line {prev}); the {layer} is measured \
                     once per patient"
                ),
            );
        } else if let (Some(layer), Some(pid), Some(tp)) = (layer, &patient_id, timepoint)
            && !layer.is_time_invariant()
            && let Some(prev) = slots.insert((layer, pid.clone(), tp), row.line)
        {
            c.error(
                loc(),
                format!(
                    "patient {pid:?} has two {layer} samples at timepoint {:?} (the other on line {prev})",
                    tp_names[tp]
                ),
            );
        }

        let mut within_window = None;
        if let (Some(tp), Some(d)) = (timepoint, days) {
            let tpd = &timepoints[tp];
            if let Some(dev) = window::deviation(tpd, d, patient.and_then(|p| p.discharge_day)) {
                let ok = window::within(tpd, dev);
                within_window = Some(ok);
                if !ok && let (Some(pid), Some(layer)) = (&patient_id, layer) {
                    let key = (pid.clone(), tp, dev.to_bits());
                    let k = match late.iter().position(|d| d.key == key) {
                        Some(k) => k,
                        None => {
                            late.push(LateDraw { key, location: loc(), lines: Vec::new(), samples: Vec::new() });
                            late.len() - 1
                        }
                    };
                    late[k].lines.push(row.line);
                    late[k].samples.push(format!("{:?} ({layer})", sample_id.as_deref().unwrap_or("")));
                }
            }
        }
        let new_errors = c.problems[before..].iter().any(|p| p.severity == Severity::Error);
        if let (false, Some(sample_id), Some(patient_id), Some(layer), Some(path)) =
            (new_errors, sample_id, patient_id, layer, file)
            && (timepoint.is_some() || layer.is_time_invariant())
        {
            if !patient_order.contains(&patient_id) {
                patient_order.push(patient_id.clone());
            }
            samples.push(Sample {
                sample_id,
                patient_id,
                timepoint,
                layer,
                path,
                path_2,
                batch: table.get(row, "batch").map(str::to_string),
                site: table.get(row, "site").map(str::to_string),
                days_from_admission: days,
                within_window,
                extra: extra_columns.iter().map(|col| table.get(row, col).map(str::to_string)).collect(),
                line: row.line,
            });
        }
    }
    if let Some(first) = dated_without_patients.first() {
        c.error(
            Location::file(config_path),
            format!(
                "{} has collection_date on {} rows (first on line {first}), but this config names no patients \
                 table to date them from: add `patients = \"patients.csv\"` (patient_id, admission_date, \
                 discharge_date) or give days_from_admission instead",
                path.display(),
                dated_without_patients.len()
            ),
        );
    }
    // One warning per blood draw, however many layers were measured on it.
    for d in late {
        let (pid, tp, dev) = d.key;
        let tpd = &timepoints[tp];
        let others = if d.lines.len() > 1 {
            format!(" (also lines {})", d.lines[1..].iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        } else {
            String::new()
        };
        c.warning(
            d.location,
            format!(
                "patient {pid:?}'s {} draw was collected {:+} days from its nominal day; the window is -{}..+{} days; \
                 it affects {}{others}",
                tpd.name,
                f64::from_bits(dev),
                tpd.window_before_days,
                tpd.window_after_days,
                d.samples.join(", ")
            ),
        );
    }
    (samples, extra_columns, patient_order)
}

/// A blood draw outside its protocol window: (patient, timepoint, deviation) and the samplesheet
/// rows measured on it, warned about once.
struct LateDraw {
    key: (String, usize, u64),
    location: Location,
    lines: Vec<u64>,
    samples: Vec<String>,
}

/// Sample ids become file names (`samples/<id>.parquet`): no separators, no `..`, no spaces.
fn is_safe_id(id: &str) -> bool {
    !id.starts_with('.') && id.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '+'))
}

/// Checks that an input exists, is a readable regular file and is not empty (once per path);
/// returns whether it is.
fn check_input_file(
    path: &Path,
    loc: &Location,
    what: &str,
    seen: &mut HashMap<PathBuf, bool>,
    c: &mut Collector,
) -> bool {
    if let Some(&ok) = seen.get(path) {
        return ok;
    }
    let message = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("{what} file {} does not exist", path.display()))
        }
        Err(e) => Some(format!("cannot stat {what} file {}: {e}", path.display())),
        Ok(m) if !m.is_file() => Some(format!("{what} {} is not a regular file", path.display())),
        Ok(m) if m.len() == 0 => Some(format!("{what} file {} is empty", path.display())),
        Ok(_) => std::fs::File::open(path).err().map(|e| format!("cannot open {what} file {}: {e}", path.display())),
    };
    seen.insert(path.to_path_buf(), message.is_none());
    match message {
        Some(m) => {
            c.error(loc.clone(), m);
            false
        }
        None => true,
    }
}
