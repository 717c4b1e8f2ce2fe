//! DESeq2's variance-stabilising transformation as R (DESeq2 1.38) computes it, blind to the
//! design, or (`blind = FALSE`) with the cohort's design such as `~ site + timepoint`:
//!
//! - all genes (`nsub` unset): `varianceStabilizingTransformation(dds, blind = TRUE)`;
//! - `nsub = n`: `vst(dds, nsub = n)`, whose trend is fitted on `n` genes with mean normalised
//!   count above 5, picked evenly along their sorted means (`o[round(seq(1, L, length = n))]`:
//!   no random draw, so no seed is involved), and applied to every gene.
//!
//! Size factors are DESeq2's median-of-ratios; dispersions and the trend are [`dispersion`]'s
//! port of `estimateDispersionsGeneEst` and `estimateDispersionsFit`. The transform is R's
//! closed form for the parametric and the mean trend, and for the local (locfit) trend R's
//! numerical integration: the trapezoid rule on a 1,000-point asinh grid, an FMM spline
//! through it, scaled to log2 between the 95% and 99.9% quantiles of the genes' means.
//!
//! Where R would fall back (a parametric fit that fails: `local`; too few genes for `nsub`)
//! we fall back too and say so in a warning that reaches the manifest and the matrix's
//! metadata.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::NormaliseError;
use super::deseq2::{SizeFactorType, size_factors};
use super::dispersion::{self, Design, Samples, Trend, TrendError};
use super::transform::Transform;
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
        /// A local regression of log dispersion on log mean (R's locfit).
        Local = "local",
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
        let trend = match &self.trend {
            Trend::Parametric { a0, a1 } => json!({"fit_type": "parametric", "asympt_disp": a0, "extra_pois": a1}),
            Trend::Mean(d) => json!({"fit_type": "mean", "mean_disp": d}),
            Trend::Local(fit) => json!({"fit_type": "local", "locfit_vertices": fit.vertex_count()}),
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
) -> Result<(Transform, VstFit), NormaliseError> {
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
        FitType::Local => dispersion::local_trend(&means, &disps, &used),
        FitType::Parametric => match dispersion::parametric_trend(&means, &disps, &used) {
            Err(e @ (TrendError::Failed | TrendError::NotConverged)) => {
                warnings.push(format!(
                    "vst: {e}; a local regression fit was substituted, as R's DESeq2 does \
                     (give fit type local to silence this)"
                ));
                dispersion::local_trend(&means, &disps, &used).or_else(|local| {
                    warnings.push(format!("vst: {local}, where R's DESeq2 stops; fitType = \"mean\" was used instead"));
                    dispersion::mean_trend(&disps)
                })
            }
            other => other,
        },
    }
    .map_err(|e| err(e.to_string()))?;
    let out = match &trend {
        Trend::Parametric { a0, a1 } => {
            let (a0, a1) = (*a0, *a1);
            let transform = move |q: f64| {
                ((1.0 + a1 + 2.0 * a0 * q + 2.0 * (a0 * q * (1.0 + a1 + a0 * q)).sqrt()) / (4.0 * a0)).ln()
                    / std::f64::consts::LN_2
            };
            Transform::by_sample(counts, &factors, move |s, v| transform(v / s))
        }
        Trend::Mean(d) => {
            let d = *d;
            let transform = move |q: f64| (2.0 * (d * q).sqrt().asinh() - d.ln() - 4f64.ln()) / std::f64::consts::LN_2;
            Transform::by_sample(counts, &factors, move |s, v| transform(v / s))
        }
        Trend::Local(_) => integrated_transform(counts, &factors, &present, &trend),
    };
    let fit = VstFit { trend, genes_estimated: estimated.len(), genes_in_trend: used.len(), warnings };
    Ok((out, fit))
}

/// R's `getVarianceStabilizedData` for a non-parametric trend: the integral of
/// `1/sqrt(α(μ) μ² + mean(1/sf) μ)` by the trapezoid rule on `sinh` of 1,000 even steps up to
/// the largest normalised count, interpolated by an FMM spline in `asinh(μ)`, then scaled so
/// that the 95% and 99.9% quantiles of the genes' mean normalised counts map to their log2.
fn integrated_transform(
    counts: &FeatureMatrix<f64>,
    factors: &[Option<f64>],
    present: &[usize],
    trend: &Trend,
) -> Transform {
    use crate::stats::spline::FmmSpline;
    use rayon::prelude::*;
    let normalised = |j: usize| -> Option<(&[f64], f64)> { Some((counts.columns[j].as_deref()?, factors[j]?)) };
    let max = present
        .par_iter()
        .filter_map(|&j| normalised(j))
        .map(|(c, s)| c.iter().map(|&v| v / s).fold(f64::NEG_INFINITY, f64::max))
        .reduce(|| f64::NEG_INFINITY, f64::max);
    let grid = crate::stats::seq_length(0f64.asinh(), max.asinh(), 1000);
    let xg: Vec<f64> = grid[1..].iter().map(|&t| t.sinh()).collect();
    let xim = present.iter().filter_map(|&j| factors[j]).map(|s| 1.0 / s).sum::<f64>() / present.len() as f64;
    let integrand: Vec<f64> = xg.iter().map(|&x| 1.0 / (trend.at(x) * x * x + xim * x).sqrt()).collect();
    let knots: Vec<f64> = xg.windows(2).map(|w| ((w[1] + w[0]) / 2.0).asinh()).collect();
    let mut total = 0.0;
    let values: Vec<f64> = xg
        .windows(2)
        .zip(integrand.windows(2))
        .map(|(x, f)| {
            total += (x[1] - x[0]) * (f[1] + f[0]) / 2.0;
            total
        })
        .collect();
    let spline = FmmSpline::new(knots, values);
    let mut row_means = vec![0.0; counts.feature_ids.len()];
    for &j in present {
        if let Some((c, s)) = normalised(j) {
            for (m, &v) in row_means.iter_mut().zip(c) {
                *m += v / s;
            }
        }
    }
    row_means.iter_mut().for_each(|m| *m /= present.len() as f64);
    let h1 = crate::stats::quantile_type7(&mut row_means.clone(), 0.95).unwrap_or(f64::NAN);
    let h2 = crate::stats::quantile_type7(&mut row_means, 0.999).unwrap_or(f64::NAN);
    let eta = (h2.log2() - h1.log2()) / (spline.eval(h2.asinh()) - spline.eval(h1.asinh()));
    let xi = h1.log2() - eta * spline.eval(h1.asinh());
    // R evaluates the spline on a whole column in one call, whose search starts where the last
    // value's piece was; a column's runs come in gene order, so each resumes from its piece.
    let (has_factor, sf) = super::transform::scales(counts, factors);
    let pieces: Vec<std::sync::atomic::AtomicUsize> = sf.iter().map(|_| Default::default()).collect();
    Transform::with_fill(has_factor, true, move |j, first, counts, out| {
        use std::sync::atomic::Ordering::Relaxed;
        let s = sf[j];
        let mut at = spline.evaluator_from(if first == 0 { 0 } else { pieces[j].load(Relaxed) });
        for (o, &v) in out.iter_mut().zip(counts) {
            *o = eta * at.eval((v / s).asinh()) + xi;
        }
        pieces[j].store(at.piece(), Relaxed);
    })
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
        let all = all.apply(&c);
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
