//! Cohort-wide normalisation of the transcriptome count matrix, with the numbers the reference
//! tools give: CPM and edgeR's log-CPM, TPM and FPKM, DESeq2's median-of-ratios (and
//! `poscounts`) normalised counts, edgeR's TMM- and upper-quartile-scaled CPM.

pub mod cpm;
pub mod deseq2;
pub mod dispersion;
pub mod filter;
pub mod input;
pub mod tmm;
pub mod tpm;
pub mod vst;

use serde::{Deserialize, Serialize};

use crate::matrix::FeatureMatrix;
use deseq2::SizeFactorType;

crate::choice::named_enum! {
    /// A normalisation method.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Method {
        /// Counts per million of the sample's counted reads.
        Cpm = "cpm",
        /// edgeR's `cpm(log = TRUE, prior.count = p)`: log2 of CPM with a library-size-scaled prior.
        Log2cpm = "log2cpm",
        /// Transcripts per million (needs gene lengths).
        Tpm = "tpm",
        /// Fragments per kilobase per million (needs gene lengths).
        Fpkm = "fpkm",
        /// DESeq2 normalised counts: counts / median-of-ratios size factor.
        Deseq2 = "deseq2",
        /// DESeq2 normalised counts with `poscounts` size factors.
        Deseq2Poscounts = "deseq2_poscounts",
        /// edgeR TMM: CPM on library size × TMM factor.
        Tmm = "tmm",
        /// edgeR upper-quartile: CPM on library size × upper-quartile factor.
        Uq = "uq",
        /// DESeq2's variance-stabilising transformation, blind, as R computes it.
        Vst = "vst",
    }
}

/// `[transcriptome.normalise]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormaliseOptions {
    /// Methods to compute; the first is written to `normalised.parquet`, every other one to
    /// `normalised.<method>.parquet`.
    pub methods: Vec<Method>,
    /// edgeR's `prior.count` for log-CPM (default 2, as edgeR).
    pub prior_count: f64,
    /// Apply edgeR's `filterByExpr` before normalising; filtered genes are null rows.
    pub filter_by_expr: bool,
    /// Samplesheet column that defines filterByExpr's groups (default: one group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_group: Option<String>,
    /// DESeq2's `fitType` for the VST's dispersion trend.
    pub vst_fit_type: vst::FitType,
    /// Fit the VST's trend on this many genes, as R's `vst(nsub = n)`; unset: on every gene, as
    /// `varianceStabilizingTransformation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vst_nsub: Option<usize>,
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        Self {
            methods: vec![Method::Vst, Method::Cpm, Method::Log2cpm],
            prior_count: 2.0,
            filter_by_expr: false,
            filter_group: None,
            vst_fit_type: vst::FitType::Parametric,
            vst_nsub: None,
        }
    }
}

/// A normalised matrix with what its method fitted (for the metadata) and any fallback taken
/// (for the manifest's warnings).
#[derive(Clone, Debug)]
pub struct Normalised {
    /// The matrix.
    pub matrix: FeatureMatrix<f64>,
    /// Method-specific fit details (the VST's trend), `Null` for the closed-form methods.
    pub fit: serde_json::Value,
    /// Fallbacks and caveats.
    pub warnings: Vec<String>,
}

impl Normalised {
    fn plain(matrix: FeatureMatrix<f64>) -> Self {
        Normalised { matrix, fit: serde_json::Value::Null, warnings: Vec::new() }
    }
}

