//! The fixture's metabolome: one MZmine-style feature table for the 39 blood draws, run in two
//! analytical batches with pooled QCs and blanks, with a planted within-batch drift, a batch
//! shift, blank contaminants, noisy and sparse features, and metabolites that follow the
//! immunotypes. Its own seeded stream, so the other layers' files are untouched.

use std::fmt::Write as _;
use std::path::Path;

use super::sim::Rng;

const SEED: u64 = 0x003E_7AB0_2026;
/// Study samples between two QC injections.
const QC_EVERY: usize = 4;

/// One study sample of the metabolome layer.
pub struct SampleInfo {
    pub id: String,
    pub hyperinflammatory: bool,
    pub timepoint: usize,
}

/// A feature of the table and what was planted in it.
struct Feature {
    id: String,
    name: &'static str,
    mz: f64,
    rt: f64,
    kind: &'static str,
    group: &'static str,
    folds: [f64; 5],
}

/// (id, name, m/z, rt, group affected, fold change by timepoint).
type Planted = (&'static str, &'static str, f64, f64, &'static str, [f64; 5]);

const PLANTED: [Planted; 6] = [
    ("M001", "lactate", 89.0244, 1.21, "hyperinflammatory", [3.0, 2.5, 1.6, 1.2, 1.0]),
    ("M002", "kynurenine", 209.0921, 3.42, "hyperinflammatory", [2.5, 2.2, 1.5, 1.1, 1.0]),
    ("M003", "succinate", 117.0193, 1.52, "hyperinflammatory", [2.0, 1.8, 1.3, 1.1, 1.0]),
    ("M004", "tryptophan", 205.0972, 4.11, "hyperinflammatory", [0.5, 0.6, 0.8, 0.9, 1.0]),
    ("M005", "citrulline", 176.1030, 1.10, "immunosuppressed", [0.5, 0.55, 0.75, 0.9, 1.0]),
    ("M006", "arginine", 175.1190, 1.02, "immunosuppressed", [0.4, 0.5, 0.7, 0.9, 1.0]),
];
const CONTAMINANTS: usize = 3;
const NOISY: usize = 3;
const SPARSE: usize = 2;
const BACKGROUND: usize = 46;

/// Writes `metabolome/features_mzmine.csv`, `cohort/injections.csv` and the truth; returns each
/// sample's analytical batch (`lc1`, `lc2`), in sample order.
pub fn simulate(samples: &[SampleInfo], root: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut rng = Rng(SEED);
    // The run: study samples in a shuffled order, split in two batches, each opened by a blank
    // and two conditioning QCs, with a QC after every 4 samples and a QC and a blank at the end.
    let mut order: Vec<usize> = (0..samples.len()).collect();
    for k in (1..order.len()).rev() {
        order.swap(k, rng.below(k as u64 + 1) as usize);
    }
    let half = order.len().div_ceil(2);
    // (column, batch, kind, sample index)
    let mut run: Vec<(String, usize, &str, Option<usize>)> = Vec::new();
    for (b, members) in [&order[..half], &order[half..]].into_iter().enumerate() {
        let batch = b + 1;
        let (mut qc, mut blank) = (0, 0);
        let mut add_qc = |run: &mut Vec<_>| {
            qc += 1;
            run.push((format!("QC_b{batch}_{qc:02}.mzML"), batch, "qc", None));
        };
        blank += 1;
        run.push((format!("Blank_b{batch}_{blank:02}.mzML"), batch, "blank", None));
        add_qc(&mut run);
        add_qc(&mut run);
        for (k, &s) in members.iter().enumerate() {
            run.push((format!("{}.mzML", samples[s].id), batch, "sample", Some(s)));
            if (k + 1) % QC_EVERY == 0 {
                add_qc(&mut run);
            }
        }
        if members.len() % QC_EVERY != 0 {
            add_qc(&mut run);
        }
        blank += 1;
        run.push((format!("Blank_b{batch}_{blank:02}.mzML"), batch, "blank", None));
    }

    let mut features: Vec<Feature> = Vec::new();
    for (id, name, mz, rt, group, folds) in PLANTED {
        features.push(Feature { id: id.into(), name, mz, rt, kind: "planted", group, folds });
    }
    let mut next = PLANTED.len();
    for (kind, n) in
        [("blank_contaminant", CONTAMINANTS), ("noisy", NOISY), ("sparse", SPARSE), ("background", BACKGROUND)]
    {
        for _ in 0..n {
            next += 1;
            let (mz, rt) = (70.0 + 830.0 * rng.uniform(), 0.5 + 14.5 * rng.uniform());
            features.push(Feature {
                id: format!("M{next:03}"),
                name: "",
                mz: (mz * 1e4).round() / 1e4,
                rt: (rt * 100.0).round() / 100.0,
                kind,
                group: "",
                folds: [1.0; 5],
            });
        }
    }

    // True concentrations per study sample, then the measurement.
    let n_run = run.len();
    let mut table = vec![vec![0.0f64; n_run]; features.len()];
    for (f, feat) in features.iter().enumerate() {
        let base = (11.0 + 1.5 * rng.normal()).exp();
        let slope = 0.2 + 0.3 * rng.uniform();
        let shift = 1.3 + 0.4 * rng.uniform();
        let cv = if feat.kind == "noisy" { 0.9 } else { 0.04 };
        let truth: Vec<f64> = samples
            .iter()
            .map(|s| {
                let hit = (feat.group == "hyperinflammatory" && s.hyperinflammatory)
                    || (feat.group == "immunosuppressed" && !s.hyperinflammatory);
                base * if hit { feat.folds[s.timepoint] } else { 1.0 } * (0.25 * rng.normal()).exp()
            })
            .collect();
        let pooled = truth.iter().sum::<f64>() / truth.len() as f64;
        for b in 1..=2 {
            let members: Vec<usize> = (0..n_run).filter(|&j| run[j].1 == b).collect();
            for (p, &j) in members.iter().enumerate() {
                let position = p as f64 / (members.len() - 1) as f64;
                let instrument = (1.0 - slope * position) * if b == 2 { shift } else { 1.0 };
                let noise = (cv * rng.normal()).exp();
                table[f][j] = match (run[j].2, run[j].3) {
                    ("sample", Some(s)) => truth[s] * instrument * noise,
                    ("qc", _) => pooled * instrument * noise,
                    _ => {
                        let level = if feat.kind == "blank_contaminant" { 0.8 * pooled } else { 0.005 * pooled };
                        level * instrument * noise
                    }
                };
                // Not detected: sparse features in 70% of runs, and 1.5% of study values anywhere.
                let dropped = match run[j].2 {
                    "sample" => (feat.kind == "sparse" && rng.uniform() < 0.7) || rng.uniform() < 0.015,
                    "qc" => feat.kind == "sparse" && rng.uniform() < 0.7,
                    _ => false,
                };
                if dropped {
                    table[f][j] = 0.0;
                }
            }
        }
    }

    let dir = root.join("metabolome");
    std::fs::create_dir_all(&dir)?;
    let mut csv = String::from("row ID,row m/z,row retention time,row identity (main ID)");
    for (column, ..) in &run {
        write!(csv, ",{column} Peak area")?;
    }
    csv.push('\n');
    for (f, feat) in features.iter().enumerate() {
        write!(csv, "{},{},{},{}", feat.id, feat.mz, feat.rt, feat.name)?;
        for v in &table[f] {
            if *v == 0.0 {
                csv.push_str(",0");
            } else {
                write!(csv, ",{v:.1}")?;
            }
        }
        csv.push('\n');
    }
    std::fs::write(dir.join("features_mzmine.csv"), csv)?;

    let mut list = String::from("column,injection_order,batch,sample_type,sample_id\n");
    for (k, (column, batch, kind, s)) in run.iter().enumerate() {
        let id = s.map(|s| samples[s].id.as_str()).unwrap_or("");
        writeln!(list, "{column},{},lc{batch},{kind},{id}", k + 1)?;
    }
    std::fs::write(root.join("cohort/injections.csv"), list)?;

    let mut truth = String::from("feature_id\tname\tkind\tgroup\tday0\tday3\tdischarge\tmonth3\tmonth12\n");
    for feat in &features {
        let f = feat.folds;
        let (id, name, kind, group) = (&feat.id, feat.name, feat.kind, feat.group);
        writeln!(truth, "{id}\t{name}\t{kind}\t{group}\t{}\t{}\t{}\t{}\t{}", f[0], f[1], f[2], f[3], f[4])?;
    }
    std::fs::write(root.join("cohort/truth/metabolome_features.tsv"), truth)?;
    let mut batches = vec![String::new(); samples.len()];
    for (_, batch, _, s) in &run {
        if let Some(s) = s {
            batches[*s] = format!("lc{batch}");
        }
    }
    Ok(batches)
}
