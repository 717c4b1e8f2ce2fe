//! Builds the benchmark BAM: a realistic, deterministic, coordinate-sorted single-end RNA-seq BAM
//! over the real NCBI RefSeq hg38 annotation (every gene on chr1-22/X), for
//! `benches/compare_featurecounts.sh`.
//!
//!   cargo run --release --example make-bench-bam -- ANNOTATION.saf[.gz] OUT.bam [READS] [--paired]
//!
//! With `--paired`, READS fragments of 2 x 100 bp (fragment length 200-500 bp, both orientations,
//! proper-pair flags and TLEN as aligners write them), with the same mix of intronic, intergenic,
//! multi-mapping (both mates, NH:i:2/HI) and unmapped fragments, coordinate-sorted: the nf-core
//! case `--count-pairs` meets, mates apart in the file.
//!
//! Expression is log-normal across genes (sd 2 on the log scale: a few genes take most reads,
//! many are silent), reads are 100 bp placed uniformly on each gene's exon union (spliced with `N`
//! across junctions), plus 4% intronic, 1% intergenic, 3% multi-mapping pairs of records
//! (NH:i:2) and 2% unmapped reads. One chromosome is held in memory at a time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use harmonomics::annotation::{self, AnnotationFormat};
use noodles::sam::alignment::io::Write as _;
use noodles::{bam, sam};

#[path = "../../test-data/cohort/sim.rs"]
mod sim;
use sim::{HG38, Rng, sequence, transcripts};

