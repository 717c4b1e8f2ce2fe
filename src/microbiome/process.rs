//! The microbiome layer's cohort step, on a taxa × samples count table already summed to one
//! rank: drop samples below the minimum library size (reported, never silent), optionally
//! rarefy to a depth (seeded), flag taxa that the extraction blanks carry as contaminants, keep
//! taxa by prevalence and abundance (MaAsLin2's `min_abundance` / `min_prevalence` rule), then
//! normalise each kept sample (relative abundance, CLR with a stated pseudocount, CLR after
//! multiplicative replacement, or robust CLR) and compute its alpha diversity and the cohort's
//! PCoA on the Aitchison and Bray–Curtis distances.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::taxonomy::Rank;
use super::{CompositionError, check, composition, diversity};
use crate::matrix::FeatureMatrix;
use crate::stats::pca::{Pca, pca, pcoa};

/// `[microbiome]` in `cohort.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrobiomeOptions {
    /// The rank taxa are summed to (`genus` by default; `domain` … `species`).
    #[serde(default = "default_rank")]
    pub rank: String,
    /// A QIIME 2 `taxonomy.tsv` naming the features of a table that carries no lineages.
    #[serde(default)]
    pub taxonomy: Option<std::path::PathBuf>,
    /// The samplesheet column holding each sample's column name in a shared table (default: the
    /// `sample_id` itself).
    #[serde(default)]
    pub column: Option<String>,
    /// Columns of the shared table that are extraction or sequencing blanks (negative controls).
    #[serde(default)]
    pub blanks: Vec<String>,
    /// The processing chain.
    #[serde(default)]
    pub process: ProcessOptions,
}

impl Default for MicrobiomeOptions {
    fn default() -> Self {
        Self { rank: default_rank(), taxonomy: None, column: None, blanks: Vec::new(), process: Default::default() }
    }
}

fn default_rank() -> String {
    "genus".into()
}

impl MicrobiomeOptions {
    /// The configured rank, or the error to show.
    pub fn rank(&self) -> Result<Rank, String> {
        Rank::parse(&self.rank).ok_or_else(|| {
            format!("rank {:?} is not one of domain, phylum, class, order, family, genus, species", self.rank)
        })
    }
}

/// How kept samples are normalised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalisation {
    /// Centred log-ratio of `counts + pseudocount` (vegan's `decostand(x, "clr", pseudocount)`).
    #[default]
    Clr,
    /// CLR after multiplicative replacement of zeros (scikit-bio's `clr(multi_replace(x))`).
    ClrReplaced,
    /// Robust CLR over each sample's non-zero taxa, zeros kept as 0 (vegan's `"rclr"`).
    Rclr,
    /// Relative abundance (proportions of the sample).
    Relative,
}

/// `[microbiome.process]`: filters and normalisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessOptions {
    /// Samples with fewer reads are reported and left out of normalisation (default 1,000;
    /// not applied to tables of relative abundances).
    #[serde(default = "default_min_reads")]
    pub min_reads: f64,
    /// A taxon is kept when its relative abundance reaches this ...
    #[serde(default = "default_min_abundance")]
    pub min_abundance: f64,
    /// ... in at least this fraction of the kept samples.
    #[serde(default = "default_min_prevalence")]
    pub min_prevalence: f64,
    /// A taxon is a contaminant when its mean relative abundance in the blanks is at least this
    /// many times its mean in the samples, and it is present in at least half of the blanks.
    #[serde(default = "default_blank_ratio")]
    pub blank_ratio: f64,
    /// Rarefy every kept sample to this many reads before filtering and diversity (off by
    /// default; samples with fewer reads are left out).
    #[serde(default)]
    pub rarefy: Option<u64>,
    /// Seed of the rarefaction (each sample draws from `seed` and its position, so the result
    /// does not depend on the thread count).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The normalisation of the primary matrix.
    #[serde(default)]
    pub normalisation: Normalisation,
    /// The CLR's pseudocount, in reads (default 1).
    #[serde(default = "default_pseudocount")]
    pub pseudocount: f64,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        Self {
            min_reads: default_min_reads(),
            min_abundance: default_min_abundance(),
            min_prevalence: default_min_prevalence(),
            blank_ratio: default_blank_ratio(),
            rarefy: None,
            seed: default_seed(),
            normalisation: Normalisation::default(),
            pseudocount: default_pseudocount(),
        }
    }
}

