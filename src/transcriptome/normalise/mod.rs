//! Cohort-wide normalisation of the transcriptome count matrix, with the numbers the reference
//! tools give: CPM and edgeR's log-CPM (on raw or TMM-scaled library sizes), TPM and FPKM,
//! DESeq2's median-of-ratios (and `poscounts`, and `controlGenes`) normalised counts and VST,
//! edgeR's TMM-, TMMwsp- and upper-quartile-scaled CPM.

pub mod cpm;
pub mod deseq2;
pub mod design;
pub mod dispersion;
pub mod filter;
pub mod input;
pub mod tmm;
pub mod tpm;
pub mod transform;
pub mod vst;

use serde::{Deserialize, Serialize};

use crate::matrix::FeatureMatrix;
use deseq2::SizeFactorType;
use transform::Transform;

crate::choice::named_enum! {
    /// A normalisation method.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Method {
        /// Counts per million of the sample's counted reads.
        Cpm = "cpm",
        /// edgeR's `cpm(log = TRUE, prior.count = p)`: log2 of CPM with a library-size-scaled prior.
        Log2cpm = "log2cpm",
        /// edgeR's `cpm(calcNormFactors(y), log = TRUE)`: log-CPM on TMM-scaled library sizes.
        Log2cpmTmm = "log2cpm_tmm",
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
        /// edgeR TMMwsp (TMM with singleton pairing, for sparse counts): CPM on library size × factor.
        Tmmwsp = "tmmwsp",
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
    /// Samplesheet columns of a design for filterByExpr (edgeR's `design`: the smallest group is
    /// `1 / max(hat(design))`), written as `vst_design` is; exclusive with `filter_group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_design: Option<String>,
    /// DESeq2's `fitType` for the VST's dispersion trend.
    pub vst_fit_type: vst::FitType,
    /// Fit the VST's trend on this many genes, as R's `vst(nsub = n)`; unset: on every gene, as
    /// `varianceStabilizingTransformation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vst_nsub: Option<usize>,
    /// DESeq2's `controlGenes`: size factors (DESeq2 methods and VST) from these genes only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub control_genes: Vec<String>,
    /// Round non-integer counts (R's `round`) for the DESeq2 methods, which need integers;
    /// without it such counts are refused.
    pub round: bool,
    /// VST with `blind = FALSE` and the design `~ COLUMN` or `~ COLUMN1 + COLUMN2 + …`
    /// (samplesheet columns; see [`design_columns`]). Unset: blind, as for QC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vst_design: Option<String>,
}

/// The samplesheet columns of a design as users write it: `timepoint`, `batch + timepoint`,
/// `~ batch + timepoint` or `batch,timepoint` (an additive design with an intercept).
pub fn design_columns(design: &str) -> Vec<String> {
    design
        .trim()
        .trim_start_matches('~')
        .split(['+', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        Self {
            methods: vec![Method::Vst, Method::Cpm, Method::Log2cpm],
            prior_count: 2.0,
            filter_by_expr: false,
            filter_group: None,
            filter_design: None,
            vst_fit_type: vst::FitType::Parametric,
            vst_nsub: None,
            control_genes: Vec::new(),
            round: false,
            vst_design: None,
        }
    }
}

impl Method {
    /// Whether the method models counts as DESeq2 does, and so needs integers.
    pub fn needs_integers(self) -> bool {
        matches!(self, Method::Deseq2 | Method::Deseq2Poscounts | Method::Vst)
    }
}

/// The control genes as one flag per feature (`None` without control genes); an id not in the
/// matrix is an error, never silently dropped.
pub fn control_mask(
    counts: &FeatureMatrix<f64>,
    options: &NormaliseOptions,
) -> Result<Option<Vec<bool>>, NormaliseError> {
    if options.control_genes.is_empty() {
        return Ok(None);
    }
    let index: std::collections::HashMap<&str, usize> =
        counts.feature_ids.iter().enumerate().map(|(i, f)| (f.as_str(), i)).collect();
    let mut mask = vec![false; counts.feature_ids.len()];
    for gene in &options.control_genes {
        let i = index.get(gene.as_str()).ok_or_else(|| NormaliseError::Method {
            method: "deseq2",
            message: format!("control gene {gene:?} is not a feature of the count matrix"),
        })?;
        mask[*i] = true;
    }
    Ok(Some(mask))
}

/// The counts a DESeq2 method may use: as they are when every value is a whole number; else
/// rounded as R's `round` does (half to even) when `round` is set, with how many were changed;
/// else an error naming the first non-integer cell, as DESeq2 refuses such counts.
pub fn integer_counts<'a>(
    method: Method,
    counts: &'a FeatureMatrix<f64>,
    round: bool,
) -> Result<(std::borrow::Cow<'a, FeatureMatrix<f64>>, usize), NormaliseError> {
    use rayon::prelude::*;
    let first = counts.columns.par_iter().enumerate().find_map_first(|(j, c)| {
        c.as_ref().and_then(|c| c.iter().position(|&v| !crate::stats::is_whole(v)).map(|i| (j, i, c[i])))
    });
    let Some((j, i, value)) = first else { return Ok((std::borrow::Cow::Borrowed(counts), 0)) };
    if !round {
        return Err(NormaliseError::Method {
            method: method.name(),
            message: format!(
                "sample {:?}, feature {:?}: the count {value} is not a whole number, and DESeq2 needs integer counts; \
                 give --round (round = true in [transcriptome.normalise]) to round them as R's round() does, or use \
                 a method that takes estimated counts (cpm, tmm, tpm)",
                counts.sample_ids[j], counts.feature_ids[i]
            ),
        });
    }
    let changed =
        counts.columns.par_iter().flatten().map(|c| c.iter().filter(|&&v| !crate::stats::is_whole(v)).count()).sum();
    Ok((
        std::borrow::Cow::Owned(counts.par_map_columns(|_, c| Some(c.iter().map(|v| v.round_ties_even()).collect()))),
        changed,
    ))
}

