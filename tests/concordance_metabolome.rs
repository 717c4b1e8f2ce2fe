//! The metabolome chain against an independent computation (numpy/pandas, statsmodels' `lowess`
//! and scikit-learn's `KNNImputer`, `tests/python/reference_metabolome.py`) on a real feature table: ms-mint 1.1.2's demo
//! results (6 metabolites × 12 LC-MS runs, shipped in its PyPI sdist; test-data/real/README.md).

mod common;

use std::process::Command;

use common::*;

fn reference_python() -> String {
    std::env::var("HARMONOMICS_PYTHON").unwrap_or_else(|_| "python3".into())
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
    let o = harmonomics(&[
        "normalise",
        "metabolome",
        "--table",
        dir.join("table.csv").to_str().expect("utf-8"),
        "--injections",
        dir.join("injections.csv").to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        // Every step runs, but no feature of six may be filtered away.
        "--blank-ratio",
        "0",
        "--max-qc-rsd",
        "0",
        "--min-detection",
        "0",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ours, kv) = read_parquet(&out.join("normalised.parquet"));
    assert!(kv.get("harmonomics.params").is_some_and(|p| p.contains("\"loess_span\":0.75")));
    let (header, rows) = read_tsv_csv(&dir.join("expected.csv"));
    let ids = strings(&ours, "feature_id");
    assert_eq!(rows.len(), 6);
    let mut compared = 0;
    for row in &rows {
        let i = ids.iter().position(|f| f.as_deref() == Some(row[0].as_str())).expect("feature");
        for (c, sample) in header.iter().enumerate().skip(1) {
            let want: f64 = row[c].parse().expect("expected value");
            let got = f64s(&ours, sample)[i].expect("value");
            assert!((got - want).abs() < 1e-9, "{} {sample}: {got} vs {want}", row[0]);
            compared += 1;
        }
    }
    assert_eq!(compared, 6 * 6);

    // KNN imputation against scikit-learn's KNNImputer(n_neighbors = 3) on the same real table
    // with ~30% of the study values knocked out (every other step off).
    let knn = dir.join("knn");
    let o = harmonomics(&[
        "normalise",
        "metabolome",
        "--table",
        dir.join("table_knn.csv").to_str().expect("utf-8"),
        "--injections",
        dir.join("injections.csv").to_str().expect("utf-8"),
        "-o",
        knn.to_str().expect("utf-8"),
        "--blank-ratio",
        "0",
        "--max-qc-rsd",
        "0",
        "--min-detection",
        "0",
        "--drift",
        "none",
        "--no-pqn",
        "--transform",
        "none",
        "--impute",
        "knn",
        "--knn-neighbours",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ours, _) = read_parquet(&knn.join("normalised.parquet"));
    let (qc, _) = read_parquet(&knn.join("qc.parquet"));
    let filled = strings(&qc, "step").iter().position(|s| s.as_deref() == Some("imputation")).expect("step");
    assert!(u64s(&qc, "values_changed")[filled].expect("count") >= 5, "the test needs holes to fill");
    let (header, rows) = read_tsv_csv(&dir.join("expected_knn.csv"));
    let ids = strings(&ours, "feature_id");
    for row in &rows {
        let i = ids.iter().position(|f| f.as_deref() == Some(row[0].as_str())).expect("feature");
        for (c, sample) in header.iter().enumerate().skip(1) {
            let want: f64 = row[c].parse().expect("expected value");
            let got = f64s(&ours, sample)[i].expect("value");
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{} {sample}: {got} vs {want}", row[0]);
        }
    }
}

/// A small CSV reader for the reference's output (header, then rows).
fn read_tsv_csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines().map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let header = lines.next().expect("header");
    (header, lines.collect())
}
