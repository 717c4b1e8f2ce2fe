//! Methylation calls per CpG on alignments built in the test, one rule per test: both strands,
//! CpGs at read ends, soft clips, deletions, MM/ML skip modes and orientation, overlapping mates,
//! filters, and bad input.

mod common;

use std::collections::BTreeMap;

use common::*;
use harmonomics::epigenome::calls::{CallOptions, CallStats, call};

/// (chrom, pos) → (methylated, unmethylated).
type Sites = BTreeMap<(String, u64), (u64, u64)>;

const HEADER: &str = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:10000\n@SQ\tSN:chr2\tLN:10000\n";

/// A SAM line; `xm` of `None` means no Bismark tags.
fn bismark(name: &str, flag: u16, pos: u64, cigar: &str, xm: &str, top: bool) -> String {
    let len = xm.len();
    let seq = "A".repeat(len);
    let xg = if top { "CT" } else { "GA" };
    format!("{name}\t{flag}\tchr1\t{pos}\t40\t{cigar}\t*\t0\t0\t{seq}\t*\tXM:Z:{xm}\tXR:Z:CT\tXG:Z:{xg}")
}

/// XM of `len` dots with `calls` (index, char) set.
fn xm(len: usize, calls: &[(usize, char)]) -> String {
    let mut s = vec!['.'; len];
    for (i, c) in calls {
        s[*i] = *c;
    }
    s.into_iter().collect()
}

fn run(dir: &Workdir, name: &str, lines: &[String], options: &CallOptions) -> (Sites, CallStats) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}{}\n", lines.join("\n"))).expect("write sam");
    let (calls, stats) = call(&path, options, 1).expect("calls");
    let map = calls.iter().map(|(c, s)| ((c.to_string(), s.pos), (s.methylated, s.unmethylated))).collect();
    (map, stats)
}

fn site(map: &Sites, pos: u64) -> Option<(u64, u64)> {
    map.get(&("chr1".to_string(), pos)).copied()
}

#[test]
fn both_strands_merge_onto_the_forward_c_even_at_read_ends() {
    let dir = Workdir::new();
    // Top read at 100: Z at index 19 (1-based 119, the CpG's C) and a z at its last base (149).
    // Bottom read at 120: its first base (120) is the CpG's G, so the call belongs to 119; a z at
    // index 30 (150, a G) belongs to the CpG at 149.
    let lines = [
        bismark("top", 0, 100, "50M", &xm(50, &[(19, 'Z'), (49, 'z'), (3, 'h'), (7, 'X')]), true),
        bismark("bottom", 16, 120, "50M", &xm(50, &[(0, 'Z'), (30, 'z'), (5, 'x')]), false),
    ];
    let (map, stats) = run(&dir, "strands.sam", &lines, &CallOptions::default());
    assert_eq!(site(&map, 119), Some((2, 0)));
    assert_eq!(site(&map, 149), Some((0, 2)));
    assert_eq!(map.len(), 2);
    assert_eq!((stats.non_cpg_methylated, stats.non_cpg_unmethylated), (1, 2));
    assert_eq!(stats.conversion_rate(), Some(2.0 / 3.0));
}

#[test]
fn soft_clips_and_insertions_have_no_reference_and_deletions_shift_the_rest() {
    let dir = Workdir::new();
    // 5S20M2I23M: index 2 is clipped, index 26 inserted; index 10 → 100 + 5 = 105... (10-5)=5 → 105.
    let clipped = bismark("clip", 0, 100, "5S20M2I23M", &xm(50, &[(2, 'Z'), (10, 'Z'), (26, 'Z'), (30, 'z')]), true);
    // 20M2D30M at 300: index 19 → 319, index 20 → 322 (the deletion covers 320-321).
    let deleted = bismark("del", 0, 300, "20M2D30M", &xm(50, &[(19, 'Z'), (20, 'z')]), true);
    let (map, _) = run(&dir, "clips.sam", &[clipped, deleted], &CallOptions::default());
    // Index 30 is after 5 clipped, 20 matched, 2 inserted: 30 - 7 = 23 → 123.
    let got: Vec<(u64, (u64, u64))> = map.iter().map(|((_, p), v)| (*p, *v)).collect();
    assert_eq!(got, [(105, (1, 0)), (123, (0, 1)), (319, (1, 0)), (322, (0, 1))]);
}

