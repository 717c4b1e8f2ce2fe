//! Genotype QC as plink2 and bcftools define it, counted in one pass over the variants.
//!
//! Per variant (plink2 `--missing`, `--freq`, `--hardy`): missing calls, ALT allele frequency over
//! the observed alleles, minor allele frequency, the Hardy–Weinberg exact test on diploid calls.
//! Per sample (plink2 `--missing`, bcftools `stats -s -` PSC): missing calls, hom-ref, het,
//! hom-ALT, haploid calls, transitions and transversions among the SNVs where the sample carries
//! the ALT allele.

use super::vcf::{Call, Variant};

/// One variant's counts over the samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VariantCounts {
    /// Samples without a call.
    pub missing: u32,
    /// Diploid calls by ALT copies: 0, 1, 2.
    pub diploid: [u32; 3],
    /// Haploid calls: REF, ALT.
    pub haploid: [u32; 2],
}

impl VariantCounts {
    /// Counts the calls of one variant.
    pub fn of(calls: &[Call]) -> Self {
        let mut counts = Self::default();
        for call in calls {
            match *call {
                Call::Missing => counts.missing += 1,
                Call::Diploid(n) => counts.diploid[usize::from(n.min(2))] += 1,
                Call::Haploid(n) => counts.haploid[usize::from(n.min(1))] += 1,
            }
        }
        counts
    }

    /// Samples with a call.
    pub fn called(&self) -> u32 {
        self.diploid.iter().sum::<u32>() + self.haploid.iter().sum::<u32>()
    }

    /// Missing calls over all samples (plink2 `.vmiss` F_MISS); `None` without samples.
    pub fn missing_rate(&self) -> Option<f64> {
        let total = self.called() + self.missing;
        (total > 0).then(|| f64::from(self.missing) / f64::from(total))
    }

    /// Observed alleles (plink2 `.afreq` OBS_CT): two per diploid call, one per haploid call.
    pub fn alleles(&self) -> u32 {
        2 * self.diploid.iter().sum::<u32>() + self.haploid.iter().sum::<u32>()
    }

    /// ALT allele frequency over the observed alleles (plink2 `ALT_FREQS`); `None` when nothing was called.
    pub fn alt_frequency(&self) -> Option<f64> {
        let alleles = self.alleles();
        (alleles > 0).then(|| f64::from(self.alt_alleles()) / f64::from(alleles))
    }

    /// Observed ALT alleles.
    pub fn alt_alleles(&self) -> u32 {
        self.diploid[1] + 2 * self.diploid[2] + self.haploid[1]
    }

    /// Minor allele frequency, from the minor allele's count (so exactly `k/n`, not `1 − k'/n`).
    pub fn maf(&self) -> Option<f64> {
        let (alleles, alt) = (self.alleles(), self.alt_alleles());
        (alleles > 0).then(|| f64::from(alt.min(alleles - alt)) / f64::from(alleles))
    }

    /// Hardy–Weinberg exact p-value on the diploid calls (plink2 `--hardy` P); `None` without any.
    pub fn hwe_p(&self) -> Option<f64> {
        let [hom_ref, het, hom_alt] = self.diploid;
        (hom_ref + het + hom_alt > 0).then(|| hwe_exact(het, hom_ref, hom_alt))
    }
}