fn default_min_reads() -> f64 {
    1000.0
}
fn default_min_abundance() -> f64 {
    0.001
}
fn default_min_prevalence() -> f64 {
    0.1
}
fn default_blank_ratio() -> f64 {
    1.0
}
fn default_seed() -> u64 {
    1
}
fn default_pseudocount() -> f64 {
    1.0
}

/// Options the chain cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProcessError {
    /// An option out of its range.
    #[error("[microbiome.process] {0}")]
    Option(String),
    /// A sample's values that no transform accepts.
    #[error("sample {sample}: {source}")]
    Sample {
        /// The sample.
        sample: String,
        /// Why.
        #[source]
        source: CompositionError,
    },
    /// Every sample was left out.
    #[error("no sample has at least {0} reads (min_reads); nothing to normalise")]
    NoSamples(f64),
    /// Every taxon was left out.
    #[error("no taxon passes the filters (min_abundance {0} in {1} of the samples); loosen them")]
    NoTaxa(f64, f64),
}

/// What happened to a taxon.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxonStats {
    /// Fraction of kept samples where it is present (after rarefaction).
    pub prevalence: f64,
    /// Mean relative abundance over kept samples.
    pub mean_abundance: f64,
    /// Mean relative abundance over the blanks (`None` without blanks).
    pub blank_abundance: Option<f64>,
    /// `None` when kept; else `contaminant` or `prevalence`.
    pub removed_by: Option<&'static str>,
}

/// One sample's QC figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleQc {
    /// Reads (the column's total) as read.
    pub reads: f64,
    /// Why it was left out of normalisation (`min_reads`, `rarefy`), or `None`.
    pub excluded_by: Option<&'static str>,
    /// Taxa present (after rarefaction and contaminant removal).
    pub observed: usize,
    /// Shannon entropy (natural log).
    pub shannon: Option<f64>,
    /// Gini–Simpson.
    pub simpson: Option<f64>,
    /// Bias-corrected Chao1 (counts only).
    pub chao1: Option<f64>,
    /// Aitchison PCoA (PCA of the CLRs over kept taxa) coordinates.
    pub pcoa_aitchison: Option<[f64; 2]>,
    /// Bray–Curtis PCoA coordinates (relative abundances of kept taxa).
    pub pcoa_bray_curtis: Option<[f64; 2]>,
}

/// The chain's result.
#[derive(Debug, Clone)]
pub struct Processed {
    /// Per input taxon.
    pub taxa: Vec<TaxonStats>,
    /// Indices of kept taxa, in table order.
    pub kept: Vec<usize>,
    /// Per sample, in table order.
    pub samples: Vec<SampleQc>,
    /// Normalised values: kept taxa × samples, `None` for left-out samples.
    pub normalised: FeatureMatrix<f64>,
    /// Whether the values were read counts (whole numbers).
    pub counts: bool,
    /// Fraction of variance on the two axes of each PCoA (Aitchison, Bray–Curtis).
    pub explained: [Option<[f64; 2]>; 2],
}