#[test]
fn overlapping_mates_count_each_cpg_once_from_read_1() {
    let dir = Workdir::new();
    // R1 at 100 (50M) and R2 at 120 (50M) overlap on 120-149. CpG 130: R1 says Z, R2 says z;
    // CpG 160 only R2 covers; CpG 105 only R1.
    let r1 = format!(
        "pair\t99\tchr1\t100\t40\t50M\t=\t120\t70\t{}\t*\tXM:Z:{}\tXR:Z:CT\tXG:Z:CT",
        "A".repeat(50),
        xm(50, &[(5, 'Z'), (30, 'Z')])
    );
    let r2 = format!(
        "pair\t147\tchr1\t120\t40\t50M\t=\t100\t-70\t{}\t*\tXM:Z:{}\tXR:Z:GA\tXG:Z:CT",
        "A".repeat(50),
        xm(50, &[(10, 'z'), (40, 'z')])
    );
    // A second pair whose read 2 comes first in the file (same start): still read 1 wins.
    let s2 = format!(
        "other\t163\tchr1\t400\t40\t50M\t=\t400\t50\t{}\t*\tXM:Z:{}\tXR:Z:GA\tXG:Z:CT",
        "A".repeat(50),
        xm(50, &[(10, 'z')])
    );
    let s1 = format!(
        "other\t83\tchr1\t400\t40\t50M\t=\t400\t-50\t{}\t*\tXM:Z:{}\tXR:Z:CT\tXG:Z:CT",
        "A".repeat(50),
        xm(50, &[(10, 'Z')])
    );
    let (map, stats) = run(&dir, "pairs.sam", &[r1, r2, s2, s1], &CallOptions::default());
    assert_eq!(site(&map, 105), Some((1, 0)));
    assert_eq!(site(&map, 130), Some((1, 0)), "read 1's call, once");
    assert_eq!(site(&map, 160), Some((0, 1)));
    assert_eq!(site(&map, 410), Some((1, 0)));
    assert_eq!(stats.overlap, 2);
}

#[test]
fn filters_follow_methyldackel_defaults_and_m_bias_trimming() {
    let dir = Workdir::new();
    let call_at = |name: &str, flag: u16, mapq: u8, pos: u64| {
        format!(
            "{name}\t{flag}\tchr1\t{pos}\t{mapq}\t10M\t*\t0\t0\tAAAAAAAAAA\tIIII#IIIII\tXM:Z:Z...z....Z\tXR:Z:CT\tXG:Z:CT"
        )
    };
    let lines = [
        call_at("ok", 0, 40, 100),
        call_at("lowq", 0, 9, 100),
        call_at("dup", 1024, 40, 100),
        call_at("secondary", 256, 40, 100),
        call_at("qcfail", 512, 40, 100),
    ];
    let (map, stats) = run(&dir, "filters.sam", &lines, &CallOptions::default());
    // Index 4 has base quality 2 ('#'): dropped. Only the first record passes.
    assert_eq!(site(&map, 100), Some((1, 0)));
    assert_eq!(site(&map, 104), None);
    assert_eq!(site(&map, 109), Some((1, 0)));
    assert_eq!((stats.low_mapq, stats.duplicate, stats.not_primary, stats.qc_fail), (1, 1, 1, 1));
    assert_eq!(stats.low_base_quality, 1);
    let trim = CallOptions { ignore_first: 1, ignore_last: 1, min_base_quality: 0, ..Default::default() };
    let (map, stats) = run(&dir, "trim.sam", &lines[..1], &trim);
    assert_eq!((site(&map, 100), site(&map, 104), site(&map, 109)), (None, Some((0, 1)), None));
    assert_eq!(stats.trimmed, 2);
    let keep = CallOptions { keep_duplicates: true, min_mapq: 0, ..Default::default() };
    let (map, _) = run(&dir, "keep.sam", &lines, &keep);
    assert_eq!(site(&map, 100), Some((3, 0)), "ok, lowq and dup; secondary and QC-failed never count");
}

