//! The identity check of `run` (and `validate --identity`): every alignment sample of the cohort
//! (RNA and bisulfite BAM/SAM) and every genome, compared pairwise at the panel's sites, then one
//! verdict per sample from its own patient's samples against the best other patient's. Writes
//! `identity/samples.parquet` (per sample), `identity/pairs.parquet` (per pair) and
//! `identity/patients.parquet` (the pairs summed by patient pair), and one
//! manifest warning per suspect sample; with `strict`, a suspect fails the run after the tables
//! are written, so they can be read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray, UInt32Array, UInt64Array};
use rayon::prelude::*;
use serde_json::json;

use super::{At, RunError, arrow_err, metadata, stage};
use crate::cohort::{Cohort, Layer, Sample};
use crate::identity::panel::{Panel, PanelFilter};
use crate::identity::pileup::{self, PileupOptions, PileupStats};
use crate::identity::relate::{self, Comparison, Evidence, SampleIdentity, Verdict};
use crate::identity::{IdentityOptions, InputError};
use crate::output::manifest::StageReport;
use crate::output::report::IdentityView;

/// What the check will read; `None` from [`plan`] when there is nothing to check.
pub struct Plan<'a> {
    /// The sites file (the `[identity] sites` VCF or the genome layer's).
    pub sites: PathBuf,
    /// Samples read from alignments, in samplesheet order.
    pub alignments: Vec<&'a Sample>,
    /// Genome samples, in samplesheet order.
    pub genomes: Vec<&'a Sample>,
}

/// The check `run` makes for this cohort, or why there is none.
pub fn plan(cohort: &Cohort) -> Result<Plan<'_>, String> {
    let options = &cohort.config.identity;
    if !options.enabled {
        return Err("identity checks are off ([identity] enabled = false)".into());
    }
    let genomes = cohort.samples_of(Layer::Genome);
    let sites = match (&options.sites, genomes.first()) {
        (Some(s), _) => s.clone(),
        (None, Some(g)) => g.path.clone(),
        (None, None) => {
            return Err("identity checks need sites: a genome layer or `[identity] sites = \"panel.vcf.gz\"`".into());
        }
    };
    let alignments: Vec<&Sample> = cohort
        .samples
        .iter()
        // Told apart by their bytes, as the epigenome layer tells alignments from per-CpG tables
        // (and RNA alignments from imported quantifications). A file that cannot be sniffed was
        // refused by its layer's step, which runs first.
        .filter(|s| {
            matches!(s.layer, Layer::Transcriptome | Layer::Epigenome)
                && crate::epigenome::import::is_alignment(&s.path).unwrap_or(false)
        })
        .collect();
    if alignments.is_empty() && genomes.len() < 2 {
        return Err("identity checks need alignment files (BAM/SAM) or two genomes".into());
    }
    Ok(Plan { sites, alignments, genomes })
}

/// One thing compared: an alignment sample or a genome.
struct Entity<'a> {
    sample: &'a Sample,
    evidence: Evidence,
    stats: Option<PileupStats>,
}