/// Runs the chain on `table` (taxa × study samples, read counts or relative abundances) with
/// `blanks` (one column per blank, same taxa).
pub fn process(
    table: &FeatureMatrix<f64>,
    blanks: &[Vec<f64>],
    options: &ProcessOptions,
) -> Result<Processed, ProcessError> {
    check_options(options)?;
    let n_taxa = table.feature_ids.len();
    let columns: Vec<&[f64]> = table.columns.iter().map(|c| c.as_deref().unwrap_or(&[])).collect();
    for (id, c) in table.sample_ids.iter().zip(&columns) {
        if c.len() != n_taxa {
            return Err(ProcessError::Sample {
                sample: id.clone(),
                source: CompositionError::Lengths(c.len(), n_taxa),
            });
        }
        check(c).map_err(|source| ProcessError::Sample { sample: id.clone(), source })?;
    }
    let counts = columns.iter().all(|c| c.iter().all(|v| v.fract() == 0.0));
    if options.rarefy.is_some() && !counts {
        return Err(ProcessError::Option("rarefy needs read counts; this table holds fractions".into()));
    }

    // Library size, then rarefaction.
    let reads: Vec<f64> = columns.iter().map(|c| c.iter().sum()).collect();
    let mut excluded: Vec<Option<&'static str>> = reads
        .iter()
        .map(|&r| {
            if r == 0.0 || (counts && r < options.min_reads) {
                Some("min_reads")
            } else {
                options.rarefy.filter(|d| r < *d as f64).map(|_| "rarefy")
            }
        })
        .collect();
    let values: Vec<Vec<f64>> = match options.rarefy {
        Some(depth) => columns
            .par_iter()
            .enumerate()
            .map(|(j, c)| if excluded[j].is_none() { rarefy(c, depth, options.seed, j as u64) } else { c.to_vec() })
            .collect(),
        None => columns.iter().map(|c| c.to_vec()).collect(),
    };
    let kept_samples: Vec<usize> = (0..columns.len()).filter(|&j| excluded[j].is_none()).collect();
    if kept_samples.is_empty() {
        return Err(ProcessError::NoSamples(options.min_reads));
    }

    // Relative abundances of kept samples and blanks.
    let relative = |c: &[f64]| -> Vec<f64> {
        let total: f64 = c.iter().sum();
        c.iter().map(|v| if total > 0.0 { v / total } else { 0.0 }).collect()
    };
    let rel: Vec<Vec<f64>> = kept_samples.iter().map(|&j| relative(&values[j])).collect();
    let blank_rel: Vec<Vec<f64>> = blanks.iter().filter(|b| b.iter().sum::<f64>() > 0.0).map(|b| relative(b)).collect();
    let n_kept = kept_samples.len() as f64;
    let taxa: Vec<TaxonStats> = (0..n_taxa)
        .map(|i| {
            let present = rel.iter().filter(|r| r[i] > 0.0).count() as f64;
            let abundant = rel.iter().filter(|r| r[i] >= options.min_abundance && r[i] > 0.0).count() as f64;
            let mean_abundance = rel.iter().map(|r| r[i]).sum::<f64>() / n_kept;
            let blank_abundance =
                (!blank_rel.is_empty()).then(|| blank_rel.iter().map(|r| r[i]).sum::<f64>() / blank_rel.len() as f64);
            let in_blanks = blank_rel.iter().filter(|r| r[i] > 0.0).count();
            let contaminant = blank_abundance.is_some_and(|b| {
                b > 0.0 && 2 * in_blanks >= blank_rel.len() && b >= options.blank_ratio * mean_abundance
            });
            let removed_by = if contaminant {
                Some("contaminant")
            } else if abundant < options.min_prevalence * n_kept || abundant == 0.0 {
                Some("prevalence")
            } else {
                None
            };
            TaxonStats { prevalence: present / n_kept, mean_abundance, blank_abundance, removed_by }
        })
        .collect();
    let kept: Vec<usize> = (0..n_taxa).filter(|&i| taxa[i].removed_by.is_none()).collect();
    if kept.is_empty() {
        return Err(ProcessError::NoTaxa(options.min_abundance, options.min_prevalence));
    }

    // Per sample: diversity over every non-contaminant taxon, normalisation over kept taxa.
    let clean: Vec<bool> = taxa.iter().map(|t| t.removed_by != Some("contaminant")).collect();
    let sample_err = |j: usize| {
        let id = table.sample_ids[j].clone();
        move |source| ProcessError::Sample { sample: id, source }
    };
    type PerSample = (usize, Option<f64>, Option<f64>, Option<f64>, Option<Vec<f64>>);
    let per_sample: Vec<PerSample> = values
        .par_iter()
        .enumerate()
        .map(|(j, v)| {
            let clean_values: Vec<f64> = v.iter().zip(&clean).filter(|(_, c)| **c).map(|(x, _)| *x).collect();
            let total: f64 = clean_values.iter().sum();
            let observed = clean_values.iter().filter(|x| **x > 0.0).count();
            let (shannon, simpson, chao1) = if total > 0.0 {
                (
                    Some(diversity::shannon(&clean_values).map_err(sample_err(j))?),
                    Some(diversity::simpson(&clean_values).map_err(sample_err(j))?),
                    if counts { Some(diversity::chao1(&clean_values).map_err(sample_err(j))?) } else { None },
                )
            } else {
                (None, None, None)
            };
            let normalised = if excluded[j].is_none() {
                let x: Vec<f64> = kept.iter().map(|&i| v[i]).collect();
                let n = match options.normalisation {
                    Normalisation::Clr => composition::clr(&x, options.pseudocount),
                    Normalisation::ClrReplaced => composition::clr_replaced(&x, None),
                    Normalisation::Rclr => composition::rclr(&x),
                    Normalisation::Relative => composition::closure(&x),
                };
                match n {
                    Ok(n) => Some(n),
                    // A sample whose reads all fell on removed taxa has no composition here.
                    Err(CompositionError::Empty) => None,
                    Err(e) => return Err(sample_err(j)(e)),
                }
            } else {
                None
            };
            Ok((observed, shannon, simpson, chao1, normalised))
        })
        .collect::<Result<_, ProcessError>>()?;

    let mut samples: Vec<SampleQc> = Vec::with_capacity(values.len());
    let mut normalised_columns = Vec::with_capacity(values.len());
    for (j, (observed, shannon, simpson, chao1, normalised)) in per_sample.into_iter().enumerate() {
        if excluded[j].is_none() && normalised.is_none() {
            excluded[j] = Some("no_kept_taxa");
        }
        samples.push(SampleQc {
            reads: reads[j],
            excluded_by: excluded[j],
            observed,
            shannon,
            simpson,
            chao1,
            pcoa_aitchison: None,
            pcoa_bray_curtis: None,
        });
        normalised_columns.push(normalised);
    }

    // PCoA of the samples that were normalised.
    let included: Vec<usize> = (0..values.len()).filter(|&j| normalised_columns[j].is_some()).collect();
    // The Aitchison PCoA is the PCA of the samples' CLRs (pseudocount as configured, whatever
    // the primary normalisation), each taxon centred.
    let clrs: Vec<Vec<f64>> = included
        .par_iter()
        .map(|&j| {
            let x: Vec<f64> = kept.iter().map(|&i| values[j][i]).collect();
            composition::clr(&x, options.pseudocount).unwrap_or_else(|_| vec![0.0; kept.len()])
        })
        .collect();
    let clr_rows: Vec<Vec<f64>> = (0..kept.len())
        .map(|k| {
            let mean = clrs.iter().map(|c| c[k]).sum::<f64>() / clrs.len().max(1) as f64;
            clrs.iter().map(|c| c[k] - mean).collect()
        })
        .collect();
    let aitchison = pca(&clr_rows);
    let kept_rel: Vec<Vec<f64>> =
        included.iter().map(|&j| relative(&kept.iter().map(|&i| values[j][i]).collect::<Vec<_>>())).collect();
    let bray = pcoa(&bray_curtis_matrix(&kept_rel));
    let place = |p: &Option<Pca>, samples: &mut Vec<SampleQc>, set: fn(&mut SampleQc, [f64; 2])| {
        if let Some(p) = p {
            for (&j, s) in included.iter().zip(&p.scores) {
                set(&mut samples[j], *s);
            }
        }
    };
    place(&aitchison, &mut samples, |s, v| s.pcoa_aitchison = Some(v));
    place(&bray, &mut samples, |s, v| s.pcoa_bray_curtis = Some(v));
    Ok(Processed {
        normalised: FeatureMatrix {
            feature_ids: kept.iter().map(|&i| table.feature_ids[i].clone()).collect(),
            sample_ids: table.sample_ids.clone(),
            columns: normalised_columns,
        },
        taxa,
        kept,
        samples,
        counts,
        explained: [aitchison.map(|p| p.explained), bray.map(|p| p.explained)],
    })
}

