//! The microbiome layer on the fixture cohort (test-data/cohort/README.md): the planted antibiotic
//! collapse and recovery, the low-depth samples, rare taxa and blank contaminants each come back
//! from `run`, the sequencing-run bias is measured and ComBat on the CLR scale removes it. Then
//! bad input, each with the file and what was expected.

mod common;

use std::collections::BTreeMap;

use common::*;

/// taxon (family;genus as ending the feature id) → (role, run mb2's bias).
fn planted_taxa() -> Vec<(String, String, f64)> {
    let (_, rows) = read_tsv(&repo().join("test-data/cohort/truth/microbiome_taxa.tsv"));
    rows.into_iter().map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap())).collect()
}

/// sample → (run, low depth).
fn planted_samples() -> BTreeMap<String, (String, bool)> {
    let (_, rows) = read_tsv(&repo().join("test-data/cohort/truth/microbiome_samples.tsv"));
    rows.into_iter().map(|r| (r[0].clone(), (r[1].clone(), r[3] == "true"))).collect()
}

/// The feature id that ends with `taxon`.
fn feature<'a>(ids: &'a [Option<String>], taxon: &str) -> &'a str {
    let hits: Vec<&str> = ids.iter().flatten().map(String::as_str).filter(|id| id.ends_with(taxon)).collect();
    assert_eq!(hits.len(), 1, "{taxon} in {ids:?}");
    hits[0]
}

/// A wide matrix as feature → sample → value (nulls left out).
fn wide(path: &std::path::Path) -> BTreeMap<String, BTreeMap<String, f64>> {
    let (batch, _) = read_parquet(path);
    let ids = strings(&batch, "feature_id");
    let mut out = BTreeMap::new();
    for field in batch.schema().fields().iter().skip(1) {
        let values: Vec<Option<f64>> = if field.data_type() == &arrow_schema::DataType::UInt64 {
            u64s(&batch, field.name()).into_iter().map(|v| v.map(|v| v as f64)).collect()
        } else {
            f64s(&batch, field.name())
        };
        for (id, v) in ids.iter().zip(values) {
            if let (Some(id), Some(v)) = (id, v) {
                out.entry(id.clone()).or_insert_with(BTreeMap::new).insert(field.name().clone(), v);
            }
        }
    }
    out
}

fn timepoint(sample: &str) -> &str {
    sample.split_once('_').map_or("", |(_, t)| t)
}

