//! Builds the methylation benchmark BAM: deterministic, coordinate-sorted, Bismark-style
//! directional single-end bisulfite reads (XM/XR/XG tags, 100 bp) tiling 5 Mb of each of
//! chr1-chr5 of the fixture's pseudo-genome at even depth (20x for the default 5 M reads: a
//! deep targeted panel or a slice of WGBS), for `benches/methylation.sh`.
//!
//!   cargo run --release --example make-bench-bisulfite -- OUT.bam [READS] [MODBAM.bam]
//!
//! CpGs are methylated with probability 0.75, non-CpG Cs converted with probability 0.995; 2% of
//! reads have MAPQ 5 and 1% are flagged duplicate. With a third argument the same molecules are
//! also written as a modified-base BAM (reference bases, `MM:Z:C+m?`/`ML` on every CpG C whose
//! partner base is in the read), for `samtools mpileup --output-mods`.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use noodles::sam::alignment::io::Write as _;
use noodles::{bam, sam};

#[path = "../../test-data/cohort/sim.rs"]
mod sim;
use sim::{HG38, Rng, base};

const SEED: u64 = 0xB15_BE7C;
const READ_LEN: u64 = 100;
const SPAN: u64 = 5_000_000;
const CONTIGS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make-bench-bisulfite OUT.bam [READS] [MODBAM.bam]";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let reads: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(5_000_000);
    let modbam = args.next().map(PathBuf::from);
    let mut text = String::from("@HD\tVN:1.6\tSO:coordinate\n");
    for (name, len) in HG38 {
        text.push_str(&format!("@SQ\tSN:{name}\tLN:{len}\n"));
    }
    text.push_str("@PG\tID:make-bench-bisulfite\tPN:harmonomics-make-bench-bisulfite\tVN:1\n");
    let header = sam::io::Reader::new(text.as_bytes()).read_header()?;
    let mut writer = bam::io::Writer::new(BufWriter::new(File::create(&out)?));
    writer.write_header(&header)?;
    let mut mod_writer = match &modbam {
        Some(p) => {
            let mut w = bam::io::Writer::new(BufWriter::new(File::create(p)?));
            w.write_header(&header)?;
            Some(w)
        }
        None => None,
    };
    let mut rng = Rng(SEED);
    let per_contig = reads / CONTIGS as u64;
    let step = SPAN as f64 / per_contig as f64;
    let qual = "F".repeat(READ_LEN as usize);
    let mut n = 0u64;
    for (contig, (rname, _)) in HG38.iter().enumerate().take(CONTIGS) {
        let mut line = String::new();
        for k in 0..per_contig {
            n += 1;
            let pos = 10_001 + (k as f64 * step) as u64;
            let top = rng.uniform() < 0.5;
            let mapq = if rng.uniform() < 0.02 { 5 } else { 42 };
            let flag = if top { 0 } else { 16 } | if rng.uniform() < 0.01 { 0x400 } else { 0 };
            let (mut seq, mut xm, mut refseq) = (String::new(), String::new(), String::new());
            for p in pos..pos + READ_LEN {
                let b = base(contig, p);
                refseq.push(b as char);
                // The C being read: the forward C on the top strand, the G's partner on the bottom.
                let (is_c, cpg, chg, kept, converted) = if top {
                    (b == b'C', base(contig, p + 1) == b'G', base(contig, p + 2) == b'G', 'C', 'T')
                } else {
                    (b == b'G', base(contig, p - 1) == b'C', base(contig, p - 2) == b'C', 'G', 'A')
                };
                let (read_base, call) = if is_c {
                    let m = rng.uniform() < if cpg { 0.75 } else { 0.005 };
                    (if m { kept } else { converted }, xm_char(cpg, chg, m))
                } else {
                    (b as char, '.')
                };
                seq.push(read_base);
                xm.push(call);
            }
            line.clear();
            line.push_str(&format!(
                "b{n}\t{flag}\t{rname}\t{pos}\t{mapq}\t{READ_LEN}M\t*\t0\t0\t{seq}\t{qual}\tXM:Z:{xm}\tXR:Z:CT\tXG:Z:{}",
                if top { "CT" } else { "GA" }
            ));
            let record = sam::alignment::RecordBuf::try_from_alignment_record(
                &header,
                &sam::Record::try_from(line.as_bytes())?,
            )?;
            writer.write_alignment_record(&header, &record)?;
            if let Some(w) = mod_writer.as_mut() {
                let (mm, ml) = modbam_tags(&refseq, &xm, !top);
                line.clear();
                line.push_str(&format!(
                    "b{n}\t{flag}\t{rname}\t{pos}\t{mapq}\t{READ_LEN}M\t*\t0\t0\t{refseq}\t{qual}\tMM:Z:{mm}{ml}"
                ));
                let record = sam::alignment::RecordBuf::try_from_alignment_record(
                    &header,
                    &sam::Record::try_from(line.as_bytes())?,
                )?;
                w.write_alignment_record(&header, &record)?;
            }
        }
    }
    writer.try_finish()?;
    if let Some(mut w) = mod_writer {
        w.try_finish()?;
    }
    Ok(())
}

/// Bismark's call character: `z`/`x`/`h` for CpG/CHG/CHH, upper case when methylated.
fn xm_char(cpg: bool, chg: bool, methylated: bool) -> char {
    let c = if cpg {
        'z'
    } else if chg {
        'x'
    } else {
        'h'
    };
    if methylated { c.to_ascii_uppercase() } else { c }
}

/// `MM`/`ML` for the CpG calls of one read whose CpG partner base lies inside the read.
fn modbam_tags(refseq: &str, xm: &str, reverse: bool) -> (String, String) {
    let (seq, xm) = (refseq.as_bytes(), xm.as_bytes());
    let cs: Vec<usize> = if reverse {
        (0..seq.len()).rev().filter(|&i| seq[i] == b'G').collect()
    } else {
        (0..seq.len()).filter(|&i| seq[i] == b'C').collect()
    };
    let (mut mm, mut ml, mut previous) = (String::from("C+m?"), Vec::new(), None::<usize>);
    for (k, &i) in cs.iter().enumerate() {
        let inside = if reverse { i > 0 } else { i + 1 < seq.len() };
        if matches!(xm[i], b'Z' | b'z') && inside {
            mm.push_str(&format!(",{}", previous.map_or(k, |p| k - p - 1)));
            ml.push(if xm[i] == b'Z' { "230" } else { "20" });
            previous = Some(k);
        }
    }
    mm.push(';');
    let ml = if ml.is_empty() { String::new() } else { format!("\tML:B:C,{}", ml.join(",")) };
    (mm, ml)
}
