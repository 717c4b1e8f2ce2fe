//! `harmonomics harmonise`: gathering the `<layer>/` outputs of a run gives the same bytes as the
//! run itself; the wide exports hold the normalised matrices transposed; a layer whose sample ids
//! do not match the samplesheet and a timepoint without samples are refused with clear errors.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The fixture config, portable, with ComBat on (so the gather re-runs batch correction too).
fn config_with_combat(dir: &Workdir) -> PathBuf {
    dir.write("cohort.toml", &format!("{}\n[batch_correction]\nmethod = \"combat\"\n", portable_fixture_config(true)))
}

fn harmonise(config: &Path, input: &Path, out: &Path) -> std::process::Output {
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    harmonomics(&["harmonise", "--quiet", "--config", &s(config), "--input", &s(input), "--out", &s(out)])
}

/// `run` with `config` into `dir/run`, then `harmonise` of its layers into `dir/gathered`.
fn run_then_gather(dir: &Workdir, config: &Path) -> (PathBuf, PathBuf) {
    let run = dir.join("run");
    let o = run_cohort(config, &run, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let gathered = dir.join("gathered");
    let o = harmonise(config, &run, &gathered);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (run, gathered)
}

#[test]
fn gathering_a_run_gives_byte_identical_cohort_tables() {
    let dir = Workdir::new();
    let config = config_with_combat(&dir);
    let (run, gathered) = run_then_gather(&dir, &config);
    let files = [
        "samples.parquet",
        "harmonised.parquet",
        "mofa.parquet",
        "completeness.parquet",
        "wide/transcriptome.parquet",
        "wide/epigenome.parquet",
        "wide/metabolome.parquet",
        "transcriptome/normalised.combat.parquet",
        "metabolome/normalised.combat.parquet",
    ];
    for f in files {
        let (a, b) = (std::fs::read(run.join(f)).expect(f), std::fs::read(gathered.join(f)).expect(f));
        assert!(a == b, "{f} differs between run and harmonise");
    }
    // The gather's manifest names the matrices it read, with their hashes.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(gathered.join("manifest.json")).expect("manifest")).expect("json");
    let read: Vec<&str> = manifest["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter(|i| i["role"] == "matrix")
        .filter_map(|i| i["path"].as_str())
        .collect();
    assert_eq!(read.len(), 10, "{read:?}");
    assert!(read.iter().any(|p| p.ends_with("epigenome/regions/promoters.parquet")), "{read:?}");
    // Nothing but the cohort tables was written: no layer directories without a correction.
    assert!(!gathered.join("epigenome").exists());
}

#[test]
fn gathering_a_combat_seq_run_corrects_the_counts_the_same_way() {
    let dir = Workdir::new();
    let config = dir.write(
        "cohort.toml",
        &format!("{}\n[batch_correction]\nmethod = \"combat-seq\"\n", portable_fixture_config(true)),
    );
    let (run, gathered) = run_then_gather(&dir, &config);
    for f in [
        "harmonised.parquet",
        "wide/transcriptome.parquet",
        "transcriptome/raw.combat_seq.parquet",
        "transcriptome/normalised.combat_seq.parquet",
        "metabolome/normalised.combat.parquet",
    ] {
        let (a, b) = (std::fs::read(run.join(f)).expect(f), std::fs::read(gathered.join(f)).expect(f));
        assert!(a == b, "{f} differs between run and harmonise");
    }
}

#[test]
fn wide_exports_are_the_normalised_matrices_one_row_per_sample() {
    let dir = Workdir::new();
    let out = dir.join("run");
    run_fixture(&out, "2");
    for (layer, matrix) in [
        ("transcriptome", "transcriptome/normalised.parquet"),
        ("epigenome", "epigenome/regions/promoters.parquet"),
        ("metabolome", "metabolome/normalised.parquet"),
    ] {
        let (wide, _) = read_parquet(&out.join(format!("wide/{layer}.parquet")));
        let (m, _) = read_parquet(&out.join(matrix));
        let features = strings(&m, "feature_id");
        let samples = strings(&wide, "sample_id");
        let sample_columns = m.num_columns() - 1;
        assert_eq!(wide.num_rows(), sample_columns, "{layer}: one row per sample");
        assert_eq!(wide.num_columns(), 7 + features.len(), "{layer}: seven sample columns then the features");
        // Rows run by patient, then timepoint order.
        let (patients, orders) = (strings(&wide, "patient_id"), u64s_from_u32(&wide, "timepoint_order"));
        let keys: Vec<(String, u32)> =
            patients.iter().zip(&orders).map(|(p, o)| (p.clone().expect("patient"), *o)).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{layer}: rows out of grid order");
        for (k, feature) in features.iter().enumerate() {
            let feature = feature.as_deref().expect("id");
            let column = f64s(&wide, feature);
            for (r, sample) in samples.iter().enumerate() {
                let expected = f64s(&m, sample.as_deref().expect("sample"))[k];
                assert_eq!(column[r], expected, "{layer} {feature} {sample:?}");
            }
        }
    }
}

fn u64s_from_u32(batch: &arrow_array::RecordBatch, name: &str) -> Vec<u32> {
    let column = batch.column_by_name(name).expect("column");
    let a = column.as_any().downcast_ref::<arrow_array::UInt32Array>().expect("u32");
    a.values().to_vec()
}

#[test]
fn a_layer_whose_sample_ids_do_not_match_the_samplesheet_is_refused() {
    let dir = Workdir::new();
    let out = dir.join("run");
    run_fixture(&out, "2");
    // The same cohort, but the samplesheet calls P01's day-0 RNA sample something else.
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    let base = repo().join("test-data/cohort");
    let edited: String = sheet
        .lines()
        .map(|l| {
            let l = if l.starts_with("P01_day0,") && l.contains(",transcriptome,") {
                l.replacen("P01_day0,", "P01_d0,", 1)
            } else {
                l.to_string()
            };
            format!("{}\n", l.replace(",../", &format!(",{}/../", base.display())))
        })
        .collect();
    dir.write("samplesheet.csv", &edited);
    let config = dir.write("cohort.toml", &portable_fixture_config(false));
    let o = harmonise(&config, &out, &dir.join("gathered"));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("transcriptome/normalised.parquet: sample ids do not match the samplesheet"), "{e}");
    assert!(e.contains("columns not among the samplesheet's transcriptome samples: \"P01_day0\""), "{e}");
    assert!(e.contains("samplesheet transcriptome samples with no column: \"P01_d0\""), "{e}");
    assert!(!dir.join("gathered/harmonised.parquet").exists());
    // A directory without the layer at all is named too.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let o = harmonise(&fixture_config(), &empty, &dir.join("gathered"));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("no transcriptome/normalised.parquet under"), "{e}");
}

#[test]
fn a_timepoint_without_samples_is_an_error_that_names_it() {
    let dir = Workdir::new();
    let config = dir.write(
        "cohort.toml",
        &portable_fixture_config(true).replacen(
            "[[timepoints]]",
            "[[timepoints]]\nname = \"month24\"\norder = 6\nanchor = \"discharge\"\nnominal_day = 730\n\
             window_before_days = 14\nwindow_after_days = 14\n\n[[timepoints]]",
            1,
        ),
    );
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("timepoint \"month24\" (order 6) has no samples"), "{e}");
    assert!(e.contains("the samplesheet uses \"day0\", \"day3\", \"discharge\", \"month12\", \"month3\""), "{e}");
    let o = run_cohort(&config, &dir.join("out"), &["--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("out/manifest.json").exists());
}