/// Modified-base reads: SEQ `ACGTTCGAACGA` at 1000 has CpGs at 1001, 1005 and 1009 (1-based C).
#[test]
fn mm_ml_skip_modes_and_orientation() {
    let dir = Workdir::new();
    let seq = "ACGTTCGAACGA";
    let q = "IIIIIIIIIIII";
    let fwd = |name: &str, mm: &str, ml: &str| {
        format!("{name}\t0\tchr1\t1000\t60\t12M\t*\t0\t0\t{seq}\t{q}\tMM:Z:{mm}\tML:B:C,{ml}")
    };
    // C bases of the read: 1, 5, 9. `C+m,1` lists the second C (the CpG at 1005).
    let (map, _) = run(&dir, "implicit.sam", &[fwd("i", "C+m,1;", "250")], &CallOptions::default());
    let got: Vec<(u64, (u64, u64))> = map.iter().map(|((_, p), v)| (*p, *v)).collect();
    assert_eq!(got, [(1001, (0, 1)), (1005, (1, 0)), (1009, (0, 1))], "implicit: unlisted Cs are unmodified");
    let (map, _) = run(&dir, "explicit.sam", &[fwd("e", "C+m?,1;", "250")], &CallOptions::default());
    let got: Vec<(u64, (u64, u64))> = map.iter().map(|((_, p), v)| (*p, *v)).collect();
    assert_eq!(got, [(1005, (1, 0))], "explicit: unlisted Cs were not examined");
    // Probabilities between the thresholds give no call; a low one is a confident canonical call.
    let (map, stats) = run(&dir, "levels.sam", &[fwd("l", "C+m?,0,0,0;", "128,20,170")], &CallOptions::default());
    let got: Vec<(u64, (u64, u64))> = map.iter().map(|((_, p), v)| (*p, *v)).collect();
    assert_eq!(got, [(1005, (0, 1)), (1009, (1, 0))]);
    assert_eq!(stats.ambiguous, 1);
    // The same molecule sequenced from the other strand: flag 16, SEQ stored forward. The read
    // as sequenced is the reverse complement, whose C bases are the Gs of SEQ (at 11, 7, 3 going
    // backwards): `C+m,1` lists the second of them, SEQ index 6, the G of the CpG at 1005.
    let rev = format!("r\t16\tchr1\t1000\t60\t12M\t*\t0\t0\t{seq}\t{q}\tMM:Z:C+m,1;\tML:B:C,250");
    let (map, _) = run(&dir, "reverse.sam", &[rev], &CallOptions::default());
    let got: Vec<(u64, (u64, u64))> = map.iter().map(|((_, p), v)| (*p, *v)).collect();
    assert_eq!(got, [(1001, (0, 1)), (1005, (1, 0)), (1009, (0, 1))]);
}

