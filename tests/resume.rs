//! `run --resume` skips exactly the units whose inputs and options are unchanged: all of them on
//! a second run, one sample, its layer and the gather when that sample's input changes, the
//! layer step and the gather when the layer's options change, and whatever lost an output.
//! Resumed outputs are byte-identical to a fresh run's.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The fixture with P01's day-0 RNA BAM copied into `dir` (so a test can change it).
fn cohort(dir: &Workdir, extra_toml: &str) -> PathBuf {
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    let base = repo().join("test-data/cohort");
    std::fs::copy(repo().join("test-data/transcriptome/bam/P01_day0.bam"), dir.join("P01_day0.bam")).expect("copy");
    let rows: String = sheet
        .lines()
        .map(|l| {
            let l = l.replace(",../", &format!(",{}/../", base.display()));
            if l.starts_with("P01_day0,") && l.contains(",transcriptome,") {
                let bam = format!("{}/../transcriptome/bam/P01_day0.bam", base.display());
                format!("{}\n", l.replace(&bam, &dir.join("P01_day0.bam").display().to_string()))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    dir.write("samplesheet.csv", &rows);
    dir.write("cohort.toml", &format!("{}\n{extra_toml}", portable_fixture_config(false)))
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("json")
}

/// Runs with `--resume`; returns the units it skipped.
fn resume(config: &Path, out: &Path) -> Vec<String> {
    let o = run_cohort(config, out, &["--quiet", "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(out);
    let stage = m["stages"].as_array().expect("stages").iter().find(|s| s["name"] == "resume").expect("resume stage");
    stage["counts"]["skipped_units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u.as_str().expect("unit").into())
        .collect()
}

fn assert_same_outputs(a: &Path, b: &Path) {
    let ma = manifest(a);
    let mb = manifest(b);
    assert_eq!(ma["outputs"], mb["outputs"], "outputs (paths, sizes, hashes) differ");
    assert!(ma["outputs"].as_array().expect("outputs").len() > 100);
}

#[test]
fn resume_skips_exactly_what_did_not_change() {
    let dir = Workdir::new();
    let config = cohort(&dir, "");
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = dir.join("fresh");
    assert!(run_cohort(&config, &fresh, &["--quiet"]).status.success());
    let units = manifest(&out)["units"].as_array().expect("units").len();
    assert_eq!(units, 39 + 39 + 5 + 1 + 1, "a unit per scattered sample, per layer, the identity check and the gather");

    // Nothing changed: every unit is skipped, and no quantification stage ran.
    let skipped = resume(&config, &out);
    assert_eq!(skipped.len(), units, "{skipped:?}");
    let (resumed, fresh_manifest) = (manifest(&out), manifest(&fresh));
    let stages = |m: &serde_json::Value, name: &str| -> Vec<serde_json::Value> {
        m["stages"].as_array().expect("stages").iter().filter(|s| s["name"] == name).cloned().collect()
    };
    assert!(stages(&resumed, "quantify").iter().all(|s| s["resumed"] == true), "no quantification stage ran");
    // The provenance of a resumed directory is as complete as a fresh run's: every stage that
    // made the outputs is carried over with its parameters, counts and warnings.
    for name in ["annotation", "quantify", "normalise", "quantify_epigenome", "normalise_epigenome", "harmonise"] {
        let (was, now) = (stages(&fresh_manifest, name), stages(&resumed, name));
        assert_eq!(was.len(), 1, "{name}");
        assert_eq!(now.len(), 1, "{name} appears once in the resumed manifest: {now:?}");
        assert_eq!(now[0]["resumed"], true, "{name}");
        for field in ["params", "counts", "warnings"] {
            let strip = |v: &serde_json::Value, dir: &Path| v.to_string().replace(dir.to_str().expect("utf-8"), "OUT");
            assert_eq!(strip(&now[0][field], &out), strip(&was[0][field], &fresh), "{name} {field}");
        }
    }
    assert_same_outputs(&out, &fresh);

    // One sample's input changes (P01 day 0 now holds another library): that sample, its layer
    // and the gather run again; everything else is reused.
    std::fs::copy(repo().join("test-data/transcriptome/bam/P02_day0.bam"), dir.join("P01_day0.bam")).expect("copy");
    let skipped = resume(&config, &out);
    let ran: Vec<String> = manifest(&out)["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u["unit"].as_str().expect("unit").to_string())
        .filter(|u| !skipped.contains(u))
        .collect();
    assert_eq!(ran, ["quant transcriptome P01_day0", "layer transcriptome", "identity", "harmonise"]);
    // ... and the identity check sees that P01's day-0 RNA is now P02's.
    let identity = manifest(&out)["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "identity")
        .expect("identity stage")
        .clone();
    let warnings = identity["warnings"].to_string();
    assert!(warnings.contains("sample P01_day0 of patient P01 matches patient P02"), "{warnings}");
    let changed = dir.join("changed");
    assert!(run_cohort(&config, &changed, &["--quiet"]).status.success());
    assert_same_outputs(&out, &changed);

    // The layer's options change: its step and the gather run, no sample is re-counted.
    let config = dir.write(
        "cohort.toml",
        &std::fs::read_to_string(&config).expect("config").replace("prior_count = 2", "prior_count = 3"),
    );
    let skipped = resume(&config, &out);
    assert_eq!(skipped.len(), units - 2, "{skipped:?}");
    assert!(!skipped.iter().any(|u| u == "layer transcriptome" || u == "harmonise"));

    // An output went missing: the unit that writes it runs again (and nothing downstream needs to).
    std::fs::remove_file(out.join("epigenome/regions/promoters.parquet")).expect("rm");
    let skipped = resume(&config, &out);
    assert_eq!(skipped.len(), units - 1);
    assert!(!skipped.iter().any(|u| u == "layer epigenome"));
    assert!(out.join("epigenome/regions/promoters.parquet").exists());
}
