//! Methylation calls against a live reference tool: htslib's own MM/ML decoding as printed by
//! `samtools mpileup --output-mods` (Debian's samtools, installed by `.ci/run`). Neither Bismark
//! nor MethylDackel installs from the registries CI reaches (see test-data/real/README.md).
//!
//! The fixture's bisulfite reads are rewritten as modified-base reads of the same molecules: the
//! reference sequence restored (every C the XM string calls), and each CpG C listed in
//! `MM:Z:C+m?` with ML 230 (Z) or 20 (z); on reverse-strand reads the list runs over the read as
//! sequenced, i.e. the reverse complement. Without a reference, MM/ML calls take the CpG context
//! from the read, so a CpG cut by the read's end (its G, or on the reverse strand its C, outside
//! the read) is left out of MM (Bismark's XM still calls it, from the genome). Then our MM/ML
//! calls must equal htslib's pileup at every CpG, and our XM calls must equal the pileup plus
//! exactly those read-end calls.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;

fn samtools(args: &[&str]) -> std::process::Output {
    let o =
        Command::new("samtools").args(args).output().expect("samtools must be installed (apt-get install samtools)");
    assert!(o.status.success(), "samtools {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// The bisulfite SAM rewritten with MM/ML tags (see the module comment).
fn to_modbam(sam: &str) -> String {
    let mut out = String::new();
    for line in sam.lines() {
        if line.starts_with('@') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut f: Vec<String> = line.split('\t').map(String::from).collect();
        let reverse = f[1].parse::<u16>().expect("flag") & 16 != 0;
        let xm: Vec<u8> = f[11..].iter().find_map(|t| t.strip_prefix("XM:Z:")).expect("XM").bytes().collect();
        let mut seq: Vec<u8> = f[9].bytes().collect();
        for (i, c) in xm.iter().enumerate() {
            if *c != b'.' {
                seq[i] = if reverse { b'G' } else { b'C' };
            }
        }
        // Indices into SEQ of the read's Cs in sequencing order.
        let cs: Vec<usize> = if reverse {
            (0..seq.len()).rev().filter(|&i| seq[i] == b'G').collect()
        } else {
            (0..seq.len()).filter(|&i| seq[i] == b'C').collect()
        };
        let (mut deltas, mut ml, mut previous) = (String::new(), Vec::new(), None::<usize>);
        for (n, &i) in cs.iter().enumerate() {
            let partner_inside = if reverse { i > 0 } else { i + 1 < seq.len() };
            if matches!(xm[i], b'Z' | b'z') && partner_inside {
                let skipped = previous.map_or(n, |p| n - p - 1);
                deltas.push_str(&format!(",{skipped}"));
                ml.push(if xm[i] == b'Z' { "230" } else { "20" });
                previous = Some(n);
            }
        }
        f[9] = String::from_utf8(seq).expect("ascii");
        let mut tags: Vec<String> = f[11..].iter().filter(|t| !t.starts_with('X')).cloned().collect();
        tags.push(format!("MM:Z:C+m?{deltas};"));
        if !ml.is_empty() {
            tags.push(format!("ML:B:C,{}", ml.join(",")));
        }
        f.truncate(11);
        f.extend(tags);
        out.push_str(&f.join("\t"));
        out.push('\n');
    }
    out
}

/// CpG (chrom, 1-based C) → (methylated, unmethylated) from `samtools mpileup -M`: forward reads
/// show the C at the CpG's position, reverse reads (lower case) the G one base right.
fn pileup_calls(text: &str) -> BTreeMap<(String, u64), (u64, u64)> {
    let mut calls: BTreeMap<(String, u64), (u64, u64)> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (chrom, pos): (&str, u64) = (f[0], f[1].parse().expect("pos"));
        let bases = f[4].as_bytes();
        let mut k = 0;
        while k < bases.len() {
            let b = bases[k];
            k += 1;
            match b {
                b'^' => {
                    k += 1; // mapping quality follows a read start
                    continue;
                }
                b'$' | b'*' | b'#' | b'>' | b'<' => continue,
                b'+' | b'-' => {
                    let start = k;
                    while bases[k].is_ascii_digit() {
                        k += 1;
                    }
                    let n: usize = std::str::from_utf8(&bases[start..k]).expect("utf-8").parse().expect("indel");
                    k += n;
                    continue;
                }
                _ => {}
            }
            if k < bases.len() && bases[k] == b'[' {
                let end = k + bases[k..].iter().position(|&c| c == b']').expect("]");
                let annotation = std::str::from_utf8(&bases[k + 1..end]).expect("utf-8");
                k = end + 1;
                let ml: u32 =
                    annotation.trim_start_matches(['+', '-']).trim_start_matches('m').parse().expect("ML value");
                let site = if b == b'g' { pos - 1 } else { pos };
                let e = calls.entry((chrom.to_string(), site)).or_default();
                if ml >= 128 {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
    }
    calls
}

/// XM calls from CpGs cut by a read end, which the MM/ML rewrite leaves out.
fn read_end_calls(sam: &str) -> BTreeMap<(String, u64), (u64, u64)> {
    let mut calls: BTreeMap<(String, u64), (u64, u64)> = BTreeMap::new();
    for line in sam.lines().filter(|l| !l.starts_with('@')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (flag, pos, mapq): (u16, u64, u8) =
            (f[1].parse().expect("flag"), f[3].parse().expect("pos"), f[4].parse().expect("mapq"));
        if flag & 0x400 != 0 || mapq < 10 {
            continue;
        }
        let xm = f[11..].iter().find_map(|t| t.strip_prefix("XM:Z:")).expect("XM").as_bytes();
        // Reads are 50M: index i sits at pos + i.
        let (i, site) = if flag & 16 != 0 { (0, pos - 1) } else { (xm.len() - 1, pos + xm.len() as u64 - 1) };
        let e = calls.entry((f[2].to_string(), site)).or_default();
        match xm[i] {
            b'Z' => e.0 += 1,
            b'z' => e.1 += 1,
            _ => {
                if *e == (0, 0) {
                    calls.remove(&(f[2].to_string(), site));
                }
            }
        }
    }
    calls
}

/// The first differences between two call tables, for a readable failure.
fn differences(a: &BTreeMap<(String, u64), (u64, u64)>, b: &BTreeMap<(String, u64), (u64, u64)>) -> Vec<String> {
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(10)
        .map(|k| format!("{}:{} {:?} vs {:?}", k.0, k.1, a.get(k), b.get(k)))
        .collect()
}

fn our_calls(parquet: &std::path::Path) -> BTreeMap<(String, u64), (u64, u64)> {
    let (t, _) = read_parquet(parquet);
    let (c, p, m, u) = (strings(&t, "chrom"), u64s(&t, "pos"), u64s(&t, "methylated"), u64s(&t, "unmethylated"));
    (0..t.num_rows())
        .map(|k| ((c[k].clone().expect("chrom"), p[k].expect("pos")), (m[k].expect("m"), u[k].expect("u"))))
        .collect()
}

#[test]
#[ignore = "needs samtools (Debian); .ci/run installs it"]
fn xm_calls_mm_ml_calls_and_samtools_mpileup_agree_at_every_cpg() {
    let dir = Workdir::new();
    for sample in ["P01_day0", "P06_month3", "P08_discharge"] {
        let bisulfite = repo().join(format!("test-data/epigenome/bam/{sample}.bam"));
        let sam = String::from_utf8(samtools(&["view", "-h", bisulfite.to_str().expect("utf-8")]).stdout).expect("sam");
        let mod_sam = dir.join("mod.sam");
        std::fs::write(&mod_sam, to_modbam(&sam)).expect("write");
        let mod_bam = dir.join("mod.bam");
        samtools(&["view", "-b", "-o", mod_bam.to_str().expect("utf-8"), mod_sam.to_str().expect("utf-8")]);
        samtools(&["index", mod_bam.to_str().expect("utf-8")]);
        // htslib: MAPQ >= 10 as our default, duplicates skipped by its default --ff, no BAQ.
        let pileup = samtools(&["mpileup", "-M", "-B", "-Q", "0", "-q", "10", mod_bam.to_str().expect("utf-8")]);
        let reference = pileup_calls(&String::from_utf8(pileup.stdout).expect("utf-8"));

        let (xm_out, mm_out) = (dir.join("xm.parquet"), dir.join("mm.parquet"));
        for (input, out) in [(&bisulfite, &xm_out), (&mod_bam, &mm_out)] {
            quant_methylation(input, out, &[]);
        }
        let (xm, mm) = (our_calls(&xm_out), our_calls(&mm_out));
        assert!(reference.len() > 1000, "{sample}: {} CpGs in the pileup", reference.len());
        let d = differences(&mm, &reference);
        assert!(d.is_empty(), "{sample}: MM/ML calls vs samtools mpileup --output-mods: {d:#?}");
        let mut with_ends = reference.clone();
        for (k, (m, u)) in read_end_calls(&sam) {
            let e = with_ends.entry(k).or_default();
            e.0 += m;
            e.1 += u;
        }
        let d = differences(&xm, &with_ends);
        assert!(d.is_empty(), "{sample}: XM calls vs samtools' pileup plus read-end CpGs: {d:#?}");
    }
}