#[test]
fn bad_tags_and_unsorted_input_name_the_record() {
    let dir = Workdir::new();
    let bad_xm = bismark("shortxm", 0, 100, "50M", &xm(49, &[]), true).replace(&"A".repeat(49), &"A".repeat(50));
    let path = dir.join("bad.sam");
    std::fs::write(&path, format!("{HEADER}{bad_xm}\n")).expect("write");
    let e = call(&path, &CallOptions::default(), 1).expect_err("XM length").to_string();
    assert!(e.contains("bad.sam") && e.contains("record 1 (shortxm)") && e.contains("XM has 49 characters"), "{e}");

    let mm = "m1\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\tIIII\tMM:Z:C+m,x;\tML:B:C,200";
    std::fs::write(&path, format!("{HEADER}{mm}\n")).expect("write");
    let e = call(&path, &CallOptions::default(), 1).expect_err("MM delta").to_string();
    assert!(e.contains("record 1 (m1)") && e.contains("delta \"x\""), "{e}");
    let ml = "m2\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\tIIII\tMM:Z:C+m,0,0;\tML:B:C,200";
    std::fs::write(&path, format!("{HEADER}{ml}\n")).expect("write");
    let e = call(&path, &CallOptions::default(), 1).expect_err("ML short").to_string();
    assert!(e.contains("record 1 (m2)") && e.contains("ML holds 1"), "{e}");

    let unsorted = [bismark("b", 0, 200, "10M", &xm(10, &[]), true), bismark("a", 0, 100, "10M", &xm(10, &[]), true)];
    std::fs::write(&path, format!("{HEADER}{}\n", unsorted.join("\n"))).expect("write");
    let e = call(&path, &CallOptions::default(), 1).expect_err("unsorted").to_string();
    assert!(e.contains("record 2 (a)") && e.contains("samtools sort"), "{e}");

    let plain = "p\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\tIIII";
    std::fs::write(&path, format!("{HEADER}{plain}\n")).expect("write");
    let e = call(&path, &CallOptions::default(), 1).expect_err("no tags").to_string();
    assert!(e.contains("no record carries XM"), "{e}");
}

/// htslib's own base-modification test data (test/base_mods/MM-pileup.sam, MIT), against the
/// per-position modifications htslib's pileup prints for it (MM-pileup.out): the same reads
/// through soft clips, on both strands, with m, h and N codes.
#[test]
fn mm_ml_agree_with_htslib_pileup_on_its_test_data() {
    let dir = Workdir::new();
    let base = repo().join("test-data/real/base_mods");
    let sam = std::fs::read_to_string(base.join("MM-pileup.sam")).expect("sam");
    let path = dir.join("MM-pileup.sam");
    std::fs::write(&path, &sam).expect("write");
    let options = CallOptions { min_mapq: 0, mod_threshold: 0.5, ..Default::default() };
    let (calls, _) = call(&path, &options, 1).expect("calls");
    let ours: BTreeMap<u64, (u64, u64)> = calls.iter().map(|(_, s)| (s.pos, (s.methylated, s.unmethylated))).collect();

    // Expected from htslib's pileup: for each CpG (C at 0-based p, G at p+1 in the reference),
    // each read's token at p: `C[+m<ml>...]` is a 5mC probability on the read's own strand, `C`
    // alone an implicitly unmodified C. The second read (r1-) carries only `G-m` (opposite-strand)
    // entries, so none of its Cs was examined for 5mC on its strand: its tokens are skipped.
    let out = std::fs::read_to_string(base.join("MM-pileup.out")).expect("out");
    let columns: BTreeMap<u64, String> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4 && f[0] == "I").then(|| (f[1].parse().expect("pos"), f[2].to_string()))
        })
        .collect();
    let reference: BTreeMap<u64, char> = columns.iter().map(|(p, c)| (*p, c.chars().next().expect("base"))).collect();
    let mut expected: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (&p, bases) in &columns {
        if reference.get(&p) != Some(&'C') || reference.get(&(p + 1)) != Some(&'G') {
            continue;
        }
        let mut chars = bases.chars().peekable();
        let mut read = 0;
        while let Some(c) = chars.next() {
            read += 1;
            let mut annot = String::new();
            if chars.peek() == Some(&'[') {
                for a in chars.by_ref() {
                    annot.push(a);
                    if a == ']' {
                        break;
                    }
                }
            }
            if c != 'C' || read == 2 {
                continue;
            }
            let ml = annot.split(['+', ']']).find_map(|t| t.strip_prefix('m')).map(|v| v.parse::<u32>().expect("ml"));
            let entry = expected.entry(p + 1).or_default();
            match ml {
                Some(v) if (f64::from(v) + 0.5) / 256.0 >= 0.5 => entry.0 += 1,
                Some(_) | None => entry.1 += 1,
            }
        }
    }
    assert!(expected.len() >= 4, "the test data has several CpGs: {expected:?}");
    assert_eq!(ours, expected);
}
