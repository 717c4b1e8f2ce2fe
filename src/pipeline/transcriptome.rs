//! The transcriptome layer: reads per gene counted from alignments (featureCounts semantics)
//! sample by sample, or other quantifiers' tables imported whole; then the cohort's count
//! matrix, QC and every configured normalisation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::ArrayRef;
use rayon::prelude::*;
use serde_json::json;

use super::context::{RunContext, json_text};
use super::layer::{LayerStep, QcTable, open_sample_file, sample_file};
use super::{At, RunError, arrow_err, io_err, metadata, sample_attribute, stage};
use crate::annotation::{self, FeatureIndex};
use crate::cohort::{self, Cohort, Layer, ValidationError};
use crate::io::parquet::{write_batch, write_matrix, write_matrix_as_counts};
use crate::matrix::FeatureMatrix;
use crate::output::manifest::StageReport;
use crate::parallel::CollectInOrder;
use crate::transcriptome::quant::{Category, SampleCounts, quantify};
use crate::transcriptome::{normalise, tables};

/// The transcriptome's [`LayerStep`].
pub(crate) struct Transcriptome;

impl LayerStep for Transcriptome {
    fn options(&self, cohort: &Cohort) -> Result<String, RunError> {
        json_text(&cohort.config.transcriptome)
    }

    fn scatter(&self, cohort: &Cohort, samples: &[&cohort::Sample]) -> Result<Option<String>, RunError> {
        match imported_tool(cohort, samples)? {
            Some(_) => Ok(None),
            None => json_text(&cohort.config.transcriptome.quant).map(Some),
        }
    }

    fn whole(&self, cohort: &Cohort, samples: &[&cohort::Sample]) -> Result<String, RunError> {
        let tool = imported_tool(cohort, samples)?.map_or("imported", |t| t.name());
        Ok(format!(
            "the transcriptome rows are {tool} outputs, read together by `harmonomics normalise layer \
             --layer transcriptome`: there is nothing to quantify per sample"
        ))
    }

    fn sample_inputs(&self, cohort: &Cohort) -> Vec<PathBuf> {
        cohort.config.annotation.iter().map(|a| a.path.clone()).collect()
    }

    fn quantify(&self, ctx: &mut RunContext, samples: &[&cohort::Sample], dir: &Path) -> Result<(), RunError> {
        quantify_samples(ctx, samples, dir)
    }

    fn assemble(&self, ctx: &mut RunContext, samples: &[&cohort::Sample], dir: &Path) -> Result<(), RunError> {
        match imported_tool(ctx.cohort, samples)? {
            Some(tool) => import_layer(ctx, tool, dir, samples),
            None => {
                ctx.load_annotation()?;
                let Some((features, _)) = ctx.annotation.take() else { return Ok(()) };
                assemble_counts(ctx, samples, &features, dir)
            }
        }
    }

    fn qc(&self) -> QcTable {
        QcTable {
            file: "qc.parquet",
            keys: &["sample_id"],
            description: "featureCounts categories, assignment rate and strand check per RNA sample",
        }
    }
}

/// The cohort's `[annotation]`, read and indexed (the transcriptome needs one to count).
pub(crate) fn load_annotation(
    cohort: &Cohort,
    stages: &mut Vec<StageReport>,
) -> Result<(annotation::FeatureSet, FeatureIndex), RunError> {
    let Some(annotation_config) = &cohort.config.annotation else {
        return Err(RunError::Invalid(ValidationError {
            problems: vec![cohort::Problem {
                severity: cohort::Severity::Error,
                location: crate::error::Location::file(&cohort.config_path),
                message: "transcriptome samples need an [annotation] section".into(),
            }],
        }));
    };
    stage::stage(stages, "annotation", json!(annotation_config), |r| {
        let features = annotation_config.read()?;
        let index = FeatureIndex::new(&features);
        r.counts =
            json!({ "genes": features.genes.len(), "exons": features.exons.len(), "contigs": features.contigs.len() });
        Ok::<_, RunError>((features, index))
    })
}

