//! `[batch_correction]` in `run`: ComBat (on VST values) and ComBat-seq (on counts) remove the
//! fixture's planted site effect while the timepoint is protected and the planted immunotype
//! signal survives; a design where a timepoint lives in one batch only is refused with its
//! counts, unless forced.

mod common;

use std::collections::BTreeMap;

use common::*;

fn run_with(
    dir: &Workdir,
    extra_toml: &str,
    sheet_edit: &dyn Fn(&str) -> String,
) -> (std::process::Output, std::path::PathBuf) {
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    let base = repo().join("test-data/cohort");
    let rows: String = sheet
        .lines()
        .map(|l| sheet_edit(l).replace(",../", &format!(",{}/../", base.display())))
        .map(|l| format!("{l}\n"))
        .collect();
    dir.write("samplesheet.csv", &rows);
    let config = dir.write("cohort.toml", &format!("{}\n{extra_toml}", portable_fixture_config(false)));
    let out = dir.join("out");
    (run_cohort(&config, &out, &[]), out)
}

/// Per gene, the mean of `values` in Athens minus in Nijmegen samples.
fn site_differences(path: &std::path::Path) -> BTreeMap<String, f64> {
    let (m, _) = read_parquet(path);
    let ids = strings(&m, "feature_id");
    let samples: Vec<String> = m.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let athens = |s: &str| ["P03", "P04", "P07", "P08"].iter().any(|p| s.starts_with(p));
    let columns: Vec<(bool, Vec<Option<f64>>)> = samples.iter().map(|s| (athens(s), f64s(&m, s))).collect();
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let mean = |a: bool| {
                let v: Vec<f64> = columns.iter().filter(|c| c.0 == a).filter_map(|c| c.1[i]).collect();
                v.iter().sum::<f64>() / v.len() as f64
            };
            (id.clone().expect("id"), mean(true) - mean(false))
        })
        .collect()
}

#[test]
fn combat_removes_the_site_effect_and_keeps_the_immunotype_signal() {
    let dir = Workdir::new();
    let (o, out) = run_with(&dir, "[batch_correction]\nmethod = \"combat\"\n", &|l| l.to_string());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = site_differences(&out.join("transcriptome/normalised.parquet"));
    let after = site_differences(&out.join("transcriptome/normalised.combat.parquet"));
    // Planted: Athens multiplies each gene by a log-normal factor (sd 0.5): on the VST scale the
    // mean absolute site difference is ~0.5 before correction.
    let mean_abs = |d: &BTreeMap<String, f64>| d.values().map(|v| v.abs()).sum::<f64>() / d.len() as f64;
    let (b, a) = (mean_abs(&before), mean_abs(&after));
    assert!(b > 0.25, "site difference before: {b}");
    assert!(a < 0.3 * b, "site difference after: {a} (before {b})");
    // IL6 (3569) in harmonised.parquet (now corrected): the day-0 immunotype difference survives.
    let d0 = il6_day0_difference(&out);
    assert!(d0 > 2.0, "IL6 day-0 difference after ComBat: {d0}");
    let stage = batch_stage(&out);
    assert_eq!(stage["counts"]["transcriptome"]["protected"], serde_json::json!(["timepoint"]));
    // Samples group by sequencing batch before correction (mean silhouette width among the 500
    // most variable genes: 0.19 on the fixture) and no longer after (−0.02).
    let width = |key: &str| stage["counts"]["transcriptome"][key].as_f64().expect(key);
    let (before, after) = (width("silhouette_batch_before"), width("silhouette_batch_after"));
    assert!(before > 0.1, "silhouette by batch before ComBat: {before}");
    assert!(after < 0.02, "silhouette by batch after ComBat: {after} (before {before})");
}

