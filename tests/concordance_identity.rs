//! The identity check's two measurements against the tools users would check them with, Debian's
//! samtools 1.16 and bcftools 1.16 (installed by `.ci/run`): REF/ALT counts at every site of every
//! fixture RNA BAM against `samtools mpileup` with the same read and base filters; and pairwise
//! genotype comparisons on a real VCF (22 HapMap exomes on chr22, Bioconductor VariantAnnotation)
//! against `bcftools gtcheck -e 0 -u GT` (discordance and sites compared, every pair). Ignored by
//! default because they need the tools on the PATH.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use harmonomics::identity::panel::{Panel, PanelFilter};
use harmonomics::identity::pileup::{self, PileupOptions};
use harmonomics::identity::relate::{Evidence, compare, priors};

fn output(program: &str, args: &[&str]) -> String {
    let o = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e} (is it installed?)"));
    assert!(o.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

/// REF and ALT reads in one mpileup bases column (without `-f` the bases are letters; with it
/// `.`/`,` are REF; `^X` starts and `$` ends a read; `+3ACG`/`-2AC` are indels after the base; `>`/`<` are reference skips; `*` a deletion).
fn mpileup_alleles(bases: &str, reference: u8, alt: u8) -> (u32, u32) {
    let b = bases.as_bytes();
    let (mut r, mut a, mut i) = (0, 0, 0);
    while i < b.len() {
        match b[i] {
            b'^' => i += 1,
            b'+' | b'-' => {
                let mut j = i + 1;
                let mut n = 0usize;
                while j < b.len() && b[j].is_ascii_digit() {
                    n = n * 10 + usize::from(b[j] - b'0');
                    j += 1;
                }
                i = j + n - 1;
            }
            b'.' | b',' => r += 1,
            c if c.to_ascii_uppercase() == reference => r += 1,
            c if c.to_ascii_uppercase() == alt => a += 1,
            _ => {}
        }
        i += 1;
    }
    (r, a)
}

#[test]
#[ignore = "needs samtools (Debian package; .ci/run installs it)"]
fn allele_counts_equal_samtools_mpileup_on_every_fixture_rna_bam() {
    let vcf = repo().join("test-data/genome/genotypes.vcf");
    let panel =
        Panel::read(&vcf, &PanelFilter { min_maf: 0.05, min_call_rate: 0.9, max_sites: 100_000 }).expect("panel");
    let dir = Workdir::new();
    let bed: String =
        panel.sites.iter().map(|s| format!("{}\t{}\t{}\n", s.chrom, s.position - 1, s.position)).collect();
    let bed = dir.write("sites.bed", &bed);
    let options = PileupOptions { min_mapq: 20, min_base_quality: 13 };
    let mut compared = (0, 0u64);
    let bams: Vec<_> = std::fs::read_dir(repo().join("test-data/transcriptome/bam"))
        .expect("bams")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bam"))
        .collect();
    assert_eq!(bams.len(), 39);
    for bam in &bams {
        let (ours, _) = pileup::count(bam, &panel, &options).expect("pileup");
        let text = output(
            "samtools",
            &[
                "mpileup",
                "-B",
                "-q",
                "20",
                "-Q",
                "13",
                "--ff",
                "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY",
                "-l",
                arg(&bed),
                arg(bam),
            ],
        );
        let mut theirs: BTreeMap<(String, u64), (u32, u32)> = BTreeMap::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let key = (f[0].to_string(), f[1].parse().expect("pos"));
            let site = panel.sites.iter().find(|s| s.chrom == key.0 && s.position == key.1).expect("a panel site");
            theirs.insert(key, mpileup_alleles(f[4], site.reference, site.alternate));
        }
        for (site, c) in panel.sites.iter().zip(&ours) {
            let t = theirs.get(&(site.chrom.clone(), site.position)).copied().unwrap_or((0, 0));
            assert_eq!((c.reference, c.alternate), t, "{} at {}", bam.display(), site.id());
            compared.0 += 1;
            compared.1 += u64::from(c.depth());
        }
    }
    assert_eq!(compared.0, 39 * panel.sites.len());
    assert!(compared.1 > 3_000, "{compared:?} reads at sites");
}

#[test]
#[ignore = "needs bcftools (Debian package; .ci/run installs it)"]
fn genotype_comparisons_equal_bcftools_gtcheck_on_real_exomes() {
    let vcf = repo().join("test-data/real/genotypes/hapmap_exome_chr22.vcf.gz");
    let panel =
        Panel::read(&vcf, &PanelFilter { min_maf: 0.0, min_call_rate: 0.0, max_sites: usize::MAX }).expect("panel");
    let dir = Workdir::new();
    let snvs = dir.join("snvs.vcf.gz");
    output("bcftools", &["view", "-v", "snps", "-m2", "-M2", "-Oz", "-o", arg(&snvs), arg(&vcf)]);
    let text = output("bcftools", &["gtcheck", "-e", "0", "-u", "GT", arg(&snvs)]);
    let evidence: Vec<Evidence> = panel.genotypes.iter().map(|g| Evidence::from_genotypes(g)).collect();
    let flat = vec![priors(0.5); panel.sites.len()];
    let mut pairs = 0;
    for line in text.lines().filter(|l| l.starts_with("DC\t")) {
        let f: Vec<&str> = line.split('\t').collect();
        let (a, b) = (panel.sample_index(f[1]).expect("query"), panel.sample_index(f[2]).expect("genotyped"));
        let c = compare(&evidence[a], &evidence[b], &flat, 100.0);
        let (discordance, sites): (u32, u32) = (f[3].parse().expect("discordance"), f[5].parse().expect("sites"));
        assert_eq!((c.called - c.ibs2, c.called), (discordance, sites), "{} vs {}", f[1], f[2]);
        pairs += 1;
    }
    let n = panel.samples.len();
    assert_eq!(n, 22);
    assert_eq!(pairs, n * (n - 1) / 2);
}