/// Normalises only the kept genes and spreads the result back to the full shape, filtered genes
/// becoming NaN rows (written as nulls, so every matrix keeps the annotation's rows). With every
/// gene kept the counts are normalised as they are, without a copy: at cohort size each copy of
/// the matrix is hundreds of megabytes.
pub fn apply_filtered(
    method: Method,
    counts: &FeatureMatrix<f64>,
    lengths: Option<&[f64]>,
    keep: &[bool],
    options: &NormaliseOptions,
) -> Result<Normalised, NormaliseError> {
    if keep.iter().all(|&k| k) {
        return apply(method, counts, lengths, options);
    }
    let rows: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
    let sub = FeatureMatrix {
        feature_ids: rows.iter().map(|&i| counts.feature_ids[i].clone()).collect(),
        sample_ids: counts.sample_ids.clone(),
        columns: counts.columns.iter().map(|c| c.as_ref().map(|c| rows.iter().map(|&i| c[i]).collect())).collect(),
    };
    let sub_lengths: Option<Vec<f64>> = lengths.map(|l| rows.iter().map(|&i| l[i]).collect());
    let out = apply(method, &sub, sub_lengths.as_deref(), options)?;
    drop(sub);
    let columns = out
        .matrix
        .columns
        .into_iter()
        .map(|c| {
            let c = c?;
            let mut full = vec![f64::NAN; keep.len()];
            for (k, &i) in rows.iter().enumerate() {
                full[i] = c[k];
            }
            Some(full)
        })
        .collect();
    let matrix =
        FeatureMatrix { feature_ids: counts.feature_ids.clone(), sample_ids: counts.sample_ids.clone(), columns };
    Ok(Normalised { matrix, ..out })
}

/// A method that cannot be applied to this matrix.
#[derive(Debug, thiserror::Error)]
pub enum NormaliseError {
    /// The method is undefined for these data.
    #[error("{method}: {message}")]
    Method {
        /// Method name.
        method: &'static str,
        /// Why.
        message: String,
    },
}

/// Per-sample scaling factors of every method, for `--factors` and `factors.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct Factors {
    /// Sum of counts.
    pub library_size: Vec<Option<f64>>,
    /// DESeq2 median-of-ratios size factor (`None` where undefined).
    pub size_factor: Vec<Option<f64>>,
    /// DESeq2 `poscounts` size factor.
    pub size_factor_poscounts: Vec<Option<f64>>,
    /// edgeR TMM normalisation factor.
    pub tmm_factor: Vec<Option<f64>>,
    /// edgeR upper-quartile normalisation factor.
    pub uq_factor: Vec<Option<f64>>,
}

/// Every method's factors.
pub fn factors(counts: &FeatureMatrix<f64>) -> Factors {
    Factors {
        library_size: counts.columns.iter().map(|c| c.as_ref().map(|c| c.iter().sum())).collect(),
        size_factor: deseq2::size_factors(counts, SizeFactorType::Ratio)
            .unwrap_or_else(|_| vec![None; counts.columns.len()]),
        size_factor_poscounts: deseq2::size_factors(counts, SizeFactorType::Poscounts)
            .unwrap_or_else(|_| vec![None; counts.columns.len()]),
        tmm_factor: tmm::tmm_factors(counts),
        uq_factor: tmm::upper_quartile_factors(counts),
    }
}

/// Applies one method. `lengths` (one per feature) is needed by TPM and FPKM.
pub fn apply(
    method: Method,
    counts: &FeatureMatrix<f64>,
    lengths: Option<&[f64]>,
    options: &NormaliseOptions,
) -> Result<Normalised, NormaliseError> {
    let need_lengths = || {
        lengths.filter(|l| l.len() == counts.feature_ids.len()).ok_or(NormaliseError::Method {
            method: method.name(),
            message:
                "needs gene lengths: give an annotation, a featureCounts table (Length column) or our raw.parquet \
                      beside its features.parquet"
                    .into(),
        })
    };
    let matrix = match method {
        Method::Vst => {
            let (matrix, fit) = vst::vst(counts, options.vst_fit_type, options.vst_nsub)?;
            return Ok(Normalised { matrix, fit: fit.to_json(), warnings: fit.warnings });
        }
        Method::Cpm => cpm::cpm(counts),
        Method::Log2cpm => cpm::log2_cpm(counts, options.prior_count),
        Method::Tpm => tpm::tpm(counts, need_lengths()?),
        Method::Fpkm => tpm::fpkm(counts, need_lengths()?),
        Method::Deseq2 => deseq2::normalised_counts(counts, &deseq2::size_factors(counts, SizeFactorType::Ratio)?),
        Method::Deseq2Poscounts => {
            deseq2::normalised_counts(counts, &deseq2::size_factors(counts, SizeFactorType::Poscounts)?)
        }
        Method::Tmm => tmm::effective_cpm(counts, &tmm::tmm_factors(counts)),
        Method::Uq => tmm::effective_cpm(counts, &tmm::upper_quartile_factors(counts)),
    };
    Ok(Normalised::plain(matrix))
}