/// Runs the check into `<dir>/samples.parquet` and `<dir>/pairs.parquet`; returns the paths.
pub fn check(
    cohort: &Cohort,
    plan: &Plan<'_>,
    dir: &Path,
    stages: &mut Vec<StageReport>,
) -> Result<Vec<PathBuf>, RunError> {
    let options: &IdentityOptions = &cohort.config.identity;
    options.check().map_err(|message| RunError::Config { at: At::config(cohort, "[identity]"), message })?;
    let params = json!({ "sites": plan.sites, "options": options });
    let mut suspects = Vec::new();
    let written = stage::stage(stages, "identity", params, |report| {
        let filter = PanelFilter { min_maf: options.min_maf, min_call_rate: 0.9, max_sites: options.max_sites };
        let panel = Panel::read(&plan.sites, &filter).map_err(identity_input)?;
        let pileup_options = PileupOptions { min_mapq: options.min_mapq, min_base_quality: options.min_base_quality };
        let counted: Vec<_> = plan
            .alignments
            .par_iter()
            .map(|s| pileup::count(&s.path, &panel, &pileup_options))
            .collect::<Result<_, _>>()
            .map_err(identity_input)?;
        let mut entities: Vec<Entity> = plan
            .alignments
            .iter()
            .zip(counted.iter())
            .map(|(s, (counts, stats))| Entity {
                sample: s,
                evidence: Evidence::from_counts(
                    counts,
                    options.error_rate,
                    options.max_depth,
                    options.min_depth_called,
                ),
                stats: Some(*stats),
            })
            .collect();
        if !plan.genomes.is_empty() && !panel.samples.is_empty() {
            let columns = super::genome::vcf_columns(cohort, &plan.genomes, &panel.samples)?;
            for (s, (column, _)) in plan.genomes.iter().zip(columns) {
                entities.push(Entity {
                    sample: s,
                    evidence: Evidence::from_genotypes(&panel.genotypes[column]),
                    stats: None,
                });
            }
        }
        let priors = site_priors(&panel, &counted);
        let n = entities.len();
        let site_cap = 100f64.ln();
        // Row `a` holds the comparisons with every later entity.
        let rows: Vec<Vec<Comparison>> = (0..n)
            .into_par_iter()
            .map(|a| {
                (a + 1..n)
                    .map(|b| relate::compare(&entities[a].evidence, &entities[b].evidence, &priors, site_cap))
                    .collect()
            })
            .collect();
        let mut llr = vec![vec![0.0; n]; n];
        for (a, row) in rows.iter().enumerate() {
            for (k, c) in row.iter().enumerate() {
                llr[a][a + 1 + k] = c.llr;
                llr[a + 1 + k][a] = c.llr;
            }
        }
        let patient_ids: Vec<&str> = entities.iter().map(|e| e.sample.patient_id.as_str()).collect();
        let mut distinct: Vec<&str> = patient_ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let patient: Vec<usize> = patient_ids.iter().map(|p| distinct.binary_search(p).unwrap_or_default()).collect();
        let verdicts: Vec<SampleIdentity> = (0..n)
            .map(|s| {
                relate::judge(
                    s,
                    &llr,
                    &patient,
                    entities[s].evidence.covered(),
                    options.min_sites as usize,
                    options.decisive_llr,
                )
            })
            .collect();

        std::fs::create_dir_all(dir).map_err(super::io_err(dir))?;
        let meta = metadata(cohort, None, &[("identity.sites", plan.sites.display().to_string())]);
        let samples_path = dir.join("samples.parquet");
        let batch = samples_batch(cohort, &entities, &verdicts, &distinct).map_err(arrow_err(&samples_path))?;
        crate::io::parquet::write_batch(&samples_path, batch, &meta)?;
        let pairs_path = dir.join("pairs.parquet");
        let batch = pairs_batch(&entities, &rows).map_err(arrow_err(&pairs_path))?;
        crate::io::parquet::write_batch(&pairs_path, batch, &meta)?;
        let patients_path = dir.join("patients.parquet");
        let batch = patients_batch(&patient, &distinct, &rows).map_err(arrow_err(&patients_path))?;
        crate::io::parquet::write_batch(&patients_path, batch, &meta)?;

        let mut counts = std::collections::BTreeMap::new();
        for (e, v) in entities.iter().zip(&verdicts) {
            *counts.entry(v.verdict.as_str()).or_insert(0usize) += 1;
            if v.verdict.is_problem() {
                let message = describe(e.sample, v, &distinct);
                suspects.push(message.clone());
                report.warnings.push(message);
            }
        }
        report.counts = json!({
            "sites": panel.sites.len(),
            "sites_skipped": panel.skipped,
            "alignment_samples": plan.alignments.len(),
            "genomes": entities.len() - plan.alignments.len(),
            "pairs": n * n.saturating_sub(1) / 2,
            "verdicts": counts,
        });
        Ok::<_, RunError>(vec![samples_path, pairs_path, patients_path])
    })?;
    if options.strict && !suspects.is_empty() {
        return Err(RunError::Samples {
            at: At::file(&cohort.config.samplesheet),
            message: format!(
                "identity check failed (strict: `--identity strict` or `[identity] strict = true`): {}; see {}",
                suspects.join("; "),
                dir.join("samples.parquet").display()
            ),
        });
    }
    Ok(written)
}

