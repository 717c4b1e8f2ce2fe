//! `harmonomics normalise transcriptome`: inputs, invariants and errors. Agreement with pydeseq2
//! and rnanorm is in `concordance.rs`.

mod common;

use common::*;

fn normalise(args: &[&str]) -> std::process::Output {
    harmonomics(&[&["normalise", "transcriptome"][..], args].concat())
}

/// A TSV matrix from rows of (gene, counts).
fn matrix(dir: &Workdir, name: &str, samples: &[&str], rows: &[(&str, Vec<u64>)]) -> std::path::PathBuf {
    let mut text = format!("gene\t{}\n", samples.join("\t"));
    for (g, counts) in rows {
        text.push_str(g);
        for c in counts {
            text.push_str(&format!("\t{c}"));
        }
        text.push('\n');
    }
    dir.write(name, &text)
}

fn rows() -> Vec<(&'static str, Vec<u64>)> {
    vec![
        ("g1", vec![10, 25, 3, 40]),
        ("g2", vec![100, 180, 90, 300]),
        ("g3", vec![0, 4, 1, 2]),
        ("g4", vec![55, 61, 20, 70]),
        ("g5", vec![7, 0, 9, 12]),
        ("g6", vec![1000, 1500, 700, 2600]),
        ("g7", vec![33, 47, 15, 44]),
    ]
}

#[test]
fn every_method_is_independent_of_sample_order() {
    let dir = Workdir::new();
    let samples = ["a", "b", "c", "d"];
    let forward = matrix(&dir, "f.tsv", &samples, &rows());
    let reversed_rows: Vec<(&str, Vec<u64>)> =
        rows().into_iter().map(|(g, c)| (g, c.into_iter().rev().collect())).collect();
    let reversed = matrix(&dir, "r.tsv", &["d", "c", "b", "a"], &reversed_rows);
    for method in ["cpm", "log2cpm", "deseq2", "deseq2_poscounts", "tmm", "uq"] {
        let (f, r) = (dir.join("f.parquet"), dir.join("r.parquet"));
        for (input, out) in [(&forward, &f), (&reversed, &r)] {
            let o = normalise(&[
                "--counts",
                input.to_str().expect("utf-8"),
                "--method",
                method,
                "--out",
                out.to_str().expect("utf-8"),
            ]);
            assert!(o.status.success(), "{method}: {}", String::from_utf8_lossy(&o.stderr));
        }
        let (a, _) = read_parquet(&f);
        let (b, _) = read_parquet(&r);
        for s in samples {
            let (x, y) = (f64s(&a, s), f64s(&b, s));
            for (u, v) in x.iter().zip(&y) {
                let (u, v) = (u.expect("value"), v.expect("value"));
                assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0), "{method} {s}: {u} vs {v}");
            }
        }
    }
}

