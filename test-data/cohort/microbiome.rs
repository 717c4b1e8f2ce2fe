//! The fixture's microbiome: one amplicon table (`biom convert --to-tsv` layout: ASVs with a
//! Greengenes-style `taxonomy` column) for the 39 blood draws and three extraction blanks, with a
//! planted antibiotic collapse (strict anaerobes fall and Enterococcus blooms at day 0–3, both
//! recovering by month 12), a sequencing-run batch (a taxon-specific primer bias on run `mb2`),
//! two low-depth samples, two rare genera below the abundance filter and three kit contaminants
//! that dominate the blanks. Its own seeded
//! stream, so the other layers' files are untouched.

use std::fmt::Write as _;
use std::path::Path;

use super::sim::Rng;

const SEED: u64 = 0x0016_5A5F_2026;
/// Mean reads per sample.
const DEPTH: f64 = 20_000.0;
/// Overdispersion of each taxon's reads around its expected share.
const DISPERSION: f64 = 0.15;
/// Commensal (anaerobe) abundance by timepoint, relative to health.
const COLLAPSE: [f64; 5] = [0.04, 0.02, 0.3, 0.8, 1.0];
/// Enterococcus by timepoint, relative to health.
const BLOOM: [f64; 5] = [60.0, 120.0, 10.0, 2.0, 1.0];
/// Samples sequenced too shallowly (reads well below the default `min_reads` of 1,000).
const LOW_DEPTH: [&str; 2] = ["P03_month3", "P07_day3"];

/// One study sample of the microbiome layer.
pub struct SampleInfo {
    pub id: String,
    pub timepoint: usize,
}

