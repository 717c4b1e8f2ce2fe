//! The fixture's genome: one multi-sample VCF of the 8 patients' germline genotypes (one sample per
//! patient, no timepoint): an SNV in an exon of each autosomal gene of the annotation cut (REF is
//! the fixture's pseudo-genome base, so reads could carry the alleles), 120 SNVs across chrX
//! outside the pseudo-autosomal regions (haploid in males) and 12 on chrY (called in males only),
//! with 2% missing calls. Planted: patient P03 is recorded male in the samplesheet but its genome
//! is female (diploid chrX with heterozygous calls, no chrY): the sex mislabel the genome layer must
//! find, and nothing else. Its own seeded stream, so the other layers' files are untouched.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::sim::{HG38, Rng, base, mix};
use harmonomics::annotation::FeatureSet;

const SEED: u64 = 0x0006_E70E_2026;
/// The patient whose genome is of the other sex than the samplesheet records.
pub const SEX_MISLABEL: &str = "P03";
const MISSING: f64 = 0.02;
const X_SITES: u64 = 120;
const Y_SITES: u64 = 12;
const Y_LENGTH: u64 = 57_227_415;

/// One patient as the genome layer sees it.
pub struct PatientInfo {
    pub id: String,
    /// `F` or `M`, as the samplesheet records it.
    pub sex: &'static str,
}

/// The sample id of a patient's genome row.
pub fn sample_id(patient: &str) -> String {
    format!("{patient}_germline")
}

/// The autosomal sites with every patient's true alleles (missing calls included), which the
/// RNA and bisulfite reads carry: `(contig, pos) → (REF, ALT, per patient [haplotype 1, 2] as
/// ALT 0/1)`.
pub type Alleles = BTreeMap<(usize, u64), (u8, u8, Vec<[u8; 2]>)>;

/// A fixed uniform draw for (site, patient, haplotype), so that the true alleles behind a
/// missing call come without touching the seeded stream (the VCF stays as it was).
fn hidden_uniform(contig: usize, pos: u64, patient: usize, haplotype: u64) -> f64 {
    let z = mix((contig as u64) << 40 ^ pos ^ (patient as u64) << 56 ^ haplotype << 62 ^ 0xA11E1E);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Writes `genome/genotypes.vcf` and `cohort/truth/genome_sex.tsv`; returns the autosomal alleles.
pub fn simulate(
    features: &FeatureSet,
    patients: &[PatientInfo],
    root: &Path,
) -> Result<Alleles, Box<dyn std::error::Error>> {
    let mut rng = Rng(SEED);
    // The sex each genome really has.
    let male: Vec<bool> = patients.iter().map(|p| (p.sex == "M") != (p.id == SEX_MISLABEL)).collect();
    let mut vcf = String::from("##fileformat=VCFv4.2\n##source=harmonomics fixture generator\n");
    for (name, length) in HG38 {
        writeln!(vcf, "##contig=<ID={name},length={length}>")?;
    }
    writeln!(vcf, "##contig=<ID=chrY,length={Y_LENGTH}>")?;
    vcf.push_str("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n");
    vcf.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for p in patients {
        write!(vcf, "\t{}", sample_id(&p.id))?;
    }
    vcf.push('\n');

    // Sites: one exon position per autosomal gene, sorted by contig (HG38 order) and position.
    let contig_index = |name: &str| HG38.iter().position(|(n, _)| *n == name);
    let mut sites: Vec<(usize, u64)> = Vec::new();
    for gene in &features.genes {
        let exon = &features.exons[gene.exons[0] as usize];
        let contig = features.contigs[exon.contig as usize].as_str();
        let Some(c) = contig_index(contig) else { continue };
        if contig == "chrX" {
            continue;
        }
        let span = (exon.end - exon.start + 1).max(1);
        sites.push((c, exon.start + rng.below(span)));
    }
    let x = contig_index("chrX").ok_or("no chrX in HG38")?;
    // chrX outside GRCh38's PAR1 (to 2,781,479) and PAR2 (from 155,701,383).
    for k in 0..X_SITES {
        sites.push((x, 3_000_000 + k * 1_200_000 + rng.below(1_000)));
    }
    sites.sort();
    sites.dedup();
    let mut id = 0;
    let mut line = |vcf: &mut String,
                    chrom: &str,
                    contig: usize,
                    pos: u64,
                    calls: &[String]|
     -> Result<(u8, u8), std::fmt::Error> {
        id += 1;
        let reference = base(contig, pos);
        // A transition two times in three, as in real SNVs (Ti/Tv ≈ 2).
        let transition = match reference {
            b'A' => b'G',
            b'G' => b'A',
            b'C' => b'T',
            _ => b'C',
        };
        let alt = if id % 3 == 0 { if reference == b'A' { b'C' } else { b'A' } } else { transition };
        write!(vcf, "{chrom}\t{pos}\tfx{id}\t{}\t{}\t.\tPASS\t.\tGT", reference as char, alt as char)?;
        for c in calls {
            write!(vcf, "\t{c}")?;
        }
        vcf.push('\n');
        Ok((reference, alt))
    };
    let mut alleles = Alleles::new();
    for &(contig, pos) in &sites {
        let chrom = HG38[contig].0;
        let p = 0.05 + 0.45 * rng.uniform();
        let mut truth = Vec::new();
        let calls: Vec<String> = male
            .iter()
            .enumerate()
            .map(|(k, &m)| {
                if rng.uniform() < MISSING {
                    let hidden = |h| u8::from(hidden_uniform(contig, pos, k, h) < p);
                    truth.push([hidden(0), hidden(1)]);
                    return if chrom == "chrX" && m { ".".into() } else { "./.".into() };
                }
                let a = u8::from(rng.uniform() < p);
                if chrom == "chrX" && m {
                    truth.push([a, a]);
                    a.to_string()
                } else {
                    let b = u8::from(rng.uniform() < p);
                    truth.push([a, b]);
                    format!("{a}/{b}")
                }
            })
            .collect();
        let (reference, alternate) = line(&mut vcf, chrom, contig, pos, &calls)?;
        if chrom != "chrX" {
            alleles.insert((contig, pos), (reference, alternate, truth));
        }
    }
    for k in 0..Y_SITES {
        let pos = 3_000_000 + k * 2_000_000;
        let calls: Vec<String> = male
            .iter()
            .map(|&m| if m { if rng.uniform() < 0.2 { "1".into() } else { "0".into() } } else { ".".into() })
            .collect();
        line(&mut vcf, "chrY", HG38.len(), pos, &calls)?;
    }
    std::fs::create_dir_all(root.join("genome"))?;
    std::fs::write(root.join("genome/genotypes.vcf"), vcf)?;

    let mut truth = String::from("patient_id\tsample_id\trecorded_sex\tgenetic_sex\n");
    for (p, m) in patients.iter().zip(&male) {
        writeln!(truth, "{}\t{}\t{}\t{}", p.id, sample_id(&p.id), p.sex, if *m { "M" } else { "F" })?;
    }
    std::fs::write(root.join("cohort/truth/genome_sex.tsv"), truth)?;
    Ok(alleles)
}
