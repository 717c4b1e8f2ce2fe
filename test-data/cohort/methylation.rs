//! The fixture's epigenome: Bismark-style bisulfite alignments (XM/XR/XG tags) over the promoters
//! (TSS ± 500 bp) of the planted genes and a few controls, with differentially methylated
//! promoters that follow the immunotypes. Its own seeded stream, so the RNA fixture is untouched.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use harmonomics::annotation::FeatureSet;
use harmonomics::epigenome::regions::RegionSet;

use super::sim::{HG38, Rng, base, mix};

const SEED: u64 = 0x00B1_5017_2026;
const READ_LEN: u64 = 50;
/// Mean reads covering a base, before the per-sample depth factor.
const DEPTH: f64 = 10.0;
pub const FLANK: u64 = 500;

/// Promoters hypomethylated in hyperinflammatory patients (the HI-up genes), by timepoint.
const HI_HYPO: [f64; 5] = [0.25, 0.35, 0.55, 0.75, 0.85];
/// Promoters hypomethylated in immunosuppressed patients (CD274, IL10, ARG1).
const IS_HYPO: [f64; 5] = [0.35, 0.40, 0.60, 0.80, 0.85];
/// Promoters hypermethylated in immunosuppressed patients (HLA-DRA, CD3E, CD4, CD8A).
const IS_HYPER: [f64; 5] = [0.70, 0.65, 0.40, 0.20, 0.15];
/// Athens samples read this much higher (a site batch effect on beta).
pub const SITE_SHIFT: f64 = 0.05;

/// One sample of the methylation layer.
pub struct SampleInfo {
    pub id: String,
    /// Whose alleles the reads carry (index into the genome's patients).
    pub patient: usize,
    pub hyperinflammatory: bool,
    pub athens: bool,
    pub timepoint: usize,
}

/// The region target for a gene in a sample.
fn target(kind: &str, s: &SampleInfo, control: f64) -> f64 {
    let t = s.timepoint;
    let beta = match kind {
        "hi_hypo" if s.hyperinflammatory => HI_HYPO[t],
        "is_hypo" if !s.hyperinflammatory => IS_HYPO[t],
        "hi_hypo" | "is_hypo" => 0.85,
        "is_hyper" if !s.hyperinflammatory => IS_HYPER[t],
        "is_hyper" => 0.15,
        _ => control,
    };
    beta + if s.athens { SITE_SHIFT } else { 0.0 }
}

