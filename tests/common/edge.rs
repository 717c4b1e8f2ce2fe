//! Edge-case alignments shared by `quant_rna.rs` (expected values) and `concordance.rs`
//! (the same files through featureCounts).
#![allow(dead_code)]

/// Genes on c1 (1-based inclusive): gA 101-200 (+), gB 301-400 (-), gC 391-500 (+),
/// gD 1001-1100 (+), gE 2001-2005 (+). gB and gC overlap on 391-400.
pub const SAF: &str = "GeneID\tChr\tStart\tEnd\tStrand\ngA\tc1\t101\t200\t+\ngB\tc1\t301\t400\t-\ngC\tc1\t391\t500\t+\ngD\tc1\t1001\t1100\t+\ngE\tc1\t2001\t2005\t+\n";
pub const HEADER: &str = "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:c1\tLN:5000\n@SQ\tSN:c2\tLN:5000\n";

pub fn read(name: &str, flag: u16, chrom: &str, pos: u64, mapq: u8, cigar: &str, tags: &str) -> String {
    let len: u64 = cigar
        .split(|c: char| c.is_ascii_alphabetic())
        .zip(cigar.matches(|c: char| c.is_ascii_alphabetic()))
        .filter(|(_, op)| matches!(*op, "M" | "I" | "S" | "=" | "X"))
        .map(|(n, _)| n.parse::<u64>().expect("cigar length"))
        .sum();
    let (seq, qual) = if cigar == "*" {
        ("A".repeat(10), "I".repeat(10))
    } else {
        ("A".repeat(len as usize), "I".repeat(len as usize))
    };
    let tags = if tags.is_empty() { String::new() } else { format!("\t{tags}") };
    format!("{name}\t{flag}\t{chrom}\t{pos}\t{mapq}\t{cigar}\t*\t0\t0\t{seq}\t{qual}{tags}\n")
}

/// Single-end reads, each an edge case (comment: where its aligned bases fall).
pub fn single_end_sam() -> String {
    let mut s = String::from(HEADER);
    for r in [
        read("del_in_gA", 0, "c1", 190, 60, "5M20D5M", ""), // 190-194 in gA, 215-219 beyond
        read("del_spans_genes", 0, "c1", 150, 60, "2M1000D2M", ""), // deletion covers gB, gC, gD: not hit
        read("del_to_gC", 0, "c1", 195, 60, "2M300D2M", ""), // gA, then gC after the deletion: ambiguous
        read("insertion", 0, "c1", 198, 60, "2M5I4M", ""),
        read("soft_clip_only_over_gA", 0, "c1", 201, 60, "20S10M", ""), // aligned part misses gA
        read("splice_out_of_gA", 0, "c1", 195, 60, "3M1000N3M", ""),
        read("gB_gC_4_4", 0, "c1", 395, 60, "4M", ""), // 4 bases in each: ambiguous
        read("gB21_gC19", 16, "c1", 380, 60, "30M", ""),
        read("gB11_gC19", 0, "c1", 390, 60, "20M", ""),
        read("gB5_gC10", 0, "c1", 396, 60, "10M", ""),
        read("gB15_gC15", 0, "c1", 386, 60, "20M", ""),
        read("multi", 0, "c1", 150, 1, "10M", "NH:i:3"),
        read("multi", 256, "c1", 395, 1, "10M", "NH:i:3"),
        read("multi", 256, "c1", 1050, 1, "10M", "NH:i:3"),
        read("secondary_without_nh", 256, "c1", 1050, 1, "10M", ""),
        read("supplementary", 2048, "c1", 1060, 60, "10M", ""),
        read("unmapped", 4, "*", 0, 0, "*", ""),
        read("unmapped_placed", 4, "c1", 150, 0, "*", ""),
        read("qc_fail", 512, "c1", 150, 60, "10M", ""),
        read("duplicate", 1024, "c1", 150, 60, "10M", ""),
        read("low_mapq", 0, "c1", 1020, 5, "10M", ""),
        read("unannotated_contig", 0, "c2", 150, 60, "10M", ""),
        read("gE_inside_deletion", 0, "c1", 1995, 60, "5M10D5M", ""),
        read("gE_2_bases", 0, "c1", 2003, 60, "1M1D1M", ""),
    ] {
        s.push_str(&r);
    }
    s
}

