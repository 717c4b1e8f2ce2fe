//! The microbiome layer: taxon profiles (one shared table, or one profile per sample) summed to a
//! rank, filtered and normalised as one cohort, written as
//! `microbiome/{features,raw,normalised,qc}.parquet`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array};
use rayon::prelude::*;
use serde_json::json;

use super::context::{RunContext, json_text};
use super::layer::{LayerStep, QcTable};
use super::{At, RunError, arrow_err, io_err, metadata, sample_attribute, stage};
use crate::cohort::{Cohort, Layer, Sample};
use crate::io::parquet::{batch, write_batch, write_matrix, write_matrix_as_counts};
use crate::matrix::FeatureMatrix;
use crate::microbiome::process::{self, MicrobiomeOptions, Processed};
use crate::microbiome::profile::{self, Abundance};
use crate::microbiome::table::{self, TaxonTable};
use crate::microbiome::taxonomy::{Naming, Rank};

/// The microbiome's [`LayerStep`]: its inputs are read whole (tables are small next to BAMs).
pub(crate) struct Microbiome;

impl LayerStep for Microbiome {
    fn options(&self, cohort: &Cohort) -> Result<String, RunError> {
        json_text(&cohort.config.microbiome)
    }

    fn whole(&self, _cohort: &Cohort, _samples: &[&Sample]) -> Result<String, RunError> {
        Ok("microbiome profiles are read whole by `harmonomics normalise layer --layer microbiome`: there is \
            nothing to quantify per sample"
            .into())
    }

    fn step_inputs(&self, cohort: &Cohort) -> Vec<(&'static str, PathBuf)> {
        cohort.config.microbiome.taxonomy.iter().map(|p| ("taxonomy", p.clone())).collect()
    }

    fn assemble(&self, ctx: &mut RunContext, samples: &[&Sample], dir: &Path) -> Result<(), RunError> {
        run_layer(ctx, samples, dir)
    }

    fn qc(&self) -> QcTable {
        QcTable {
            file: "qc.parquet",
            keys: &["sample_id"],
            description: "microbiome: reads, exclusion, alpha diversity and PCoA coordinates per sample",
        }
    }
}

fn input_err(e: crate::microbiome::InputError) -> RunError {
    match e {
        crate::microbiome::InputError::Io { location, source } => RunError::Io { path: location.path, source },
        crate::microbiome::InputError::Malformed { location, message } => {
            RunError::Samples { at: At::File(location), message }
        }
    }
}

/// The study samples' counts at the configured rank, and the blanks' columns.
struct Inputs {
    matrix: FeatureMatrix<f64>,
    blanks: Vec<Vec<f64>>,
    source: &'static str,
    /// Lineages written in GTDB's naming, and lineages with any name at all (tables only).
    naming: (usize, usize),
}