/// (lineage from phylum to genus, role, health abundance weight). `g__` left empty is a taxon
/// unassigned at genus (it stays its family's own row).
const TAXA: [(&str, &str, f64); 26] = [
    ("p__Bacteroidetes; c__Bacteroidia; o__Bacteroidales; f__Bacteroidaceae; g__Bacteroides", "commensal", 18.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Ruminococcaceae; g__Faecalibacterium", "commensal", 10.0),
    ("p__Bacteroidetes; c__Bacteroidia; o__Bacteroidales; f__Prevotellaceae; g__Prevotella", "commensal", 6.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Lachnospiraceae; g__Blautia", "commensal", 6.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Lachnospiraceae; g__Roseburia", "commensal", 4.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Ruminococcaceae; g__Ruminococcus", "commensal", 4.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Lachnospiraceae; g__", "commensal", 3.0),
    (
        "p__Actinobacteria; c__Actinobacteria; o__Bifidobacteriales; f__Bifidobacteriaceae; g__Bifidobacterium",
        "commensal",
        3.0,
    ),
    (
        "p__Verrucomicrobia; c__Verrucomicrobiae; o__Verrucomicrobiales; f__Verrucomicrobiaceae; g__Akkermansia",
        "commensal",
        2.5,
    ),
    ("p__Bacteroidetes; c__Bacteroidia; o__Bacteroidales; f__Rikenellaceae; g__Alistipes", "commensal", 2.5),
    ("p__Bacteroidetes; c__Bacteroidia; o__Bacteroidales; f__Porphyromonadaceae; g__Parabacteroides", "commensal", 2.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Lachnospiraceae; g__Coprococcus", "commensal", 2.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Lachnospiraceae; g__Dorea", "commensal", 1.5),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Ruminococcaceae; g__Oscillospira", "commensal", 1.5),
    (
        "p__Firmicutes; c__Erysipelotrichi; o__Erysipelotrichales; f__Erysipelotrichaceae; g__Holdemania",
        "commensal",
        1.0,
    ),
    ("p__Firmicutes; c__Bacilli; o__Lactobacillales; f__Enterococcaceae; g__Enterococcus", "bloom", 0.3),
    (
        "p__Proteobacteria; c__Gammaproteobacteria; o__Enterobacteriales; f__Enterobacteriaceae; g__Escherichia",
        "facultative",
        1.5,
    ),
    (
        "p__Proteobacteria; c__Gammaproteobacteria; o__Enterobacteriales; f__Enterobacteriaceae; g__Klebsiella",
        "facultative",
        0.8,
    ),
    ("p__Firmicutes; c__Bacilli; o__Lactobacillales; f__Streptococcaceae; g__Streptococcus", "facultative", 1.5),
    ("p__Firmicutes; c__Bacilli; o__Lactobacillales; f__Lactobacillaceae; g__Lactobacillus", "facultative", 1.0),
    ("p__Firmicutes; c__Negativicutes; o__Selenomonadales; f__Veillonellaceae; g__Veillonella", "facultative", 1.0),
    ("p__Firmicutes; c__Clostridia; o__Clostridiales; f__Christensenellaceae; g__Christensenella", "rare", 0.002),
    (
        "p__Proteobacteria; c__Deltaproteobacteria; o__Desulfovibrionales; f__Desulfovibrionaceae; g__Bilophila",
        "rare",
        0.003,
    ),
    (
        "p__Proteobacteria; c__Betaproteobacteria; o__Burkholderiales; f__Burkholderiaceae; g__Ralstonia",
        "contaminant",
        0.01,
    ),
    (
        "p__Proteobacteria; c__Alphaproteobacteria; o__Rhizobiales; f__Bradyrhizobiaceae; g__Bradyrhizobium",
        "contaminant",
        0.01,
    ),
    (
        "p__Proteobacteria; c__Alphaproteobacteria; o__Sphingomonadales; f__Sphingomonadaceae; g__Sphingomonas",
        "contaminant",
        0.01,
    ),
];
/// Genera split over two ASVs (aggregation must sum them).
const SPLIT: [usize; 3] = [0, 1, 15];
const BLANKS: usize = 3;

/// Writes `microbiome/asv_table.tsv` and the truth; returns each sample's sequencing run
/// (`mb1`, `mb2`), in sample order.
pub fn simulate(samples: &[SampleInfo], root: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut rng = Rng(SEED);
    // Run mb2's primer bias: log-normal, sd 0.5, per taxon.
    let bias: Vec<f64> = TAXA.iter().map(|_| (0.5 * rng.normal()).exp()).collect();
    let runs: Vec<usize> = samples.iter().map(|_| rng.below(2) as usize).collect();
    // ASVs: one per taxon, a second for the split genera (a third of its reads).
    let mut asvs: Vec<(usize, f64)> = Vec::new();
    for t in 0..TAXA.len() {
        if SPLIT.contains(&t) {
            asvs.push((t, 2.0 / 3.0));
            asvs.push((t, 1.0 / 3.0));
        } else {
            asvs.push((t, 1.0));
        }
    }
    let mut columns: Vec<(String, Vec<u64>)> = Vec::new();
    for (s, info) in samples.iter().enumerate() {
        let depth = if LOW_DEPTH.contains(&info.id.as_str()) { 400.0 } else { DEPTH * (0.3 * rng.normal()).exp() };
        let weights: Vec<f64> = TAXA
            .iter()
            .enumerate()
            .map(|(t, (_, role, w))| {
                let state = match *role {
                    "commensal" => COLLAPSE[info.timepoint],
                    "bloom" => BLOOM[info.timepoint],
                    _ => 1.0,
                };
                let batch = if runs[s] == 1 { bias[t] } else { 1.0 };
                w * state * batch * (0.3 * rng.normal()).exp()
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let counts = asvs
            .iter()
            .map(|&(t, share)| {
                let mean = depth * weights[t] / total * share;
                if TAXA[t].1 == "contaminant" {
                    rng.poisson(mean.max(1.5))
                } else {
                    rng.negative_binomial(mean, DISPERSION)
                }
            })
            .collect();
        columns.push((info.id.clone(), counts));
    }
    // Blanks: a few hundred reads, mostly the kit contaminants, a little cross-talk.
    for b in 0..BLANKS {
        let counts = asvs
            .iter()
            .map(|&(t, share)| {
                let mean = if TAXA[t].1 == "contaminant" { 150.0 } else { TAXA[t].2 * 0.3 } * share;
                rng.poisson(mean)
            })
            .collect();
        columns.push((format!("Blank_{}", b + 1), counts));
    }

    let mut table = String::from("# Constructed from biom file\n#OTU ID");
    for (id, _) in &columns {
        write!(table, "\t{id}")?;
    }
    table.push_str("\ttaxonomy\n");
    for (a, &(t, _)) in asvs.iter().enumerate() {
        write!(table, "ASV{:03}", a + 1)?;
        for (_, counts) in &columns {
            write!(table, "\t{}", counts[a])?;
        }
        writeln!(table, "\tk__Bacteria; {}", TAXA[t].0)?;
    }
    std::fs::create_dir_all(root.join("microbiome"))?;
    std::fs::write(root.join("microbiome/asv_table.tsv"), table)?;

    // Each taxon by its family and genus, as the end of its genus-level feature id.
    let mut truth = String::from("taxon\trole\tmb2_over_mb1\n");
    for (t, (lineage, role, _)) in TAXA.iter().enumerate() {
        let ranks: Vec<&str> = lineage.split("; ").collect();
        writeln!(truth, "{}\t{role}\t{:.6}", ranks[ranks.len() - 2..].join(";"), bias[t])?;
    }
    std::fs::write(root.join("cohort/truth/microbiome_taxa.tsv"), truth)?;
    let mut sheet = String::from("sample_id\trun\treads\tlow_depth\n");
    for ((info, run), (_, counts)) in samples.iter().zip(&runs).zip(&columns) {
        let low = LOW_DEPTH.contains(&info.id.as_str());
        writeln!(sheet, "{}\tmb{}\t{}\t{low}", info.id, run + 1, counts.iter().sum::<u64>())?;
    }
    std::fs::write(root.join("cohort/truth/microbiome_samples.tsv"), sheet)?;
    Ok(runs.iter().map(|r| format!("mb{}", r + 1)).collect())
}