/// Two mates: `ends` = [(flag, position)] of the first and second record.
pub fn pair(name: &str, ends: [(u16, u64); 2], chrom2: &str, tags: [&str; 2], mapq: [u8; 2]) -> String {
    let [(f1, p1), (f2, p2)] = ends;
    let r = |flag: u16, chrom: &str, pos: u64, mate_chrom: &str, mate_pos: u64, tags: &str, q: u8| {
        let tags = if tags.is_empty() { String::new() } else { format!("\t{tags}") };
        let rnext = if chrom == mate_chrom { "=" } else { mate_chrom };
        format!(
            "{name}\t{flag}\t{chrom}\t{pos}\t{q}\t50M\t{rnext}\t{mate_pos}\t0\t{}\t{}{tags}\n",
            "A".repeat(50),
            "I".repeat(50)
        )
    };
    r(f1, "c1", p1, chrom2, p2, tags[0], mapq[0]) + &r(f2, chrom2, p2, "c1", p1, tags[1], mapq[1])
}

/// Paired-end fragments, each an edge case.
pub fn paired_end_sam() -> String {
    let mut s = String::from(HEADER);
    let n = ["", ""];
    let q = [60, 60];
    for p in [
        pair("both_in_gA", [(99, 110), (147, 140)], "c1", n, q),
        pair("gA_and_gD", [(99, 120), (147, 1020)], "c1", n, q),
        pair("gA_and_gB", [(99, 120), (147, 290)], "c1", n, q),
        pair("same_strand", [(65, 120), (129, 140)], "c1", n, q),
        pair("chimeric", [(97, 120), (145, 150)], "c2", n, q),
        pair("one_low_mapq", [(99, 120), (147, 140)], "c1", n, [5, 60]),
        pair("both_low_mapq", [(99, 120), (147, 140)], "c1", n, [5, 5]),
        pair("multi", [(99, 120), (147, 140)], "c1", ["NH:i:2", "NH:i:2"], q),
        pair("half_multi", [(99, 120), (147, 140)], "c1", ["NH:i:2", ""], q),
        pair("dup_first", [(1123, 120), (147, 140)], "c1", n, q),
        pair("reverse_first", [(83, 120), (163, 140)], "c1", n, q),
        pair("secondary", [(355, 120), (403, 140)], "c1", n, q),
        pair("far_apart", [(99, 130), (147, 4000)], "c1", n, q),
    ] {
        s.push_str(&p);
    }
    let r = |name: &str, flag: u16, chrom: &str, pos: u64, cigar: &str, rnext: &str, pnext: u64| {
        format!(
            "{name}\t{flag}\t{chrom}\t{pos}\t60\t{cigar}\t{rnext}\t{pnext}\t0\t{}\t{}\n",
            "A".repeat(50),
            "I".repeat(50)
        )
    };
    s.push_str(&r("mate_unmapped", 73, "c1", 120, "50M", "=", 120));
    s.push_str(&r("mate_unmapped", 133, "c1", 120, "*", "=", 120));
    s.push_str(&r("first_unmapped", 137, "c1", 120, "50M", "=", 120));
    s.push_str(&r("first_unmapped", 69, "c1", 120, "*", "=", 120));
    s.push_str(&r("both_unmapped", 77, "*", 0, "*", "*", 0));
    s.push_str(&r("both_unmapped", 141, "*", 0, "*", "*", 0));
    s
}

/// A small deterministic generator (xorshift64*): the random battery is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Contig length of the random battery's two annotated contigs (`c3` is unannotated).
pub const RANDOM_CONTIG: u64 = 30_000;

