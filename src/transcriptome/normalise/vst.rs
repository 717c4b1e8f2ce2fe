//! DESeq2's variance-stabilising transformation as R (DESeq2 1.38) computes it, blind to the
//! design, or (`blind = FALSE`) with a one-factor design such as `~ timepoint`:
//!
//! - all genes (`nsub` unset): `varianceStabilizingTransformation(dds, blind = TRUE)`;
//! - `nsub = n`: `vst(dds, nsub = n)`, whose trend is fitted on `n` genes with mean normalised
//!   count above 5, picked evenly along their sorted means (`o[round(seq(1, L, length = n))]`:
//!   no random draw, so no seed is involved), and applied to every gene.
//!
//! Size factors are DESeq2's median-of-ratios; dispersions and the trend are [`dispersion`]'s
//! port of `estimateDispersionsGeneEst` and `estimateDispersionsFit`; the transform is R's
//! closed form for the parametric and the mean trend.
//!
//! Where R would fall back (a parametric fit that fails, too few genes for `nsub`) we fall back
//! too and say so in a warning that reaches the manifest and the matrix's metadata. R's
//! fallback for a failed parametric fit is `fitType = "local"` (locfit), which we do not
//! implement: we use the `mean` fit there, and the warning says so.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::NormaliseError;
use super::deseq2::{SizeFactorType, size_factors};
use super::dispersion::{self, Design, Samples, Trend, TrendError};
use crate::matrix::FeatureMatrix;

crate::choice::named_enum! {
    /// DESeq2's `fitType` for the dispersion trend.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum FitType {
        /// α(μ) = a0 + a1/μ, a gamma GLM (DESeq2's default).
        Parametric = "parametric",
        /// One trimmed-mean dispersion for every gene.
        Mean = "mean",
    }
    default Parametric
}

/// What the VST fitted, for the output's metadata and the manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct VstFit {
    /// The trend used.
    pub trend: Trend,
    /// Genes whose gene-wise dispersions were estimated.
    pub genes_estimated: usize,
    /// Of those, genes that fed the trend (α > 1e-6).
    pub genes_in_trend: usize,
    /// Fallbacks taken.
    pub warnings: Vec<String>,
}

impl VstFit {
    /// The fit as JSON (fit type, coefficients, gene counts, warnings).
    pub fn to_json(&self) -> serde_json::Value {
        let trend = match self.trend {
            Trend::Parametric { a0, a1 } => json!({"fit_type": "parametric", "asympt_disp": a0, "extra_pois": a1}),
            Trend::Mean(d) => json!({"fit_type": "mean", "mean_disp": d}),
        };
        json!({
            "trend": trend,
            "genes_estimated": self.genes_estimated,
            "genes_in_trend": self.genes_in_trend,
            "warnings": self.warnings,
        })
    }
}

