//! `harmonomics quant rna`: featureCounts on one or many alignment files, outside a cohort.

use std::path::PathBuf;

use crate::annotation::{self, FeatureIndex};
use crate::io::parquet::{stage_batch, write_matrix, write_matrix_as_counts};
use crate::layer::Layer;
use crate::matrix::FeatureMatrix;
use crate::parallel::CollectInOrder;
use crate::pipeline::{At, Progress, RunError, arrow_err, json_text};
use crate::transcriptome::quant::annotated::ReportFormat;
use crate::transcriptome::quant::{Report, SampleCounts, quantify, quantify_with_details};
use crate::transcriptome::tables;

/// One `quant rna` job: alignment files in, a Parquet file (and optionally featureCounts' tables)
/// out. One file gives the per-sample layout (`feature_id`, `count`); several give one wide
/// matrix with a column per file, named by its path as given, as featureCounts names them.
/// With `-f` the rows are the annotation's rows, located by `chrom`/`start`/`end`/`strand`.
#[derive(Clone, Debug)]
pub struct QuantRnaJob {
    /// The alignment files, in the order given.
    pub bams: Vec<PathBuf>,
    /// The annotation, its format and feature selection.
    pub annotation: annotation::AnnotationSpec,
    /// Counting options.
    pub options: crate::transcriptome::quant::QuantOptions,
    /// Per-sample Parquet output.
    pub out: PathBuf,
    /// featureCounts-layout counts table.
    pub featurecounts_tsv: Option<PathBuf>,
    /// featureCounts-layout summary.
    pub summary: Option<PathBuf>,
    /// The command line, for the table's header line.
    pub command: String,
    /// BGZF decompression threads.
    pub threads: usize,
    /// featureCounts' per-read report (`-R`): written as `<dir>/<input file name>.featureCounts`
    /// (with `.sam` or `.bam` added for those formats).
    pub read_details: Option<PathBuf>,
    /// The report's format.
    pub read_details_format: ReportFormat,
    /// With `-J`: where the junction counts go (featureCounts' `.jcounts`).
    pub jcounts: Option<PathBuf>,
    /// `-G`: the genome FASTA that tells each junction's strand.
    pub genome: Option<PathBuf>,
}

/// Runs one `quant rna` job; returns each file's counts, in the order given.
pub fn run(job: &QuantRnaJob, progress: &Progress) -> Result<Vec<SampleCounts>, RunError> {
    use crate::transcriptome::quant::featurecounts;
    use rayon::prelude::*;
    let names: Vec<String> = job.bams.iter().map(|b| b.display().to_string()).collect();
    if names.is_empty() {
        return Err(RunError::Samples { at: At::CommandLine, message: "no alignment files given".into() });
    }
    if let Some((first, again)) = crate::matrix::first_repeat(names.iter().map(String::as_str)) {
        return Err(RunError::Samples {
            at: At::CommandLine,
            message: format!(
                "alignment file {:?} is given twice (arguments {} and {})",
                names[again],
                first + 1,
                again + 1
            ),
        });
    }
    let features = job.annotation.read()?;
    let index = FeatureIndex::new(&features);
    // Files side by side, each decoded by its own worker when there are more files than
    // threads; a lone file gets every thread for decompression. Results keep the input order,
    // and the first failing file (in that order) is the one reported.
    let workers = (job.threads / job.bams.len()).max(1);
    let reports = report_paths(job)?;
    let results: Vec<(SampleCounts, Option<tempfile::TempPath>)> = job
        .bams
        .par_iter()
        .zip(&reports)
        .map(|(bam, report)| match report {
            None => Ok::<_, RunError>((quantify(bam, &features, &index, &job.options, workers)?, None)),
            Some(report) => {
                let out_err = |source| crate::io::OutputError { path: report.clone(), source };
                let tmp = crate::io::atomic::temporary_beside(report).map_err(out_err)?;
                let mut w = std::io::BufWriter::new(tmp);
                let report = Report { format: job.read_details_format, out: &mut w };
                let counts = quantify_with_details(bam, &features, &index, &job.options, workers, Some(report))?;
                let tmp = w.into_inner().map_err(|e| out_err(e.into_error()))?;
                Ok((counts, Some(tmp.into_temp_path())))
            }
        })
        .collect_in_order()?;
    let mut all = Vec::with_capacity(results.len());
    let mut staged = crate::io::atomic::Staged::default();
    for ((counts, tmp), report) in results.into_iter().zip(&reports) {
        if let (Some(path), Some(tmp)) = (report, tmp) {
            staged.adopt(path, tmp);
        }
        all.push(counts);
    }
    for (counts, bam) in all.iter().zip(&job.bams) {
        if let Some(w) = counts.strand.check(job.options.strandedness) {
            progress.note(format!("warning: {}: {w}", bam.display()));
        }
    }
    // --byReadGroup: a column per file and read group, `FILE:ID` as featureCounts names them.
    let (names, all) = if job.options.by_read_group { by_read_group(&names, &all) } else { (names, all) };
    let quant = json_text(&job.options)?;
    let meta = super::metadata(Layer::Transcriptome, &[("quant", quant)]);
    // The Parquet file, featureCounts' table, summary and reports appear together or not at all.
    if job.options.feature_level {
        let batch = tables::feature_level_counts(&features, &names, &all).map_err(arrow_err(&job.out))?;
        stage_batch(&mut staged, &job.out, batch, &meta)?;
    } else if let [counts] = all.as_slice() {
        let batch = tables::sample_counts(&features, counts).map_err(arrow_err(&job.out))?;
        stage_batch(&mut staged, &job.out, batch, &meta)?;
    } else {
        let ids: Vec<String> = features.genes.iter().map(|g| g.id.clone()).collect();
        let matrix = FeatureMatrix::new(ids, names.clone(), all.iter().map(|c| c.counts.clone()).collect());
        // Whole-number counts as UInt64, as the one-file layout writes them.
        let fractional = all.iter().any(|c| c.fractional);
        staged.write_path(&job.out, |tmp| {
            if fractional { write_matrix(tmp, &matrix, &meta) } else { write_matrix_as_counts(tmp, &matrix, &meta) }
        })?;
    }
    let summary = job
        .summary
        .clone()
        .or_else(|| job.featurecounts_tsv.as_ref().map(|p| PathBuf::from(format!("{}.summary", p.display()))));
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let count_refs: Vec<&SampleCounts> = all.iter().collect();
    if let Some(path) = &job.featurecounts_tsv {
        staged.write(path, |w| {
            featurecounts::write_table(
                w,
                &job.command,
                &features,
                job.options.feature_level,
                &job.annotation.extra_attributes,
                &name_refs,
                &count_refs,
            )
        })?;
    }
    if let Some(path) = &summary {
        staged.write(path, |w| featurecounts::write_summary(w, &name_refs, &count_refs, job.options.non_split_only))?;
    }
    if let Some(path) = &job.jcounts {
        write_jcounts(job, path, &features, &name_refs, &count_refs, progress, &mut staged)?;
    }
    staged.commit()?;
    Ok(all)
}