/// Refuses options out of their range (also run by `validate`, before any work).
pub fn check_options(o: &ProcessOptions) -> Result<(), ProcessError> {
    let bad = |what: &str| Err(ProcessError::Option(what.to_string()));
    if !(o.min_reads >= 0.0 && o.min_reads.is_finite()) {
        return bad("min_reads must be a non-negative number");
    }
    if !(0.0..=1.0).contains(&o.min_abundance) {
        return bad("min_abundance is a relative abundance between 0 and 1");
    }
    if !(0.0..=1.0).contains(&o.min_prevalence) {
        return bad("min_prevalence is a fraction of the samples between 0 and 1");
    }
    if !(o.blank_ratio > 0.0 && o.blank_ratio.is_finite()) {
        return bad("blank_ratio must be positive");
    }
    if o.rarefy == Some(0) {
        return bad("rarefy must be a positive depth (leave it out to skip rarefaction)");
    }
    if !(o.pseudocount > 0.0 && o.pseudocount.is_finite()) && o.normalisation == Normalisation::Clr {
        return bad("pseudocount must be positive for clr (or use normalisation = \"clr-replaced\" or \"rclr\")");
    }
    Ok(())
}

/// The samples' Bray–Curtis dissimilarities (`diversity::bray_curtis` for every pair, on
/// values already checked): the upper triangle, rows in parallel, each |a − b| sum in four lanes
/// so it vectorises, then mirrored. The one step of the layer that grows with the square of the
/// cohort (2,000 samples: 2 million pairs).
fn bray_curtis_matrix(samples: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = samples.len();
    let totals: Vec<f64> = samples.iter().map(|s| s.iter().sum()).collect();
    let upper: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|a| {
            (a + 1..n)
                .map(|b| {
                    let (x, y) = (&samples[a], &samples[b]);
                    let mut lanes = [0.0f64; 4];
                    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
                    let tail: f64 = xc.remainder().iter().zip(yc.remainder()).map(|(p, q)| (p - q).abs()).sum();
                    for (p, q) in xc.zip(yc) {
                        for k in 0..4 {
                            lanes[k] += (p[k] - q[k]).abs();
                        }
                    }
                    let total = totals[a] + totals[b];
                    let difference = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail;
                    if total > 0.0 { difference / total } else { 0.0 }
                })
                .collect()
        })
        .collect();
    (0..n)
        .map(|a| {
            (0..n)
                .map(|b| match a.cmp(&b) {
                    std::cmp::Ordering::Less => upper[a][b - a - 1],
                    std::cmp::Ordering::Equal => 0.0,
                    std::cmp::Ordering::Greater => upper[b][a - b - 1],
                })
                .collect()
        })
        .collect()
}

