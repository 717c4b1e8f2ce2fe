//! Same person or not: likelihood ratios between samples, and one verdict per sample.
//!
//! Every sample becomes, at each site it covers, the likelihood of its data under the three
//! genotypes (0, 1, 2 ALT copies): from read counts for alignments (a binomial with the error
//! rate), and an indicator with a small genotyping error for a genome's called genotype. Two
//! samples are then compared by the log likelihood ratio of "one person" (both drawn from one
//! genotype) against "two people" (two genotypes drawn independently), with Hardy–Weinberg
//! priors from the site's ALT frequency:
//!
//! `LLR = Σ_sites ln Σ_g π_g A_g B_g − ln Σ_g π_g A_g − ln Σ_g π_g B_g`,
//!
//! each site's term bounded by ±`site_cap`, so that one site with allele-specific expression or a
//! genotyping error cannot decide alone. The same formula compares two genomes, a sample and a
//! genome, or two samples with one read each at a site: depth only changes how sure it is.
//! Sites where both samples are deep enough to call also give somalier's figures: IBS0 (opposite
//! homozygotes), IBS2 (same genotype), shared hets, and its relatedness
//! `(shared_hets − 2·IBS0) / min(hets_a, hets_b)`.

use super::pileup::AlleleCounts;

/// The probability that a called genotype in a VCF is wrong (the indicator's floor).
pub const GENOTYPE_ERROR: f64 = 1e-3;

/// One sample at the sites it covers.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Site indices, increasing.
    pub sites: Vec<u32>,
    /// Likelihoods of genotypes 0, 1, 2 (scaled so the largest is 1), per covered site.
    pub likelihoods: Vec<[f64; 3]>,
    /// The called genotype where deep enough (or given), per covered site; `None` otherwise.
    pub calls: Vec<Option<u8>>,
}

impl Evidence {
    /// From read counts: the binomial likelihood with error rate `error`, depth capped at
    /// `max_depth` (counts scaled down, keeping their ratio); genotypes called where at least
    /// `min_depth_called` reads are: ALT fraction ≤ 0.1 → 0, ≥ 0.9 → 2, 0.2–0.8 → 1.
    pub fn from_counts(counts: &[AlleleCounts], error: f64, max_depth: u32, min_depth_called: u32) -> Self {
        let mut e = Evidence::default();
        let p = [error, 0.5, 1.0 - error];
        for (i, c) in counts.iter().enumerate() {
            let depth = c.depth();
            if depth == 0 {
                continue;
            }
            let scale = if depth > max_depth { f64::from(max_depth) / f64::from(depth) } else { 1.0 };
            let (r, a) = (f64::from(c.reference) * scale, f64::from(c.alternate) * scale);
            let ll: Vec<f64> = p.iter().map(|&q| a * q.ln() + r * (1.0 - q).ln()).collect();
            let max = ll.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            e.sites.push(i as u32);
            e.likelihoods.push([(ll[0] - max).exp(), (ll[1] - max).exp(), (ll[2] - max).exp()]);
            let af = f64::from(c.alternate) / f64::from(depth);
            e.calls.push(if depth < min_depth_called {
                None
            } else if af <= 0.1 {
                Some(0)
            } else if af >= 0.9 {
                Some(2)
            } else if (0.2..=0.8).contains(&af) {
                Some(1)
            } else {
                None
            });
        }
        e
    }

    /// From called genotypes (0–2, [`super::panel::MISSING`] for none).
    pub fn from_genotypes(genotypes: &[u8]) -> Self {
        let mut e = Evidence::default();
        for (i, &g) in genotypes.iter().enumerate() {
            if g > 2 {
                continue;
            }
            let mut l = [GENOTYPE_ERROR; 3];
            l[g as usize] = 1.0;
            e.sites.push(i as u32);
            e.likelihoods.push(l);
            e.calls.push(Some(g));
        }
        e
    }

    /// Sites covered.
    pub fn covered(&self) -> usize {
        self.sites.len()
    }
}

/// Hardy–Weinberg genotype priors at ALT frequency `f` (bounded to [0.01, 0.99]).
pub fn priors(f: f64) -> [f64; 3] {
    let f = f.clamp(0.01, 0.99);
    [(1.0 - f) * (1.0 - f), 2.0 * f * (1.0 - f), f * f]
}

/// Two samples compared.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Sites covered by both.
    pub sites: u32,
    /// ln P(data | one person) − ln P(data | two people).
    pub llr: f64,
    /// Sites called in both.
    pub called: u32,
    /// Called in both, opposite homozygotes.
    pub ibs0: u32,
    /// Called in both, the same genotype.
    pub ibs2: u32,
    /// Called in both, heterozygous in both.
    pub shared_hets: u32,
    /// Called in both, heterozygous in the first.
    pub hets_a: u32,
    /// Called in both, heterozygous in the second.
    pub hets_b: u32,
}