/// The Hardy–Weinberg exact test of Wigginton, Cutler and Abecasis (2005, AJHG 76:887), as plink
/// and plink2 compute it: the probabilities of every heterozygote count given the allele counts,
/// summed over those no more likely than the observed one. Ties are judged with a relative
/// tolerance of 1e-7, plink's, so two equally likely tables computed by different products count
/// as equal.
pub fn hwe_exact(het: u32, hom1: u32, hom2: u32) -> f64 {
    let (het, homr, homc) = (u64::from(het), u64::from(hom1.min(hom2)), u64::from(hom1.max(hom2)));
    let rare = 2 * homr + het;
    let genotypes = het + homr + homc;
    if genotypes == 0 {
        return 1.0;
    }
    let rare_len = usize::try_from(rare).unwrap_or(usize::MAX);
    let mut probs = vec![0.0f64; rare_len + 1];
    // Start from the most likely heterozygote count (same parity as `rare`) and walk both ways.
    let mut mid = rare * (2 * genotypes - rare) / (2 * genotypes);
    if mid % 2 != rare % 2 {
        mid += 1;
    }
    let mid_index = usize::try_from(mid).unwrap_or(usize::MAX);
    probs[mid_index] = 1.0;
    let mut sum = 1.0;
    let (mut hets, mut hr, mut hc) = (mid, (rare - mid) / 2, genotypes - mid - (rare - mid) / 2);
    while hets > 1 {
        let p = probs[hets as usize] * (hets * (hets - 1)) as f64 / (4.0 * (hr + 1) as f64 * (hc + 1) as f64);
        probs[(hets - 2) as usize] = p;
        sum += p;
        hets -= 2;
        hr += 1;
        hc += 1;
    }
    let (mut hets, mut hr, mut hc) = (mid, (rare - mid) / 2, genotypes - mid - (rare - mid) / 2);
    while hets + 2 <= rare {
        let p = probs[hets as usize] * 4.0 * hr as f64 * hc as f64 / ((hets + 2) as f64 * (hets + 1) as f64);
        probs[(hets + 2) as usize] = p;
        sum += p;
        hets += 2;
        hr = hr.saturating_sub(1);
        hc = hc.saturating_sub(1);
    }
    let observed = probs[het as usize];
    let threshold = observed * (1.0 + 1e-7);
    let p: f64 = probs.iter().filter(|&&q| q <= threshold).sum::<f64>() / sum;
    p.min(1.0)
}

/// plink2's variant filters, as `--geno`, `--maf` and `--hwe` apply them: a variant is left out of
/// the normalised matrix when more than `max_missing` of its calls are missing, its minor allele
/// frequency is below `min_maf`, or its Hardy–Weinberg exact p is below `min_hwe_p`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VariantFilter {
    /// Largest missing-call rate kept (plink2 `--geno`, 0.1 by default there; 0.05 here, the
    /// usual GWAS QC).
    pub max_missing: f64,
    /// Smallest minor allele frequency kept (plink2 `--maf`).
    pub min_maf: f64,
    /// Smallest Hardy–Weinberg exact p kept (plink2 `--hwe`).
    pub min_hwe_p: f64,
}

impl Default for VariantFilter {
    fn default() -> Self {
        Self { max_missing: 0.05, min_maf: 0.01, min_hwe_p: 1e-6 }
    }
}

impl VariantFilter {
    /// The first filter a variant fails (`missing`, `maf`, `hwe`), or `None` when it is kept.
    pub fn removed_by(&self, counts: &VariantCounts) -> Option<&'static str> {
        if counts.missing_rate().is_none_or(|r| r > self.max_missing) {
            Some("missing")
        } else if counts.maf().is_none_or(|m| m < self.min_maf) {
            Some("maf")
        } else if counts.hwe_p().is_some_and(|p| p < self.min_hwe_p) {
            Some("hwe")
        } else {
            None
        }
    }

    /// Whether every threshold is a number in its range.
    pub fn check(&self) -> Result<(), String> {
        for (name, v, hi) in
            [("max_missing", self.max_missing, 1.0), ("min_maf", self.min_maf, 0.5), ("min_hwe_p", self.min_hwe_p, 1.0)]
        {
            if !(0.0..=hi).contains(&v) {
                return Err(format!("{name} = {v}: expected a number from 0 to {hi}"));
            }
        }
        Ok(())
    }
}

/// One sample's counts over the variants.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SampleCounts {
    /// Variants without a call.
    pub missing: u64,
    /// Diploid hom-REF, het, hom-ALT calls.
    pub diploid: [u64; 3],
    /// Haploid REF, ALT calls.
    pub haploid: [u64; 2],
    /// SNVs where the sample carries the ALT allele that are transitions (bcftools PSC nTransitions).
    pub transitions: u64,
    /// ... and transversions (PSC nTransversions).
    pub transversions: u64,
    /// Indels where the sample carries the ALT allele (PSC nIndels).
    pub indels: u64,
    /// The chrX evidence for the sample's sex (plink `--check-sex`).
    pub sex: SexEvidence,
}

