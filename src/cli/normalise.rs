//! `harmonomics normalise`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::choice::choice;

use crate::annotation::AnnotationFormat;
use crate::transcriptome::normalise::Method;
use crate::transcriptome::normalise::vst::FitType;

/// Normalise one layer's count matrix across samples.
#[derive(Debug, Subcommand)]
pub enum NormaliseCommand {
    /// Normalise a gene count matrix (our raw.parquet, a featureCounts table or a TSV matrix).
    Transcriptome(TranscriptomeArgs),
    /// Process an LC-MS feature table with its injection list (drift, filters, PQN, ...).
    Metabolome(MetabolomeArgs),
    /// A cohort layer as `run` assembles and normalises it, from the per-sample files.
    Layer(super::step::LayerArgs),
}

/// Arguments of `normalise metabolome`; defaults are `[metabolome.process]`'s.
#[derive(Debug, Args)]
pub struct MetabolomeArgs {
    /// Feature table: MZmine CSV export, XCMS featureValues/diffreport, or any features × injections CSV/TSV.
    #[arg(long, value_name = "FILE")]
    pub table: PathBuf,
    /// Injection list: column, injection_order, sample_type (sample|qc|blank)[, batch, sample_id].
    #[arg(long, value_name = "FILE")]
    pub injections: PathBuf,
    /// Output directory (features, raw, normalised, qc and injections Parquet files).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// MZmine measure to read.
    #[arg(long, value_parser = choice::<crate::metabolome::table::Measure>(), default_value_t = crate::metabolome::table::Measure::Area)]
    pub measure: crate::metabolome::table::Measure,
    /// Keep features whose study-sample mean is at least this many times their blank mean (0: off).
    #[arg(long, default_value_t = 3.0, value_name = "X")]
    pub blank_ratio: f64,
    /// QC-based drift and batch correction.
    #[arg(long, value_parser = choice::<crate::metabolome::process::Drift>(), default_value_t = crate::metabolome::process::Drift::Loess)]
    pub drift: crate::metabolome::process::Drift,
    /// LOESS span (statsmodels' frac).
    #[arg(long, default_value_t = 0.75, value_name = "F")]
    pub loess_span: f64,
    /// LOESS robustifying iterations (statsmodels' it).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub loess_iterations: usize,
    /// Fewest QC values a batch needs for its drift to be corrected.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub min_qc_per_batch: usize,
    /// Drop features whose QC RSD after correction exceeds this (0.3 = 30%; 0: off).
    #[arg(long, default_value_t = 0.3, value_name = "R")]
    pub max_qc_rsd: f64,
    /// Drop features detected in fewer than this fraction of study samples.
    #[arg(long, default_value_t = 0.5, value_name = "F")]
    pub min_detection: f64,
    /// Missing-value imputation.
    #[arg(long, value_parser = choice::<crate::metabolome::process::Impute>(), default_value_t = crate::metabolome::process::Impute::HalfMin)]
    pub impute: crate::metabolome::process::Impute,
    /// Neighbours for --impute knn.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub knn_neighbours: usize,
    /// Skip probabilistic quotient normalisation.
    #[arg(long)]
    pub no_pqn: bool,
    /// Transformation.
    #[arg(long, value_parser = choice::<crate::metabolome::process::Transform>(), default_value_t = crate::metabolome::process::Transform::Log2)]
    pub transform: crate::metabolome::process::Transform,
    /// λ of the generalised log.
    #[arg(long, default_value_t = 1.0, value_name = "L")]
    pub glog_lambda: f64,
    /// Scaling across study samples.
    #[arg(long, value_parser = choice::<crate::metabolome::process::Scaling>(), default_value_t = crate::metabolome::process::Scaling::None)]
    pub scaling: crate::metabolome::process::Scaling,
}

impl MetabolomeArgs {
    /// The library job.
    pub fn into_job(self) -> crate::jobs::normalise_metabolome::NormaliseMetabolomeJob {
        crate::jobs::normalise_metabolome::NormaliseMetabolomeJob {
            table: self.table,
            injections: self.injections,
            import: crate::metabolome::table::ImportOptions { measure: self.measure },
            options: crate::metabolome::process::ProcessOptions {
                blank_ratio: self.blank_ratio,
                drift: self.drift,
                loess_span: self.loess_span,
                loess_iterations: self.loess_iterations,
                min_qc_per_batch: self.min_qc_per_batch,
                max_qc_rsd: self.max_qc_rsd,
                min_detection: self.min_detection,
                impute: self.impute,
                knn_neighbours: self.knn_neighbours,
                pqn: !self.no_pqn,
                transform: self.transform,
                glog_lambda: self.glog_lambda,
                scaling: self.scaling,
            },
            out: self.out,
        }
    }
}

