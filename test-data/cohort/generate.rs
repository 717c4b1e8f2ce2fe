//! Deterministic generator of the fixture cohort (run: `bash test-data/regenerate.sh`).
//!
//! 8 patients × 5 timepoints of single-end RNA-seq alignments on a real annotation (a cut of
//! NCBI RefSeq hg38, `test-data/annotation/hg38_refseq_fixture.saf`), with known biology planted:
//! two immunotypes, a site batch effect and the exact number of reads placed on every gene.
//! Everything comes from one seeded SplitMix64 stream, so the same seed gives the same bytes.
//! See `test-data/cohort/README.md` for the planted truth.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use harmonomics::annotation::{self, AnnotationFormat};
use noodles::sam::alignment::io::Write as _;
use noodles::{bam, sam};

mod genome;
mod metabolome;
mod methylation;
mod microbiome;
mod sim;
use sim::{Genotype, HG38, Rng, Transcript, carry_alleles, mix, sequence, transcripts};

const SEED: u64 = 0x005E_B515_2026;
const READ_LEN: usize = 50;
/// Mean reads placed on genes per sample (before library-size variation).
const MEAN_LIBRARY: f64 = 5200.0;
const DISPERSION: f64 = 0.05;
const TIMEPOINTS: [&str; 5] = ["day0", "day3", "discharge", "month3", "month12"];
/// The planted tube swap: this RNA sample carries another patient's alleles (its expression is
/// the labelled patient's, so the other layers' truth is untouched).
const SWAP_SAMPLE: &str = "P04_discharge";
/// Whose alleles the swapped sample carries.
const SWAP_SOURCE: &str = "P07";

/// Hyperinflammatory signature: up in HI patients; fold change by timepoint.
const HI_UP: [(&str, &str); 8] = [
    ("3569", "IL6"),
    ("3553", "IL1B"),
    ("7124", "TNF"),
    ("3576", "CXCL8"),
    ("6279", "S100A8"),
    ("6280", "S100A9"),
    ("4317", "MMP8"),
    ("3934", "LCN2"),
];
const HI_FC: [f64; 5] = [8.0, 6.0, 3.0, 1.5, 1.0];
/// Immunosuppressed signature: up (CD274, IL10, ARG1) or down (HLA-DRA, T-cell genes) in IS patients.
const IS_UP: [(&str, &str); 3] = [("29126", "CD274"), ("3586", "IL10"), ("383", "ARG1")];
const IS_UP_FC: [f64; 5] = [4.0, 3.5, 2.0, 1.25, 1.0];
const IS_DOWN: [(&str, &str); 4] = [("3122", "HLA-DRA"), ("916", "CD3E"), ("920", "CD4"), ("925", "CD8A")];
const IS_DOWN_FC: [f64; 5] = [0.25, 0.3, 0.6, 0.85, 1.0];

struct Patient {
    id: String,
    immunotype: &'static str,
    site: &'static str,
    sex: &'static str,
    admission: i64,
    discharge_day: i64,
}

struct Record {
    contig: usize,
    pos: u64,
    line: String,
}