/// `validate --identity`: the check alone, into `<out>/identity/`; one line on what it found
/// (the warnings go to stderr; a strict check's suspects are the error).
pub fn validate(cohort: &Cohort, out: &Path) -> Result<String, RunError> {
    let plan = match plan(cohort) {
        Ok(plan) => plan,
        Err(why) => return Ok(format!("identity: not checked: {why}")),
    };
    let mut stages = Vec::new();
    let dir = out.join("identity");
    check(cohort, &plan, &dir, &mut stages)?;
    let report = stages.last().cloned().unwrap_or_default();
    for w in &report.warnings {
        eprintln!("harmonomics: warning: {w}");
    }
    Ok(format!(
        "identity: {} alignment samples and {} genomes checked at {} sites; verdicts {}; {} suspect; tables in {}",
        plan.alignments.len(),
        plan.genomes.len(),
        report.counts["sites"],
        report.counts["verdicts"],
        report.warnings.len(),
        dir.display()
    ))
}

/// What the report shows of the check: read back from `dir` (`<out>/identity`) when this cohort
/// is checked, with the genome's sex check from `genome_dir`'s `qc.parquet`.
pub(crate) fn report_view(
    cohort: &Cohort,
    dir: &Path,
    genome_dir: Option<&Path>,
) -> Result<Option<IdentityView>, RunError> {
    use crate::io::parquet::read_table;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
    let mut view = IdentityView::default();
    if plan(cohort).is_ok() && dir.join("samples.parquet").is_file() {
        let read = |name: &str| {
            let path = dir.join(name);
            read_table(&path).map_err(super::io_err(&path))
        };
        let samples = read("samples.parquet")?;
        let col = |t: &crate::io::parquet::Table, name: &str| t.column(name).unwrap_or(usize::MAX);
        let (verdict, id, layer, patient, best, own, other) = (
            col(&samples, "verdict"),
            col(&samples, "sample_id"),
            col(&samples, "layer"),
            col(&samples, "patient_id"),
            col(&samples, "best_other_patient"),
            col(&samples, "own_patient_llr"),
            col(&samples, "best_other_llr"),
        );
        let cell = |row: &[serde_json::Value], k: usize| row.get(k).cloned().unwrap_or_default();
        let number =
            |row: &[serde_json::Value], k: usize| cell(row, k).as_f64().map_or("n/a".into(), |v| format!("{v:+.1}"));
        let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for row in &samples.rows {
            let v = text(&cell(row, verdict));
            *counts.entry(v.clone()).or_default() += 1;
            if v != "match" && v != "inconclusive" && v != "alone" {
                view.suspects.push([
                    text(&cell(row, id)),
                    text(&cell(row, layer)),
                    text(&cell(row, patient)),
                    v,
                    text(&cell(row, best)),
                    number(row, own),
                    number(row, other),
                ]);
            }
        }
        view.verdicts = counts.into_iter().collect();
        // Up to 200 samples the heatmap is by sample, grouped by patient (a swap shows as its own
        // row); above, by patient.
        if samples.rows.len() <= 200 {
            let mut order: Vec<(usize, String, String)> = samples
                .rows
                .iter()
                .map(|row| {
                    let p = text(&cell(row, patient));
                    let rank = cohort.patients.iter().position(|q| q.patient_id == p).unwrap_or(usize::MAX);
                    (rank, p, format!("{} ({})", text(&cell(row, id)), text(&cell(row, layer))))
                })
                .collect();
            order.sort();
            view.labels = order.iter().map(|o| (o.2.clone(), o.1.clone())).collect();
            let pairs = read("pairs.parquet")?;
            let index = |s: &serde_json::Value, l: &serde_json::Value| {
                let key = format!("{} ({})", text(s), text(l));
                view.labels.iter().position(|x| x.0 == key)
            };
            let (a, b, la, lb, sites, llr) = (
                col(&pairs, "sample_a"),
                col(&pairs, "sample_b"),
                col(&pairs, "layer_a"),
                col(&pairs, "layer_b"),
                col(&pairs, "sites"),
                col(&pairs, "llr"),
            );
            for row in &pairs.rows {
                if let (Some(p), Some(q)) = (index(&cell(row, a), &cell(row, la)), index(&cell(row, b), &cell(row, lb)))
                {
                    let n = cell(row, sites).as_u64().unwrap_or(0);
                    let per_site = cell(row, llr).as_f64().filter(|_| n > 0).map(|l| l / n as f64);
                    view.cells.push((p, q, 1, per_site));
                }
            }
        } else {
            let patients = read("patients.parquet")?;
            view.labels = cohort.patients.iter().map(|p| (p.patient_id.clone(), p.patient_id.clone())).collect();
            let index = |v: &serde_json::Value| view.labels.iter().position(|l| l.0 == text(v));
            let (a, b, pairs, per_site) = (
                col(&patients, "patient_a"),
                col(&patients, "patient_b"),
                col(&patients, "pairs"),
                col(&patients, "llr_per_site"),
            );
            for row in &patients.rows {
                if let (Some(p), Some(q)) = (index(&cell(row, a)), index(&cell(row, b))) {
                    view.cells.push((p, q, cell(row, pairs).as_u64().unwrap_or(0), cell(row, per_site).as_f64()));
                }
            }
        }
    }
    if let Some(genome_dir) = genome_dir
        && genome_dir.join("qc.parquet").is_file()
    {
        let path = genome_dir.join("qc.parquet");
        let qc = read_table(&path).map_err(super::io_err(&path))?;
        let (id, inferred, f) = (
            qc.column("sample_id").unwrap_or(usize::MAX),
            qc.column("inferred_sex").unwrap_or(usize::MAX),
            qc.column("x_f"),
        );
        for row in &qc.rows {
            let sample_id = text(&row.get(id).cloned().unwrap_or_default());
            let Some(sample) = cohort.samples.iter().find(|s| s.layer == Layer::Genome && s.sample_id == sample_id)
            else {
                continue;
            };
            let recorded = super::sample_attribute(cohort, sample, "sex").unwrap_or_default();
            let f = f
                .and_then(|k| row.get(k))
                .and_then(serde_json::Value::as_f64)
                .map_or("n/a".into(), |v| format!("{v:.3}"));
            let genetic = text(&row.get(inferred).cloned().unwrap_or_default());
            let clash = crate::genome::qc::recorded_sex(&recorded)
                .is_some_and(|r| (genetic == "male" || genetic == "female") && r != genetic);
            view.sex.push(([sample.patient_id.clone(), sample_id, recorded, genetic, f], clash));
        }
    }
    Ok((!view.verdicts.is_empty() || !view.sex.is_empty()).then_some(view))
}