/// A fixed per-CpG offset (±0.05), the same in every sample.
fn cpg_offset(contig: usize, pos: u64) -> f64 {
    let mut z = (contig as u64) << 40 ^ pos ^ 0x5EED;
    z = (z ^ (z >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((z >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.1
}

/// Simulates every sample's BAM and the planted truth. `genes` are (gene id, symbol, kind).
pub fn simulate(
    features: &FeatureSet,
    genes: &[(&str, &str, &str)],
    samples: &[SampleInfo],
    alleles: &super::genome::Alleles,
    root: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(SEED);
    let promoters = RegionSet::promoters("promoters", features, FLANK, FLANK);
    let contig_index: BTreeMap<&str, usize> = HG38.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
    // (contig, start, end, kind, control beta), in genome order.
    let mut regions: Vec<(usize, u64, u64, &str, f64)> = Vec::new();
    for (id, _, kind) in genes {
        let r = promoters.regions.iter().find(|r| r.id == *id).ok_or_else(|| format!("gene {id} not in the SAF"))?;
        let control = 0.2 + 0.6 * rng.uniform();
        regions.push((contig_index[r.chrom.as_str()], r.start, r.end, kind, control));
    }
    regions.sort_by_key(|r| (r.0, r.1));

    let dir = root.join("epigenome/bam");
    std::fs::create_dir_all(&dir)?;
    // Truth: calls per CpG (contig, merged 1-based position) per sample, from reads that pass
    // MethylDackel's default filters (MAPQ ≥ 10, not duplicate).
    let mut truth: BTreeMap<(usize, u64), Vec<(u64, u64)>> = BTreeMap::new();
    for (k, s) in samples.iter().enumerate() {
        let depth = DEPTH * (0.2 * rng.normal()).exp();
        let mut lines: Vec<((usize, u64), String)> = Vec::new();
        let mut n = 0u64;
        for &(contig, start, end, kind, control) in &regions {
            let region_beta = target(kind, s, control);
            let span = end - start + READ_LEN;
            let reads = rng.poisson(depth * span as f64 / READ_LEN as f64);
            for _ in 0..reads {
                n += 1;
                let pos = start + 1 - READ_LEN + rng.below(span);
                let top = rng.uniform() < 0.5;
                let mapq = if rng.uniform() < 0.02 { 5 } else { 42 };
                let dup = rng.uniform() < 0.01;
                let counted = mapq >= 10 && !dup;
                let (mut seq, mut xm) = (String::new(), String::new());
                // The read's haplotype: a hash, so the seeded stream (and the calls) are untouched.
                let haplotype = (mix((k as u64) << 40 ^ n) & 1) as usize;
                for p in pos..pos + READ_LEN {
                    let b = base(contig, p);
                    let (read_base, call, cpg) = if top && b == b'C' {
                        if base(contig, p + 1) == b'G' {
                            let m = rng.uniform() < (region_beta + cpg_offset(contig, p)).clamp(0.02, 0.98);
                            (if m { 'C' } else { 'T' }, if m { 'Z' } else { 'z' }, Some((p, m)))
                        } else {
                            let m = rng.uniform() < 0.005;
                            let chg = base(contig, p + 2) == b'G';
                            (
                                if m { 'C' } else { 'T' },
                                [['h', 'H'], ['x', 'X']][usize::from(chg)][usize::from(m)],
                                None,
                            )
                        }
                    } else if !top && b == b'G' {
                        if p > 1 && base(contig, p - 1) == b'C' {
                            let m = rng.uniform() < (region_beta + cpg_offset(contig, p - 1)).clamp(0.02, 0.98);
                            (if m { 'G' } else { 'A' }, if m { 'Z' } else { 'z' }, Some((p - 1, m)))
                        } else {
                            let m = rng.uniform() < 0.005;
                            let chg = p > 2 && base(contig, p - 2) == b'C';
                            (
                                if m { 'G' } else { 'A' },
                                [['h', 'H'], ['x', 'X']][usize::from(chg)][usize::from(m)],
                                None,
                            )
                        }
                    } else {
                        (b as char, '.', None)
                    };
                    // The sample's allele at an SNV, where it is not the reference's: an ALT C (G)
                    // reads as T (A) on the C→T (G→A) strand. XM and the calls stay as drawn from
                    // the reference (the methylation truth is untouched; the caller reads XM).
                    let read_base = match alleles.get(&(contig, p)) {
                        Some((_, alt, h)) if h[s.patient][haplotype] == 1 => match *alt {
                            b'C' if top => 'T',
                            b'G' if !top => 'A',
                            other => other as char,
                        },
                        _ => read_base,
                    };
                    seq.push(read_base);
                    xm.push(call);
                    if let (Some((q, m)), true) = (cpg, counted) {
                        let row = truth.entry((contig, q)).or_insert_with(|| vec![(0, 0); samples.len()]);
                        if m {
                            row[k].0 += 1;
                        } else {
                            row[k].1 += 1;
                        }
                    }
                }
                let flag = if top { 0 } else { 16 } | if dup { 0x400 } else { 0 };
                let (xr, xg) = ("CT", if top { "CT" } else { "GA" });
                let qual = "F".repeat(READ_LEN as usize);
                let line = format!(
                    "{}m{n}\t{flag}\t{}\t{pos}\t{mapq}\t{READ_LEN}M\t*\t0\t0\t{seq}\t{qual}\tNM:i:0\tXM:Z:{xm}\tXR:Z:{xr}\tXG:Z:{xg}",
                    s.id, HG38[contig].0
                );
                lines.push(((contig, pos), line));
            }
        }
        lines.sort_by_key(|(key, _)| *key);
        let path = dir.join(format!("{}.bam", s.id));
        super::write_bam(&path, &s.id, lines.into_iter().map(|(_, l)| l))?;
    }

    let mut table = String::from("chrom\tpos");
    for s in samples {
        write!(table, "\t{}", s.id)?;
    }
    table.push('\n');
    for ((contig, pos), row) in &truth {
        write!(table, "{}\t{pos}", HG38[*contig].0)?;
        for (m, u) in row {
            write!(table, "\t{m}/{u}")?;
        }
        table.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(table.as_bytes())?;
    std::fs::write(root.join("cohort/truth/methylation_calls.tsv.gz"), gz.finish()?)?;

    let mut planted = String::from("feature_id\tsymbol\tkind\tgroup\tday0\tday3\tdischarge\tmonth3\tmonth12\n");
    for (id, symbol, kind) in genes {
        let (group, t) = match *kind {
            "hi_hypo" => ("hyperinflammatory", HI_HYPO),
            "is_hypo" => ("immunosuppressed", IS_HYPO),
            "is_hyper" => ("immunosuppressed", IS_HYPER),
            _ => continue,
        };
        writeln!(planted, "{id}\t{symbol}\t{kind}\t{group}\t{}\t{}\t{}\t{}\t{}", t[0], t[1], t[2], t[3], t[4])?;
    }
    std::fs::write(root.join("cohort/truth/methylation_targets.tsv"), planted)?;
    Ok(())
}