/// SplitMix64: a small, fast generator whose stream is fixed by its seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift with rejection, so no modulo bias).
    fn below(&mut self, n: u64) -> u64 {
        loop {
            let m = (self.next() as u128) * (n as u128);
            if (m as u64) >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }
}

/// Draws `depth` reads without replacement from a sample's counts (as vegan's `rrarefy`): Floyd's
/// algorithm picks `depth` distinct read positions out of the total, so memory follows the depth,
/// not the library; positions fall on taxa by their cumulative counts. The stream is seeded from
/// `seed` and the sample's position.
pub fn rarefy(counts: &[f64], depth: u64, seed: u64, sample: u64) -> Vec<f64> {
    let total = counts.iter().sum::<f64>() as u64;
    if depth >= total {
        return counts.to_vec();
    }
    let mut rng = SplitMix(seed ^ sample.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut chosen = std::collections::HashSet::with_capacity(depth as usize);
    for j in total - depth..total {
        let t = rng.below(j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut positions: Vec<u64> = chosen.into_iter().collect();
    positions.sort_unstable();
    let mut out = vec![0.0; counts.len()];
    let (mut taxon, mut upper) = (0usize, 0u64);
    for p in positions {
        while taxon < counts.len() && p >= upper + counts[taxon] as u64 {
            upper += counts[taxon] as u64;
            taxon += 1;
        }
        out[taxon] += 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bray_curtis_matrix_equals_the_pairwise_index() {
        let samples: Vec<Vec<f64>> =
            (0..7).map(|j| (0..11).map(|i| ((i * 7 + j * 3) % 5) as f64 * (j + 1) as f64).collect()).collect();
        let m = bray_curtis_matrix(&samples);
        for a in 0..7 {
            for b in 0..7 {
                let want = if a == b { 0.0 } else { diversity::bray_curtis(&samples[a], &samples[b]).unwrap() };
                assert!((m[a][b] - want).abs() < 1e-15, "[{a}, {b}] {} vs {want}", m[a][b]);
                assert_eq!(m[a][b].to_bits(), m[b][a].to_bits());
            }
        }
    }

    #[test]
    fn rarefaction_draws_exactly_the_depth_within_each_taxon_and_repeats_with_its_seed() {
        let counts = [500.0, 0.0, 300.0, 200.0, 7.0];
        let a = rarefy(&counts, 100, 42, 3);
        assert_eq!(a.iter().sum::<f64>(), 100.0);
        assert!(a.iter().zip(&counts).all(|(x, c)| x <= c));
        assert_eq!(a[1], 0.0);
        assert_eq!(a, rarefy(&counts, 100, 42, 3));
        assert_ne!(a, rarefy(&counts, 100, 43, 3));
        // Unbiased: over many draws each taxon gets its share of the depth.
        let mut sums = [0.0; 5];
        for s in 0..2000 {
            for (t, x) in sums.iter_mut().zip(rarefy(&counts, 100, 7, s)) {
                *t += x;
            }
        }
        for (t, c) in sums.iter().zip(&counts) {
            let expected = 2000.0 * 100.0 * c / 1007.0;
            assert!((t - expected).abs() <= 0.03 * expected + 5.0, "{t} vs {expected}");
        }
        assert_eq!(rarefy(&counts, 5000, 1, 0), counts.to_vec());
    }

    fn table(columns: Vec<Vec<f64>>) -> FeatureMatrix<f64> {
        let n = columns[0].len();
        FeatureMatrix::new(
            (0..n).map(|i| format!("t{i}")).collect(),
            (0..columns.len()).map(|j| format!("s{j}")).collect(),
            columns,
        )
    }

    #[test]
    fn low_depth_samples_are_left_out_and_reported_and_filters_name_the_reason() {
        let options = ProcessOptions { min_reads: 100.0, min_prevalence: 0.5, ..Default::default() };
        // t0, t1 everywhere; t2 in one of three kept samples (prevalence 1/3 < 0.5); t3 only in
        // blanks (contaminant).
        let t = table(vec![
            vec![600.0, 400.0, 0.0, 0.0],
            vec![300.0, 300.0, 50.0, 0.0],
            vec![10.0, 5.0, 0.0, 0.0],
            vec![500.0, 250.0, 0.0, 1.0],
        ]);
        let blanks = vec![vec![1.0, 0.0, 0.0, 30.0], vec![0.0, 0.0, 0.0, 12.0]];
        let p = process(&t, &blanks, &options).unwrap();
        assert_eq!(p.samples[2].excluded_by, Some("min_reads"));
        assert!(p.normalised.columns[2].is_none());
        assert_eq!(p.taxa[2].removed_by, Some("prevalence"));
        assert_eq!(p.taxa[3].removed_by, Some("contaminant"));
        assert_eq!(p.kept, vec![0, 1]);
        // CLR with pseudocount 1 over the kept taxa.
        let c = p.normalised.columns[0].as_ref().unwrap();
        assert!((c[0] - (601f64.ln() - (601f64.ln() + 401f64.ln()) / 2.0)).abs() < 1e-12);
        // Diversity leaves the contaminant out: sample 3 has one taxon... plus t1's 250 reads.
        assert_eq!(p.samples[3].observed, 2);
        assert!(p.counts);
        let none = ProcessOptions { min_reads: 1e6, ..Default::default() };
        assert_eq!(process(&t, &[], &none).unwrap_err(), ProcessError::NoSamples(1e6));
    }
}