fn identity_input(e: InputError) -> RunError {
    RunError::Identity(e)
}

/// Hardy–Weinberg priors per site: the genotypes' ALT frequency where the file has genotypes,
/// else the mean ALT fraction of the samples that cover the site.
fn site_priors(panel: &Panel, counted: &[(Vec<pileup::AlleleCounts>, PileupStats)]) -> Vec<[f64; 3]> {
    (0..panel.sites.len())
        .map(|i| {
            let f = panel.alt_frequency[i].unwrap_or_else(|| {
                let (sum, n) = counted
                    .iter()
                    .map(|(c, _)| c[i])
                    .filter(|c| c.depth() > 0)
                    .fold((0.0, 0usize), |(s, n), c| (s + f64::from(c.alternate) / f64::from(c.depth()), n + 1));
                if n == 0 { 0.5 } else { sum / n as f64 }
            });
            relate::priors(f)
        })
        .collect()
}

/// One warning line for a suspect sample: both ids and the evidence.
fn describe(sample: &Sample, v: &SampleIdentity, patients: &[&str]) -> String {
    let own = v.own.map_or_else(|| "no other sample".into(), |o| format!("LLR {o:+.1}"));
    let other = v.best_other.map(|(p, l)| format!("patient {} (LLR {l:+.1})", patients[p]));
    let head = format!("identity: {} sample {} of patient {}", sample.layer, sample.sample_id, sample.patient_id);
    match (v.verdict, other) {
        (Verdict::Swap, Some(o)) => {
            format!(
                "{head} matches {o}, not its own patient's other samples ({own}) over {} sites: a sample swap?",
                v.covered
            )
        }
        (Verdict::Ambiguous, Some(o)) => format!(
            "{head} matches its own patient ({own}) but {o} better, over {} sites: relatives or a contamination?",
            v.covered
        ),
        _ => format!(
            "{head} matches none of the cohort's patients, not its own ({own}), over {} sites: a sample from outside the cohort?",
            v.covered
        ),
    }
}