/// A normalised matrix, as the transform of the counts its method fitted, with what it fitted
/// (for the metadata) and any fallback taken (for the manifest's warnings).
pub struct Normalised {
    /// The fitted method, to apply to the counts it was given ([`Transform::apply`], or cell
    /// by cell as the matrix is written).
    pub transform: Transform,
    /// Method-specific fit details (the VST's trend), `Null` for the closed-form methods.
    pub fit: serde_json::Value,
    /// Fallbacks and caveats.
    pub warnings: Vec<String>,
}

impl Normalised {
    /// Writes the normalised matrix of `counts` (the counts it was fitted on) to `path`,
    /// computed a row group at a time as it is written.
    pub fn write(
        &self,
        path: &std::path::Path,
        counts: &FeatureMatrix<f64>,
        metadata: &crate::io::parquet::Metadata,
    ) -> Result<(), crate::io::OutputError> {
        let t = &self.transform;
        crate::io::parquet::write_computed_matrix(
            path,
            &counts.feature_ids,
            &counts.sample_ids,
            |j| t.is_present(j) && counts.columns[j].is_some(),
            |j, first, out| {
                if let Some(c) = &counts.columns[j] {
                    t.fill(j, first, &c[first..first + out.len()], out);
                }
            },
            t.by_count_only(),
            metadata,
        )
    }
}