/// Applies the VST to a count matrix; missing columns stay missing.
/// `controls` restricts the size factors' medians to control genes (DESeq2's `controlGenes`).
/// `design` (one label per column for each factor) makes it `blind = FALSE` with the design
/// `~ factor1 + factor2 + …`: the dispersions are fitted with the design's means, as DESeq2
/// does (group means for one factor, its NB GLM for several).
pub fn vst(
    counts: &FeatureMatrix<f64>,
    fit_type: FitType,
    nsub: Option<usize>,
    controls: Option<&[bool]>,
    design: Option<&[Vec<String>]>,
) -> Result<(FeatureMatrix<f64>, VstFit), NormaliseError> {
    let err = |message: String| NormaliseError::Method { method: "vst", message };
    let factors = size_factors(counts, SizeFactorType::Ratio, controls)?;
    let present: Vec<usize> = (0..counts.columns.len()).filter(|&j| factors[j].is_some()).collect();
    if present.len() < 2 {
        return Err(err("needs at least two samples".into()));
    }
    let design = design
        .map(|factors| {
            let labels: Vec<Vec<&str>> =
                factors.iter().map(|f| present.iter().map(|&j| f[j].as_str()).collect()).collect();
            Design::from_factors(&labels).and_then(Design::require_replicates)
        })
        .transpose()
        .map_err(|e| err(e.to_string()))?;
    let samples = Samples {
        columns: present.iter().filter_map(|&j| counts.columns[j].as_deref()).collect(),
        size_factors: present.iter().filter_map(|&j| factors[j]).collect(),
        design,
    };
    let n = counts.feature_ids.len();
    let mut warnings = Vec::new();
    let rows: Vec<usize> = match nsub {
        None => (0..n).collect(),
        Some(nsub) => {
            let mut above: Vec<(usize, f64)> =
                (0..n).map(|i| (i, samples.base_mean(i))).filter(|&(_, m)| m > 5.0).collect();
            if n < nsub || above.len() < nsub {
                warnings.push(format!(
                    "vst: nsub = {nsub} but only {} of {n} genes have a mean normalised count above 5 \
                     (R's vst() stops here); the trend was fitted on all genes, as varianceStabilizingTransformation does",
                    above.len()
                ));
                (0..n).collect()
            } else {
                // R's order() is stable: equal means keep the genes' order.
                above.sort_by(|a, b| a.1.total_cmp(&b.1));
                crate::stats::seq_length(1.0, above.len() as f64, nsub)
                    .into_iter()
                    .map(|k| above[k.round_ties_even() as usize - 1].0)
                    .collect()
            }
        }
    };
    let gene_wise = dispersion::gene_wise(&samples, &rows);
    if gene_wise.unconverged_means > 0 {
        warnings.push(format!(
            "vst: the design's NB GLM means of {} genes did not converge in 100 IRLS steps; R refines these with \
             optim (L-BFGS-B), which harmonomics does not, so their gene-wise dispersions may differ from R's",
            gene_wise.unconverged_means
        ));
    }
    let dispersions = gene_wise.dispersions;
    let estimated: Vec<usize> = (0..rows.len()).filter(|&k| !dispersions[k].is_nan()).collect();
    let means: Vec<f64> = estimated.iter().map(|&k| samples.base_mean(rows[k])).collect();
    let disps: Vec<f64> = estimated.iter().map(|&k| dispersions[k]).collect();
    let used = dispersion::used_for_fit(&disps);
    let trend = match fit_type {
        FitType::Mean => dispersion::mean_trend(&disps),
        FitType::Parametric => match dispersion::parametric_trend(&means, &disps, &used) {
            Err(e @ (TrendError::Failed | TrendError::NotConverged)) => {
                warnings.push(format!(
                    "vst: {e}; R's DESeq2 substitutes fitType = \"local\" (locfit), which harmonomics does not \
                     implement, so fitType = \"mean\" was used: give fit type mean to silence this, or compare with R"
                ));
                dispersion::mean_trend(&disps)
            }
            other => other,
        },
    }
    .map_err(|e| err(e.to_string()))?;
    let transform = |q: f64| match trend {
        Trend::Parametric { a0, a1 } => {
            ((1.0 + a1 + 2.0 * a0 * q + 2.0 * (a0 * q * (1.0 + a1 + a0 * q)).sqrt()) / (4.0 * a0)).ln()
                / std::f64::consts::LN_2
        }
        Trend::Mean(d) => (2.0 * (d * q).sqrt().asinh() - d.ln() - 4f64.ln()) / std::f64::consts::LN_2,
    };
    let out = counts.par_map_columns(|j, c| factors[j].map(|s| c.iter().map(|&v| transform(v / s)).collect()));
    let fit = VstFit { trend, genes_estimated: estimated.len(), genes_in_trend: used.len(), warnings };
    Ok((out, fit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::test_matrix as m;

    /// Counts with a known NB-like spread: gene g has mean 5·(g+1) scaled by the sample.
    fn counts(genes: usize, samples: usize) -> FeatureMatrix<f64> {
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        m((0..samples)
            .map(|j| {
                (0..genes)
                    .map(|g| {
                        let mean = 5.0 * (g + 1) as f64 * (0.7 + 0.1 * j as f64);
                        (mean * (0.5 + next())).round()
                    })
                    .collect()
            })
            .collect())
    }

    #[test]
    fn vst_is_monotone_and_nsub_picks_genes_evenly() {
        let c = counts(60, 6);
        let (all, fit) = vst(&c, FitType::Parametric, None, None, None).expect("vst");
        assert_eq!(fit.genes_estimated, 60);
        let col = all.columns[0].as_ref().expect("column");
        let raw = c.columns[0].as_ref().expect("column");
        for i in 1..60 {
            if raw[i] > raw[i - 1] {
                assert!(col[i] > col[i - 1], "monotone in the count");
            }
        }
        let (_, sub) = vst(&c, FitType::Mean, Some(20), None, None).expect("vst nsub");
        assert_eq!(sub.genes_estimated, 20);
        assert!(sub.warnings.is_empty(), "{:?}", sub.warnings);
        let (_, fallback) = vst(&c, FitType::Mean, Some(1000), None, None).expect("vst nsub too large");
        assert_eq!(fallback.genes_estimated, 60);
        assert!(fallback.warnings[0].contains("nsub = 1000"), "{:?}", fallback.warnings);
        assert!(matches!(fallback.trend, Trend::Mean(_)));
    }
}