fn samples_batch(
    cohort: &Cohort,
    entities: &[Entity<'_>],
    verdicts: &[SampleIdentity],
    patients: &[&str],
) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let strings =
        |f: &dyn Fn(usize) -> Option<String>| Arc::new(StringArray::from_iter((0..entities.len()).map(f))) as ArrayRef;
    let stat = |f: &dyn Fn(&PileupStats) -> u64| {
        Arc::new(UInt64Array::from_iter(entities.iter().map(|e| e.stats.as_ref().map(f)))) as ArrayRef
    };
    crate::io::parquet::batch(vec![
        ("sample_id", strings(&|i| Some(entities[i].sample.sample_id.clone()))),
        ("patient_id", strings(&|i| Some(entities[i].sample.patient_id.clone()))),
        ("layer", strings(&|i| Some(entities[i].sample.layer.as_str().to_string()))),
        ("timepoint", strings(&|i| cohort.timepoint_of(entities[i].sample).map(|t| t.name.clone()))),
        (
            "sites_covered",
            Arc::new(UInt32Array::from_iter_values(entities.iter().map(|e| e.evidence.covered() as u32))) as ArrayRef,
        ),
        ("bases_counted", stat(&|s| s.bases)),
        ("bases_other_allele", stat(&|s| s.other_bases)),
        ("bases_bisulfite_ambiguous", stat(&|s| s.bisulfite_ambiguous)),
        ("own_patient_llr", Arc::new(Float64Array::from_iter(verdicts.iter().map(|v| v.own))) as ArrayRef),
        ("best_other_patient", strings(&|i| verdicts[i].best_other.map(|(p, _)| patients[p].to_string()))),
        (
            "best_other_llr",
            Arc::new(Float64Array::from_iter(verdicts.iter().map(|v| v.best_other.map(|b| b.1)))) as ArrayRef,
        ),
        ("verdict", strings(&|i| Some(verdicts[i].verdict.as_str().to_string()))),
    ])
}