impl Comparison {
    /// somalier's relatedness: `(shared_hets − 2·IBS0) / min(hets_a, hets_b)` (1 for one person,
    /// ~0.5 for first-degree relatives, ~0 for unrelated people); `None` without hets.
    pub fn relatedness(&self) -> Option<f64> {
        let m = self.hets_a.min(self.hets_b);
        (m > 0).then(|| (f64::from(self.shared_hets) - 2.0 * f64::from(self.ibs0)) / f64::from(m))
    }
}

/// Compares `a` and `b` at their common sites; `priors[i]` for site `i`.
pub fn compare(a: &Evidence, b: &Evidence, priors: &[[f64; 3]], site_cap: f64) -> Comparison {
    let mut c = Comparison::default();
    let (mut i, mut j) = (0, 0);
    while i < a.sites.len() && j < b.sites.len() {
        let (sa, sb) = (a.sites[i], b.sites[j]);
        if sa < sb {
            i += 1;
            continue;
        }
        if sb < sa {
            j += 1;
            continue;
        }
        let pi = &priors[sa as usize];
        let (la, lb) = (&a.likelihoods[i], &b.likelihoods[j]);
        let joint: f64 = (0..3).map(|g| pi[g] * la[g] * lb[g]).sum();
        let ma: f64 = (0..3).map(|g| pi[g] * la[g]).sum();
        let mb: f64 = (0..3).map(|g| pi[g] * lb[g]).sum();
        let term = (joint.max(f64::MIN_POSITIVE).ln() - ma.ln() - mb.ln()).clamp(-site_cap, site_cap);
        c.sites += 1;
        c.llr += term;
        if let (Some(ga), Some(gb)) = (a.calls[i], b.calls[j]) {
            c.called += 1;
            c.ibs0 += u32::from(ga.abs_diff(gb) == 2);
            c.ibs2 += u32::from(ga == gb);
            c.shared_hets += u32::from(ga == 1 && gb == 1);
            c.hets_a += u32::from(ga == 1);
            c.hets_b += u32::from(gb == 1);
        }
        i += 1;
        j += 1;
    }
    c
}

/// What identity says of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Its own patient's other samples say it is theirs.
    Match,
    /// Another patient's samples say it is theirs, and its own patient's (if any) that it is not.
    Swap,
    /// Its own patient's samples say it is not theirs, and no other patient's claim it.
    Foreign,
    /// Its own patient matches, but another patient matches better (relatives, a contamination).
    Ambiguous,
    /// Too few sites, or evidence short of decisive either way.
    Inconclusive,
    /// The patient has no other sample to compare with.
    Alone,
}

impl Verdict {
    /// The name written in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Swap => "swap",
            Verdict::Foreign => "foreign",
            Verdict::Ambiguous => "ambiguous",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Alone => "alone",
        }
    }

    /// Whether the verdict is a problem to report.
    pub fn is_problem(self) -> bool {
        matches!(self, Verdict::Swap | Verdict::Foreign | Verdict::Ambiguous)
    }
}

/// One sample's evidence summed by patient: its own, and the best other.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleIdentity {
    /// Sites the sample covers.
    pub covered: usize,
    /// Summed LLR against its own patient's other samples (`None` if there are none).
    pub own: Option<f64>,
    /// The other patient whose samples match best, with the summed LLR.
    pub best_other: Option<(usize, f64)>,
    /// The verdict.
    pub verdict: Verdict,
}