/// The day-0 IL6 (3569) difference between the hyperinflammatory (P01–P04) and the other
/// patients, in harmonised.parquet's normalised values.
fn il6_day0_difference(out: &std::path::Path) -> f64 {
    let (h, _) = read_parquet(&out.join("harmonised.parquet"));
    let (layer, feature, sample, value) =
        (strings(&h, "layer"), strings(&h, "feature_id"), strings(&h, "sample_id"), f64s(&h, "normalised"));
    let mean = |patients: &[&str]| {
        let v: Vec<f64> = (0..h.num_rows())
            .filter(|&k| layer[k].as_deref() == Some("transcriptome") && feature[k].as_deref() == Some("3569"))
            .filter(|&k| patients.iter().any(|p| sample[k].as_deref() == Some(&format!("{p}_day0"))))
            .filter_map(|k| value[k])
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    mean(&["P01", "P02", "P03", "P04"]) - mean(&["P05", "P06", "P07", "P08"])
}

fn batch_stage(out: &std::path::Path) -> serde_json::Value {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("json");
    manifest["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "batch_correction")
        .expect("stage")
        .clone()
}

#[test]
fn combat_seq_corrects_the_counts_and_keeps_the_immunotype_signal_whatever_the_threads() {
    let dir = Workdir::new();
    let config = "[batch_correction]\nmethod = \"combat-seq\"\nlayers = [\"transcriptome\"]\n";
    let (o, out) = run_with(&dir, config, &|l| l.to_string());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The corrected counts are counts: UInt64, and every sample's total close to its original.
    let (raw, _) = read_parquet(&out.join("transcriptome/raw.parquet"));
    let (seq, meta) = read_parquet(&out.join("transcriptome/raw.combat_seq.parquet"));
    assert_eq!(meta.get("harmonomics.method").map(String::as_str), Some("combat-seq"));
    let column = |m: &arrow_array::RecordBatch, s: &str| -> Vec<u64> {
        arrow_array::cast::AsArray::as_primitive::<arrow_array::types::UInt64Type>(
            m.column_by_name(s).expect("sample").as_ref(),
        )
        .iter()
        .map(|v| v.expect("count"))
        .collect()
    };
    let samples: Vec<String> = raw.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let mut moved = 0;
    for s in &samples {
        let (a, b) = (column(&raw, s), column(&seq, s));
        moved += a.iter().zip(&b).filter(|(x, y)| x != y).count();
        let (ta, tb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
        assert!((tb / ta - 1.0).abs() < 0.5, "{s}: library {ta} → {tb}");
    }
    assert!(moved > 1000, "only {moved} counts moved");
    // The site effect, on the VST of the counts before and after correction.
    let before = site_differences(&out.join("transcriptome/normalised.parquet"));
    let after = site_differences(&out.join("transcriptome/normalised.combat_seq.parquet"));
    let mean_abs = |d: &BTreeMap<String, f64>| d.values().map(|v| v.abs()).sum::<f64>() / d.len() as f64;
    let (b, a) = (mean_abs(&before), mean_abs(&after));
    assert!(b > 0.25, "site difference before: {b}");
    let d0 = il6_day0_difference(&out);
    eprintln!("ComBat-seq on the fixture: mean |site difference| {b:.3} → {a:.3} (VST); IL6 day-0 difference {d0:.2}");
    assert!(a < 0.4 * b, "site difference after ComBat-seq: {a} (before {b})");
    assert!(d0 > 2.0, "IL6 day-0 difference after ComBat-seq: {d0}");
    let stage = batch_stage(&out);
    let t = &stage["counts"]["transcriptome"];
    assert_eq!(t["method"], "combat-seq");
    assert_eq!(t["normalisation"], "vst");
    let (before, after) =
        (t["silhouette_batch_before"].as_f64().expect("w"), t["silhouette_batch_after"].as_f64().expect("w"));
    assert!(before > 0.1 && after < 0.02, "silhouette by batch: {before} → {after}");
    // The same bytes on one thread.
    let dir1 = Workdir::new();
    let sheet = dir.join("samplesheet.csv");
    let config1 = dir1.write(
        "cohort.toml",
        &std::fs::read_to_string(dir.join("cohort.toml"))
            .expect("config")
            .replace("samplesheet = \"samplesheet.csv\"", &format!("samplesheet = {sheet:?}")),
    );
    let out1 = dir1.join("out");
    let o = run_cohort(&config1, &out1, &["--threads", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in
        ["transcriptome/raw.combat_seq.parquet", "transcriptome/normalised.combat_seq.parquet", "harmonised.parquet"]
    {
        assert!(
            std::fs::read(out.join(file)).expect(file) == std::fs::read(out1.join(file)).expect(file),
            "{file} differs"
        );
    }
}

#[test]
fn a_timepoint_confounded_with_batch_is_refused_unless_forced() {
    // Every month-12 RNA sample goes to a batch of its own.
    let late = |l: &str| {
        if l.contains(",month12,transcriptome,") {
            l.replace(",seq1,", ",late,").replace(",seq2,", ",late,")
        } else {
            l.to_string()
        }
    };
    for method in ["combat", "combat-seq"] {
        let dir = Workdir::new();
        let (o, out) =
            run_with(&dir, &format!("[batch_correction]\nmethod = {method:?}\nlayers = [\"transcriptome\"]\n"), &late);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{method}: {e}");
        assert!(e.contains("batch correction refused") && e.contains("month12 (late: 7, seq1: 0, seq2: 0)"), "{e}");
        assert!(!out.join("manifest.json").exists());
    }
    let dir = Workdir::new();
    let (o, out) =
        run_with(&dir, "[batch_correction]\nmethod = \"combat\"\nlayers = [\"transcriptome\"]\nforce = true\n", &late);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stage = batch_stage(&out);
    let warned = stage["warnings"].as_array().expect("warnings");
    assert!(warned.iter().any(|w| w.as_str().is_some_and(|w| w.contains("nothing protected"))), "{warned:?}");
    assert!(out.join("transcriptome/normalised.combat.parquet").exists());
}