/// The pairs summed by patient pair (each unordered pair once, a patient with itself included):
/// the heatmap's cells, small enough for a report at any cohort size.
fn patients_batch(
    patient: &[usize],
    names: &[&str],
    rows: &[Vec<Comparison>],
) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let n = names.len();
    // (pairs, sites, llr) per (lower, higher) patient index.
    let mut cells = vec![(0u64, 0u64, 0.0f64); n * n];
    for (a, row) in rows.iter().enumerate() {
        for (k, c) in row.iter().enumerate() {
            let (p, q) = (patient[a], patient[a + 1 + k]);
            let cell = &mut cells[p.min(q) * n + p.max(q)];
            cell.0 += 1;
            cell.1 += u64::from(c.sites);
            cell.2 += c.llr;
        }
    }
    let keys: Vec<(usize, usize)> =
        (0..n).flat_map(|p| (p..n).map(move |q| (p, q))).filter(|&(p, q)| cells[p * n + q].0 > 0).collect();
    let cell = |k: &(usize, usize)| cells[k.0 * n + k.1];
    crate::io::parquet::batch(vec![
        ("patient_a", Arc::new(StringArray::from_iter_values(keys.iter().map(|k| names[k.0]))) as ArrayRef),
        ("patient_b", Arc::new(StringArray::from_iter_values(keys.iter().map(|k| names[k.1]))) as ArrayRef),
        ("pairs", Arc::new(UInt64Array::from_iter_values(keys.iter().map(|k| cell(k).0))) as ArrayRef),
        ("sites", Arc::new(UInt64Array::from_iter_values(keys.iter().map(|k| cell(k).1))) as ArrayRef),
        ("llr", Arc::new(Float64Array::from_iter_values(keys.iter().map(|k| cell(k).2))) as ArrayRef),
        (
            "llr_per_site",
            Arc::new(Float64Array::from_iter(keys.iter().map(|k| {
                let (_, sites, llr) = cell(k);
                (sites > 0).then(|| llr / sites as f64)
            }))) as ArrayRef,
        ),
    ])
}

fn pairs_batch<'a>(
    entities: &[Entity<'a>],
    rows: &[Vec<Comparison>],
) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let pairs: Vec<(usize, usize, &Comparison)> = rows
        .iter()
        .enumerate()
        .flat_map(|(a, row)| row.iter().enumerate().map(move |(k, c)| (a, a + 1 + k, c)))
        .collect();
    let strings = |f: &dyn Fn(usize) -> &'a str| {
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| f(p.0)))) as ArrayRef
    };
    let strings_b = |f: &dyn Fn(usize) -> &'a str| {
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| f(p.1)))) as ArrayRef
    };
    let u32s = |f: &dyn Fn(&Comparison) -> u32| {
        Arc::new(UInt32Array::from_iter_values(pairs.iter().map(|p| f(p.2)))) as ArrayRef
    };
    crate::io::parquet::batch(vec![
        ("sample_a", strings(&|i| entities[i].sample.sample_id.as_str())),
        ("sample_b", strings_b(&|i| entities[i].sample.sample_id.as_str())),
        ("patient_a", strings(&|i| entities[i].sample.patient_id.as_str())),
        ("patient_b", strings_b(&|i| entities[i].sample.patient_id.as_str())),
        ("layer_a", strings(&|i| entities[i].sample.layer.as_str())),
        ("layer_b", strings_b(&|i| entities[i].sample.layer.as_str())),
        ("sites", u32s(&|c| c.sites)),
        ("llr", Arc::new(Float64Array::from_iter_values(pairs.iter().map(|p| p.2.llr))) as ArrayRef),
        ("called", u32s(&|c| c.called)),
        ("ibs0", u32s(&|c| c.ibs0)),
        ("ibs2", u32s(&|c| c.ibs2)),
        ("shared_hets", u32s(&|c| c.shared_hets)),
        ("hets_a", u32s(&|c| c.hets_a)),
        ("hets_b", u32s(&|c| c.hets_b)),
        ("relatedness", Arc::new(Float64Array::from_iter(pairs.iter().map(|p| p.2.relatedness()))) as ArrayRef),
    ])
}