/// Counts `samples` (the scatter step) into `<dir>/samples/<id>.parquet`, with the whole
/// featureCounts summary and the strand tally in the file's metadata, so the layer step can be
/// run later, elsewhere, from the files alone.
fn quantify_samples(ctx: &mut RunContext, samples: &[&cohort::Sample], dir: &Path) -> Result<(), RunError> {
    ctx.load_annotation()?;
    let (cohort, threads, progress) = (ctx.cohort, ctx.threads, ctx.progress);
    let Some((features, index)) = &ctx.annotation else { return Ok(()) };
    let (stages, written) = (&mut ctx.stages, &mut ctx.written);
    let options = &cohort.config.transcriptome;
    std::fs::create_dir_all(dir.join("samples")).map_err(io_err(dir))?;
    stage::stage(stages, "quantify", json!(options.quant), |r| {
        let bar = progress.bar(samples.len() as u64, "quantify");
        let quant_meta = json_text(&options.quant)?;
        // Parallel across samples first; spare threads decompress within a sample.
        let workers = (threads / samples.len().max(1)).max(1);
        let counted: Result<Vec<SampleCounts>, RunError> = samples
            .par_iter()
            .map(|s| {
                let counts = quantify(&s.path, features, index, &options.quant, workers)?;
                let path = sample_file(dir, s);
                let qc: serde_json::Map<String, serde_json::Value> =
                    Category::ALL.iter().map(|c| (c.name().to_string(), json!(counts.summary.get(*c)))).collect();
                let meta = metadata(
                    cohort,
                    Some(Layer::Transcriptome),
                    &[
                        ("sample_id", s.sample_id.clone()),
                        ("quant", quant_meta.clone()),
                        ("qc", serde_json::Value::Object(qc).to_string()),
                        ("strand", json!(counts.strand).to_string()),
                    ],
                );
                write_batch(&path, tables::sample_counts(features, &counts).map_err(arrow_err(&path))?, &meta)?;
                bar.inc(1);
                Ok(counts)
            })
            .collect_in_order();
        bar.finish_and_clear();
        let counted = counted?;
        let total: u64 = counted.iter().map(|c| c.summary.total()).sum();
        let assigned: u64 = counted.iter().map(|c| c.summary.get(Category::Assigned)).sum();
        r.counts = json!({ "samples": counted.len(), "alignments": total, "assigned": assigned });
        for (s, c) in samples.iter().zip(&counted) {
            if c.summary.get(Category::Assigned) == 0 {
                r.warnings.push(format!("sample {:?}: no read was assigned to any gene", s.sample_id));
            }
            if let Some(w) = c.strand.check(options.quant.strandedness) {
                r.warnings.push(format!("sample {:?}: {w}", s.sample_id));
            }
        }
        Ok::<_, RunError>(())
    })?;
    progress.note(format!("quantified {} transcriptome samples", samples.len()));
    written.extend(samples.iter().map(|s| sample_file(dir, s)));
    Ok(())
}

/// Reads one per-sample RNA file back: counts in annotation order, summary and strand tally.
/// Refuses a file counted against another annotation or with other counting options.
fn read_rna_sample(
    cohort: &Cohort,
    sample: &cohort::Sample,
    features: &annotation::FeatureSet,
    dir: &Path,
) -> Result<SampleCounts, RunError> {
    let options = &cohort.config.transcriptome;
    let (path, builder, meta) = open_sample_file(dir, Layer::Transcriptome, sample)?;
    let stale = |what: &str| RunError::Stale {
        at: At::file(&path),
        message: format!("{what} differ from this cohort's; quantify the sample again with this config"),
    };
    if meta.get("harmonomics.quant").map(String::as_str) != Some(&json_text(&options.quant)?) {
        return Err(stale("its counting options ([transcriptome.quant])"));
    }
    let mut counts: Vec<f64> = Vec::with_capacity(features.genes.len());
    let mut genes = features.genes.iter();
    for batch in builder.build().map_err(|e| io_err(&path)(std::io::Error::other(e.to_string())))? {
        let batch = batch.map_err(|e| io_err(&path)(std::io::Error::other(e.to_string())))?;
        let ids =
            batch.column_by_name("feature_id").and_then(|c| c.as_any().downcast_ref::<arrow_array::StringArray>());
        let Some(ids) = ids else { return Err(stale("its columns")) };
        let Some(column) = batch.column_by_name("count") else { return Err(stale("its columns")) };
        if ids.iter().any(|id| id != genes.next().map(|g| g.id.as_str())) {
            return Err(stale("its genes (the annotation)"));
        }
        let start = counts.len();
        if let Some(c) = column.as_any().downcast_ref::<arrow_array::UInt64Array>() {
            counts.extend(c.iter().map(|v| v.map(|v| v as f64)).collect::<Option<Vec<f64>>>().unwrap_or_default());
        } else if let Some(c) = column.as_any().downcast_ref::<arrow_array::Float64Array>() {
            counts.extend(c.iter().collect::<Option<Vec<f64>>>().unwrap_or_default());
        }
        if counts.len() - start != batch.num_rows() {
            return Err(stale("its counts (a null or non-numeric cell)"));
        }
    }
    if genes.next().is_some() {
        return Err(stale("its genes (the annotation)"));
    }
    let parse = |key: &str| -> Result<serde_json::Value, RunError> {
        meta.get(key).and_then(|v| serde_json::from_str(v).ok()).ok_or_else(|| stale(&format!("its {key} metadata")))
    };
    let qc = parse("harmonomics.qc")?;
    let mut summary = crate::transcriptome::quant::Summary::default();
    for c in Category::ALL {
        summary.set(c, qc[c.name()].as_u64().ok_or_else(|| stale(&format!("its {} count (qc metadata)", c.name())))?);
    }
    let strand = serde_json::from_value(parse("harmonomics.strand")?).map_err(|_| stale("its strand metadata"))?;
    Ok(SampleCounts {
        counts,
        fractional: options.quant.fractional(),
        summary,
        strand,
        read_groups: Vec::new(),
        junctions: None,
    })
}