fn iso(days: i64) -> String {
    let (y, m, d) = harmonomics::io::time::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Usage: make-fixture [ANNOTATION.saf] [OUT_ROOT] (defaults: the committed cut, test-data).
    let mut args = std::env::args().skip(1);
    let saf = PathBuf::from(args.next().unwrap_or_else(|| "test-data/annotation/hg38_refseq_fixture.saf".into()));
    let root = PathBuf::from(args.next().unwrap_or_else(|| "test-data".into()));
    let features = annotation::read(&saf, AnnotationFormat::Saf)?;
    let tx = transcripts(&features);
    let contig_index: BTreeMap<&str, usize> = HG38.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
    let gene_index: BTreeMap<&str, usize> =
        features.genes.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
    let mut rng = Rng(SEED);

    // Baseline expression: log-normal around 20 reads per kb-ish, planted genes fixed well expressed.
    let n_genes = features.genes.len();
    let mut base_mean: Vec<f64> = (0..n_genes).map(|_| (3.0 + 1.1 * rng.normal()).exp().clamp(1.0, 400.0)).collect();
    for (id, _) in HI_UP.iter().chain(&IS_UP).chain(&IS_DOWN) {
        base_mean[gene_index[id]] = 80.0;
    }
    let scale = MEAN_LIBRARY / base_mean.iter().sum::<f64>();
    base_mean.iter_mut().for_each(|m| *m *= scale);
    // Site B's batch effect: a gene-specific multiplicative factor, log-normal with sd 0.5.
    let batch_factor: Vec<f64> = (0..n_genes).map(|_| (0.5 * rng.normal()).exp()).collect();

    let patients: Vec<Patient> = (0..8)
        .map(|i| Patient {
            id: format!("P{:02}", i + 1),
            immunotype: if i < 4 { "hyperinflammatory" } else { "immunosuppressed" },
            site: if i % 4 < 2 { "nijmegen" } else { "athens" },
            sex: if i % 3 == 0 { "F" } else { "M" },
            admission: harmonomics::io::time::days_from_civil(2024, 1, 8) + 17 * i as i64 + rng.below(9) as i64,
            discharge_day: 9 + rng.below(20) as i64,
        })
        .collect();

    let bam_dir = root.join("transcriptome/bam");
    fs::create_dir_all(&bam_dir)?;
    fs::create_dir_all(root.join("cohort/truth"))?;
    // The genome first: the reads carry its alleles (its own seeded stream).
    let genome_patients: Vec<genome::PatientInfo> =
        patients.iter().map(|p| genome::PatientInfo { id: p.id.clone(), sex: p.sex }).collect();
    let alleles = genome::simulate(&features, &genome_patients, &root)?;
    let genotype_of = |k: usize| {
        let alleles = &alleles;
        move |contig: usize, pos: u64| alleles.get(&(contig, pos)).map(|(r, a, h)| (*r, *a, h[k]))
    };
    let patient_index = |id: &str| patients.iter().position(|p| p.id == id);
    let swap_source = patient_index(SWAP_SOURCE).ok_or("no swap source patient")?;
    let mut sheet =
        String::from("sample_id,patient_id,timepoint,layer,path,batch,site,collection_date,days_from_admission,sex\n");
    let mut planted = BTreeMap::new();
    let mut summaries = String::from(
        "sample_id\tAssigned\tUnassigned_Unmapped\tUnassigned_MultiMapping\tUnassigned_NoFeatures\tlow_mapq\tduplicates\n",
    );
    let mut sample_no = 0usize;
    let mut methylation_rows: Vec<String> = Vec::new();
    let mut methylation_samples = Vec::new();
    let mut metabolome_rows: Vec<String> = Vec::new();
    let mut metabolome_samples = Vec::new();
    let mut microbiome_rows: Vec<String> = Vec::new();
    let mut microbiome_samples = Vec::new();
    for p in &patients {
        for (t, tp) in TIMEPOINTS.iter().enumerate() {
            if p.id == "P08" && *tp == "month12" {
                continue; // lost to follow-up: the grid has a hole
            }
            let day = match t {
                0 => rng.below(2) as i64,
                1 => 2 + rng.below(3) as i64,
                2 => p.discharge_day - 2 + rng.below(5) as i64,
                3 if p.id == "P06" => p.discharge_day + 90 + 21, // planted protocol deviation
                3 => p.discharge_day + 90 - 10 + rng.below(21) as i64,
                _ => p.discharge_day + 365 - 10 + rng.below(21) as i64,
            };
            let sample_id = format!("{}_{}", p.id, tp);
            let batch = if p.site == "nijmegen" { "seq1" } else { "seq2" };
            let (date, days) = if p.site == "nijmegen" {
                (iso(p.admission + day), String::new())
            } else {
                (String::new(), day.to_string())
            };
            writeln!(
                sheet,
                "{sample_id},{},{tp},transcriptome,../transcriptome/bam/{sample_id}.bam,{batch},{},{date},{days},{}",
                p.id, p.site, p.sex
            )?;

            let lib = (0.25 * rng.normal()).exp();
            let mut counts = vec![0u64; n_genes];
            for g in 0..n_genes {
                let mut mean = base_mean[g] * lib;
                if p.site == "athens" {
                    mean *= batch_factor[g];
                }
                let id = features.genes[g].id.as_str();
                if p.immunotype == "hyperinflammatory" && HI_UP.iter().any(|(i, _)| *i == id) {
                    mean *= HI_FC[t];
                }
                if p.immunotype == "immunosuppressed" {
                    if IS_UP.iter().any(|(i, _)| *i == id) {
                        mean *= IS_UP_FC[t];
                    }
                    if IS_DOWN.iter().any(|(i, _)| *i == id) {
                        mean *= IS_DOWN_FC[t];
                    }
                }
                counts[g] = rng.negative_binomial(mean, DISPERSION);
            }
            let own = patient_index(&p.id).ok_or("patient")?;
            let carrier = if sample_id == SWAP_SAMPLE { swap_source } else { own };
            let genotype = genotype_of(carrier);
            let (records, summary) = simulate_reads(&mut rng, sample_no, &tx, &counts, &contig_index, &genotype);
            writeln!(summaries, "{sample_id}\t{summary}")?;
            write_bam(&bam_dir.join(format!("{sample_id}.bam")), &sample_id, records.into_iter().map(|r| r.line))?;
            methylation_rows.push(format!(
                "{sample_id},{},{tp},epigenome,../epigenome/bam/{sample_id}.bam,{},{},{date},{days},{}",
                p.id,
                if p.site == "nijmegen" { "bs1" } else { "bs2" },
                p.site,
                p.sex
            ));
            metabolome_rows.push(format!(
                "{sample_id},{},{tp},metabolome,../metabolome/features_mzmine.csv,{{batch}},{},{date},{days},{}",
                p.id, p.site, p.sex
            ));
            microbiome_rows.push(format!(
                "{sample_id},{},{tp},microbiome,../microbiome/asv_table.tsv,{{batch}},{},{date},{days},{}",
                p.id, p.site, p.sex
            ));
            microbiome_samples.push(microbiome::SampleInfo { id: sample_id.clone(), timepoint: t });
            metabolome_samples.push(metabolome::SampleInfo {
                id: sample_id.clone(),
                hyperinflammatory: p.immunotype == "hyperinflammatory",
                timepoint: t,
            });
            methylation_samples.push(methylation::SampleInfo {
                id: sample_id.clone(),
                patient: own,
                hyperinflammatory: p.immunotype == "hyperinflammatory",
                athens: p.site == "athens",
                timepoint: t,
            });
            planted.insert(sample_id, counts);
            sample_no += 1;
        }
    }
    for row in &methylation_rows {
        writeln!(sheet, "{row}")?;
    }
    let lc_batches = metabolome::simulate(&metabolome_samples, &root)?;
    for (row, batch) in metabolome_rows.iter().zip(&lc_batches) {
        writeln!(sheet, "{}", row.replace("{batch}", batch))?;
    }
    let runs = microbiome::simulate(&microbiome_samples, &root)?;
    for (row, run) in microbiome_rows.iter().zip(&runs) {
        writeln!(sheet, "{}", row.replace("{batch}", run))?;
    }
    // The genome: one germline sample per patient, without a timepoint.
    for p in &patients {
        writeln!(
            sheet,
            "{},{},,genome,../genome/genotypes.vcf,gsa1,{},,,{}",
            genome::sample_id(&p.id),
            p.id,
            p.site,
            p.sex
        )?;
    }
    fs::write(root.join("cohort/samplesheet.csv"), sheet)?;
    fs::write(
        root.join("cohort/truth/identity.tsv"),
        format!(
            "sample_id\tlayer\tlabelled_patient\tcarries_patient\n{SWAP_SAMPLE}\ttranscriptome\t{}\t{SWAP_SOURCE}\n",
            &SWAP_SAMPLE[..3]
        ),
    )?;

    // Methylation: the planted genes' promoters plus controls (three autosomal genes and one on
    // chrX, so `drop_sex_chromosomes` has something to drop).
    let mut genes: Vec<(&str, &str, &str)> = Vec::new();
    genes.extend(HI_UP.iter().map(|(id, sym)| (*id, *sym, "hi_hypo")));
    genes.extend(IS_UP.iter().map(|(id, sym)| (*id, *sym, "is_hypo")));
    genes.extend(IS_DOWN.iter().map(|(id, sym)| (*id, *sym, "is_hyper")));
    let contig_of = |g: &harmonomics::annotation::Gene| {
        features.contigs[features.exons[g.exons[0] as usize].contig as usize].as_str()
    };
    let planted_ids: Vec<&str> = genes.iter().map(|g| g.0).collect();
    let free = |g: &&harmonomics::annotation::Gene| {
        !planted_ids.contains(&g.id.as_str()) && HG38.iter().any(|(n, _)| *n == contig_of(g))
    };
    let autosomal = features.genes.iter().filter(free).filter(|g| contig_of(g) != "chrX").take(3);
    let sex = features.genes.iter().filter(free).find(|g| contig_of(g) == "chrX");
    let controls: Vec<&str> = autosomal.chain(sex).map(|g| g.id.as_str()).collect();
    genes.extend(controls.iter().map(|id| (*id, "control", "control")));
    methylation::simulate(&features, &genes, &methylation_samples, &alleles, &root)?;

    let mut pt = String::from("patient_id,admission_date,discharge_date\n");
    let mut design = String::from("patient_id\timmunotype\tsite\tsex\n");
    for p in &patients {
        writeln!(pt, "{},{},{}", p.id, iso(p.admission), iso(p.admission + p.discharge_day))?;
        writeln!(design, "{}\t{}\t{}\t{}", p.id, p.immunotype, p.site, p.sex)?;
    }
    fs::write(root.join("cohort/patients.csv"), pt)?;
    fs::write(root.join("cohort/truth/design.tsv"), design)?;
    fs::write(root.join("cohort/truth/planted_summary.tsv"), summaries)?;

    let ids: Vec<&String> = planted.keys().collect();
    let mut table = String::from("feature_id");
    for id in &ids {
        write!(table, "\t{id}")?;
    }
    table.push('\n');
    for (g, gene) in features.genes.iter().enumerate() {
        table.push_str(&gene.id);
        for id in &ids {
            write!(table, "\t{}", planted[*id][g])?;
        }
        table.push('\n');
    }
    fs::write(root.join("cohort/truth/planted_counts.tsv"), table)?;

    let mut fc = String::from("feature_id\tsymbol\tgroup\tday0\tday3\tdischarge\tmonth3\tmonth12\n");
    for (list, group, f) in [
        (&HI_UP[..], "hyperinflammatory", HI_FC),
        (&IS_UP[..], "immunosuppressed", IS_UP_FC),
        (&IS_DOWN[..], "immunosuppressed", IS_DOWN_FC),
    ] {
        for (id, sym) in list {
            writeln!(fc, "{id}\t{sym}\t{group}\t{}\t{}\t{}\t{}\t{}", f[0], f[1], f[2], f[3], f[4])?;
        }
    }
    fs::write(root.join("cohort/truth/fold_changes.tsv"), fc)?;
    let mut bf = String::from("feature_id\tathens_over_nijmegen\n");
    for (g, gene) in features.genes.iter().enumerate() {
        writeln!(bf, "{}\t{:.6}", gene.id, batch_factor[g])?;
    }
    fs::write(root.join("cohort/truth/batch_factors.tsv"), bf)?;
    Ok(())
}

