//! Builds the metabolome benchmark: a deterministic MZmine-style feature table of F features ×
//! N injections (default 10,000 × 2,000) in 4 LC batches, a pooled QC after every 5 study
//! samples and 2 blanks per batch, with a within-batch drift and batch shifts, plus its injection
//! list, for `benches/metabolome.sh`.
//!
//!   cargo run --release --example make-bench-metabolome -- OUT_DIR [FEATURES] [INJECTIONS]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

#[path = "../../test-data/cohort/sim.rs"]
mod sim;
use sim::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: make-bench-metabolome OUT_DIR [FEATURES] [INJECTIONS]")?);
    let features: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10_000);
    let injections: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2_000);
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng(0x3E7A_BE7C);
    let per_batch = injections.div_ceil(4);
    // (column, batch, kind)
    let mut run: Vec<(String, usize, &str)> = Vec::with_capacity(injections);
    let mut samples = 0;
    for k in 0..injections {
        let batch = k / per_batch + 1;
        let p = k % per_batch;
        let kind = if p == 0 || p == per_batch - 1 {
            "blank"
        } else if p % 6 == 1 {
            "qc"
        } else {
            samples += 1;
            "sample"
        };
        let name = match kind {
            "sample" => format!("S{samples:05}"),
            other => format!("{other}_{k:05}"),
        };
        run.push((name, batch, kind));
    }
    let mut list = String::from("column,injection_order,batch,sample_type\n");
    for (k, (c, b, kind)) in run.iter().enumerate() {
        writeln!(list, "{c}.mzML,{},b{b},{kind}", k + 1)?;
    }
    std::fs::write(out.join("injections.csv"), list)?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out.join("features.csv"))?);
    write!(w, "row ID,row m/z,row retention time")?;
    for (c, ..) in &run {
        write!(w, ",{c}.mzML Peak area")?;
    }
    writeln!(w)?;
    let mut line = String::new();
    for f in 0..features {
        let base = (11.0 + 1.5 * rng.normal()).exp();
        let slope = 0.2 + 0.3 * rng.uniform();
        let shifts: Vec<f64> = (0..4).map(|_| 0.7 + 0.6 * rng.uniform()).collect();
        line.clear();
        write!(line, "F{f:05},{:.4},{:.2}", 70.0 + 830.0 * rng.uniform(), 0.5 + 14.5 * rng.uniform())?;
        for (k, (_, b, kind)) in run.iter().enumerate() {
            let p = (k % per_batch) as f64 / per_batch as f64;
            let level = match *kind {
                "blank" => 0.005,
                "qc" => 1.0,
                _ => (0.3 * rng.normal()).exp(),
            };
            let v = base * level * (1.0 - slope * p) * shifts[b - 1] * (0.05 * rng.normal()).exp();
            if *kind == "sample" && rng.uniform() < 0.02 {
                line.push_str(",0");
            } else {
                write!(line, ",{v:.1}")?;
            }
        }
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}