#[test]
fn the_antibiotic_collapse_and_its_recovery_come_back() {
    let f = fixture_run();
    let (qc, _) = read_parquet(&f.out.join("microbiome/qc.parquet"));
    let ids: Vec<String> = strings(&qc, "sample_id").into_iter().flatten().collect();
    let shannon: BTreeMap<&str, f64> =
        ids.iter().map(String::as_str).zip(f64s(&qc, "shannon").into_iter().map(Option::unwrap)).collect();
    // Every patient's diversity at day 3 is below its month-12 value, and the cohort's medians
    // fall at day 0-3 and come back.
    let mut pairs = 0;
    for p in 1..=8 {
        if let (Some(d3), Some(m12)) =
            (shannon.get(format!("P{p:02}_day3").as_str()), shannon.get(format!("P{p:02}_month12").as_str()))
        {
            assert!(d3 + 0.5 < *m12, "P{p:02}: Shannon day3 {d3} vs month12 {m12}");
            pairs += 1;
        }
    }
    assert_eq!(pairs, 7, "P08 was lost to follow-up before month 12");
    let median = |tp: &str| {
        let mut v: Vec<f64> = shannon.iter().filter(|(s, _)| timepoint(s) == tp).map(|(_, v)| *v).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    assert!(median("day0") < median("discharge") - 0.5 && median("day3") < median("month12") - 1.0);

    // Enterococcus blooms: its CLR at day 0 is above month 12 in every patient followed up.
    let normalised = wide(&f.out.join("microbiome/normalised.parquet"));
    let (features, _) = read_parquet(&f.out.join("microbiome/features.parquet"));
    let fids = strings(&features, "feature_id");
    let entero = &normalised[feature(&fids, "f__Enterococcaceae;g__Enterococcus")];
    for p in 1..=7 {
        let (d0, m12) = (entero[&format!("P{p:02}_day0")], entero[&format!("P{p:02}_month12")]);
        assert!(d0 > m12 + 2.0, "P{p:02}: Enterococcus CLR day0 {d0} vs month12 {m12}");
    }
    // The collapse is the first Aitchison axis: day 0-3 and month 12 on opposite sides.
    let axis: Vec<Option<f64>> = f64s(&qc, "pcoa_aitchison_1");
    let side = |tp: &str| -> f64 {
        let v: Vec<f64> = ids.iter().zip(&axis).filter(|(s, _)| timepoint(s) == tp).filter_map(|(_, a)| *a).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(side("day3") * side("month12") < 0.0 && (side("day3") - side("month12")).abs() > 3.0);
}

#[test]
fn low_depth_samples_rare_taxa_and_blank_contaminants_are_each_left_out_and_reported() {
    let f = fixture_run();
    let samples = planted_samples();
    let (qc, _) = read_parquet(&f.out.join("microbiome/qc.parquet"));
    let ids: Vec<String> = strings(&qc, "sample_id").into_iter().flatten().collect();
    let excluded = strings(&qc, "excluded_by");
    let reads = f64s(&qc, "reads");
    for ((id, why), r) in ids.iter().zip(&excluded).zip(&reads) {
        let (_, low) = &samples[id];
        assert_eq!(why.as_deref() == Some("min_reads"), *low, "{id}: excluded_by {why:?}, {r:?} reads");
    }
    assert_eq!(samples.values().filter(|(_, low)| *low).count(), 2);
    // Their normalised columns are null, the others complete.
    let (normalised, meta) = read_parquet(&f.out.join("microbiome/normalised.parquet"));
    assert_eq!(meta.get("harmonomics.method").map(String::as_str), Some("clr"));
    for id in &ids {
        let nulls = normalised.column_by_name(id).unwrap().null_count();
        assert_eq!(nulls == normalised.num_rows(), samples[id].1, "{id}: {nulls} nulls");
        assert!(nulls == 0 || nulls == normalised.num_rows());
    }

    let (features, _) = read_parquet(&f.out.join("microbiome/features.parquet"));
    let fids = strings(&features, "feature_id");
    let removed = strings(&features, "removed_by");
    for (taxon, role, _) in planted_taxa() {
        let id = feature(&fids, &taxon);
        let k = fids.iter().position(|f| f.as_deref() == Some(id)).unwrap();
        let expected = match role.as_str() {
            "contaminant" => Some("contaminant"),
            "rare" => Some("prevalence"),
            _ => None,
        };
        assert_eq!(removed[k].as_deref(), expected, "{taxon} ({role})");
    }
    // The unassigned Lachnospiraceae stay their own row, and the genera split over two ASVs are
    // summed (raw reads of a sample = the table's column total).
    assert!(fids.iter().flatten().any(|f| f.ends_with("f__Lachnospiraceae;g__")));
    let raw = wide(&f.out.join("microbiome/raw.parquet"));
    let table = std::fs::read_to_string(repo().join("test-data/microbiome/asv_table.tsv")).unwrap();
    let header: Vec<&str> = table.lines().nth(1).unwrap().split('\t').collect();
    let column = header.iter().position(|h| *h == "P01_day0").unwrap();
    let total: f64 = table.lines().skip(2).map(|l| l.split('\t').nth(column).unwrap().parse::<f64>().unwrap()).sum();
    assert_eq!(raw.values().filter_map(|m| m.get("P01_day0")).sum::<f64>(), total);

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out.join("manifest.json")).unwrap()).unwrap();
    let stage = manifest["stages"].as_array().unwrap().iter().find(|s| s["name"] == "process_microbiome").unwrap();
    let warnings = stage["warnings"].to_string();
    for (id, (_, low)) in &samples {
        assert_eq!(warnings.contains(id.as_str()), *low, "{id} in {warnings}");
    }
    assert!(warnings.contains("g__Ralstonia") && warnings.contains("blank contaminants"), "{warnings}");
    assert_eq!(stage["counts"]["kept"], 21);
    // The layer is harmonised with the others.
    let (harmonised, _) = read_parquet(&f.out.join("harmonised.parquet"));
    let layers = strings(&harmonised, "layer");
    assert!(layers.iter().flatten().any(|l| l == "microbiome"), "no microbiome rows in harmonised.parquet");
}