/// Places the planted reads plus noise (intronic, intergenic, multi-mapping, unmapped).
fn simulate_reads(
    rng: &mut Rng,
    sample_no: usize,
    tx: &[Transcript],
    counts: &[u64],
    contigs: &BTreeMap<&str, usize>,
    genotype: &Genotype<'_>,
) -> (Vec<Record>, String) {
    let len = READ_LEN as u64;
    let qual: String = std::iter::repeat_n('F', READ_LEN - 6).chain(std::iter::repeat_n(':', 6)).collect();
    let mut records = Vec::new();
    let mut n = 0u64;
    let name = |n: &mut u64| {
        *n += 1;
        format!("s{sample_no}r{n}")
    };
    let push = |records: &mut Vec<Record>,
                name: &str,
                flag: u16,
                contig: usize,
                pos: u64,
                mapq: u8,
                cigar: &str,
                tags: &str| {
        let mut seq = sequence(contig, pos, cigar).into_bytes();
        // A read comes from one haplotype; which one is a hash, not a draw (the stream is untouched).
        let haplotype = (mix((sample_no as u64) << 32 ^ records.len() as u64) & 1) as usize;
        let mismatches = carry_alleles(&mut seq, contig, pos, cigar, genotype, haplotype);
        let tags = tags.replace("NM:i:0", &format!("NM:i:{mismatches}"));
        let seq = String::from_utf8_lossy(&seq);
        let line = format!(
            "{name}\t{flag}\t{}\t{pos}\t{mapq}\t{cigar}\t*\t0\t0\t{seq}\t{}\t{tags}",
            HG38[contig].0,
            &qual[..seq.len()]
        );
        records.push(Record { contig, pos, line });
    };
    let (mut low_mapq, mut dups) = (0u64, 0u64);
    let total: u64 = counts.iter().sum();
    for (g, &count) in counts.iter().enumerate() {
        let t = &tx[g];
        let contig = contigs[t.contig.as_str()];
        for _ in 0..count {
            let offset = rng.below(t.length() - len + 1);
            let (pos, cigar) = t.place(offset, len);
            let mut flag = if rng.below(2) == 0 { 0 } else { 16 };
            let roll = rng.below(100);
            let mapq = if roll < 2 {
                low_mapq += 1;
                5
            } else {
                60
            };
            if (2..3).contains(&roll) {
                flag |= 1024;
                dups += 1;
            }
            let name = name(&mut n);
            push(&mut records, &name, flag, contig, pos, mapq, &cigar, "NH:i:1\tHI:i:1\tNM:i:0");
        }
    }
    // Intronic reads (3%): inside an intron of a gene with a long enough intron.
    let noise = |share: f64| (total as f64 * share).round() as u64;
    let with_introns: Vec<usize> = (0..tx.len()).filter(|&g| !tx[g].introns(len).is_empty()).collect();
    let mut no_features = 0;
    for _ in 0..noise(0.03) {
        let t = &tx[with_introns[rng.below(with_introns.len() as u64) as usize]];
        let introns = t.introns(len);
        let (s, e) = introns[rng.below(introns.len() as u64) as usize];
        let pos = s + rng.below(e + 1 - s - len + 1);
        let name = name(&mut n);
        push(&mut records, &name, 0, contigs[t.contig.as_str()], pos, 60, &format!("{len}M"), "NH:i:1\tHI:i:1\tNM:i:0");
        no_features += 1;
    }
    // Intergenic reads (2%): 5-50 kb downstream of a gene's last exon (spans never overlap).
    for _ in 0..noise(0.02) {
        let t = &tx[rng.below(tx.len() as u64) as usize];
        let end = t.blocks.last().map_or(0, |b| b.1);
        let pos = end + 5_000 + rng.below(45_000);
        let contig = contigs[t.contig.as_str()];
        let clear = tx
            .iter()
            .all(|o| o.contig != t.contig || pos + len <= o.blocks[0].0 || pos > o.blocks.last().map_or(0, |b| b.1));
        if !clear {
            continue;
        }
        let name = name(&mut n);
        push(&mut records, &name, 16, contig, pos, 60, &format!("{len}M"), "NH:i:1\tHI:i:1\tNM:i:0");
        no_features += 1;
    }
    // Multi-mapping reads (3%): a primary and a secondary alignment in two genes' exons.
    let mut multi = 0;
    for _ in 0..noise(0.03) {
        let name = name(&mut n);
        for hit in 1..=2u8 {
            let t = &tx[rng.below(tx.len() as u64) as usize];
            let (pos, cigar) = t.place(rng.below(t.length() - len + 1), len);
            let flag = if hit == 1 { 0 } else { 256 };
            push(
                &mut records,
                &name,
                flag,
                contigs[t.contig.as_str()],
                pos,
                1,
                &cigar,
                &format!("NH:i:2\tHI:i:{hit}\tNM:i:0"),
            );
            multi += 1;
        }
    }
    records.sort_by_key(|a| (a.contig, a.pos));
    // Unmapped reads (2%), at the end as `samtools sort` puts them.
    let unmapped = noise(0.02);
    for _ in 0..unmapped {
        let name = name(&mut n);
        let seq: String = (0..READ_LEN).map(|_| b"ACGT"[rng.below(4) as usize] as char).collect();
        records.push(Record {
            contig: usize::MAX,
            pos: 0,
            line: format!("{name}\t4\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}"),
        });
    }
    let summary = format!("{total}\t{unmapped}\t{multi}\t{no_features}\t{low_mapq}\t{dups}");
    (records, summary)
}

fn write_bam(
    path: &Path,
    sample_id: &str,
    lines: impl IntoIterator<Item = String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::from("@HD\tVN:1.6\tSO:coordinate\n");
    for (name, len) in HG38 {
        writeln!(text, "@SQ\tSN:{name}\tLN:{len}")?;
    }
    writeln!(text, "@RG\tID:{sample_id}\tSM:{sample_id}\tPL:ILLUMINA")?;
    writeln!(text, "@PG\tID:make-fixture\tPN:harmonomics-make-fixture\tVN:1")?;
    writeln!(text, "@CO\tSimulated fixture reads on a cut of NCBI RefSeq hg38 exons; see test-data/cohort/README.md")?;
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    let mut reader = sam::io::Reader::new(BufReader::new(text.as_bytes()));
    let header = reader.read_header()?;
    let mut writer = bam::io::Writer::new(fs::File::create(path)?);
    writer.write_header(&header)?;
    for record in reader.record_bufs(&header) {
        writer.write_alignment_record(&header, &record?)?;
    }
    writer.try_finish()?;
    Ok(())
}