/// The layer step: the per-sample files → features, raw counts and QC, then normalisation.
fn assemble_counts(
    ctx: &mut RunContext,
    samples: &[&cohort::Sample],
    features: &annotation::FeatureSet,
    dir: &Path,
) -> Result<(), RunError> {
    let cohort = ctx.cohort;
    let options = &cohort.config.transcriptome;
    let fractional = options.quant.fractional();
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Transcriptome), extra);
    // Reading the per-sample counts is part of the stage (every second of a run is in one).
    let raw = stage::stage(&mut ctx.stages, "assemble", json!({}), |r| {
        let mut counted: Vec<SampleCounts> =
            samples.par_iter().map(|s| read_rna_sample(cohort, s, features, dir)).collect_in_order()?;
        let sample_ids: Vec<String> = samples.iter().map(|s| s.sample_id.clone()).collect();
        let feature_ids: Vec<String> = features.genes.iter().map(|g| g.id.clone()).collect();
        // The counts move into the matrix; the QC table reads only the summaries left behind.
        let raw = FeatureMatrix::new(
            feature_ids,
            sample_ids,
            counted.iter_mut().map(|c| std::mem::take(&mut c.counts)).collect(),
        );
        write_batch(&dir.join("features.parquet"), tables::features(features).map_err(arrow_err(dir))?, &meta(&[]))?;
        if fractional {
            write_matrix(&dir.join("raw.parquet"), &raw, &meta(&[("values", "fractional counts".into())]))?;
        } else {
            write_matrix_as_counts(&dir.join("raw.parquet"), &raw, &meta(&[("values", "counts".into())]))?;
        }
        let ids: Vec<&str> = samples.iter().map(|s| s.sample_id.as_str()).collect();
        let refs: Vec<&SampleCounts> = counted.iter().collect();
        write_batch(&dir.join("qc.parquet"), tables::qc(&ids, &refs).map_err(arrow_err(dir))?, &meta(&[]))?;
        ctx.written.extend(["features.parquet", "raw.parquet", "qc.parquet"].map(|f| dir.join(f)));
        r.counts = json!({ "features": raw.feature_ids.len(), "samples": raw.sample_ids.len() });
        Ok::<_, RunError>(raw)
    })?;

    let lengths: Vec<f64> = (0..features.genes.len()).map(|g| features.gene_length(g) as f64).collect();
    normalise_layer(ctx, dir, raw, Some(&lengths), samples, false)
}

/// The tool that wrote every transcriptome input, or `None` when they are all alignments.
fn imported_tool(
    cohort: &Cohort,
    samples: &[&cohort::Sample],
) -> Result<Option<crate::transcriptome::import::Tool>, RunError> {
    // Each detection opens a file: in parallel, the first failure in samplesheet order reported.
    let detected = samples
        .par_iter()
        .map(|s| crate::transcriptome::import::detect(&s.path).map_err(io_err(&s.path)))
        .collect_in_order()?;
    let kinds: Vec<_> = detected.into_iter().zip(samples).collect();
    let first = kinds.first().map(|k| k.0);
    if let Some((kind, s)) = kinds.iter().find(|k| Some(k.0) != first) {
        let name = |k: Option<crate::transcriptome::import::Tool>| k.map_or("alignments", |t| t.name());
        return Err(RunError::Samples {
            at: At::file(&cohort.config.samplesheet),
            message: format!(
                "the transcriptome layer mixes inputs: {:?} is {} but {:?} is {}; quantify every sample the same way",
                kinds[0].1.sample_id,
                name(first.flatten()),
                s.sample_id,
                name(*kind)
            ),
        });
    }
    Ok(first.flatten())
}