#[test]
fn factors_are_rescaled_where_the_methods_rescale_them() {
    let dir = Workdir::new();
    let counts = matrix(&dir, "m.tsv", &["a", "b", "c", "d"], &rows());
    let factors = dir.join("factors.parquet");
    let o = normalise(&[
        "--counts",
        counts.to_str().expect("utf-8"),
        "--method",
        "tmm",
        "--out",
        dir.join("x.parquet").to_str().expect("utf-8"),
        "--factors",
        factors.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (f, _) = read_parquet(&factors);
    let gm = |name: &str| {
        let v: Vec<f64> = f64s(&f, name).into_iter().map(|v| v.expect("factor")).collect();
        (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
    };
    for name in ["tmm_factor", "uq_factor", "size_factor_poscounts"] {
        assert!((gm(name) - 1.0).abs() < 1e-12, "{name} has geometric mean {}", gm(name));
    }
    // DESeq2's default median-of-ratios factors are not rescaled (as in DESeq2 and pydeseq2).
    let libs: Vec<f64> = f64s(&f, "library_size").into_iter().map(|v| v.expect("lib")).collect();
    assert_eq!(libs, vec![1205.0, 1817.0, 838.0, 3068.0]);
}

#[test]
fn tpm_from_raw_parquet_takes_lengths_from_features_parquet() {
    let dir = Workdir::new();
    let out = dir.join("run");
    run_fixture(&out, "2");
    let tpm = dir.join("tpm.parquet");
    let raw = out.join("transcriptome/raw.parquet");
    let o = normalise(&[
        "--counts",
        raw.to_str().expect("utf-8"),
        "--method",
        "tpm",
        "--out",
        tpm.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (t, meta) = read_parquet(&tpm);
    assert_eq!(meta.get("harmonomics.method").map(String::as_str), Some("tpm"));
    let (features, _) = read_parquet(&out.join("transcriptome/features.parquet"));
    let lengths = u64s(&features, "length");
    let (r, _) = read_parquet(&raw);
    let counts = u64s(&r, "P02_day3");
    let rate: Vec<f64> =
        counts.iter().zip(&lengths).map(|(c, l)| c.expect("c") as f64 / l.expect("l") as f64).collect();
    let total: f64 = rate.iter().sum();
    for (i, v) in f64s(&t, "P02_day3").iter().enumerate() {
        assert!((v.expect("tpm") - rate[i] / total * 1e6).abs() < 1e-9);
    }

    // An unreadable features.parquet beside the matrix is an error naming it, not a silent loss
    // of the lengths.
    let features = out.join("transcriptome/features.parquet");
    std::fs::write(&features, b"PAR1 not really").expect("write");
    let o = normalise(&[
        "--counts",
        raw.to_str().expect("utf-8"),
        "--method",
        "tpm",
        "--out",
        dir.join("tpm2.parquet").to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("features.parquet"), "{e}");
    assert!(!dir.join("tpm2.parquet").exists());
}

#[test]
fn bad_inputs_and_undefined_methods_are_clear_errors() {
    let dir = Workdir::new();
    let out = dir.join("x.parquet");
    let bad = dir.write("bad.tsv", "gene\ta\tb\ng1\t1\t2\ng2\t3\tlots\n");
    let o = normalise(&[
        "--counts",
        bad.to_str().expect("utf-8"),
        "--method",
        "cpm",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.tsv:3") && e.contains("\"lots\""), "{e}");

    let zeros = matrix(&dir, "z.tsv", &["a", "b"], &[("g1", vec![0, 5]), ("g2", vec![3, 0])]);
    let o = normalise(&[
        "--counts",
        zeros.to_str().expect("utf-8"),
        "--method",
        "deseq2",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("deseq2_poscounts"));

    let plain =
        matrix(&dir, "p.tsv", &["a", "b"], &rows().into_iter().map(|(g, c)| (g, c[..2].to_vec())).collect::<Vec<_>>());
    let o = normalise(&[
        "--counts",
        plain.to_str().expect("utf-8"),
        "--method",
        "tpm",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs gene lengths"));
    assert!(!out.exists());
}

#[test]
fn filter_by_expr_in_run_nulls_the_filtered_genes_and_normalises_the_rest() {
    let dir = Workdir::new();
    let text = portable_fixture_config(true)
        .replace("prior_count = 2", "prior_count = 2\nfilter_by_expr = true\nfilter_group = \"timepoint\"")
        .replace("methods = [\"vst\", \"cpm\", \"log2cpm\", \"deseq2\", \"tmm\"]", "methods = [\"cpm\"]");
    let config = dir.write("cohort.toml", &text);
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (raw, _) = read_parquet(&out.join("transcriptome/raw.parquet"));
    let (cpm, meta) = read_parquet(&out.join("transcriptome/normalised.parquet"));
    assert!(meta["harmonomics.params"].contains("\"filter_by_expr\":true"));
    let samples: Vec<String> = raw.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let columns: Vec<Vec<f64>> =
        samples.iter().map(|s| u64s(&raw, s).iter().map(|v| v.expect("c") as f64).collect()).collect();
    // Independent filterByExpr: groups are timepoints (smallest: 7 month-12 samples).
    let libs: Vec<f64> = columns.iter().map(|c| c.iter().sum()).collect();
    let mut sorted = libs.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(sorted.len() % 2, 1);
    let median = sorted[sorted.len() / 2]; // 39 samples: the 20th
    let cutoff = 10.0 / median * 1e6;
    let n_genes = columns[0].len();
    let keep: Vec<bool> = (0..n_genes)
        .map(|i| {
            let reaching = columns.iter().zip(&libs).filter(|(c, l)| c[i] / **l * 1e6 >= cutoff).count();
            let total: f64 = columns.iter().map(|c| c[i]).sum();
            reaching >= 7 && total >= 15.0
        })
        .collect();
    assert!(keep.iter().any(|k| !k) && keep.iter().any(|k| *k), "the fixture has genes on both sides of the filter");
    for s in &samples {
        let v = f64s(&cpm, s);
        for (i, k) in keep.iter().enumerate() {
            assert_eq!(v[i].is_some(), *k, "{s} gene {i}");
        }
        let total: f64 = v.iter().flatten().sum();
        assert!((total - 1e6).abs() < 1e-6, "CPM of the kept genes sums to a million: {total}");
    }
}

#[test]
fn non_integer_counts_are_refused_by_deseq2_methods_unless_rounded() {
    let dir = Workdir::new();
    let text = "gene,a,b,c\ng1,10,20.5,30\ng2,5,6,7\ng3,100,120,90\n";
    let counts = dir.write("estimated.csv", text);
    let out = dir.join("out.parquet");
    for method in ["deseq2", "deseq2_poscounts", "vst"] {
        let o = normalise(&["--counts", arg(&counts), "--method", method, "-o", arg(&out)]);
        assert!(!o.status.success(), "{method} accepted a non-integer count");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("estimated.csv") && e.contains("sample \"b\", feature \"g1\": the count 20.5"), "{e}");
        assert!(e.contains("--round"), "{e}");
        assert!(!out.exists(), "{method}: a refused run left an output");
    }
    // edgeR's methods take estimated counts as they are.
    let o = normalise(&["--counts", arg(&counts), "--method", "tmm", "-o", arg(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // --round: R's round() (half to even: 20.5 -> 20), counted in the metadata and on stderr.
    let o = normalise(&["--counts", arg(&counts), "--method", "deseq2", "--round", "-o", arg(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 non-integer counts rounded"));
    let (_, kv) = read_parquet(&out);
    let params = kv.iter().find(|(k, _)| k.ends_with("params")).map(|(_, v)| v.clone()).expect("params");
    assert!(params.contains("\"rounded_counts\":1"), "{params}");
    let integral = dir.write("integral.csv", &text.replace("20.5", "20"));
    let same = dir.join("same.parquet");
    let o = normalise(&["--counts", arg(&integral), "--method", "deseq2", "-o", arg(&same)]);
    assert!(o.status.success());
    let (a, _) = read_parquet(&out);
    let (b, _) = read_parquet(&same);
    assert_eq!(a.columns(), b.columns(), "rounding 20.5 gives the matrix of 20");
}

#[test]
fn unknown_control_genes_and_a_samples_table_without_the_group_are_errors() {
    let dir = Workdir::new();
    let counts = matrix(&dir, "c.tsv", &["a", "b", "c", "d"], &rows());
    let out = dir.join("out.parquet");
    let controls = dir.write("controls.txt", "g2\ng404\n");
    let o = normalise(&[
        "--counts",
        arg(&counts),
        "--method",
        "deseq2",
        "--control-genes",
        arg(&controls),
        "-o",
        arg(&out),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("control gene \"g404\" is not a feature"));
    let samples = dir.write("samples.csv", "sample_id,group\na,x\nb,x\nc,y\n");
    let o = normalise(&[
        "--counts",
        arg(&counts),
        "--method",
        "cpm",
        "--filter-by-expr",
        "--filter-group",
        "group",
        "--samples",
        arg(&samples),
        "-o",
        arg(&out),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sample \"d\" of the count matrix is not in the samples table")
    );
    assert!(!out.exists());
}

/// `normalise transcriptome --method vst --design DESIGN --samples TABLE`.
fn vst_with_design(
    counts: &std::path::Path,
    design: &str,
    table: &std::path::Path,
    out: &std::path::Path,
) -> std::process::Output {
    normalise(&[
        "--counts",
        arg(counts),
        "--method",
        "vst",
        "--design",
        design,
        "--samples",
        arg(table),
        "-o",
        arg(out),
    ])
}

#[test]
fn a_run_with_vst_design_equals_the_single_matrix_command_with_that_design() {
    // vst_design = "timepoint" (group means) or "site + timepoint" (the NB GLM's means) in the
    // cohort gives the same VST as `normalise transcriptome --design ... --samples
    // samplesheet.csv` on the run's own raw counts (which concordance_r.rs compares with R), and
    // it is not the blind VST.
    let dir = Workdir::new();
    let samplesheet = repo().join("test-data/cohort/samplesheet.csv");
    let mut blind_vst = None;
    for (k, design) in ["timepoint", "site + timepoint"].into_iter().enumerate() {
        let text = portable_fixture_config(true)
            .replace("prior_count = 2", &format!("prior_count = 2\nvst_design = \"{design}\""))
            .replace("methods = [\"vst\", \"cpm\", \"log2cpm\", \"deseq2\", \"tmm\"]", "methods = [\"vst\"]");
        let config = dir.write(&format!("cohort{k}.toml"), &text);
        let out = dir.join(&format!("out{k}"));
        let o = run_cohort(&config, &out, &["--quiet"]);
        assert!(o.status.success(), "{design}: {}", String::from_utf8_lossy(&o.stderr));
        let (run_vst, meta) = read_parquet(&out.join("transcriptome/normalised.parquet"));
        assert!(
            meta["harmonomics.params"].contains(&format!("\"vst_design\":\"{design}\"")),
            "{}",
            meta["harmonomics.params"]
        );
        let raw = out.join("transcriptome/raw.parquet");
        let designed = dir.join(&format!("designed{k}.parquet"));
        let o = vst_with_design(&raw, design, &samplesheet, &designed);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let blind = blind_vst.get_or_insert_with(|| {
            let blind = dir.join("blind.parquet");
            let o = normalise(&["--counts", arg(&raw), "--method", "vst", "-o", arg(&blind)]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            read_parquet(&blind).0
        });
        let (designed, _) = read_parquet(&designed);
        assert_eq!(run_vst.columns(), designed.columns(), "{design}: the run and the command agree");
        assert_ne!(designed.columns(), blind.columns(), "{design}: the design changes the trend");
    }
    // A design whose factors cannot be told apart is refused, naming why.
    let raw = dir.join("out0/transcriptome/raw.parquet");
    let table = dir.write(
        "confounded.csv",
        &std::fs::read_to_string(&samplesheet)
            .expect("samplesheet")
            .lines()
            .enumerate()
            .map(|(i, line)| {
                if i == 0 { format!("{line},copy") } else { format!("{line},{}", line.split(',').nth(6).unwrap_or("")) }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let o = vst_with_design(&raw, "site + copy", &table, &dir.join("refused.parquet"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not of full rank"), "{}", String::from_utf8_lossy(&o.stderr));
}