/// Fits on the kept genes only; the transform applies to the full matrix, filtered genes
/// becoming NaN rows (written as nulls, so every matrix keeps the annotation's rows). With every
/// gene kept the counts are fitted on as they are, without a copy: at cohort size each copy of
/// the matrix is hundreds of megabytes.
/// `design` gives, for each of `options.vst_design`'s columns, each sample's label (for the VST).
pub fn apply_filtered(
    method: Method,
    counts: &FeatureMatrix<f64>,
    lengths: Option<&[f64]>,
    keep: &[bool],
    options: &NormaliseOptions,
    design: Option<&[Vec<String>]>,
) -> Result<Normalised, NormaliseError> {
    if keep.iter().all(|&k| k) {
        return apply(method, counts, lengths, options, design);
    }
    let rows: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
    let sub = FeatureMatrix {
        feature_ids: rows.iter().map(|&i| counts.feature_ids[i].clone()).collect(),
        sample_ids: counts.sample_ids.clone(),
        columns: counts.columns.iter().map(|c| c.as_ref().map(|c| rows.iter().map(|&i| c[i]).collect())).collect(),
    };
    let sub_lengths: Option<Vec<f64>> = lengths.map(|l| rows.iter().map(|&i| l[i]).collect());
    // Control genes the filter removed are not controls of the filtered matrix; unknown ids are
    // still refused.
    control_mask(counts, options)?;
    let kept: std::collections::HashSet<&str> = sub.feature_ids.iter().map(String::as_str).collect();
    let options = &NormaliseOptions {
        control_genes: options.control_genes.iter().filter(|g| kept.contains(g.as_str())).cloned().collect(),
        ..options.clone()
    };
    let out = apply(method, &sub, sub_lengths.as_deref(), options, design)?;
    Ok(Normalised { transform: out.transform.spread(keep), ..out })
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

/// Every method's factors (DESeq2's from the control genes when `controls` is given).
pub fn factors(counts: &FeatureMatrix<f64>, controls: Option<&[bool]>) -> Factors {
    Factors {
        library_size: counts.columns.iter().map(|c| c.as_ref().map(|c| c.iter().sum())).collect(),
        size_factor: deseq2::size_factors(counts, SizeFactorType::Ratio, controls)
            .unwrap_or_else(|_| vec![None; counts.columns.len()]),
        size_factor_poscounts: deseq2::size_factors(counts, SizeFactorType::Poscounts, controls)
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
    design: Option<&[Vec<String>]>,
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
    let controls = control_mask(counts, options)?;
    let controls = controls.as_deref();
    let mut warnings = Vec::new();
    let (counts, rounded) = if method.needs_integers() {
        integer_counts(method, counts, options.round)?
    } else {
        (std::borrow::Cow::Borrowed(counts), 0)
    };
    if rounded > 0 {
        warnings.push(format!(
            "{}: {rounded} non-integer counts rounded (R's round), as DESeq2 needs integers",
            method.name()
        ));
    }
    // Fitted on the rounded counts, the transform rounds the counts it is applied to.
    let rounding = |t: Transform| if rounded > 0 { t.of_rounded() } else { t };
    let counts = counts.as_ref();
    let transform = match method {
        Method::Vst => {
            let (transform, mut fit) = vst::vst(counts, options.vst_fit_type, options.vst_nsub, controls, design)?;
            let mut details = fit.to_json();
            warnings.append(&mut fit.warnings);
            details["rounded_counts"] = serde_json::json!(rounded);
            return Ok(Normalised { transform: rounding(transform), fit: details, warnings });
        }
        Method::Cpm => cpm::cpm(counts),
        Method::Log2cpm => cpm::log2_cpm(counts, options.prior_count),
        Method::Log2cpmTmm => cpm::log2_cpm_normalised(counts, &tmm::tmm_factors(counts), options.prior_count),
        Method::Tpm => tpm::tpm(counts, need_lengths()?),
        Method::Fpkm => tpm::fpkm(counts, need_lengths()?),
        Method::Deseq2 => {
            deseq2::normalised_counts(counts, &deseq2::size_factors(counts, SizeFactorType::Ratio, controls)?)
        }
        Method::Deseq2Poscounts => {
            deseq2::normalised_counts(counts, &deseq2::size_factors(counts, SizeFactorType::Poscounts, controls)?)
        }
        Method::Tmm => tmm::effective_cpm(counts, &tmm::tmm_factors(counts)),
        Method::Tmmwsp => tmm::effective_cpm(counts, &tmm::tmmwsp_factors(counts)),
        Method::Uq => tmm::effective_cpm(counts, &tmm::upper_quartile_factors(counts)),
    };
    let fit = if rounded > 0 { serde_json::json!({ "rounded_counts": rounded }) } else { serde_json::Value::Null };
    Ok(Normalised { transform: rounding(transform), fit, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choice::Named;

    /// Counts with low, middling and high genes and a few all-zero genes (no sample is empty:
    /// DESeq2's ratio size factors would then be undefined).
    fn counts() -> FeatureMatrix<f64> {
        let mut state = 99u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let columns = (0..8)
            .map(|j| {
                (0..90)
                    .map(|g| {
                        if g % 17 == 0 {
                            return 0.0;
                        }
                        let mean = (g as f64 * 0.13).exp() * (0.6 + 0.1 * j as f64);
                        (mean * (0.3 + 1.4 * next())).round()
                    })
                    .collect()
            })
            .collect();
        crate::matrix::test_matrix(columns)
    }

    /// The writer fills a column a row group at a time: every method's values, with and without
    /// a filter, must not depend on where the runs start and end.
    #[test]
    fn every_method_gives_the_same_values_filled_in_runs() {
        let counts = counts();
        let n = counts.feature_ids.len();
        let lengths: Vec<f64> = (0..n).map(|i| 500.0 + 37.0 * i as f64).collect();
        let all = vec![true; n];
        let some: Vec<bool> = (0..n).map(|i| i % 3 != 1).collect();
        let mut checked = 0;
        for &(method, _, _) in Method::CHOICES {
            for (keep, fit_type) in [(&all, vst::FitType::Parametric), (&some, vst::FitType::Local)] {
                let options = NormaliseOptions { vst_fit_type: fit_type, ..Default::default() };
                let Ok(normalised) = apply_filtered(method, &counts, Some(&lengths), keep, &options, None) else {
                    continue;
                };
                let whole = normalised.transform.apply(&counts);
                for (j, column) in counts.columns.iter().enumerate() {
                    let column = column.as_ref().expect("present");
                    assert_eq!(whole.columns[j].is_some(), normalised.transform.is_present(j), "{method}");
                    let Some(expected) = &whole.columns[j] else { continue };
                    for run in [1, 7, 32] {
                        let mut got = vec![0.0; n];
                        for first in (0..n).step_by(run) {
                            let end = (first + run).min(n);
                            normalised.transform.fill(j, first, &column[first..end], &mut got[first..end]);
                        }
                        let same = got.iter().zip(expected).all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(same, "{method}, sample {j}, runs of {run}");
                    }
                    // Filtered genes are NaN (written as null).
                    assert!(expected.iter().zip(keep).all(|(v, k)| *k || v.is_nan()), "{method}, sample {j}");
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 2 * Method::CHOICES.len(), "every method applies to these counts");
    }

    #[test]
    fn designs_are_read_as_users_write_them() {
        for written in ["timepoint", " ~ timepoint", "~timepoint"] {
            assert_eq!(design_columns(written), vec!["timepoint"], "{written:?}");
        }
        for written in ["site + timepoint", "~ site+timepoint", "site,timepoint", "site, timepoint,"] {
            assert_eq!(design_columns(written), vec!["site", "timepoint"], "{written:?}");
        }
    }
}