/// The transcriptome layer from other quantifiers' outputs (samplesheet rows pointing at
/// `quant.sf`, `abundance.tsv`, featureCounts/htseq-count tables or STAR `ReadsPerGene`).
fn import_layer(
    ctx: &mut RunContext,
    tool: crate::transcriptome::import::Tool,
    dir: &Path,
    samples: &[&cohort::Sample],
) -> Result<(), RunError> {
    let cohort = ctx.cohort;
    std::fs::create_dir_all(dir.join("samples")).map_err(io_err(dir))?;
    let options = &cohort.config.transcriptome;
    let annotation_map = cohort
        .config
        .annotation
        .as_ref()
        .filter(|a| {
            matches!(a.resolved_format(), Ok(annotation::AnnotationFormat::Gtf | annotation::AnnotationFormat::Gff))
        })
        .map(|a| a.path.clone());
    let tx2gene = options.import.tx2gene.clone().or(annotation_map);
    let params = json!({ "tool": tool.name(), "import": options.import, "tx2gene": tx2gene });
    let ctx_samplesheet = ctx.cohort.config.samplesheet.clone();
    let imported = stage::stage(&mut ctx.stages, "import", params, |r| {
        let inputs: Vec<(PathBuf, String)> = samples.iter().map(|s| (s.path.clone(), s.sample_id.clone())).collect();
        let imported = crate::transcriptome::import::read_all(
            tool,
            &inputs,
            tx2gene.as_deref(),
            options.import.counts_from_abundance,
            options.quant.strandedness,
            &mut r.warnings,
        )?;
        if imported.len() != samples.len() {
            return Err(RunError::Samples {
                at: At::file(&ctx_samplesheet),
                message: format!(
                    "{} samples in the samplesheet but {} in the imported files (one sample per file)",
                    samples.len(),
                    imported.len()
                ),
            });
        }
        for (s, i) in samples.iter().zip(&imported) {
            if i.feature_ids != imported[0].feature_ids {
                return Err(RunError::Samples {
                    at: At::file(&ctx_samplesheet),
                    message: format!(
                        "sample {:?} has different genes from sample {:?}: import samples quantified against one \
                         annotation",
                        s.sample_id, samples[0].sample_id
                    ),
                });
            }
        }
        r.counts = json!({ "samples": imported.len(), "genes": imported[0].feature_ids.len() });
        Ok::<_, RunError>(imported)
    })?;
    let feature_ids = imported[0].feature_ids.clone();
    let sample_ids: Vec<String> = samples.iter().map(|s| s.sample_id.clone()).collect();
    let raw = FeatureMatrix::new(
        feature_ids.clone(),
        sample_ids.clone(),
        imported.iter().map(|i| i.counts.clone()).collect(),
    );
    let integral = raw.columns.iter().flatten().all(|c| c.iter().all(|v| v.fract() == 0.0));
    // Gene lengths: the tool's own (mean over samples for tximport), else the annotation's.
    let lengths: Option<Vec<f64>> = if imported.iter().all(|i| i.lengths.is_some()) {
        Some(
            (0..feature_ids.len())
                .map(|g| {
                    imported.iter().filter_map(|i| i.lengths.as_ref()).map(|l| l[g]).sum::<f64>()
                        / imported.len() as f64
                })
                .collect(),
        )
    } else if let Some(a) = &cohort.config.annotation {
        a.read()?.lengths_of(&feature_ids)
    } else {
        None
    };
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Transcriptome), extra);
    stage::stage(&mut ctx.stages, "assemble", json!({}), |r| {
        for (s, i) in samples.iter().zip(&imported) {
            let path = sample_file(dir, s);
            let counts = if integral {
                Arc::new(arrow_array::UInt64Array::from_iter_values(i.counts.iter().map(|&v| v as u64))) as ArrayRef
            } else {
                Arc::new(arrow_array::Float64Array::from(i.counts.clone())) as ArrayRef
            };
            let batch = crate::io::parquet::batch(vec![
                ("feature_id", Arc::new(arrow_array::StringArray::from(feature_ids.clone())) as ArrayRef),
                ("count", counts),
            ])
            .map_err(arrow_err(&path))?;
            write_batch(&path, batch, &meta(&[("sample_id", s.sample_id.clone()), ("import", tool.name().into())]))?;
            ctx.written.push(path);
        }
        let lengths_col: Vec<Option<f64>> = match &lengths {
            Some(l) => l.iter().map(|v| Some(*v)).collect(),
            None => vec![None; feature_ids.len()],
        };
        let features = crate::io::parquet::batch(vec![
            ("feature_id", Arc::new(arrow_array::StringArray::from(feature_ids.clone())) as ArrayRef),
            ("length", Arc::new(arrow_array::Float64Array::from(lengths_col)) as ArrayRef),
        ])
        .map_err(arrow_err(dir))?;
        write_batch(&dir.join("features.parquet"), features, &meta(&[("import", tool.name().into())]))?;
        if integral {
            write_matrix_as_counts(&dir.join("raw.parquet"), &raw, &meta(&[("values", "counts".into())]))?;
        } else {
            write_matrix(&dir.join("raw.parquet"), &raw, &meta(&[("values", "estimated counts".into())]))?;
        }
        ctx.written.extend(["features.parquet", "raw.parquet"].map(|f| dir.join(f)));
        let mut categories: Vec<String> = Vec::new();
        for i in &imported {
            for (c, _) in &i.qc {
                if !categories.contains(c) {
                    categories.push(c.clone());
                }
            }
        }
        let mut columns: Vec<(&str, ArrayRef)> =
            vec![("sample_id", Arc::new(arrow_array::StringArray::from(sample_ids.clone())))];
        for c in &categories {
            let values: Vec<Option<f64>> =
                imported.iter().map(|i| i.qc.iter().find(|(k, _)| k == c).map(|(_, v)| *v)).collect();
            columns.push((c.as_str(), Arc::new(arrow_array::Float64Array::from(values))));
        }
        let qc = dir.join("qc.parquet");
        write_batch(&qc, crate::io::parquet::batch(columns).map_err(arrow_err(&qc))?, &meta(&[]))?;
        ctx.written.push(qc);
        r.counts = json!({ "features": feature_ids.len(), "samples": sample_ids.len() });
        Ok::<_, RunError>(())
    })?;
    // Estimated counts are rounded for the DESeq2 methods, as DESeqDataSetFromTximport does.
    normalise_layer(ctx, dir, raw, lengths.as_deref(), samples, !integral)
}

