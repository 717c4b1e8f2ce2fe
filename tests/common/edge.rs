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