/// A verdict for sample `s` from `llr[s][t]` (the pair matrix), `patient[t]` (each sample's
/// patient index) and the thresholds.
pub fn judge(
    s: usize,
    llr: &[Vec<f64>],
    patient: &[usize],
    covered: usize,
    min_sites: usize,
    decisive: f64,
) -> SampleIdentity {
    let patients = patient.iter().max().map_or(0, |m| m + 1);
    let mut score: Vec<Option<f64>> = vec![None; patients];
    for (t, &p) in patient.iter().enumerate() {
        if t != s {
            *score[p].get_or_insert(0.0) += llr[s][t];
        }
    }
    let own_patient = patient[s];
    let own = score[own_patient];
    let best_other = score
        .iter()
        .enumerate()
        .filter(|&(p, v)| p != own_patient && v.is_some())
        .map(|(p, v)| (p, v.unwrap_or(f64::NEG_INFINITY)))
        .fold(None, |best: Option<(usize, f64)>, (p, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((p, v)),
        });
    let claimed = best_other.is_some_and(|(_, v)| v > decisive);
    let verdict = if covered < min_sites {
        Verdict::Inconclusive
    } else {
        match own {
            None if claimed => Verdict::Swap,
            None => Verdict::Alone,
            Some(o) if o < -decisive && claimed => Verdict::Swap,
            Some(o) if o < -decisive => Verdict::Foreign,
            Some(o) if o > decisive && best_other.is_some_and(|(_, v)| v > o) => Verdict::Ambiguous,
            Some(o) if o > decisive => Verdict::Match,
            Some(_) => Verdict::Inconclusive,
        }
    };
    SampleIdentity { covered, own, best_other, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(v: &[(u32, u32)]) -> Vec<AlleleCounts> {
        v.iter().map(|&(r, a)| AlleleCounts { reference: r, alternate: a }).collect()
    }

    #[test]
    fn one_person_scores_above_two_and_caps_hold() {
        let priors = vec![priors(0.5); 4];
        let g = Evidence::from_genotypes(&[0, 1, 2, super::super::panel::MISSING]);
        assert_eq!(g.sites, [0, 1, 2]);
        let same = Evidence::from_counts(&counts(&[(10, 0), (5, 5), (0, 10), (3, 3)]), 0.01, 20, 7);
        let other = Evidence::from_counts(&counts(&[(0, 10), (10, 0), (5, 5), (3, 3)]), 0.01, 20, 7);
        let a = compare(&g, &same, &priors, 4.6);
        let b = compare(&g, &other, &priors, 4.6);
        assert_eq!(a.sites, 3);
        assert!(a.llr > 2.0 && b.llr < -5.0, "{a:?} {b:?}");
        // Against a genome, the LLR is ln L(G) − ln Σ π L (known genotype against the population).
        let l = &same.likelihoods[0];
        let m: f64 = (0..3).map(|k| priors[0][k] * l[k]).sum();
        let direct = l[0].ln() - m.ln();
        let one =
            compare(&Evidence::from_genotypes(&[0]), &Evidence { sites: vec![0], ..same.clone() }, &priors, 100.0);
        assert!((one.llr - direct).abs() < 0.01, "{} {direct}", one.llr);
        // A hom/hom conflict is IBS0 and the term is capped.
        let c = compare(&same, &other, &priors, 4.6);
        assert_eq!((c.called, c.ibs0, c.ibs2, c.shared_hets, c.hets_a, c.hets_b), (3, 1, 0, 0, 1, 1));
        assert!(c.llr >= -4.6 * 4.0);
        assert_eq!(c.relatedness(), Some(-2.0));
        let s = compare(&same, &same, &priors, 4.6);
        assert_eq!(s.relatedness(), Some(1.0));
    }

    #[test]
    fn verdicts_follow_the_patients_evidence() {
        // Samples 0,1,2 of patient 0; 3,4 of patient 1; sample 2 is really patient 1's.
        let d = 6.9;
        let mut llr = vec![vec![0.0; 5]; 5];
        let set = |llr: &mut Vec<Vec<f64>>, a: usize, b: usize, v: f64| {
            llr[a][b] = v;
            llr[b][a] = v;
        };
        set(&mut llr, 0, 1, 40.0);
        set(&mut llr, 0, 2, -30.0);
        set(&mut llr, 1, 2, -30.0);
        set(&mut llr, 2, 3, 35.0);
        set(&mut llr, 2, 4, 35.0);
        set(&mut llr, 3, 4, 40.0);
        for (a, b) in [(0, 3), (0, 4), (1, 3), (1, 4)] {
            set(&mut llr, a, b, -30.0);
        }
        let patient = [0, 0, 0, 1, 1];
        let v: Vec<Verdict> = (0..5).map(|s| judge(s, &llr, &patient, 50, 20, d).verdict).collect();
        assert_eq!(v, [Verdict::Match, Verdict::Match, Verdict::Swap, Verdict::Match, Verdict::Match]);
        let swap = judge(2, &llr, &patient, 50, 20, d);
        assert_eq!(swap.best_other, Some((1, 70.0)));
        assert_eq!(swap.own, Some(-60.0));
        assert_eq!(judge(2, &llr, &patient, 5, 20, d).verdict, Verdict::Inconclusive);
        // A patient's only sample: alone, unless another patient's samples claim it.
        assert_eq!(judge(0, &llr, &[0, 1, 1, 1, 1], 50, 20, d).verdict, Verdict::Alone);
        assert_eq!(judge(0, &llr, &[0, 1, 2, 3, 4], 50, 20, d).verdict, Verdict::Swap);
    }
}