/// The normalise stage of the transcriptome layer, whatever produced the counts.
fn normalise_layer(
    ctx: &mut RunContext,
    dir: &Path,
    raw: FeatureMatrix<f64>,
    lengths: Option<&[f64]>,
    samples: &[&cohort::Sample],
    round_estimated: bool,
) -> Result<(), RunError> {
    let (cohort, stages, written) = (ctx.cohort, &mut ctx.stages, &mut ctx.written);
    let options = &cohort.config.transcriptome;
    let mut normalise_options = options.normalise.clone();
    normalise_options.round |= round_estimated;
    let meta = |extra: &[(&str, String)]| metadata(cohort, Some(Layer::Transcriptome), extra);
    stage::stage(stages, "normalise", json!(options.normalise), |r| {
        let keep = transcriptome_keep(cohort, &raw, samples)?;
        let design = vst_design_labels(cohort, samples)?;
        let kept = keep.iter().filter(|k| **k).count();
        r.counts = json!({ "features": keep.len(), "kept_by_filter": kept });
        let controls = normalise::control_mask(&raw, &normalise_options)?;
        let factors = normalise::factors(&raw, controls.as_deref());
        let ids: Vec<&str> = raw.sample_ids.iter().map(String::as_str).collect();
        write_batch(
            &dir.join("factors.parquet"),
            tables::factors(&ids, &factors).map_err(arrow_err(dir))?,
            &meta(&[]),
        )?;
        written.push(dir.join("factors.parquet"));
        for (k, method) in options.normalise.methods.iter().enumerate() {
            let normalised =
                normalise::apply_filtered(*method, &raw, lengths, &keep, &normalise_options, design.as_deref())?;
            r.warnings.extend(normalised.warnings.iter().cloned());
            let mut params = json!({
                "method": method.name(),
                "prior_count": options.normalise.prior_count,
                "filter_by_expr": options.normalise.filter_by_expr,
                "filter_group": options.normalise.filter_group,
                "filter_design": options.normalise.filter_design,
                "kept_features": kept,
            });
            if *method == normalise::Method::Vst {
                params["vst_fit_type"] = json!(options.normalise.vst_fit_type);
                params["vst_nsub"] = json!(options.normalise.vst_nsub);
                params["vst_design"] = json!(options.normalise.vst_design);
            }
            if !normalised.fit.is_null() {
                params["fit"] = normalised.fit.clone();
            }
            let params = params.to_string();
            let name =
                if k == 0 { "normalised.parquet".to_string() } else { format!("normalised.{}.parquet", method.name()) };
            normalised.write(&dir.join(&name), &raw, &meta(&[("method", method.name().into()), ("params", params)]))?;
            written.push(dir.join(name));
            let empty = normalised.transform.absent();
            if empty > 0 {
                r.warnings
                    .push(format!("{}: {empty} samples have no counted reads; their columns are null", method.name()));
            }
        }
        if options.normalise.methods.is_empty() {
            // No method: the primary matrix is all null, so harmonised.parquet keeps its shape.
            let none: FeatureMatrix<Option<f64>> = raw.map_columns(|_, _| None);
            write_matrix(&dir.join("normalised.parquet"), &none, &meta(&[("method", "none".into())]))?;
            written.push(dir.join("normalised.parquet"));
        }
        Ok::<_, RunError>(())
    })
}

