//! Builds a cohort of the size harmonomics exists for, deterministically, for `benches/scale.sh`:
//! N patients × 5 timepoints (day 0, day 3, discharge, month 3, month 12) at 4 sites, with
//! - one single-end, reverse-stranded RNA BAM per sample (~95% of the grid; ~65,000 reads each,
//!   100 bp, spliced across the real NCBI RefSeq hg38 exons; no SEQ/QUAL, which counting ignores);
//! - one Bismark `--merge_CpG` `.cov.gz` per sample (~94% of the grid; ~200,000 of 250,000 CpGs
//!   around the genes' transcription starts, ~10 calls each);
//! - one MZmine table of 3,000 features over every study sample plus pooled QCs and blanks, in 8
//!   LC batches, with its injection list;
//! - `cohort.toml` (ComBat on, timepoint protected), `samplesheet.csv` and `patients.csv`.
//!
//!   cargo run --release --example make-scale-cohort -- OUT_DIR PATIENTS ANNOTATION.saf[.gz]
//!
//! Planted: a day-0/day-3 rise of 40 "hyperinflammation" genes in half the patients (4×), a site
//! effect on 10% of genes, a day-0 methylation gain on 2% of CpGs, a day-0 rise of metabolite
//! `F0001`, and a within-batch drift of the LC-MS intensities. The same arguments give the same
//! bytes.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use harmonomics::annotation::{self, AnnotationFormat, Strand};
use noodles::core::Position;
use noodles::sam::alignment::io::Write as _;
use noodles::sam::alignment::record::cigar::Op;
use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::sam::alignment::record::{Flags, MappingQuality};
use noodles::sam::alignment::{RecordBuf, record_buf::Cigar};
use noodles::{bam, sam};
use rayon::prelude::*;

#[path = "../../test-data/cohort/sim.rs"]
mod sim;
use sim::{HG38, Rng, Transcript, transcripts};

const SEED: u64 = 0x5CA1_E000;
const READ_LEN: u64 = 100;
const READS: f64 = 65_000.0;
const CPGS: usize = 250_000;
const FEATURES: usize = 3_000;
const LC_BATCHES: usize = 8;
const SITES: [&str; 4] = ["nijmegen", "athens", "milan", "berlin"];
/// (name, days after the anchor, anchored at discharge?)
const TIMEPOINTS: [(&str, i64, bool); 5] =
    [("day0", 1, false), ("day3", 3, false), ("discharge", 0, true), ("month3", 90, true), ("month12", 365, true)];

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make-scale-cohort OUT_DIR PATIENTS ANNOTATION.saf[.gz]";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let patients: usize = args.next().ok_or(usage)?.parse()?;
    let saf = std::fs::canonicalize(args.next().ok_or(usage)?)?;
    for d in ["rna", "methylation", "metabolome"] {
        std::fs::create_dir_all(out.join(d))?;
    }
    let features = annotation::read(&saf, AnnotationFormat::Saf)?;
    let genes = Genes::new(&features);
    let cpgs = cpg_sites(&features);
    let mut rng = Rng(SEED);

    // Who was sampled when, and which assays exist.
    let mut samples = Vec::new();
    let mut patients_csv = String::from("patient_id,admission_date,discharge_date\n");
    for p in 0..patients {
        let id = format!("P{:04}", p + 1);
        let admission = 20_089 + (p as i64 * 3) % 700; // 2025-01-01 onwards
        let discharge = admission + 8 + rng.below(30) as i64;
        let _ = writeln!(patients_csv, "{id},{},{}", date(admission), date(discharge));
        let hyper = rng.uniform() < 0.5;
        for (t, (name, day, at_discharge)) in TIMEPOINTS.iter().enumerate() {
            let mut collected = if *at_discharge { discharge + day } else { admission + day };
            if rng.uniform() < 0.01 {
                collected += 30; // a late draw: outside every window
            }
            samples.push(Sample {
                id: format!("{id}_{name}"),
                patient: id.clone(),
                patient_no: p,
                timepoint: t,
                site: SITES[p % SITES.len()],
                collected,
                hyper,
                rna: rng.uniform() < 0.953,
                methylation: rng.uniform() < 0.938,
            });
        }
    }
    std::fs::write(out.join("patients.csv"), patients_csv)?;

    let rna: Vec<&Sample> = samples.iter().filter(|s| s.rna).collect();
    rna.par_iter().try_for_each(|s| write_bam(&out.join(format!("rna/{}.bam", s.id)), s, &genes))?;
    let methylation: Vec<&Sample> = samples.iter().filter(|s| s.methylation).collect();
    methylation.par_iter().try_for_each(|s| write_cov(&out.join(format!("methylation/{}.cov.gz", s.id)), s, &cpgs))?;
    write_metabolome(&out, &samples)?;

    let mut sheet = String::from("sample_id,patient_id,timepoint,layer,path,batch,site,collection_date\n");
    // (sample, layer, input, batch): RNA and methylation batches are the site, LC-MS its own.
    let mut rows: Vec<(&Sample, &str, String, String)> = Vec::new();
    rows.extend(rna.iter().map(|s| (*s, "transcriptome", format!("rna/{}.bam", s.id), s.site.to_string())));
    rows.extend(
        methylation.iter().map(|s| (*s, "epigenome", format!("methylation/{}.cov.gz", s.id), s.site.to_string())),
    );
    rows.extend(samples.iter().map(|s| (s, "metabolome", "metabolome/features_mzmine.csv".to_string(), lc_batch(s))));
    for (s, layer, path, batch) in rows {
        let (id, patient, timepoint) = (&s.id, &s.patient, TIMEPOINTS[s.timepoint].0);
        let _ = writeln!(sheet, "{id},{patient},{timepoint},{layer},{path},{batch},{},{}", s.site, date(s.collected));
    }
    std::fs::write(out.join("samplesheet.csv"), sheet)?;
    std::fs::write(out.join("cohort.toml"), config(patients, &saf))?;
    eprintln!(
        "make-scale-cohort: {patients} patients, {} RNA BAMs, {} methylation files, {} metabolome samples in {}",
        rna.len(),
        methylation.len(),
        samples.len(),
        out.display()
    );
    Ok(())
}