const SEED: u64 = 0xBE7C_4000;
const READ_LEN: u64 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let saf = PathBuf::from(args.next().ok_or("usage: make-bench-bam ANNOTATION OUT.bam [READS]")?);
    let out = PathBuf::from(args.next().ok_or("usage: make-bench-bam ANNOTATION OUT.bam [READS]")?);
    let reads: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10_000_000);
    let paired = args.next().as_deref() == Some("--paired");
    let features = annotation::read(&saf, AnnotationFormat::Saf)?;
    let contig_index: BTreeMap<&str, usize> = HG38.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
    // Genes wholly on one primary chromosome, long enough for a read.
    let tx: Vec<_> = transcripts(&features)
        .into_iter()
        .zip(&features.genes)
        .filter(|(t, g)| {
            contig_index.contains_key(t.contig.as_str())
                && t.length() > READ_LEN
                && g.exons.iter().all(|&e| features.contigs[features.exons[e as usize].contig as usize] == t.contig)
        })
        .map(|(t, _)| t)
        .collect();
    let mut rng = Rng(SEED);
    let weights: Vec<f64> = tx.iter().map(|_| (2.0 * rng.normal()).exp()).collect();
    let total: f64 = weights.iter().sum();
    let on_genes = reads as f64 * 0.90;

    let header_text = {
        let mut h = String::from("@HD\tVN:1.6\tSO:coordinate\n");
        for (name, len) in HG38 {
            writeln!(h, "@SQ\tSN:{name}\tLN:{len}")?;
        }
        h.push_str("@PG\tID:make-bench-bam\tPN:harmonomics-make-bench-bam\tVN:1\n");
        h
    };
    let header: sam::Header = header_text.parse()?;
    let mut writer = bam::io::Writer::new(BufWriter::new(File::create(&out)?));
    writer.write_header(&header)?;
    let qual: String = std::iter::repeat_n('F', READ_LEN as usize).collect();
    let mut name_no = 0u64;
    let mut written = 0u64;
    for (contig_no, (contig, _)) in HG38.iter().enumerate() {
        let on_contig: Vec<usize> = (0..tx.len()).filter(|&g| tx[g].contig == *contig).collect();
        if on_contig.is_empty() {
            continue;
        }
        let mut lines: Vec<(u64, String)> = Vec::new();
        let mut push = |lines: &mut Vec<(u64, String)>, line: Line<'_>| {
            let Line { name, flag, pos, mapq, cigar, mate, tags } = line;
            let seq = sequence(contig_no, pos, cigar);
            let (rnext, pnext, tlen) = mate.map_or(("*", 0, 0), |(p, t)| ("=", p, t));
            lines.push((
                pos,
                format!(
                    "{name}\t{flag}\t{contig}\t{pos}\t{mapq}\t{cigar}\t{rnext}\t{pnext}\t{tlen}\t{seq}\t{}\t{tags}\n",
                    &qual[..seq.len()]
                ),
            ));
        };
        for &g in &on_contig {
            let t = &tx[g];
            let n = rng.poisson(on_genes * weights[g] / total);
            for _ in 0..n {
                name_no += 1;
                let roll = rng.below(100);
                let name = format!("b{name_no}");
                if paired {
                    if roll < 3 {
                        let o = &tx[on_contig[rng.below(on_contig.len() as u64) as usize]];
                        pair(&mut rng, &mut lines, (&name, 0, "NH:i:2\tHI:i:1"), t, &mut push);
                        pair(&mut rng, &mut lines, (&name, 256, "NH:i:2\tHI:i:2"), o, &mut push);
                    } else if roll < 7 && !t.introns(2 * READ_LEN + 100).is_empty() {
                        let introns = t.introns(2 * READ_LEN + 100);
                        let (s, e) = introns[rng.below(introns.len() as u64) as usize];
                        let p1 = s + rng.below(e + 2 - s - 2 * READ_LEN - 100);
                        let p2 = p1 + 100 + rng.below(e + 2 - p1 - 2 * READ_LEN - 100 + 1);
                        let m = format!("{READ_LEN}M");
                        mates(&mut lines, (&name, 0, "NH:i:1\tHI:i:1"), ((p1, &m), (p2, &m)), false, &mut push);
                    } else if roll < 8 {
                        let p1 = t.blocks.last().map_or(0, |b| b.1) + 2_000 + rng.below(20_000);
                        let m = format!("{READ_LEN}M");
                        let p2 = p1 + 100 + rng.below(300);
                        mates(&mut lines, (&name, 0, "NH:i:1\tHI:i:1"), ((p1, &m), (p2, &m)), true, &mut push);
                    } else {
                        pair(&mut rng, &mut lines, (&name, 0, "NH:i:1\tHI:i:1"), t, &mut push);
                    }
                    continue;
                }
                let (pos, cigar) = t.place(rng.below(t.length() - READ_LEN + 1), READ_LEN);
                if roll < 3 {
                    // Multi-mapping: a second, secondary record on another gene of this chromosome.
                    let o = &tx[on_contig[rng.below(on_contig.len() as u64) as usize]];
                    let (pos2, cigar2) = o.place(rng.below(o.length() - READ_LEN + 1), READ_LEN);
                    push(&mut lines, Line::single(&name, 0, pos, 1, &cigar, "NH:i:2\tHI:i:1"));
                    push(&mut lines, Line::single(&name, 256, pos2, 1, &cigar2, "NH:i:2\tHI:i:2"));
                } else if roll < 7 && !t.introns(READ_LEN).is_empty() {
                    let introns = t.introns(READ_LEN);
                    let (s, e) = introns[rng.below(introns.len() as u64) as usize];
                    let pos = s + rng.below(e + 2 - s - READ_LEN);
                    push(&mut lines, Line::single(&name, 16, pos, 60, &format!("{READ_LEN}M"), "NH:i:1\tHI:i:1"));
                } else if roll < 8 {
                    let end = t.blocks.last().map_or(0, |b| b.1);
                    let pos = end + 2_000 + rng.below(20_000);
                    push(&mut lines, Line::single(&name, 0, pos, 60, &format!("{READ_LEN}M"), "NH:i:1\tHI:i:1"));
                } else {
                    let flag = if rng.below(2) == 0 { 0 } else { 16 };
                    push(&mut lines, Line::single(&name, flag, pos, 60, &cigar, "NH:i:1\tHI:i:1"));
                }
            }
        }
        lines.sort_by_key(|(pos, _)| *pos);
        let text: String = lines.into_iter().map(|(_, l)| l).collect();
        let mut reader = sam::io::Reader::new(text.as_bytes());
        for record in reader.record_bufs(&header) {
            writer.write_alignment_record(&header, &record?)?;
            written += 1;
        }
    }
    let unmapped = reads / 50;
    let mut text = String::new();
    for _ in 0..unmapped {
        name_no += 1;
        let flags: &[u16] = if paired { &[77, 141] } else { &[4] };
        for flag in flags {
            let seq: String = (0..READ_LEN).map(|_| b"ACGT"[rng.below(4) as usize] as char).collect();
            writeln!(text, "b{name_no}\t{flag}\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}")?;
        }
    }
    let mut reader = sam::io::Reader::new(text.as_bytes());
    for record in reader.record_bufs(&header) {
        writer.write_alignment_record(&header, &record?)?;
        written += 1;
    }
    writer.try_finish()?;
    eprintln!("wrote {written} records ({} genes with reads possible) to {}", tx.len(), out.display());
    Ok(())
}