/// Each sample's label in each of `vst_design`'s samplesheet columns, for the VST with
/// `blind = FALSE` (`None` when the VST is blind).
pub(crate) fn vst_design_labels(
    cohort: &Cohort,
    samples: &[&cohort::Sample],
) -> Result<Option<Vec<Vec<String>>>, RunError> {
    let Some(formula) = &cohort.config.transcriptome.normalise.vst_design else { return Ok(None) };
    design_labels(cohort, samples, "vst_design", formula).map(Some)
}

/// Each sample's label in each samplesheet column of the design `formula` (`option` names the
/// setting in errors).
fn design_labels(
    cohort: &Cohort,
    samples: &[&cohort::Sample],
    option: &str,
    formula: &str,
) -> Result<Vec<Vec<String>>, RunError> {
    normalise::design_columns(formula)
        .iter()
        .map(|column| column_labels(cohort, samples, option, formula, column))
        .collect()
}

/// Each sample's label in the samplesheet column `column`, which `option = value` names.
fn column_labels(
    cohort: &Cohort,
    samples: &[&cohort::Sample],
    option: &str,
    value: &str,
    column: &str,
) -> Result<Vec<String>, RunError> {
    samples.iter().map(|s| sample_attribute(cohort, s, column)).collect::<Option<Vec<String>>>().ok_or_else(|| {
        RunError::Samples {
            at: At::file(&cohort.config.samplesheet),
            message: format!(
                "{option} = {value:?}: every transcriptome sample needs a value in the samplesheet column {column:?}"
            ),
        }
    })
}

/// The genes `[transcriptome.normalise]` normalises: all, or those edgeR's `filterByExpr`
/// keeps (in the configured groups).
pub(crate) fn transcriptome_keep(
    cohort: &Cohort,
    raw: &FeatureMatrix<f64>,
    samples: &[&cohort::Sample],
) -> Result<Vec<bool>, RunError> {
    let options = &cohort.config.transcriptome.normalise;
    if !options.filter_by_expr {
        return Ok(vec![true; raw.feature_ids.len()]);
    }
    use normalise::filter::SampleGroups;
    let at = || At::file(&cohort.config.samplesheet);
    if let (Some(formula), Some(column)) = (&options.filter_design, &options.filter_group) {
        return Err(RunError::Samples {
            at: at(),
            message: format!(
                "filter_design = {formula:?} and filter_group = {column:?}: give filterByExpr a design or groups, not both"
            ),
        });
    }
    if let Some(formula) = &options.filter_design {
        let labels = design_labels(cohort, samples, "filter_design", formula)?;
        let labels: Vec<Vec<&str>> = labels.iter().map(|f| f.iter().map(String::as_str).collect()).collect();
        let design = normalise::design::Design::from_factors(&labels)
            .map_err(|e| RunError::Samples { at: at(), message: format!("filter_design = {formula:?}: {e}") })?;
        return Ok(normalise::filter::filter_by_expr(raw, SampleGroups::Design(&design), Default::default()));
    }
    let groups = match &options.filter_group {
        None => None,
        Some(column) => Some(column_labels(cohort, samples, "filter_group", column, column)?),
    };
    let by = groups.as_deref().map_or(SampleGroups::One, SampleGroups::Groups);
    Ok(normalise::filter::filter_by_expr(raw, by, Default::default()))
}