/// What plink 1.9's `--check-sex` counts per sample: on polymorphic chrX sites outside the
/// pseudo-autosomal regions, the called sites, the heterozygous calls and Nei's expected
/// homozygosity `Σ 1 − 2p(1 − p)` (p from the cohort's calls), and the calls on chrY.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SexEvidence {
    /// Polymorphic non-PAR chrX sites with a call.
    pub x_sites: u64,
    /// ... of which heterozygous.
    pub x_het: u64,
    /// Expected homozygous calls among them under Hardy–Weinberg.
    pub x_expected_hom: f64,
    /// Calls on chrY.
    pub y_called: u64,
}

impl SexEvidence {
    /// plink's inbreeding coefficient F on chrX: `(observed hom − expected hom) / (sites −
    /// expected hom)`; near 1 for a male (one X), near 0 for a female. `None` without sites.
    pub fn f(&self) -> Option<f64> {
        let total = self.x_sites as f64 - self.x_expected_hom;
        (self.x_sites > 0).then(|| (total - self.x_het as f64) / total)
    }

    /// plink's call: male above `male_f`, female below `female_f` (plink's defaults 0.8 and 0.2),
    /// unknown between or without chrX sites.
    pub fn infer(&self, female_f: f64, male_f: f64) -> InferredSex {
        match self.f() {
            Some(f) if f > male_f => InferredSex::Male,
            Some(f) if f < female_f => InferredSex::Female,
            _ => InferredSex::Unknown,
        }
    }
}

/// A sex inferred from genotypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InferredSex {
    /// One X.
    Male,
    /// Two X.
    Female,
    /// F between the thresholds, or no chrX data.
    Unknown,
}

impl InferredSex {
    /// The name written to the QC table.
    pub fn as_str(self) -> &'static str {
        match self {
            InferredSex::Male => "male",
            InferredSex::Female => "female",
            InferredSex::Unknown => "unknown",
        }
    }
}

/// Where a contig sits for the sex check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SexContig {
    /// chrX outside the pseudo-autosomal regions.
    X,
    /// chrY.
    Y,
    /// Anything else (autosomes, PARs, mtDNA, unplaced).
    Other,
}

/// The pseudo-autosomal regions of chrX (1-based, inclusive) by the X length the VCF header
/// declares: GRCh38 (156,040,895) or GRCh37 (155,270,560). Without a declared length the GRCh38
/// regions are used, since the cohort's annotation is GRCh38 by default.
pub fn x_pars(x_length: Option<usize>) -> [(usize, usize); 2] {
    match x_length {
        Some(155_270_560) => [(60_001, 2_699_520), (154_931_044, 155_260_560)],
        _ => [(10_001, 2_781_479), (155_701_383, 156_030_895)],
    }
}

/// The sex a samplesheet value records (`M`/`male`/`1`, `F`/`female`/`2`, plink's codes, any
/// case), named as [`InferredSex::as_str`] names it; `None` for anything else.
pub fn recorded_sex(value: &str) -> Option<&'static str> {
    match value.to_ascii_lowercase().as_str() {
        "m" | "male" | "1" => Some("male"),
        "f" | "female" | "2" => Some("female"),
        _ => None,
    }
}

/// The sex chromosome a contig name means, PARs included: chrX/X/23 (plink's code), chrY/Y/24.
pub fn sex_chromosome(chrom: &str) -> SexContig {
    match chrom.strip_prefix("chr").unwrap_or(chrom) {
        "X" | "23" => SexContig::X,
        "Y" | "24" => SexContig::Y,
        _ => SexContig::Other,
    }
}

/// The sex-check class of a position: [`sex_chromosome`], with chrX's `pars` counted as Other.
pub fn sex_contig(chrom: &str, position: usize, pars: &[(usize, usize); 2]) -> SexContig {
    match sex_chromosome(chrom) {
        SexContig::X if pars.iter().any(|&(start, end)| (start..=end).contains(&position)) => SexContig::Other,
        class => class,
    }
}

/// Adds one variant's calls to every sample's sex evidence (`alt_frequency` over all samples).
pub fn add_sex_evidence(counts: &mut [SampleCounts], calls: &[Call], contig: SexContig, alt_frequency: Option<f64>) {
    match contig {
        SexContig::X => {
            // plink skips sites it sees as monomorphic (frequency within 1e-8 of 0 or 1).
            let Some(p) = alt_frequency.filter(|p| *p >= 1e-8 && *p <= 1.0 - 1e-8) else { return };
            let expected_hom = 1.0 - 2.0 * p * (1.0 - p);
            for (c, call) in counts.iter_mut().zip(calls) {
                if *call != Call::Missing {
                    c.sex.x_sites += 1;
                    c.sex.x_expected_hom += expected_hom;
                    c.sex.x_het += u64::from(*call == Call::Diploid(1));
                }
            }
        }
        SexContig::Y => {
            for (c, call) in counts.iter_mut().zip(calls) {
                c.sex.y_called += u64::from(*call != Call::Missing);
            }
        }
        SexContig::Other => {}
    }
}

