//! Builds the benchmark BAM: a realistic, deterministic, coordinate-sorted single-end RNA-seq BAM
//! over the real NCBI RefSeq hg38 annotation (every gene on chr1-22/X), for
//! `benches/compare_featurecounts.sh`.
//!
//!   cargo run --release --example make-bench-bam -- ANNOTATION.saf[.gz] OUT.bam [READS]
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
        let push =
            |lines: &mut Vec<(u64, String)>, name: &str, flag: u16, pos: u64, mapq: u8, cigar: &str, tags: &str| {
                let seq = sequence(contig_no, pos, cigar);
                lines.push((
                    pos,
                    format!(
                        "{name}\t{flag}\t{contig}\t{pos}\t{mapq}\t{cigar}\t*\t0\t0\t{seq}\t{}\t{tags}\n",
                        &qual[..seq.len()]
                    ),
                ));
            };
        for &g in &on_contig {
            let t = &tx[g];
            let n = rng.poisson(on_genes * weights[g] / total);
            for _ in 0..n {
                name_no += 1;
                let (pos, cigar) = t.place(rng.below(t.length() - READ_LEN + 1), READ_LEN);
                let roll = rng.below(100);
                let name = format!("b{name_no}");
                if roll < 3 {
                    // Multi-mapping: a second, secondary record on another gene of this chromosome.
                    let o = &tx[on_contig[rng.below(on_contig.len() as u64) as usize]];
                    let (pos2, cigar2) = o.place(rng.below(o.length() - READ_LEN + 1), READ_LEN);
                    push(&mut lines, &name, 0, pos, 1, &cigar, "NH:i:2\tHI:i:1");
                    push(&mut lines, &name, 256, pos2, 1, &cigar2, "NH:i:2\tHI:i:2");
                } else if roll < 7 && !t.introns(READ_LEN).is_empty() {
                    let introns = t.introns(READ_LEN);
                    let (s, e) = introns[rng.below(introns.len() as u64) as usize];
                    push(
                        &mut lines,
                        &name,
                        16,
                        s + rng.below(e + 2 - s - READ_LEN),
                        60,
                        &format!("{READ_LEN}M"),
                        "NH:i:1\tHI:i:1",
                    );
                } else if roll < 8 {
                    let end = t.blocks.last().map_or(0, |b| b.1);
                    push(
                        &mut lines,
                        &name,
                        0,
                        end + 2_000 + rng.below(20_000),
                        60,
                        &format!("{READ_LEN}M"),
                        "NH:i:1\tHI:i:1",
                    );
                } else {
                    let flag = if rng.below(2) == 0 { 0 } else { 16 };
                    push(&mut lines, &name, flag, pos, 60, &cigar, "NH:i:1\tHI:i:1");
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
        let seq: String = (0..READ_LEN).map(|_| b"ACGT"[rng.below(4) as usize] as char).collect();
        writeln!(text, "b{name_no}\t4\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}")?;
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