struct Sample {
    id: String,
    patient: String,
    patient_no: usize,
    timepoint: usize,
    site: &'static str,
    collected: i64,
    hyper: bool,
    rna: bool,
    methylation: bool,
}

/// The LC-MS batch of a sample: patients in blocks, so batch and timepoint are not confounded.
fn lc_batch(s: &Sample) -> String {
    format!("lc{}", s.patient_no % LC_BATCHES + 1)
}

/// Genes that can carry reads, with their expression model.
struct Genes {
    tx: Vec<(usize, Transcript, bool)>,
    /// log mean share per gene.
    weight: Vec<f64>,
    hyper: Vec<bool>,
    site_effect: Vec<bool>,
}

impl Genes {
    fn new(features: &annotation::FeatureSet) -> Self {
        let contig: std::collections::HashMap<&str, usize> =
            HG38.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
        let tx: Vec<(usize, Transcript, bool)> = transcripts(features)
            .into_iter()
            .zip(&features.genes)
            .filter_map(|(t, g)| {
                let c = *contig.get(t.contig.as_str())?;
                let same =
                    g.exons.iter().all(|&e| features.contigs[features.exons[e as usize].contig as usize] == t.contig);
                let minus = features.exons[g.exons[0] as usize].strand == Strand::Reverse;
                (same && t.length() > READ_LEN).then_some((c, t, minus))
            })
            .collect();
        let mut rng = Rng(SEED ^ 1);
        let raw: Vec<f64> = tx.iter().map(|_| (2.0 * rng.normal()).exp()).collect();
        let total: f64 = raw.iter().sum();
        Self {
            weight: raw.iter().map(|w| w / total).collect(),
            hyper: (0..tx.len()).map(|_| rng.uniform() < 40.0 / 20_000.0).collect(),
            site_effect: (0..tx.len()).map(|_| rng.uniform() < 0.1).collect(),
            tx,
        }
    }
}