/// featureCounts' `.jcounts` for every column, the strands from `-G` when given.
fn write_jcounts(
    job: &QuantRnaJob,
    path: &std::path::Path,
    features: &crate::annotation::FeatureSet,
    names: &[&str],
    all: &[&SampleCounts],
    progress: &Progress,
    staged: &mut crate::io::atomic::Staged,
) -> Result<(), RunError> {
    use crate::transcriptome::quant::junction::{Genome, JunctionGenes, Junctions, sorted_junctions, write_jcounts};
    let empty = Junctions::default();
    let columns: Vec<&Junctions> = all.iter().map(|c| c.junctions.as_ref().unwrap_or(&empty)).collect();
    let aliases = match &job.options.chromosome_aliases {
        Some(file) => crate::transcriptome::quant::read_aliases(file)?,
        None => Default::default(),
    };
    let genome = match &job.genome {
        Some(fasta) => {
            let junctions = sorted_junctions(&columns);
            let genome = Genome::read(fasta, &junctions)
                .map_err(|source| crate::transcriptome::quant::QuantError::Genome { path: fasta.clone(), source })?;
            let mut missing: Vec<&str> = junctions.iter().map(|j| j.0.as_str()).filter(|c| !genome.has(c)).collect();
            missing.dedup();
            if let Some(first) = missing.first() {
                progress.note(format!(
                    "warning: {} has no contig {first:?} ({} contig(s) with junctions missing); their junctions' strands are NA",
                    fasta.display(),
                    missing.len()
                ));
            }
            Some(genome)
        }
        None => None,
    };
    let genes = JunctionGenes::new(features, &aliases);
    staged.write(path, |w| write_jcounts(w, names, &columns, &genes, genome.as_ref()))?;
    Ok(())
}

/// Each file's read groups as columns of their own.
fn by_read_group(names: &[String], all: &[SampleCounts]) -> (Vec<String>, Vec<SampleCounts>) {
    let mut columns = (Vec::new(), Vec::new());
    for (name, counts) in names.iter().zip(all) {
        for group in &counts.read_groups {
            columns.0.push(format!("{name}:{}", group.id));
            columns.1.push(SampleCounts {
                counts: group.counts.clone(),
                fractional: counts.fractional,
                summary: group.summary.clone(),
                strand: Default::default(),
                read_groups: Vec::new(),
                junctions: group.junctions.clone(),
            });
        }
    }
    columns
}

/// Where each file's `-R CORE` report goes (featureCounts' `<input file name>.featureCounts`); two
/// inputs with one file name would write one report, so they are refused.
fn report_paths(job: &QuantRnaJob) -> Result<Vec<Option<PathBuf>>, RunError> {
    let Some(dir) = &job.read_details else { return Ok(vec![None; job.bams.len()]) };
    let names: Vec<String> = job
        .bams
        .iter()
        .map(|b| b.file_name().map_or_else(|| b.display().to_string(), |n| n.to_string_lossy().into_owned()))
        .collect();
    let (format, suffix) = (job.read_details_format.name(), job.read_details_format.suffix());
    if let Some((first, again)) = crate::matrix::first_repeat(names.iter().map(String::as_str)) {
        return Err(RunError::Samples {
            at: At::CommandLine,
            message: format!(
                "{} and {} have one file name, so their -R {format} reports ({}.featureCounts{suffix}) would be one file",
                job.bams[first].display(),
                job.bams[again].display(),
                names[again]
            ),
        });
    }
    Ok(names.iter().map(|n| Some(dir.join(format!("{n}.featureCounts{suffix}")))).collect())
}