/// A random SAF over c1 and c2: 60 genes of 1-4 exons, `+`, `-` and `.` strands, overlapping
/// genes, and a few exon lines written twice. Returns the SAF and exon starts to aim reads at.
pub fn random_saf(rng: &mut Rng) -> (String, Vec<(&'static str, u64)>) {
    let mut saf = String::from("GeneID\tChr\tStart\tEnd\tStrand\n");
    let mut targets = Vec::new();
    for g in 0..60 {
        let contig = if g % 2 == 0 { "c1" } else { "c2" };
        let strand = *rng.pick(&["+", "+", "-", "-", "."]);
        let mut start = rng.range(100, RANDOM_CONTIG - 3_000);
        for _ in 0..rng.range(1, 4) {
            let end = start + rng.range(30, 300);
            saf.push_str(&format!("g{g}\t{contig}\t{start}\t{end}\t{strand}\n"));
            if rng.chance(5) {
                saf.push_str(&format!("g{g}\t{contig}\t{start}\t{end}\t{strand}\n"));
            }
            targets.push((contig, start));
            start = end + rng.range(50, 600);
        }
    }
    (saf, targets)
}

/// A random CIGAR as aligners write them: optional soft clips, 1-4 matched runs joined by
/// introns, deletions or insertions; sometimes a run of many short sections (past --maxMOp).
pub fn random_cigar(rng: &mut Rng) -> String {
    let mut ops: Vec<(u64, char)> = Vec::new();
    if rng.chance(20) {
        ops.push((rng.range(1, 12), 'S'));
    }
    let (runs, short) = if rng.chance(6) { (rng.range(11, 16), true) } else { (rng.range(1, 4), false) };
    for k in 0..runs {
        if k > 0 {
            let gap = if short {
                (rng.range(1, 3), 'D')
            } else {
                match rng.range(0, 9) {
                    0..=3 => (rng.range(40, 1_500), 'N'),
                    4..=6 => (rng.range(1, 6), 'D'),
                    _ => (rng.range(1, 6), 'I'),
                }
            };
            ops.push(gap);
        }
        ops.push((if short { rng.range(2, 6) } else { rng.range(5, 70) }, 'M'));
    }
    if rng.chance(20) {
        ops.push((rng.range(1, 12), 'S'));
    }
    ops.iter().map(|(n, op)| format!("{n}{op}")).collect()
}

/// Reference bases a CIGAR spans.
pub fn reference_span(cigar: &str) -> u64 {
    cigar
        .split(|c: char| c.is_ascii_alphabetic())
        .zip(cigar.matches(|c: char| c.is_ascii_alphabetic()))
        .filter(|(_, op)| matches!(*op, "M" | "D" | "N" | "=" | "X"))
        .map(|(n, _)| n.parse::<u64>().expect("cigar length"))
        .sum()
}

fn random_position(rng: &mut Rng, targets: &[(&'static str, u64)], span: u64) -> (&'static str, u64) {
    let (contig, pos) = if rng.chance(75) {
        let (c, s) = *rng.pick(targets);
        (c, (s + rng.range(0, 400)).saturating_sub(200).max(1))
    } else {
        (*rng.pick(&["c1", "c2", "c3"]), rng.range(1, RANDOM_CONTIG))
    };
    (contig, pos.min(RANDOM_CONTIG - span - 1).max(1))
}

/// The battery's SAM header: c1, c2 annotated, c3 not.
pub fn random_header() -> String {
    format!(
        "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:c1\tLN:{RANDOM_CONTIG}\n@SQ\tSN:c2\tLN:{RANDOM_CONTIG}\n@SQ\tSN:c3\tLN:{RANDOM_CONTIG}\n"
    )
}

/// `n` random single-end records: both strands, unmapped, duplicates, multi-mappers with
/// secondary alignments, a spread of MAPQ.
pub fn random_single_end_sam(rng: &mut Rng, targets: &[(&'static str, u64)], n: usize) -> String {
    let mut s = random_header();
    for i in 0..n {
        let name = format!("r{i}");
        if rng.chance(4) {
            s.push_str(&read(&name, 4, "*", 0, 0, "*", ""));
            continue;
        }
        let cigar = random_cigar(rng);
        let (contig, pos) = random_position(rng, targets, reference_span(&cigar));
        let mut flag = if rng.chance(50) { 16 } else { 0 };
        if rng.chance(5) {
            flag |= 1024;
        }
        let tags = if rng.chance(15) {
            let nh = rng.range(2, 3);
            if rng.chance(40) {
                flag |= 256;
            }
            format!("NH:i:{nh}")
        } else {
            String::new()
        };
        let mapq = *rng.pick(&[0u8, 1, 3, 10, 30, 60, 255]);
        s.push_str(&read(&name, flag, contig, pos, mapq, &cigar, &tags));
    }
    s
}

/// `n` random fragments, mates written next to each other: proper pairs on either strand with
/// their TLEN, same-strand and cross-contig (chimeric) pairs, one mate or both unmapped,
/// duplicates, multi-mapping pairs (NH/HI) and a spread of MAPQ.
pub fn random_paired_end_sam(rng: &mut Rng, targets: &[(&'static str, u64)], n: usize) -> String {
    let mut s = random_header();
    for i in 0..n {
        let name = format!("f{i}");
        let (c1, c2) = (random_cigar(rng), random_cigar(rng));
        let (contig, p1) = random_position(rng, targets, reference_span(&c1) + 1_000);
        let p2 = (p1 + rng.range(0, 700)).saturating_sub(100).max(1);
        let kind = rng.range(0, 99);
        let first_reverse = rng.chance(50);
        let (mut f1, mut f2) = (1 | 64, 1 | 128);
        let (mut contig2, mut mapped1, mut mapped2) = (contig, true, true);
        match kind {
            0..=7 => {
                // same strand
                if first_reverse {
                    f1 |= 16 | 32;
                    f2 |= 16 | 32;
                }
            }
            8..=13 => {
                contig2 = if contig == "c1" { "c2" } else { "c1" };
                f1 |= if first_reverse { 16 } else { 32 };
                f2 |= if first_reverse { 32 } else { 16 };
            }
            14..=20 => mapped2 = false,
            21..=24 => mapped1 = false,
            25..=27 => {
                mapped1 = false;
                mapped2 = false;
            }
            _ => {
                f1 |= if first_reverse { 16 } else { 32 };
                f2 |= if first_reverse { 32 } else { 16 };
                f1 |= 2;
                f2 |= 2;
            }
        }
        if !mapped1 {
            f1 |= 4;
            f2 |= 8;
        }
        if !mapped2 {
            f2 |= 4;
            f1 |= 8;
        }
        let (q1, q2) = (*rng.pick(&[0u8, 3, 10, 30, 60]), *rng.pick(&[0u8, 3, 10, 30, 60]));
        let multi = rng.chance(10);
        // Both mates of one alignment share its HI. (A lone record whose mate is missing makes
        // featureCounts --read2pos reuse the previous record's position: not modelled.)
        let tags = |_second: bool| if multi { "NH:i:2\tHI:i:1".to_string() } else { String::new() };
        if rng.chance(4) {
            if rng.chance(50) {
                f1 |= 1024;
            } else {
                f2 |= 1024;
            }
        }
        let e1 = p1 + reference_span(&c1) - 1;
        let e2 = p2 + reference_span(&c2) - 1;
        let tlen = if mapped1 && mapped2 && contig == contig2 { (e1.max(e2) - p1.min(p2) + 1) as i64 } else { 0 };
        // Unmapped mates sit at their partner's position, as aligners place them.
        let (pos1, pos2) = match (mapped1, mapped2) {
            (true, false) => (p1, p1),
            (false, true) => (p2, p2),
            (false, false) => (0, 0),
            _ => (p1, p2),
        };
        let (r1, r2) = match (mapped1, mapped2) {
            (false, false) => ("*", "*"),
            _ => (contig, contig2),
        };
        let line = |flag: u16,
                    rname: &str,
                    pos: u64,
                    mapped: bool,
                    cigar: &str,
                    rnext: &str,
                    pnext: u64,
                    t: i64,
                    q: u8,
                    tags: String| {
            let cigar = if mapped { cigar } else { "*" };
            let len = if mapped {
                cigar
                    .split(|c: char| c.is_ascii_alphabetic())
                    .zip(cigar.matches(|c: char| c.is_ascii_alphabetic()))
                    .filter(|(_, op)| matches!(*op, "M" | "I" | "S"))
                    .map(|(n, _)| n.parse::<usize>().expect("len"))
                    .sum()
            } else {
                10
            };
            let rnext = if rnext == rname && rname != "*" { "=" } else { rnext };
            let tags = if tags.is_empty() { String::new() } else { format!("\t{tags}") };
            let q = if mapped { q } else { 0 };
            format!(
                "{name}\t{flag}\t{rname}\t{pos}\t{q}\t{cigar}\t{rnext}\t{pnext}\t{t}\t{}\t{}{tags}\n",
                "A".repeat(len),
                "I".repeat(len)
            )
        };
        let left_first = p1 <= p2;
        let t1 = if left_first { tlen } else { -tlen };
        s.push_str(&line(f1, r1, pos1, mapped1, &c1, r2, pos2, t1, q1, tags(false)));
        s.push_str(&line(f2, r2, pos2, mapped2, &c2, r1, pos1, -t1, q2, tags(true)));
    }
    s
}

/// Writes `sam` as a BAM whose BGZF blocks hold 1 to 400 bytes each (records straddle many
/// blocks), sorted by coordinate and declared so when `sort` (unplaced records last, as samtools
/// puts them), else in the SAM's order under the SAM's header.
pub fn tiny_block_bam(rng: &mut Rng, sam: &str, path: &std::path::Path, sort: bool) {
    use noodles::sam::alignment::io::Write as _;
    use std::io::Write as _;
    let text = if sort { sam.replacen("SO:unsorted", "SO:coordinate", 1) } else { sam.to_string() };
    let mut reader = noodles::sam::io::Reader::new(text.as_bytes());
    let header = reader.read_header().expect("SAM header");
    let mut records: Vec<_> = reader.record_bufs(&header).map(|r| r.expect("SAM record")).collect();
    if sort {
        records.sort_by_key(|r| {
            (r.reference_sequence_id().unwrap_or(usize::MAX), r.alignment_start().map_or(0, |p| p.get()))
        });
    }
    let mut raw = noodles::bam::io::Writer::from(Vec::new());
    raw.write_header(&header).expect("header");
    for r in &records {
        raw.write_alignment_record(&header, r).expect("record");
    }
    let raw = raw.get_ref().clone();
    let mut out = noodles::bgzf::io::Writer::new(std::fs::File::create(path).expect("create"));
    let mut at = 0;
    while at < raw.len() {
        let n = (rng.range(1, 400) as usize).min(raw.len() - at);
        out.write_all(&raw[at..at + n]).expect("write");
        out.flush().expect("block");
        at += n;
    }
    out.finish().expect("finish");
}

/// `n` random long reads (Nanopore-like): 11 to 40 `M` sections split by `N`, `D` and `I`
/// (more than featureCounts' default `--maxMOp` of 10), long soft clips, both strands,
/// unmapped and secondary records.
pub fn random_long_read_sam(rng: &mut Rng, targets: &[(&'static str, u64)], n: usize) -> String {
    let mut s = random_header();
    for i in 0..n {
        let name = format!("l{i}");
        if rng.chance(4) {
            s.push_str(&read(&name, 4, "*", 0, 0, "*", ""));
            continue;
        }
        let mut cigar = String::new();
        if rng.chance(30) {
            cigar.push_str(&format!("{}S", rng.range(1, 300)));
        }
        for k in 0..rng.range(11, 40) {
            if k > 0 {
                let (len, op) = match rng.range(0, 9) {
                    0..=2 => (rng.range(40, 300), 'N'),
                    3..=5 => (rng.range(1, 8), 'D'),
                    _ => (rng.range(1, 8), 'I'),
                };
                cigar.push_str(&format!("{len}{op}"));
            }
            cigar.push_str(&format!("{}M", rng.range(5, 150)));
        }
        if rng.chance(30) {
            cigar.push_str(&format!("{}S", rng.range(1, 300)));
        }
        let (contig, pos) = random_position(rng, targets, reference_span(&cigar));
        let mut flag = if rng.chance(50) { 16 } else { 0 };
        let tags = if rng.chance(10) {
            flag |= if rng.chance(50) { 256 } else { 0 };
            "NH:i:2".to_string()
        } else {
            String::new()
        };
        s.push_str(&read(&name, flag, contig, pos, *rng.pick(&[0u8, 10, 60]), &cigar, &tags));
    }
    s
}