fn write_bam(path: &Path, s: &Sample, genes: &Genes) -> Result<(), Error> {
    let mut rng = Rng(SEED ^ hash(&s.id));
    let library = READS * (0.8 + 0.4 * rng.uniform());
    let mut reads: Vec<(usize, u64, bool, Vec<Op>)> = Vec::new();
    for (g, (contig, t, minus)) in genes.tx.iter().enumerate() {
        let mut mean = library * genes.weight[g];
        if genes.hyper[g] && s.hyper && s.timepoint < 2 {
            mean *= 4.0;
        }
        if genes.site_effect[g] {
            mean *= 1.0 + 0.3 * (s.patient_no % SITES.len()) as f64;
        }
        let count = if mean < 1e-3 { u64::from(rng.uniform() < mean) } else { rng.negative_binomial(mean, 0.1) };
        for _ in 0..count {
            let offset = rng.below(t.length() - READ_LEN + 1);
            let (start, cigar) = t.place(offset, READ_LEN);
            // Reverse-stranded library (dUTP): the read lies on the strand opposite the gene.
            reads.push((*contig, start, !*minus, ops(&cigar)));
        }
    }
    reads.sort_by_key(|r| (r.0, r.1));
    let mut text = String::from("@HD\tVN:1.6\tSO:coordinate\n");
    for (name, len) in HG38 {
        let _ = writeln!(text, "@SQ\tSN:{name}\tLN:{len}");
    }
    let header: sam::Header = text.parse()?;
    let mut writer = bam::io::Writer::new(BufWriter::new(File::create(path)?));
    writer.write_header(&header)?;
    let mapq = MappingQuality::new(60).ok_or("mapq")?;
    for (k, (contig, start, reverse, cigar)) in reads.into_iter().enumerate() {
        let flags = if reverse { Flags::REVERSE_COMPLEMENTED } else { Flags::empty() };
        let record = RecordBuf::builder()
            .set_name(format!("r{k}"))
            .set_flags(flags)
            .set_reference_sequence_id(contig)
            .set_alignment_start(Position::try_from(start as usize)?)
            .set_mapping_quality(mapq)
            .set_cigar(Cigar::from(cigar))
            .build();
        writer.write_alignment_record(&header, &record)?;
    }
    writer.try_finish()?;
    Ok(())
}

/// `30M200N70M` as CIGAR operations.
fn ops(cigar: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut n = 0usize;
    for ch in cigar.chars() {
        match ch.to_digit(10) {
            Some(d) => n = n * 10 + d as usize,
            None => {
                ops.push(Op::new(if ch == 'N' { Kind::Skip } else { Kind::Match }, n));
                n = 0;
            }
        }
    }
    ops
}

/// 250,000 CpGs (contig, C position) in promoter-like clusters at the genes' starts, sorted.
fn cpg_sites(features: &annotation::FeatureSet) -> Vec<(usize, u64)> {
    let contig: std::collections::HashMap<&str, usize> = HG38.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
    let mut starts: Vec<(usize, u64)> = features
        .genes
        .iter()
        .filter_map(|g| {
            let exons: Vec<&annotation::Exon> = g.exons.iter().map(|&e| &features.exons[e as usize]).collect();
            let c = *contig.get(features.contigs[exons[0].contig as usize].as_str())?;
            let tss = if exons[0].strand == Strand::Reverse {
                exons.iter().map(|e| e.end).max()?
            } else {
                exons.iter().map(|e| e.start).min()?
            };
            Some((c, tss))
        })
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let per_gene = CPGS.div_ceil(starts.len().max(1));
    let mut sites: Vec<(usize, u64)> = starts
        .iter()
        .flat_map(|&(c, tss)| (0..per_gene as u64).map(move |k| (c, (tss + 40 * k).saturating_sub(300).max(1))))
        .collect();
    sites.sort_unstable();
    sites.dedup();
    sites.truncate(CPGS);
    sites
}

fn write_cov(path: &Path, s: &Sample, cpgs: &[(usize, u64)]) -> Result<(), Error> {
    let mut rng = Rng(SEED ^ hash(&s.id) ^ 2);
    let file = File::create(path)?;
    let mut gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let mut line = String::new();
    for (k, &(contig, pos)) in cpgs.iter().enumerate() {
        // Most sites are covered in nearly every library, a minority in about half.
        let site = hash_u64(k as u64);
        let covered = if site % 5 < 3 { 0.97 } else { 0.55 };
        if rng.uniform() >= covered {
            continue;
        }
        let depth = rng.poisson(10.0).max(1);
        let mut beta = (site >> 8) as f64 / (1u64 << 56) as f64;
        if site.is_multiple_of(50) && s.timepoint == 0 {
            beta = (beta + 0.2).min(1.0);
        }
        let m = (0..depth).filter(|_| rng.uniform() < beta).count() as u64;
        let u = depth - m;
        line.clear();
        let pct = 100.0 * m as f64 / depth as f64;
        let _ = writeln!(line, "{}\t{pos}\t{}\t{pct}\t{m}\t{u}", HG38[contig].0, pos + 1);
        gz.write_all(line.as_bytes())?;
    }
    gz.finish()?.flush()?;
    Ok(())
}