/// One SAM line's varying fields; `mate` is the mate's position and the TLEN.
struct Line<'a> {
    name: &'a str,
    flag: u16,
    pos: u64,
    mapq: u8,
    cigar: &'a str,
    mate: Option<(u64, i64)>,
    tags: &'a str,
}

impl<'a> Line<'a> {
    fn single(name: &'a str, flag: u16, pos: u64, mapq: u8, cigar: &'a str, tags: &'a str) -> Self {
        Self { name, flag, pos, mapq, cigar, mate: None, tags }
    }
}

/// A fragment of 200-500 bp (at most the transcript) placed uniformly on transcript `t`.
fn pair(
    rng: &mut Rng,
    lines: &mut Vec<(u64, String)>,
    read: (&str, u16, &str),
    t: &sim::Transcript,
    push: &mut impl FnMut(&mut Vec<(u64, String)>, Line<'_>),
) {
    let len = (200 + rng.below(301)).min(t.length());
    let at = rng.below(t.length() - len + 1);
    let (p1, c1) = t.place(at, READ_LEN);
    let (p2, c2) = t.place(at + len - READ_LEN, READ_LEN);
    let reverse_first = rng.below(2) == 1;
    mates(lines, read, ((p1, &c1), (p2, &c2)), reverse_first, push);
}

/// Bases a CIGAR covers on the reference.
fn span(cigar: &str) -> u64 {
    let (mut n, mut total) = (0u64, 0u64);
    for c in cigar.chars() {
        match c.to_digit(10) {
            Some(d) => n = n * 10 + u64::from(d),
            None => {
                if matches!(c, 'M' | 'N' | 'D' | '=' | 'X') {
                    total += n;
                }
                n = 0;
            }
        }
    }
    total
}

/// Writes a proper pair: read 1 at `a` and read 2 at `b` (`a` leftmost), read 1 reverse when
/// `reverse_first`; flags, RNEXT/PNEXT and TLEN as aligners set them.
fn mates(
    lines: &mut Vec<(u64, String)>,
    (name, extra, tags): (&str, u16, &str),
    ((p1, c1), (p2, c2)): ((u64, &str), (u64, &str)),
    reverse_first: bool,
    push: &mut impl FnMut(&mut Vec<(u64, String)>, Line<'_>),
) {
    let tlen = (p2 + span(c2)).max(p1 + span(c1)) as i64 - p1 as i64;
    // Left read forward, right read reverse; which is read 1 depends on the strand.
    let (left, right) = if reverse_first { (128 | 32, 64 | 16) } else { (64 | 32, 128 | 16) };
    let mapq = if tags.starts_with("NH:i:2") { 1 } else { 60 };
    let l = Line { name, flag: 1 | 2 | left | extra, pos: p1, mapq, cigar: c1, mate: Some((p2, tlen)), tags };
    push(lines, l);
    let r = Line { name, flag: 1 | 2 | right | extra, pos: p2, mapq, cigar: c2, mate: Some((p1, -tlen)), tags };
    push(lines, r);
}
