//! `harmonomics correct`: ComBat and ComBat-seq on one matrix give the values `run` gives for
//! the same layer, and bad tables are refused with the file, feature, sample or column named.

mod common;

use std::path::Path;

use common::*;

/// `run` on the fixture with `[batch_correction] method = METHOD` on the transcriptome.
fn run_with(dir: &Workdir, method: &str) -> std::path::PathBuf {
    let config = dir.write(
        "cohort.toml",
        &format!(
            "{}\n[batch_correction]\nmethod = {method:?}\nlayers = [\"transcriptome\"]\n",
            portable_fixture_config(true)
        ),
    );
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn correct(args: &[&str]) -> std::process::Output {
    harmonomics(&[&["--quiet", "correct"][..], args].concat())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn correct_gives_the_values_run_gives_for_the_same_layer() {
    let sheet = repo().join("test-data/cohort/samplesheet.csv");
    for (method, input, expected) in [
        ("combat-seq", "raw.parquet", "raw.combat_seq.parquet"),
        ("combat", "normalised.parquet", "normalised.combat.parquet"),
    ] {
        let dir = Workdir::new();
        let out = run_with(&dir, method);
        let mine = dir.join("corrected.parquet");
        let o = correct(&[
            "-i",
            path(&out.join("transcriptome").join(input)),
            "-s",
            path(&sheet),
            "--layer",
            "transcriptome",
            "-m",
            method,
            "--protect",
            "timepoint",
            "-o",
            path(&mine),
        ]);
        assert!(o.status.success(), "{method}: {}", String::from_utf8_lossy(&o.stderr));
        let (ours, meta) = read_parquet(&mine);
        let (theirs, _) = read_parquet(&out.join("transcriptome").join(expected));
        // Same columns, same values (the file metadata differ: each names its own parameters).
        let names =
            |b: &arrow_array::RecordBatch| b.schema().fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs), "{method}: columns");
        assert!(ours.columns() == theirs.columns(), "{method}: correct and run disagree");
        assert_eq!(meta.get("harmonomics.method").map(String::as_str), Some(method));
        let (before, _) = read_parquet(&out.join("transcriptome").join(input));
        assert!(ours.columns() != before.columns(), "{method}: nothing corrected");
    }
}

#[test]
fn bad_tables_are_refused_with_what_is_wrong() {
    let dir = Workdir::new();
    let counts =
        dir.write("counts.tsv", "gene\ta1\ta2\tb1\tb2\ng1\t10\t12\t30\t33\ng2\t5\t2.5\t9\t8\ng3\t7\t9\t8\t6\n");
    let labels = dir.write("labels.tsv", "sample_id\tbatch\tgroup\na1\tA\tx\na2\tA\ty\nb1\tB\tx\nb2\tB\ty\n");
    let out = dir.join("x.parquet");
    let run = |counts: &Path, labels: &Path, extra: &[&str]| {
        correct(&[&["-i", path(counts), "-s", path(labels), "-o", path(&out)][..], extra].concat())
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();

    let o = run(&counts, &labels, &["-m", "combat-seq"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("feature \"g2\", sample \"a2\": 2.5 is not a count"), "{}", stderr(&o));
    assert!(!out.exists(), "a refused run wrote its output");

    let o = run(&counts, &labels, &["-m", "combat", "--batch", "site"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no column \"site\""), "{}", stderr(&o));

    let short = dir.write("short.tsv", "sample_id\tbatch\na1\tA\na2\tA\nb1\tB\n");
    let o = run(&counts, &short, &["-m", "combat"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[\"b2\"]") && stderr(&o).contains("not in the sample table"), "{}", stderr(&o));

    let twice = dir.write("twice.tsv", "sample_id\tbatch\na1\tA\na1\tB\n");
    let o = run(&counts, &twice, &["-m", "combat"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("twice.tsv:3: sample id \"a1\" is empty or repeated"), "{}", stderr(&o));

    // The group lives in one batch only: refused, unless forced.
    let integer = dir.write("int.tsv", "gene\ta1\ta2\tb1\tb2\ng1\t10\t12\t30\t33\ng2\t5\t3\t9\t8\ng3\t7\t9\t8\t6\n");
    let confounded = dir.write("conf.tsv", "sample_id\tbatch\tgroup\na1\tA\tx\na2\tA\tx\nb1\tB\ty\nb2\tB\ty\n");
    let o = run(&integer, &confounded, &["-m", "combat-seq", "--protect", "group"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("confounded") && stderr(&o).contains("--force"), "{}", stderr(&o));
    // The refusal points at the sample table and its columns, with the counts that confound them.
    assert!(
        stderr(&o).contains("conf.tsv: column \"batch\" (batch) and protected column(s) [\"group\"]"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("group × batch: x (A: 2, B: 0); y (A: 0, B: 2)"), "{}", stderr(&o));
    let o = run(&integer, &confounded, &["-m", "combat-seq", "--protect", "group", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());
}