/// Reads one shared table (every row names the same file) or one profile per sample.
fn read_inputs(cohort: &Cohort, samples: &[&Sample], rank: Rank) -> Result<Inputs, RunError> {
    let options = &cohort.config.microbiome;
    let config_at = || At::config(cohort, "[microbiome]");
    let shared = samples.iter().all(|s| s.path == samples[0].path);
    if shared {
        let path = &samples[0].path;
        let is_biom = table::is_biom(path);
        let mut t: TaxonTable = table::read(path).map_err(input_err)?;
        if let Some(taxonomy) = &options.taxonomy {
            t.assign(taxonomy).map_err(input_err)?;
        }
        let named = t.lineages.iter().filter(|l| l.deepest().is_some()).count();
        let gtdb = t.lineages.iter().filter(|l| l.naming() == Naming::Gtdb).count();
        let m = t.at_rank(rank);
        let index: BTreeMap<&str, usize> = m.sample_ids.iter().enumerate().map(|(j, id)| (id.as_str(), j)).collect();
        let pick = |name: &str| index.get(name).and_then(|&j| m.columns[j].clone());
        let mut columns = Vec::with_capacity(samples.len());
        for s in samples {
            let name = match &options.column {
                Some(c) => sample_attribute(cohort, s, c).ok_or_else(|| RunError::Samples {
                    at: At::File(crate::error::Location::line(&cohort.config.samplesheet, s.line)),
                    message: format!("sample {} has no value in column {c:?} ([microbiome] column)", s.sample_id),
                })?,
                None => s.sample_id.clone(),
            };
            columns.push(pick(&name).ok_or_else(|| RunError::Samples {
                at: At::file(path),
                message: format!(
                    "no column {name:?} for sample {} (samplesheet line {}); the table has {}",
                    s.sample_id,
                    s.line,
                    super::preview(&m.sample_ids)
                ),
            })?);
        }
        let blanks = options
            .blanks
            .iter()
            .map(|b| {
                pick(b).ok_or_else(|| RunError::Config {
                    at: config_at(),
                    message: format!(
                        "blank {b:?} is not a column of {}; it has {}",
                        path.display(),
                        super::preview(&m.sample_ids)
                    ),
                })
            })
            .collect::<Result<_, _>>()?;
        let matrix =
            FeatureMatrix::new(m.feature_ids.clone(), samples.iter().map(|s| s.sample_id.clone()).collect(), columns);
        return Ok(Inputs { matrix, blanks, source: if is_biom { "biom" } else { "table" }, naming: (gtdb, named) });
    }
    if !options.blanks.is_empty() {
        return Err(RunError::Config {
            at: config_at(),
            message: "`blanks` names columns of a shared table, but these samples each have their own profile; \
                      list blanks as study rows of one table, or leave `blanks` out"
                .into(),
        });
    }
    // One profile per sample, read in parallel.
    /// A sample's profile at the rank: its kind of values, (taxon, value) rows, and the format.
    type AtRank = (Abundance, Vec<(String, f64)>, &'static str);
    let profiles: Vec<AtRank> = samples
        .par_iter()
        .map(|s| {
            let (p, kind) = if is_metaphlan(&s.path) {
                (profile::read_metaphlan(&s.path), "metaphlan")
            } else {
                (profile::read_kraken_report(&s.path), "kraken2")
            };
            let p = p.map_err(input_err)?;
            Ok((p.abundance, p.at_rank(rank), kind))
        })
        .collect::<Result<_, RunError>>()?;
    if let Some(k) = profiles.iter().position(|p| p.0 != profiles[0].0) {
        let what = |a: Abundance| if a == Abundance::Reads { "read counts" } else { "percentages" };
        return Err(RunError::Samples {
            at: At::file(&samples[k].path),
            message: format!(
                "holds {} where {} holds {}; profiles of one cohort must be all read counts or all percentages",
                what(profiles[k].0),
                samples[0].path.display(),
                what(profiles[0].0)
            ),
        });
    }
    let mut ids: BTreeMap<&str, usize> =
        profiles.iter().flat_map(|p| p.1.iter().map(|(id, _)| (id.as_str(), 0))).collect();
    for (i, v) in ids.values_mut().enumerate() {
        *v = i;
    }
    let columns = profiles
        .iter()
        .map(|(_, entries, _)| {
            let mut c = vec![0.0; ids.len()];
            for (id, v) in entries {
                c[ids[id.as_str()]] += v;
            }
            c
        })
        .collect();
    let matrix = FeatureMatrix::new(
        ids.keys().map(|k| k.to_string()).collect(),
        samples.iter().map(|s| s.sample_id.clone()).collect(),
        columns,
    );
    // Kraken2 and MetaPhlAn name taxa by NCBI's taxonomy.
    Ok(Inputs { matrix, blanks: Vec::new(), source: profiles[0].2, naming: (0, 0) })
}

/// Whether a per-sample profile is MetaPhlAn's (its header or clade names), else a Kraken2 report.
fn is_metaphlan(path: &Path) -> bool {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path).and_then(|mut f| crate::io::read_up_to(&mut f, &mut head)).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    text.lines().any(|l| l.starts_with("#mpa") || l.starts_with("#clade_name") || l.starts_with("k__"))
}

/// Runs the layer for `run`.
fn run_layer(ctx: &mut RunContext, samples: &[&Sample], dir: &Path) -> Result<(), RunError> {
    let (cohort, stages, written) = (ctx.cohort, &mut ctx.stages, &mut ctx.written);
    let options: &MicrobiomeOptions = &cohort.config.microbiome;
    let rank =
        options.rank().map_err(|message| RunError::Config { at: At::config(cohort, "[microbiome]"), message })?;
    let params = json!({ "inputs": samples.iter().map(|s| &s.path).collect::<std::collections::BTreeSet<_>>(), "options": options });
    stage::stage(stages, "process_microbiome", params, |report| {
        let inputs = read_inputs(cohort, samples, rank)?;
        let p = process::process(&inputs.matrix, &inputs.blanks, &options.process)
            .map_err(|e| RunError::Design { at: At::config(cohort, "[microbiome.process]"), message: e.to_string() })?;
        let excluded: Vec<String> = p
            .samples
            .iter()
            .zip(&inputs.matrix.sample_ids)
            .filter_map(|(q, id)| q.excluded_by.map(|why| format!("{id} ({} reads; {why})", q.reads)))
            .collect();
        let contaminants: Vec<&str> = p
            .taxa
            .iter()
            .zip(&inputs.matrix.feature_ids)
            .filter(|(t, _)| t.removed_by == Some("contaminant"))
            .map(|(_, id)| id.as_str())
            .collect();
        if !excluded.is_empty() {
            report.warnings.push(format!(
                "microbiome: {} sample(s) left out of normalisation, their values null: {}",
                excluded.len(),
                excluded.join(", ")
            ));
        }
        if !contaminants.is_empty() {
            report.warnings.push(format!(
                "microbiome: {} taxa removed as blank contaminants: {}",
                contaminants.len(),
                contaminants.join(", ")
            ));
        }
        let (gtdb, named) = inputs.naming;
        if gtdb > 0 && gtdb < named {
            report.warnings.push(format!(
                "microbiome: {gtdb} of {named} lineages follow GTDB's naming (split taxa such as Firmicutes_A) and the \
                 others do not; GTDB renames and splits NCBI/SILVA taxa, so rows from two databases do not line up at \
                 any rank: classify every sample against one database"
            ));
        }
        report.counts = json!({
            "source": inputs.source,
            "gtdb_lineages": gtdb,
            "rank": options.rank,
            "samples": samples.len(),
            "excluded_samples": excluded.len(),
            "blanks": inputs.blanks.len(),
            "taxa": inputs.matrix.feature_ids.len(),
            "kept": p.kept.len(),
            "contaminants": contaminants.len(),
        });
        let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Microbiome), extra);
        written.extend(write_outputs(dir, &inputs.matrix, &p, options, &meta)?);
        Ok::<_, RunError>(())
    })
}