impl SampleCounts {
    /// Adds one variant's call of this sample.
    pub fn add(&mut self, variant: &Variant, call: Call) {
        let carries_alt = match call {
            Call::Missing => {
                self.missing += 1;
                false
            }
            Call::Diploid(n) => {
                self.diploid[usize::from(n.min(2))] += 1;
                n > 0
            }
            Call::Haploid(n) => {
                self.haploid[usize::from(n.min(1))] += 1;
                n > 0
            }
        };
        if carries_alt {
            match variant.is_transition() {
                Some(true) => self.transitions += 1,
                Some(false) => self.transversions += 1,
                None if !variant.is_snv() => self.indels += 1,
                None => {}
            }
        }
    }

    /// Variants with a call.
    pub fn called(&self) -> u64 {
        self.diploid.iter().sum::<u64>() + self.haploid.iter().sum::<u64>()
    }

    /// Missing calls over all variants (plink2 `.smiss` F_MISS).
    pub fn missing_rate(&self) -> Option<f64> {
        let total = self.called() + self.missing;
        (total > 0).then(|| self.missing as f64 / total as f64)
    }

    /// Heterozygous calls over diploid calls.
    pub fn heterozygosity(&self) -> Option<f64> {
        let diploid: u64 = self.diploid.iter().sum();
        (diploid > 0).then(|| self.diploid[1] as f64 / diploid as f64)
    }

    /// Transitions over transversions; `None` without transversions.
    pub fn ti_tv(&self) -> Option<f64> {
        (self.transversions > 0).then(|| self.transitions as f64 / self.transversions as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hwe_exact_matches_published_values() {
        // Wigginton et al. 2005's reference implementation: 57 AA, 14 AB, 50 BB (a strong het
        // deficit) and a table in equilibrium.
        let p = hwe_exact(14, 57, 50);
        assert!(p < 1e-15 && p > 0.0, "{p}");
        assert!((hwe_exact(50, 25, 25) - 1.0).abs() < 1e-12);
        // A monomorphic site is in equilibrium; symmetry in the two homozygotes.
        assert_eq!(hwe_exact(0, 10, 0), 1.0);
        assert_eq!(hwe_exact(3, 1, 20), hwe_exact(3, 20, 1));
        // 1 het, 0 hom-rare, 9 hom-common: the only table with one rare allele.
        assert!((hwe_exact(1, 0, 9) - 1.0).abs() < 1e-12);
        // 0 het, 1 hom-rare, 9 hom-common: P(0 het | 2 rare, 10 people) = 1/19, and the table with
        // two hets (18/19) is more likely, so p = 1/19.
        assert!((hwe_exact(0, 1, 9) - 1.0 / 19.0).abs() < 1e-12, "{}", hwe_exact(0, 1, 9));
    }

    #[test]
    fn counts_follow_plink_and_bcftools_definitions() {
        let variant = Variant {
            record: 1,
            chrom: "1".into(),
            position: 1,
            id: None,
            reference: "A".into(),
            alternate: "G".into(),
            imputation_r2: None,
            calls: vec![Call::Diploid(0), Call::Diploid(1), Call::Diploid(2), Call::Missing, Call::Haploid(1)],
            dosages: None,
        };
        let counts = VariantCounts::of(&variant.calls);
        assert_eq!(counts.called(), 4);
        assert_eq!(counts.alleles(), 7);
        assert_eq!(counts.alt_frequency(), Some(4.0 / 7.0));
        assert_eq!(counts.maf(), Some(3.0 / 7.0));
        assert_eq!(counts.missing_rate(), Some(0.2));
        let mut sample = SampleCounts::default();
        for call in &variant.calls {
            sample.add(&variant, *call);
        }
        assert_eq!((sample.transitions, sample.transversions, sample.missing), (3, 0, 1));
        assert_eq!(sample.heterozygosity(), Some(1.0 / 3.0));
    }
}
