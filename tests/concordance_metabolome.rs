//! The metabolome chain against an independent computation (numpy/pandas, statsmodels' `lowess`
//! and scikit-learn's `KNNImputer`, `tests/python/reference_metabolome.py`) on a real feature table: ms-mint 1.1.2's demo
//! results (6 metabolites × 12 LC-MS runs, shipped in its PyPI sdist; test-data/real/README.md).

mod common;

use std::process::Command;

use common::*;

/// `normalise metabolome` on the reference's table, every filter off so no feature of six is
/// dropped; `extra` turns the steps under test on or off.
fn normalise(dir: &Workdir, table: &str, out: &std::path::Path, extra: &[&str]) {
    let (table, injections) = (dir.join(table), dir.join("injections.csv"));
    let args = [
        "normalise",
        "metabolome",
        "--table",
        table.to_str().expect("utf-8"),
        "--injections",
        injections.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        "--blank-ratio",
        "0",
        "--max-qc-rsd",
        "0",
        "--min-detection",
        "0",
    ];
    let o = harmonomics(&[&args[..], extra].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Compares `normalised.parquet` under `out` with the reference's CSV (feature × study sample),
/// each value within `tolerance(want)`; returns how many values were compared.
fn compare(out: &std::path::Path, expected: &std::path::Path, tolerance: &dyn Fn(f64) -> f64) -> usize {
    let (ours, _) = read_parquet(&out.join("normalised.parquet"));
    let (header, rows) = read_tsv_csv(expected);
    let ids = strings(&ours, "feature_id");
    assert_eq!(rows.len(), 6);
    let mut compared = 0;
    for row in &rows {
        let i = ids.iter().position(|f| f.as_deref() == Some(row[0].as_str())).expect("feature");
        for (c, sample) in header.iter().enumerate().skip(1) {
            let want: f64 = row[c].parse().expect("expected value");
            let got = f64s(&ours, sample)[i].expect("value");
            assert!((got - want).abs() <= tolerance(want), "{} {sample}: {got} vs {want}", row[0]);
            compared += 1;
        }
    }
    compared
}

#[test]
#[ignore = "needs pandas, statsmodels and scikit-learn (HARMONOMICS_PYTHON); .ci/run installs them"]
fn drift_correction_imputation_pqn_and_log_match_statsmodels_and_numpy_on_real_data() {
    let dir = Workdir::new();
    let real = repo().join("test-data/real/metabolomics");
    let o = Command::new(reference_python())
        .arg(repo().join("tests/python/reference_metabolome.py"))
        .arg(real.join("results.csv"))
        .arg(real.join("metadata.csv"))
        .arg(dir.path())
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.join("out");
    normalise(&dir, "table.csv", &out, &[]);
    let (_, kv) = read_parquet(&out.join("normalised.parquet"));
    assert!(kv.get("harmonomics.params").is_some_and(|p| p.contains("\"loess_span\":0.75")));
    assert_eq!(compare(&out, &dir.join("expected.csv"), &|_| 1e-9), 6 * 6);

    // KNN imputation against scikit-learn's KNNImputer(n_neighbors = 3) on the same real table
    // with ~30% of the study values knocked out (every other step off).
    let knn = dir.join("knn");
    let steps_off = ["--drift", "none", "--no-pqn", "--transform", "none"];
    normalise(&dir, "table_knn.csv", &knn, &[&steps_off[..], &["--impute", "knn", "--knn-neighbours", "3"]].concat());
    let (qc, _) = read_parquet(&knn.join("qc.parquet"));
    let filled = strings(&qc, "step").iter().position(|s| s.as_deref() == Some("imputation")).expect("step");
    assert!(u64s(&qc, "values_changed")[filled].expect("count") >= 5, "the test needs holes to fill");
    assert_eq!(compare(&knn, &dir.join("expected_knn.csv"), &|want| 1e-12 * want.abs()), 6 * 6);
}

/// A small CSV reader for the reference's output (header, then rows).
fn read_tsv_csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines().map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let header = lines.next().expect("header");
    (header, lines.collect())
}