fn write_metabolome(out: &Path, samples: &[Sample]) -> Result<(), Error> {
    let mut rng = Rng(SEED ^ 3);
    // Injections: per LC batch, blanks, then study samples in random order with a pooled QC
    // every 10 injections.
    enum Kind<'a> {
        Blank,
        Qc,
        Study(&'a Sample),
    }
    let mut injections: Vec<(String, usize, Kind)> = Vec::new();
    for b in 0..LC_BATCHES {
        let mut study: Vec<&Sample> = samples.iter().filter(|s| lc_batch(s) == format!("lc{}", b + 1)).collect();
        for k in (1..study.len()).rev() {
            study.swap(k, rng.below(k as u64 + 1) as usize);
        }
        injections.push((format!("Blank_b{}_01.mzML", b + 1), b, Kind::Blank));
        let mut qc = 0;
        for (k, s) in study.into_iter().enumerate() {
            if k % 10 == 0 {
                qc += 1;
                injections.push((format!("QC_b{}_{qc:02}.mzML", b + 1), b, Kind::Qc));
            }
            injections.push((format!("{}.mzML", s.id), b, Kind::Study(s)));
        }
        qc += 1;
        injections.push((format!("QC_b{}_{qc:02}.mzML", b + 1), b, Kind::Qc));
    }
    let mut list = String::from("column,injection_order,batch,sample_type,sample_id\n");
    for (k, (column, b, kind)) in injections.iter().enumerate() {
        let (kind, id) = match kind {
            Kind::Blank => ("blank", ""),
            Kind::Qc => ("qc", ""),
            Kind::Study(s) => ("sample", s.id.as_str()),
        };
        let _ = writeln!(list, "{column},{},lc{},{kind},{id}", k + 1, b + 1);
    }
    std::fs::write(out.join("metabolome/injections.csv"), list)?;

    let mut w = BufWriter::new(File::create(out.join("metabolome/features_mzmine.csv"))?);
    let mut header = String::from("row ID,row m/z,row retention time,row identity (main ID)");
    for (column, _, _) in &injections {
        let _ = write!(header, ",{column} Peak area");
    }
    writeln!(w, "{header}")?;
    let per_batch_len = injections.len() as f64 / LC_BATCHES as f64;
    let mut line = String::new();
    for f in 0..FEATURES {
        let base = 12.0 + 3.0 * rng.normal();
        let drift = 0.5 * rng.uniform();
        let batch_shift: Vec<f64> = (0..LC_BATCHES).map(|_| 0.3 * rng.normal()).collect();
        line.clear();
        let _ = write!(line, "{},{:.4},{:.3},", f + 1, 80.0 + 900.0 * rng.uniform(), 0.5 + 14.0 * rng.uniform());
        if f == 0 {
            line.push_str("F0001");
        }
        for (k, (_, b, kind)) in injections.iter().enumerate() {
            let position = (k as f64 % per_batch_len) / per_batch_len;
            let mut log2 = base + batch_shift[*b] - drift * position + 0.2 * rng.normal();
            match kind {
                Kind::Blank => log2 -= 8.0,
                Kind::Study(s) if f == 0 && s.timepoint == 0 => log2 += 1.5,
                _ => {}
            }
            let value = log2.exp2();
            if matches!(kind, Kind::Study(_)) && rng.uniform() < 0.02 {
                line.push(',');
            } else {
                let _ = write!(line, ",{value:.1}");
            }
        }
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}

fn config(patients: usize, saf: &Path) -> String {
    format!(
        r#"# Generated by `make-scale-cohort`: {patients} patients x 5 timepoints, 4 sites.
samplesheet = "samplesheet.csv"
patients = "patients.csv"

[study]
name = "scale-{patients}"

[[timepoints]]
name = "day0"
order = 1
anchor = "admission"
nominal_day = 0
window_before_days = 0
window_after_days = 2

[[timepoints]]
name = "day3"
order = 2
anchor = "admission"
nominal_day = 3
window_before_days = 1
window_after_days = 1

[[timepoints]]
name = "discharge"
order = 3
anchor = "discharge"
nominal_day = 0
window_before_days = 2
window_after_days = 2

[[timepoints]]
name = "month3"
order = 4
anchor = "discharge"
nominal_day = 90
window_before_days = 14
window_after_days = 14

[[timepoints]]
name = "month12"
order = 5
anchor = "discharge"
nominal_day = 365
window_before_days = 14
window_after_days = 14

[annotation]
path = "{}"
format = "saf"

[transcriptome.quant]
strandedness = 2

[transcriptome.normalise]
methods = ["vst", "cpm", "log2cpm", "deseq2", "tmm"]
prior_count = 2

[epigenome.normalise]
min_coverage = 5
min_sample_fraction = 0.8

[[epigenome.regions]]
name = "promoters"
upstream = 500
downstream = 500

[metabolome]
injections = "metabolome/injections.csv"

[batch_correction]
method = "combat"
batch = "batch"
"#,
        saf.display()
    )
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
fn date(days: i64) -> String {
    let (y, m, d) = harmonomics::io::time::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3))
}

fn hash_u64(x: u64) -> u64 {
    Rng(x).next_u64()
}
