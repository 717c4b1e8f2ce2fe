//! Builds the ComBat-seq benchmark: a deterministic RNA-seq count matrix of G genes × N samples
//! (default 20,000 × 200) with negative-binomial noise (dispersion 0.05–0.5), 4 sequencing
//! batches that scale each gene by a log-normal factor (sd 0.4), and 5 timepoints with a time
//! effect on 10% of the genes, plus its sample table, for `benches/combat_seq.sh`.
//!
//!   cargo run --release --example make-bench-counts -- OUT_DIR [GENES] [SAMPLES]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

#[path = "../../test-data/cohort/sim.rs"]
mod sim;
use sim::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: make-bench-counts OUT_DIR [GENES] [SAMPLES]")?);
    let genes: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20_000);
    let samples: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(200);
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng(0xC0BA_75EC);
    let batch = |j: usize| j * 4 / samples;
    let time = |j: usize| j % 5;
    let mut table = String::from("sample_id\tbatch\ttimepoint\n");
    for j in 0..samples {
        writeln!(table, "S{j:04}\tb{}\tt{}", batch(j) + 1, time(j) + 1)?;
    }
    std::fs::write(out.join("samples.tsv"), table)?;
    let library: Vec<f64> = (0..samples).map(|_| 0.6 + 0.8 * rng.uniform()).collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out.join("counts.tsv"))?);
    write!(w, "gene_id")?;
    for j in 0..samples {
        write!(w, "\tS{j:04}")?;
    }
    writeln!(w)?;
    let mut line = String::new();
    for g in 0..genes {
        let base = (3.0 + 2.0 * rng.normal()).exp().min(2e5);
        let dispersion = 0.05 + 0.45 * rng.uniform();
        let batches: Vec<f64> = (0..4).map(|_| (0.4 * rng.normal()).exp()).collect();
        let times: Vec<f64> = (0..5).map(|_| if g % 10 == 0 { (0.8 * rng.normal()).exp() } else { 1.0 }).collect();
        line.clear();
        write!(line, "G{g:05}")?;
        for j in 0..samples {
            let mean = base * library[j] * batches[batch(j)] * times[time(j)];
            write!(line, "\t{}", rng.negative_binomial(mean, dispersion))?;
        }
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}
