//! The cohort run in pieces, as a workflow manager runs it: `quant sample` per sample (scatter),
//! `normalise layer` per layer, `harmonise` (gather). Every output file equals `run`'s, byte for
//! byte; a layer step without its per-sample files, or with files made under other options,
//! says which file and what to run.

mod common;

use common::*;

fn ok(args: &[&str]) {
    let o = harmonomics(args);
    assert!(o.status.success(), "harmonomics {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
}

fn layer_samples(layer: &str) -> Vec<String> {
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    sheet
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some(layer))
        .map(|l| l.split(',').next().expect("id").to_string())
        .collect()
}

#[test]
fn a_scattered_run_gives_the_same_bytes_as_run() {
    let dir = Workdir::new();
    let (run, scattered) = (dir.join("run"), dir.join("scattered"));
    run_fixture(&run, "2");
    let config = fixture_config();
    let (c, s) = (config.to_str().expect("utf-8"), scattered.to_str().expect("utf-8"));
    // One job per RNA sample at one thread each, as a cluster would run them; the epigenome's
    // samples in two jobs of two threads.
    for id in layer_samples("transcriptome") {
        ok(&["quant", "sample", "-q", "-T", "1", "-c", c, "--layer", "transcriptome", "--sample", &id, "-o", s]);
    }
    let epi = layer_samples("epigenome");
    let (first, rest) = epi.split_at(epi.len() / 2);
    for part in [first, rest] {
        let mut args = vec!["quant", "sample", "-q", "-T", "2", "-c", c, "--layer", "epigenome", "-o", s];
        for id in part {
            args.extend(["--sample", id.as_str()]);
        }
        ok(&args);
    }
    for layer in ["transcriptome", "epigenome", "metabolome", "genome", "microbiome"] {
        ok(&["normalise", "layer", "-q", "-c", c, "--layer", layer, "-o", s]);
    }
    ok(&["harmonise", "-q", "-c", c, "-o", s]);
    let n = assert_same_files(&run, &scattered, "run and the scattered steps");
    assert!(n > 100, "{n} files");
}

#[test]
fn a_layer_step_without_its_samples_or_with_stale_ones_names_the_file_and_the_fix() {
    let dir = Workdir::new();
    let out = dir.join("out");
    let config = fixture_config();
    let (c, o) = (config.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let r = harmonomics(&["normalise", "layer", "-q", "-c", c, "--layer", "epigenome", "-o", o]);
    let e = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{e}");
    assert!(
        e.contains("epigenome/samples/P01_day0.parquet: missing; quantify the sample first")
            && e.contains("harmonomics quant sample --layer epigenome --sample P01_day0"),
        "{e}"
    );
    // Per-sample RNA files counted with other options are refused, not silently mixed in.
    ok(&["quant", "sample", "-q", "-c", c, "--layer", "transcriptome", "-o", o]);
    let stricter = dir.write("cohort.toml", &portable_fixture_config(true).replace("min_mapq = 0", "min_mapq = 30"));
    let r = harmonomics(&[
        "normalise",
        "layer",
        "-q",
        "-c",
        stricter.to_str().expect("utf-8"),
        "--layer",
        "transcriptome",
        "-o",
        o,
    ]);
    let e = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{e}");
    assert!(e.contains("its counting options ([transcriptome.quant]) differ from this cohort's"), "{e}");
    // A step prints the cohort's warnings as `run` does: once each, with one level in front.
    let r = harmonomics(&["quant", "sample", "-c", c, "--layer", "transcriptome", "--sample", "P01_day0", "-o", o]);
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{e}");
    let late = e.lines().filter(|l| l.contains("P06\"'s month3 draw was collected +21 days")).collect::<Vec<_>>();
    assert_eq!(late.len(), 1, "{e}");
    let level = late[0].strip_prefix("harmonomics: warning: ").unwrap_or_default();
    assert!(
        level.starts_with(&format!("{}:30: patient", repo().join("test-data/cohort/samplesheet.csv").display())),
        "{e}"
    );
    // A sample the samplesheet does not have, and a layer with nothing to scatter.
    let r = harmonomics(&["quant", "sample", "-q", "-c", c, "--layer", "epigenome", "--sample", "P99_day0", "-o", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no epigenome sample \"P99_day0\""));
    let r = harmonomics(&["quant", "sample", "-q", "-c", c, "--layer", "metabolome", "-o", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("nothing to quantify per sample"));
}