/// Per kept taxon: the mean over timepoints of (mean in run mb2 − mean in run mb1).
fn run_shift(
    m: &BTreeMap<String, BTreeMap<String, f64>>,
    runs: &BTreeMap<String, (String, bool)>,
) -> BTreeMap<String, f64> {
    let tps = ["day0", "day3", "discharge", "month3", "month12"];
    m.iter()
        .map(|(id, values)| {
            let mut shifts = Vec::new();
            for tp in tps {
                let mean = |run: &str| {
                    let v: Vec<f64> = values
                        .iter()
                        .filter(|(s, _)| timepoint(s) == tp && runs[*s].0 == run)
                        .map(|(_, v)| *v)
                        .collect();
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                };
                if let (Some(a), Some(b)) = (mean("mb1"), mean("mb2")) {
                    shifts.push(b - a);
                }
            }
            (id.clone(), shifts.iter().sum::<f64>() / shifts.len() as f64)
        })
        .collect()
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) = (x.iter().map(|a| (a - mx).powi(2)).sum(), y.iter().map(|b| (b - my).powi(2)).sum());
    cov / (vx * vy).sqrt()
}

#[test]
fn the_sequencing_run_bias_is_measured_and_combat_on_the_clr_scale_removes_it() {
    let dir = Workdir::new();
    let config =
        portable_fixture_config(true) + "\n[batch_correction]\nmethod = \"combat\"\nlayers = [\"microbiome\"]\n";
    let config = dir.write("cohort.toml", &config);
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--threads", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = planted_samples();
    let truth: Vec<(String, f64)> = planted_taxa().into_iter().map(|(t, _, b)| (t, b.ln())).collect();
    let (features, _) = read_parquet(&out.join("microbiome/features.parquet"));
    let fids = strings(&features, "feature_id");
    let kept: Vec<(String, f64)> = truth
        .iter()
        .filter(|(t, _)| {
            let id = feature(&fids, t);
            let k = fids.iter().position(|f| f.as_deref() == Some(id)).unwrap();
            strings(&features, "removed_by")[k].is_none()
        })
        .map(|(t, b)| (feature(&fids, t).to_string(), *b))
        .collect();
    // On the CLR scale a multiplicative bias is additive, up to the CLR's centring.
    let before = run_shift(&wide(&out.join("microbiome/normalised.parquet")), &runs);
    let after = run_shift(&wide(&out.join("microbiome/normalised.combat.parquet")), &runs);
    let planted: Vec<f64> = kept.iter().map(|(_, b)| *b).collect();
    let measured: Vec<f64> = kept.iter().map(|(id, _)| before[id]).collect();
    let r = pearson(&planted, &measured);
    assert!(r > 0.8, "run shift vs planted log bias: r = {r}");
    let spread = |s: &BTreeMap<String, f64>| s.values().map(|v| v * v).sum::<f64>() / s.len() as f64;
    assert!(spread(&after) < 0.1 * spread(&before), "ComBat left {} of {}", spread(&after), spread(&before));
}

