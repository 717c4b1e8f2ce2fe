//! The metabolome layer on the fixture cohort (test-data/cohort/README.md): the planted drift and
//! batch shift are removed, every planted nuisance feature is removed by the step meant for it,
//! and the planted immunotype differences survive. Then bad input, each with its file, line and
//! column.

mod common;

use std::collections::BTreeMap;

use common::*;

const HI: [&str; 4] = ["P01", "P02", "P03", "P04"];

/// A metabolome sample: (sample id, patient, timepoint, LC batch).
type Draw = (String, String, String, String);

/// feature_id → (kind, group) from the generator's truth.
fn planted() -> BTreeMap<String, String> {
    let (_, rows) = read_tsv(&repo().join("test-data/cohort/truth/metabolome_features.tsv"));
    rows.into_iter().map(|r| (r[0].clone(), r[2].clone())).collect()
}

#[test]
fn each_planted_nuisance_is_removed_by_its_step_and_the_drift_is_gone() {
    let f = fixture_run();
    let (features, _) = read_parquet(&f.out.join("metabolome/features.parquet"));
    let truth = planted();
    let ids = strings(&features, "feature_id");
    let removed = strings(&features, "removed_by");
    let (raw_rsd, corrected_rsd) = (f64s(&features, "qc_rsd_raw"), f64s(&features, "qc_rsd_corrected"));
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (k, id) in ids.iter().enumerate() {
        let kind = truth[id.as_deref().expect("id")].as_str();
        let expected = match kind {
            "blank_contaminant" => Some("blank_filter"),
            "noisy" => Some("qc_rsd_filter"),
            "sparse" => Some("detection_filter"),
            _ => None,
        };
        assert_eq!(removed[k].as_deref(), expected, "{id:?} ({kind})");
        if expected.is_none() {
            before.push(raw_rsd[k].expect("rsd"));
            after.push(corrected_rsd[k].expect("rsd"));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Planted: within-batch decline of 20-50% and a 1.3-1.7x second batch; 4% analytical noise.
    let (b, a) = (median(&mut before), median(&mut after));
    assert!(b > 0.15, "QC RSD before correction {b}");
    assert!(a < 0.06, "QC RSD after correction {a}");
    let (qc, _) = read_parquet(&f.out.join("metabolome/qc.parquet"));
    let steps: Vec<(String, u64)> =
        strings(&qc, "step").into_iter().flatten().zip(u64s(&qc, "removed").into_iter().flatten()).collect();
    for (step, n) in [("blank_filter", 3), ("qc_rsd_filter", 3), ("detection_filter", 2)] {
        assert!(steps.contains(&(step.to_string(), n)), "{step}: {steps:?}");
    }
}

#[test]
fn the_batch_shift_is_removed_and_the_immunotype_differences_survive() {
    let f = fixture_run();
    let (n, kv) = read_parquet(&f.out.join("metabolome/normalised.parquet"));
    assert!(kv.get("harmonomics.params").is_some_and(|p| p.contains("\"transform\":\"log2\"")));
    let (s, _) = read_parquet(&f.out.join("samples.parquet"));
    let (ids, layers, patients, tps, batches) = (
        strings(&s, "sample_id"),
        strings(&s, "layer"),
        strings(&s, "patient_id"),
        strings(&s, "timepoint"),
        strings(&s, "batch"),
    );
    let samples: Vec<Draw> = (0..s.num_rows())
        .filter(|&k| layers[k].as_deref() == Some("metabolome"))
        .map(|k| {
            let v = |c: &[Option<String>]| c[k].clone().expect("value");
            (v(&ids), v(&patients), v(&tps), v(&batches))
        })
        .collect();
    let features = strings(&n, "feature_id");
    let row = |id: &str| features.iter().position(|f| f.as_deref() == Some(id)).expect("kept feature");
    let mean = |feature: &str, keep: &dyn Fn(&Draw) -> bool| {
        let i = row(feature);
        let v: Vec<f64> = samples.iter().filter(|s| keep(s)).map(|s| f64s(&n, &s.0)[i].expect("value")).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let hi = |s: &Draw| HI.contains(&s.1.as_str());
    let diff =
        |feature: &str, tp: &str| mean(feature, &|s| hi(s) && s.2 == tp) - mean(feature, &|s| !hi(s) && s.2 == tp);
    // Lactate (M001): planted 3x in hyperinflammatory patients at day 0 (log2 1.58), 1x at month 12.
    assert!(diff("M001", "day0") > 1.0, "lactate day 0: {}", diff("M001", "day0"));
    assert!(diff("M001", "month12").abs() < 0.75, "lactate month 12: {}", diff("M001", "month12"));
    // Arginine (M006): planted 0.4x in immunosuppressed patients at day 0.
    assert!(diff("M006", "day0") > 0.8, "arginine day 0: {}", diff("M006", "day0"));
    // The second LC batch read 1.3-1.7x higher (log2 0.38-0.77); after QC-RSC the background
    // features' batch difference averages out to about 0.
    let truth = planted();
    let background: Vec<&str> = truth.iter().filter(|(_, k)| *k == "background").map(|(id, _)| id.as_str()).collect();
    let shift: f64 = background.iter().map(|f| mean(f, &|s| s.3 == "lc2") - mean(f, &|s| s.3 == "lc1")).sum::<f64>()
        / background.len() as f64;
    assert!(shift.abs() < 0.1, "mean batch difference after correction {shift}");
}

fn normalise(dir: &Workdir, table: &str, injections: &str, extra: &[&str]) -> std::process::Output {
    let (t, i) = (dir.write("table.csv", table), dir.write("injections.csv", injections));
    let out = dir.join("out");
    let args = ["normalise", "metabolome", "--table", t.to_str().expect("utf-8"), "--injections"];
    harmonomics(&[&args[..], &[i.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")], extra].concat())
}

#[test]
fn bad_tables_and_injection_lists_name_file_line_and_column() {
    let dir = Workdir::new();
    let list = "column,injection_order,batch,sample_type\na,1,1,sample\nb,2,1,sample\nqc,3,1,qc\n";
    let cases = [
        (
            "row ID,row m/z,a.mzML Peak area,b.mzML Peak area,qc.mzML Peak area\nF1,100,1,2,3\nF2,101,4,five,6\n",
            list,
            vec!["table.csv:3", "b.mzML Peak area", "expected a number, found \"five\""],
        ),
        (
            "row ID,row m/z,a.mzML Peak area,b.mzML Peak area,qc.mzML Peak area\nF1,100,1,2,3\nF1,101,4,5,6\n",
            list,
            vec!["table.csv:3", "duplicate feature id \"F1\" (first on line 2)"],
        ),
        (
            "row ID,row m/z,a.mzML Peak area,b.mzML Peak area,c.mzML Peak area,qc.mzML Peak area\nF1,100,1,2,3,4\n",
            list,
            vec!["table.csv:1", "c.mzML Peak area", "injection \"c.mzML\" is not in the injection list"],
        ),
        (
            "name,a,b\nF1,1,2\n",
            list,
            vec!["table.csv", "injection \"qc\" (", "injections.csv:4) has no column in the feature table"],
        ),
        (
            "name,a,b,qc\nF1,1,2,3\n",
            "column,injection_order,batch,sample_type\na,1,1,sample\nb,second,1,sample\nqc,3,1,qc\n",
            vec!["injections.csv:3", "injection_order", "expected a number, found \"second\""],
        ),
        (
            "name,a,b,qc\nF1,1,2,3\n",
            "column,injection_order,batch,sample_type\na,1,1,sample\nb,2,1,study\nqc,3,1,QCpool\n",
            vec!["injections.csv:4", "sample_type", "expected sample, qc or blank, found \"QCpool\""],
        ),
        ("name,a,b,qc\nF1,1,-2,3\n", list, vec!["table.csv:2", "column \"b\"", "negative"]),
    ];
    for (table, injections, expected) in cases {
        let o = normalise(&dir, table, injections, &["--drift", "none"]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{e}");
        for want in expected {
            assert!(e.contains(want), "missing {want:?} in: {e}");
        }
        assert!(!dir.join("out/normalised.parquet").exists(), "nothing written on error");
    }
    // Drift correction without enough QCs is a usage error (exit 2) that says what to do.
    let o = normalise(&dir, "name,a,b,qc\nF1,1,2,3\n", list, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("drift = \"none\""));
}

/// A small mzTab-M 2.0 file in the standard's layout: three assays (two named by their run's
/// file, one by its assay name), SML and SMF sections, `null` for a missing abundance.

#[test]
fn mztab_m_features_and_assays_are_read_through_the_metadata() {
    let dir = Workdir::new();
    let list = "column,injection_order,batch,sample_type\na,1,1,sample\nb,2,1,sample\nqc,3,1,qc\n";
    let o = normalise(&dir, MZTAB, list, &["--drift", "none", "--blank-ratio", "0", "--min-detection", "0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (features, kv) = read_parquet(&dir.join("out/features.parquet"));
    assert_eq!(kv.get("harmonomics.format").map(String::as_str), Some("mztab-m"));
    assert_eq!(strings(&features, "feature_id"), [Some("1".into()), Some("2".into()), Some("3".into())]);
    assert_eq!(f64s(&features, "mz")[0], Some(89.0244));
    assert_eq!(f64s(&features, "rt")[2], Some(246.6));
    assert_eq!(strings(&features, "adduct_ion")[1].as_deref(), Some("[M+Cl]1-"));
    let (raw, _) = read_parquet(&dir.join("out/raw.parquet"));
    assert_eq!(f64s(&raw, "a"), [Some(60.0), Some(40.0), Some(50.0)]);
    assert_eq!(f64s(&raw, "b"), [Some(120.0), Some(80.0), None], "null is missing");

    // Refused: no SML section; no MTD; an assay the injection list does not know; a bad value.
    let no_sml: String = MZTAB.lines().filter(|l| !l.starts_with("SM")).map(|l| format!("{l}\n")).collect();
    let no_mtd: String = MZTAB.lines().filter(|l| !l.starts_with("MTD")).map(|l| format!("{l}\n")).collect();
    let cases = [
        (no_sml, list.to_string(), vec!["table.csv", "mandatory SML section"]),
        (no_mtd, list.to_string(), vec!["table.csv", "mandatory MTD section"]),
        (
            MZTAB.to_string(),
            "column,injection_order,batch,sample_type\na,1,1,sample\nqc,3,1,qc\n".to_string(),
            vec![
                "table.csv:18",
                "abundance_assay[2]",
                "assay[2] (its name or its run's file) is not in the injection list",
            ],
        ),
        (
            MZTAB.replace("\t120\t90", "\tlots\t90"),
            list.to_string(),
            vec!["table.csv:19", "abundance_assay[2]", "expected a number or null, found \"lots\""],
        ),
    ];
    for (text, injections, expected) in cases {
        let o = normalise(&dir, &text, &injections, &["--drift", "none"]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{e}");
        for want in expected {
            assert!(e.contains(want), "missing {want:?} in: {e}");
        }
    }
}

#[test]
fn msdial_alignment_exports_skip_their_metadata_rows() {
    let dir = Workdir::new();
    // MS-DIAL 4's layout: metadata rows (class, file type, injection order, batch) above the header.
    let table = "\t\t\t\tClass\tcase\tcase\tQC\n\
                 \t\t\t\tFile type\tSample\tSample\tQC\n\
                 \t\t\t\tInjection order\t1\t2\t3\n\
                 \t\t\t\tBatch ID\t1\t1\t1\n\
                 Alignment ID\tAverage Rt(min)\tAverage Mz\tMetabolite name\tFill %\ta\tb\tqc\n\
                 0\t1.21\t89.0244\tLactate\t1\t100\t200\t150\n\
                 1\t4.11\t205.0972\tTryptophan\t0.66\t50\t0\tx\n";
    let list = "column,injection_order,batch,sample_type\na,1,1,sample\nb,2,1,sample\nqc,3,1,qc\n";
    let o = normalise(&dir, table, list, &["--drift", "none"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(e.contains("table.csv:7") && e.contains("column \"qc\"") && e.contains("\"x\""), "{e}");
    let o = normalise(&dir, &table.replace("\tx\n", "\t40\n"), list, &["--drift", "none", "--min-detection", "0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (features, kv) = read_parquet(&dir.join("out/features.parquet"));
    assert_eq!(kv.get("harmonomics.format").map(String::as_str), Some("msdial"));
    assert_eq!(strings(&features, "Metabolite name")[1].as_deref(), Some("Tryptophan"));
    assert_eq!(f64s(&features, "mz")[0], Some(89.0244));
    assert_eq!(f64s(&features, "rt")[1], Some(4.11));
}

#[test]
fn a_study_injection_the_samplesheet_does_not_know_is_refused_with_its_line() {
    let dir = Workdir::new();
    // The fixture's metabolome rows, minus P02_day3: its injection is left without a sample.
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    let table = repo().join("test-data/metabolome/features_mzmine.csv");
    let rows: String = sheet
        .lines()
        .enumerate()
        .filter(|(k, l)| *k == 0 || (l.contains(",metabolome,") && !l.starts_with("P02_day3,")))
        .map(|(_, l)| format!("{}\n", l.replace("../metabolome/features_mzmine.csv", table.to_str().expect("utf-8"))))
        .collect();
    dir.write("samplesheet.csv", &rows);
    let config = dir.write("cohort.toml", &portable_fixture_config(false));
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &[]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    let list = std::fs::read_to_string(repo().join("test-data/cohort/injections.csv")).expect("list");
    let line = list.lines().position(|l| l.starts_with("P02_day3.mzML,")).expect("injection") + 1;
    assert!(
        e.contains(&format!("injections.csv:{line}"))
            && e.contains("\"P02_day3\"")
            && e.contains("not a metabolome sample"),
        "{e}"
    );
    assert!(!out.join("manifest.json").exists());
}