/// Writes the four tables; returns their paths.
fn write_outputs(
    dir: &Path,
    raw: &FeatureMatrix<f64>,
    p: &Processed,
    options: &MicrobiomeOptions,
    meta: &crate::io::parquet::MetadataFor<'_>,
) -> Result<Vec<PathBuf>, RunError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let paths: Vec<PathBuf> =
        ["features.parquet", "raw.parquet", "normalised.parquet", "qc.parquet"].iter().map(|f| dir.join(f)).collect();
    let t = &p.taxa;
    let features = batch(vec![
        ("feature_id", Arc::new(StringArray::from(raw.feature_ids.clone())) as ArrayRef),
        ("prevalence", Arc::new(Float64Array::from_iter_values(t.iter().map(|s| s.prevalence)))),
        ("mean_relative_abundance", Arc::new(Float64Array::from_iter_values(t.iter().map(|s| s.mean_abundance)))),
        (
            "blank_relative_abundance",
            Arc::new(Float64Array::from(t.iter().map(|s| s.blank_abundance).collect::<Vec<_>>())),
        ),
        ("kept", Arc::new(BooleanArray::from(t.iter().map(|s| s.removed_by.is_none()).collect::<Vec<_>>()))),
        ("removed_by", Arc::new(StringArray::from(t.iter().map(|s| s.removed_by).collect::<Vec<_>>()))),
    ])
    .map_err(arrow_err(&paths[0]))?;
    write_batch(&paths[0], features, &meta(&[("rank", options.rank.clone())]))?;
    if p.counts {
        write_matrix_as_counts(&paths[1], raw, &meta(&[("values", "reads per taxon as read".into())]))?;
    } else {
        write_matrix(&paths[1], raw, &meta(&[("values", "relative abundance (percent) as read".into())]))?;
    }
    let params = json_text(&options.process)?;
    let method = serde_json::to_value(options.process.normalisation).map_err(RunError::Serialise)?;
    let method = method.as_str().unwrap_or_default().to_string();
    write_matrix(&paths[2], &p.normalised, &meta(&[("method", method), ("params", params)]))?;
    let s = &p.samples;
    let coordinate = |f: fn(&process::SampleQc) -> Option<[f64; 2]>, k: usize| -> ArrayRef {
        Arc::new(Float64Array::from(s.iter().map(|q| f(q).map(|c| c[k])).collect::<Vec<_>>()))
    };
    let explained = json!({ "aitchison": p.explained[0], "bray_curtis": p.explained[1] }).to_string();
    let qc = batch(vec![
        ("sample_id", Arc::new(StringArray::from(raw.sample_ids.clone())) as ArrayRef),
        ("reads", Arc::new(Float64Array::from_iter_values(s.iter().map(|q| q.reads)))),
        ("excluded_by", Arc::new(StringArray::from(s.iter().map(|q| q.excluded_by).collect::<Vec<_>>()))),
        ("observed", Arc::new(UInt64Array::from_iter_values(s.iter().map(|q| q.observed as u64)))),
        ("shannon", Arc::new(Float64Array::from(s.iter().map(|q| q.shannon).collect::<Vec<_>>()))),
        ("simpson", Arc::new(Float64Array::from(s.iter().map(|q| q.simpson).collect::<Vec<_>>()))),
        ("chao1", Arc::new(Float64Array::from(s.iter().map(|q| q.chao1).collect::<Vec<_>>()))),
        ("pcoa_aitchison_1", coordinate(|q| q.pcoa_aitchison, 0)),
        ("pcoa_aitchison_2", coordinate(|q| q.pcoa_aitchison, 1)),
        ("pcoa_bray_curtis_1", coordinate(|q| q.pcoa_bray_curtis, 0)),
        ("pcoa_bray_curtis_2", coordinate(|q| q.pcoa_bray_curtis, 1)),
    ])
    .map_err(arrow_err(&paths[3]))?;
    write_batch(&paths[3], qc, &meta(&[("pcoa_explained", explained)]))?;
    Ok(paths)
}