#[test]
fn bad_microbiome_input_names_the_file_and_what_was_expected() {
    let dir = Workdir::new();
    let base = portable_fixture_config(true);
    let cases = [
        (base.replace("blanks = [\"Blank_1\"", "blanks = [\"Blank_9\""), "blank \"Blank_9\" is not a column of"),
        (base.replace("[microbiome]\n", "[microbiome]\nrank = \"tribe\"\n"), "rank \"tribe\" is not one of"),
        (
            base.replace("[microbiome]\n", "[microbiome]\ncolumn = \"site\"\n"),
            "no column \"nijmegen\" for sample P01_day0",
        ),
        (
            base.replace("[microbiome]\n", "[microbiome.process]\nmin_prevalence = 2\n[microbiome]\n"),
            "min_prevalence is a fraction",
        ),
    ];
    for (k, (config, expected)) in cases.iter().enumerate() {
        assert_ne!(config, &base, "case {k} changed nothing");
        let path = dir.write(&format!("cohort{k}.toml"), config);
        let o = run_cohort(&path, &dir.join(&format!("out{k}")), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {k}: {stderr}");
        assert!(stderr.contains(expected), "case {k}: expected {expected:?} in {stderr}");
        assert!(!dir.join(&format!("out{k}/manifest.json")).exists());
    }
    // A sample that is not a column of the shared table: found by validation, before anything
    // runs, naming the samplesheet line.
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv"))
        .unwrap()
        .replace("../", &format!("{}/", repo().join("test-data").display()))
        .replace("P03_day3,P03,day3,microbiome", "P03_d3,P03,day3,microbiome");
    dir.write("samplesheet.csv", &sheet);
    let config = dir.write("renamed.toml", &portable_fixture_config(false));
    let o = run_cohort(&config, &dir.join("renamed"), &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("samplesheet.csv:") && stderr.contains("has no column \"P03_d3\""), "{stderr}");
    assert!(!stderr.contains("quantify"), "validation comes first: {stderr}");
    assert!(!dir.join("renamed").exists());
}

/// A Kraken2 report of `entero` Enterococcus and `bactero` Bacteroides reads and `unclassified`
/// reads no rank was given.
fn kraken(entero: u64, bactero: u64, unclassified: u64) -> String {
    let total = (entero + bactero + unclassified) as f64;
    let pct = |n: u64| format!("{:.2}", 100.0 * n as f64 / total);
    let mut lines = vec![
        (unclassified, unclassified, "U", 0, "unclassified".to_string()),
        (entero + bactero, 0, "R", 1, "root".to_string()),
        (entero + bactero, 0, "D", 2, "  Bacteria".to_string()),
    ];
    for (reads, ranks) in [
        (
            entero,
            [
                (1239, "Bacillota"),
                (91061, "Bacilli"),
                (186826, "Lactobacillales"),
                (81852, "Enterococcaceae"),
                (1350, "Enterococcus"),
            ],
        ),
        (
            bactero,
            [
                (976, "Bacteroidota"),
                (200643, "Bacteroidia"),
                (171549, "Bacteroidales"),
                (815, "Bacteroidaceae"),
                (816, "Bacteroides"),
            ],
        ),
    ] {
        for (level, (taxid, name)) in ranks.iter().enumerate() {
            let direct = if level == 4 { reads } else { 0 };
            let code = ["P", "C", "O", "F", "G"][level];
            lines.push((reads, direct, code, *taxid, format!("{}{name}", "  ".repeat(level + 2))));
        }
    }
    lines
        .iter()
        .map(|(clade, direct, code, taxid, name)| {
            format!(" {}\t{clade}\t{direct}\t{code}\t{taxid}\t{name}\n", pct(*clade))
        })
        .collect()
}

#[test]
fn per_sample_kraken_reports_run_as_a_layer_and_blanks_or_mixed_profiles_are_refused() {
    let dir = Workdir::new();
    let tps = ["day0", "day3", "discharge", "month3", "month12"];
    let mut sheet = String::from("sample_id,patient_id,timepoint,layer,path\n");
    let mut planted = BTreeMap::new();
    for (p, patient) in ["P01", "P02"].iter().enumerate() {
        for (t, tp) in tps.iter().enumerate() {
            let id = format!("{patient}_{tp}");
            let (e, b, u) = (2000 - 300 * t as u64 + 7 * p as u64, 500 + 400 * t as u64, 100 + p as u64);
            dir.write(&format!("{id}.kreport"), &kraken(e, b, u));
            sheet.push_str(&format!("{id},{patient},{tp},microbiome,{id}.kreport\n"));
            planted.insert(id, (e as f64, b as f64, u as f64));
        }
    }
    dir.write("samplesheet.csv", &sheet);
    let base = portable_fixture_config(false);
    let config = dir.write("cohort.toml", &base.replace("blanks = [\"Blank_1\", \"Blank_2\", \"Blank_3\"]", ""));
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let raw = wide(&out.join("microbiome/raw.parquet"));
    let normalised = wide(&out.join("microbiome/normalised.parquet"));
    let entero = "d__Bacteria;p__Bacillota;c__Bacilli;o__Lactobacillales;f__Enterococcaceae;g__Enterococcus";
    let bactero = "d__Bacteria;p__Bacteroidota;c__Bacteroidia;o__Bacteroidales;f__Bacteroidaceae;g__Bacteroides";
    assert_eq!(raw.keys().map(String::as_str).collect::<Vec<_>>(), ["Unclassified", entero, bactero]);
    for (id, (e, b, u)) in &planted {
        assert_eq!((raw[entero][id], raw[bactero][id], raw["Unclassified"][id]), (*e, *b, *u), "{id}");
        // CLR with pseudocount 1 over the three kept rows.
        let logs = [(e + 1.0).ln(), (b + 1.0).ln(), (u + 1.0).ln()];
        let mean = logs.iter().sum::<f64>() / 3.0;
        assert!((normalised[entero][id] - (logs[0] - mean)).abs() < 1e-12, "{id}");
    }
    let (_, meta) = read_parquet(&out.join("microbiome/raw.parquet"));
    assert!(meta.get("harmonomics.values").is_some_and(|v| v.contains("reads")), "{meta:?}");

    // Blanks name columns of a shared table: refused for per-sample profiles.
    let blanks = dir.write("blanks.toml", &base);
    let o = run_cohort(&blanks, &dir.join("out_blanks"), &["--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`blanks` names columns of a shared table"), "{stderr}");
    // A MetaPhlAn profile of percentages among Kraken2 read counts: refused, naming the file.
    dir.write(
        "P02_month12.kreport",
        "#mpa_vJan21\n#clade_name\tclade_taxid\trelative_abundance\nk__Bacteria\t2\t100.0\n\
         k__Bacteria|p__Bacillota|c__Bacilli|o__Lactobacillales|f__Enterococcaceae|g__Enterococcus\t2|1239\t100.0\n",
    );
    let o = run_cohort(&config, &dir.join("out_mixed"), &["--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("P02_month12.kreport")
            && stderr.contains("holds percentages where")
            && stderr.contains("all read counts or all percentages"),
        "{stderr}"
    );
}

#[test]
fn rarefaction_is_seeded_leaves_out_shallow_libraries_and_does_not_depend_on_threads() {
    let dir = Workdir::new();
    let config =
        portable_fixture_config(true).replace("[microbiome]\n", "[microbiome.process]\nrarefy = 12000\n[microbiome]\n");
    let config = dir.write("cohort.toml", &config);
    let (a, b) = (dir.join("t1"), dir.join("t2"));
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        let o = run_cohort(&config, out, &["--quiet", "--threads", threads]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for f in ["microbiome/normalised.parquet", "microbiome/qc.parquet"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs with threads");
    }
    let (qc, _) = read_parquet(&a.join("microbiome/qc.parquet"));
    let reads = f64s(&qc, "reads");
    let excluded = strings(&qc, "excluded_by");
    let samples = planted_samples();
    let mut rarefied = 0;
    for ((id, r), why) in strings(&qc, "sample_id").iter().zip(&reads).zip(&excluded) {
        let (id, r) = (id.as_deref().unwrap(), r.unwrap());
        let expected = if samples[id].1 {
            Some("min_reads")
        } else if r < 12000.0 {
            Some("rarefy")
        } else {
            None
        };
        assert_eq!(why.as_deref(), expected, "{id}: {r} reads");
        rarefied += usize::from(expected.is_none());
    }
    assert!(rarefied > 25, "{rarefied} samples rarefied");
    // A rarefied sample keeps its composition: its CLR stays close to the unrarefied one.
    let plain = dir.join("plain");
    let o = run_cohort(&dir.write("plain.toml", &portable_fixture_config(true)), &plain, &["--quiet"]);
    assert!(o.status.success());
    let (r, p) = (wide(&a.join("microbiome/normalised.parquet")), wide(&plain.join("microbiome/normalised.parquet")));
    let bacteroides = r.keys().find(|k| k.ends_with("g__Bacteroides")).unwrap();
    let (x, y) = (&r[bacteroides], &p[bacteroides]);
    let differences: Vec<f64> = x.iter().map(|(s, v)| (v - y[s]).abs()).collect();
    assert!(differences.iter().any(|d| *d > 0.0), "rarefaction changed nothing");
    assert!(differences.iter().all(|d| *d < 0.3), "{differences:?}");
}

#[test]
fn a_table_mixing_gtdb_and_ncbi_names_is_run_and_the_mix_is_warned() {
    let dir = Workdir::new();
    let ids: Vec<String> = ["P01", "P02"]
        .iter()
        .flat_map(|p| ["day0", "day3", "discharge", "month3", "month12"].map(|t| format!("{p}_{t}")))
        .collect();
    let mut sheet = String::from("sample_id,patient_id,timepoint,layer,path\n");
    for id in &ids {
        let (p, t) = id.split_once('_').unwrap();
        sheet.push_str(&format!("{id},{p},{t},microbiome,genera.tsv\n"));
    }
    dir.write("samplesheet.csv", &sheet);
    let rows = [
        "d__Bacteria;p__Firmicutes_A;c__Clostridia;o__Lachnospirales;f__Lachnospiraceae;g__Blautia_A",
        "d__Bacteria;p__Bacteroidota;c__Bacteroidia;o__Bacteroidales;f__Bacteroidaceae;g__Bacteroides",
        "k__Bacteria;p__Firmicutes;c__Bacilli;o__Lactobacillales;f__Enterococcaceae;g__Enterococcus",
    ];
    let mut table = format!("taxon\t{}\n", ids.join("\t"));
    for (i, lineage) in rows.iter().enumerate() {
        let values: Vec<String> = (0..ids.len()).map(|j| (500 + 100 * i + 37 * j).to_string()).collect();
        table.push_str(&format!("{lineage}\t{}\n", values.join("\t")));
    }
    dir.write("genera.tsv", &table);
    let config = dir.write(
        "cohort.toml",
        &portable_fixture_config(false).replace("blanks = [\"Blank_1\", \"Blank_2\", \"Blank_3\"]", ""),
    );
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let stage = manifest["stages"].as_array().unwrap().iter().find(|s| s["name"] == "process_microbiome").unwrap();
    assert_eq!(stage["counts"]["gtdb_lineages"], 1);
    assert!(stage["warnings"].to_string().contains("1 of 3 lineages follow GTDB's naming"), "{}", stage["warnings"]);
    let raw = wide(&out.join("microbiome/raw.parquet"));
    assert_eq!(raw.len(), 3);
    assert_eq!(raw[rows[1]]["P01_day3"], 637.0);
}