/// Arguments of `normalise transcriptome`.
#[derive(Debug, Args)]
pub struct TranscriptomeArgs {
    /// Counts: raw.parquet, a featureCounts table, or a TSV (feature id, then one column per sample).
    #[arg(long, value_name = "FILE")]
    pub counts: PathBuf,
    /// Method.
    #[arg(long, value_parser = choice::<Method>())]
    pub method: Method,
    /// Output: wide Parquet matrix (method and parameters in its metadata).
    #[arg(long, short = 'o', value_name = "FILE.parquet")]
    pub out: PathBuf,
    /// Also write per-sample library sizes and factors (Parquet if FILE ends in .parquet, else TSV).
    #[arg(long, value_name = "FILE")]
    pub factors: Option<PathBuf>,
    /// Annotation giving gene lengths for TPM/FPKM when the counts carry none.
    #[arg(long, short = 'a', value_name = "FILE")]
    pub annotation: Option<PathBuf>,
    /// Format of --annotation (default: told from the content).
    #[arg(long, short = 'F', value_parser = choice::<AnnotationFormat>(), ignore_case = true)]
    pub format: Option<AnnotationFormat>,
    /// Drop lowly expressed genes first with edgeR's filterByExpr (all samples one group);
    /// filtered genes become null rows.
    #[arg(long)]
    pub filter_by_expr: bool,
    /// edgeR's prior.count for log2cpm.
    #[arg(long, default_value_t = 2.0, value_name = "N")]
    pub prior_count: f64,
    /// VST: DESeq2's fitType for the dispersion trend.
    #[arg(long, value_parser = choice::<FitType>(), default_value = "parametric")]
    pub fit_type: FitType,
    /// VST: fit the trend on N genes as R's `vst(nsub = N)` (default: every gene, as
    /// `varianceStabilizingTransformation`).
    #[arg(long, value_name = "N")]
    pub nsub: Option<usize>,
    /// filterByExpr's groups: this column of --samples (edgeR's `group`).
    #[arg(long, value_name = "COLUMN", requires = "samples", requires = "filter_by_expr")]
    pub filter_group: Option<String>,
    /// filterByExpr's design: these columns of --samples, e.g. "site + timepoint" (edgeR's
    /// `design`; the smallest group is 1/max(hat(design))).
    #[arg(
        long,
        value_name = "COLUMNS",
        requires = "samples",
        requires = "filter_by_expr",
        conflicts_with = "filter_group"
    )]
    pub filter_design: Option<String>,
    /// VST with blind = FALSE and the design `~ COLUMN` or `~ COLUMN1 + COLUMN2` (columns of
    /// --samples, e.g. timepoint or "batch + timepoint").
    #[arg(long, value_name = "COLUMNS", requires = "samples")]
    pub design: Option<String>,
    /// A samples table (CSV with `sample_id`, e.g. the cohort's samplesheet) for --filter-group
    /// and --design.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// DESeq2's controlGenes: size factors from these genes only (one gene id per line).
    #[arg(long, value_name = "FILE")]
    pub control_genes: Option<PathBuf>,
    /// Round non-integer counts as R's round() for deseq2, deseq2_poscounts and vst (else refused).
    #[arg(long)]
    pub round: bool,
}

impl TranscriptomeArgs {
    /// The library job; reads `--control-genes`.
    pub fn into_job(self) -> std::io::Result<crate::jobs::normalise_transcriptome::NormaliseJob> {
        let control_genes = match &self.control_genes {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from)
                .collect(),
            None => Vec::new(),
        };
        Ok(crate::jobs::normalise_transcriptome::NormaliseJob {
            counts: self.counts,
            method: self.method,
            out: self.out,
            factors: self.factors,
            annotation: self.annotation.map(|a| crate::annotation::AnnotationSpec::new(a, self.format)),
            options: crate::transcriptome::normalise::NormaliseOptions {
                methods: vec![self.method],
                prior_count: self.prior_count,
                filter_by_expr: self.filter_by_expr,
                filter_group: self.filter_group,
                filter_design: self.filter_design,
                vst_fit_type: self.fit_type,
                vst_nsub: self.nsub,
                control_genes,
                round: self.round,
                vst_design: self.design,
            },
            samples: self.samples,
        })
    }
}
