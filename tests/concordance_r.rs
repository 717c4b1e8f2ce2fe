//! Live concordance with R, the reference the papers cite: Debian's DESeq2 1.38 (`r-bioc-deseq2`),
//! installed by `.ci/run`. Ignored by default because it needs `Rscript` with the packages
//! (`HARMONOMICS_RSCRIPT` overrides the command).
//!
//! Data: real pasilla counts (`test-data/real/pasilla`, Bioconductor's pasilla), real GTEx lung
//! counts (rnanorm's bundled matrix, through `tests/python/reference_normalise.py`), the fixture
//! cohort's raw counts, and negative-binomial counts R draws itself (a third of the genes
//! Poisson, so their gene-wise dispersions sit at the lower bound DESeq2 keeps out of the trend).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn rscript() -> String {
    std::env::var("HARMONOMICS_RSCRIPT").unwrap_or_else(|_| "Rscript".into())
}

/// Runs `tests/r/<script>` with `args` (and `env`), asserting success.
fn r(script: &str, args: &[&str], env: &[(&str, &str)]) {
    let o = Command::new(rscript())
        .arg(repo().join("tests/r").join(script))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("Rscript with DESeq2 (set HARMONOMICS_RSCRIPT)");
    assert!(o.status.success(), "{script}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A reference table: feature id → row of values, and the sample names.
fn read_reference(path: &Path) -> (Vec<String>, HashMap<String, Vec<f64>>) {
    let (header, rows) = read_tsv(path);
    let values =
        rows.into_iter().map(|r| (r[0].clone(), r[1..].iter().map(|v| v.parse().expect("number")).collect())).collect();
    (header[1..].to_vec(), values)
}

/// The largest absolute difference between our matrix and R's, asserting every cell is present.
fn max_difference(ours: &Path, reference: &Path) -> f64 {
    let (batch, _) = read_parquet(ours);
    let (samples, rows) = read_reference(reference);
    let ids = strings(&batch, "feature_id");
    assert_eq!(ids.len(), rows.len(), "{}: gene count", ours.display());
    let mut worst = 0.0f64;
    for (j, sample) in samples.iter().enumerate() {
        let column = f64s(&batch, sample);
        for (i, id) in ids.iter().enumerate() {
            let id = id.as_deref().expect("id");
            let expected = rows[id][j];
            let got = column[i].unwrap_or_else(|| panic!("{}: {id} {sample} is null", ours.display()));
            worst = worst.max((got - expected).abs());
        }
    }
    worst
}

/// Our VST of `counts` with `extra` options, against R's table `reference`.
fn assert_vst(dir: &Workdir, name: &str, counts: &Path, extra: &[&str], reference: &Path, tolerance: f64) {
    let out = dir.join(&format!("{name}.parquet"));
    let args =
        [&["normalise", "transcriptome", "--counts", arg(counts), "--method", "vst", "-o", arg(&out)], extra].concat();
    let o = harmonomics(&args);
    assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    let worst = max_difference(&out, reference);
    eprintln!("{name}: max |ours - R| = {worst:e}");
    assert!(worst <= tolerance, "{name}: max difference {worst} > {tolerance}");
}

/// The fixture's raw counts as a TSV.
fn fixture_counts(dir: &Workdir) -> PathBuf {
    let out = dir.join("run");
    run_fixture(&out, "2");
    let (batch, _) = read_parquet(&out.join("transcriptome/raw.parquet"));
    let samples: Vec<String> = batch.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let columns: Vec<Vec<Option<u64>>> = samples.iter().map(|s| u64s(&batch, s)).collect();
    let mut tsv = format!("feature_id\t{}\n", samples.join("\t"));
    for (i, id) in strings(&batch, "feature_id").iter().enumerate() {
        tsv.push_str(id.as_deref().expect("id"));
        for c in &columns {
            tsv.push_str(&format!("\t{}", c[i].expect("count")));
        }
        tsv.push('\n');
    }
    dir.write("fixture_counts.tsv", &tsv)
}

#[test]
#[ignore = "needs R with DESeq2 (Debian r-bioc-deseq2) and the Python venv for GTEx; .ci/run installs them"]
fn vst_matches_r_deseq2_on_real_synthetic_and_fixture_counts() {
    let dir = Workdir::new();
    let pasilla =
        dir.write("pasilla.tsv", &gunzip_text(&repo().join("test-data/real/pasilla/pasilla_gene_counts.tsv.gz")));
    let gtex_dir = dir.join("gtex");
    let o = Command::new(reference_python())
        .arg(repo().join("tests/python/reference_normalise.py"))
        .arg(&gtex_dir)
        .output()
        .expect("python with rnanorm (set HARMONOMICS_PYTHON)");
    assert!(o.status.success(), "GTEx counts: {}", String::from_utf8_lossy(&o.stderr));
    let synthetic = dir.join("synthetic.tsv");
    r("reference_deseq2.R", &["--synthetic", "3000", "30", "7", arg(&synthetic)], &[]);
    let fixture = fixture_counts(&dir);
    // nsub: R's default where the data have 1,000 genes above a mean of 5; fewer on the small sets.
    let sets = [
        ("pasilla", pasilla, "1000"),
        ("gtex", gtex_dir.join("counts.tsv"), "100"),
        ("synthetic", synthetic, "1000"),
        ("fixture", fixture, "100"),
    ];
    // blind = FALSE with a one-factor design (pasilla's condition, the fixture's timepoint: group
    // means) and with two factors (pasilla's library type + condition, as in DESeq2's vignette;
    // the fixture's site + timepoint: the NB GLM's means).
    let pasilla_samples = dir.write(
        "pasilla_samples.csv",
        "sample_id,condition,type\nuntreated1,untreated,single\nuntreated2,untreated,single\n\
         untreated3,untreated,paired\nuntreated4,untreated,paired\ntreated1,treated,single\ntreated2,treated,paired\n\
         treated3,treated,paired\n",
    );
    let samplesheet = repo().join("test-data/cohort/samplesheet.csv");
    let designs: HashMap<&str, (&Path, [&str; 2])> = [
        ("pasilla", (pasilla_samples.as_path(), ["condition", "type+condition"])),
        ("fixture", (samplesheet.as_path(), ["timepoint", "site+timepoint"])),
    ]
    .into_iter()
    .collect();
    let mut fallbacks = 0;
    for (name, counts, nsub) in &sets {
        let reference = dir.join(&format!("r-{name}"));
        let mut r_args = vec![arg(counts), arg(&reference)];
        if let Some((table, formulas)) = designs.get(name) {
            r_args.push(arg(table));
            r_args.extend(formulas);
        }
        r("reference_deseq2.R", &r_args, &[("NSUB", nsub)]);
        let (_, trends) = read_tsv(&reference.join("trend.tsv"));
        let fit_type = |what: &str| trends.iter().find(|t| t[0] == what).map(|t| t[1].clone()).expect("trend row");
        for (table, formula) in designs.get(name).iter().flat_map(|(t, f)| f.iter().map(move |f| (t, *f))) {
            let key = format!("design_{}", formula.replace('+', "_"));
            let extra = ["--design", formula, "--samples", arg(table)];
            let mean = [&extra[..], &["--fit-type", "mean"]].concat();
            let label = format!("{name}-design-{formula}");
            assert_vst(
                &dir,
                &format!("{label}-mean"),
                counts,
                &mean,
                &reference.join(format!("vst_{key}_mean.tsv")),
                1e-6,
            );
            let expected = reference.join(format!("vst_{key}.tsv"));
            assert_vst(&dir, &label, counts, &extra, &expected, 1e-6);
            if fit_type(&key) != "parametric" {
                // R substituted locfit for the failed parametric fit: so must we, and say so.
                assert_substitutes_local(&dir, &label);
                fallbacks += 1;
            }
        }
        // Stated tolerance 1e-6 on the log2 scale; we reach about 1e-10 (R's own rounding).
        assert_vst(&dir, name, counts, &[], &reference.join("vst.tsv"), 1e-6);
        assert_vst(
            &dir,
            &format!("{name}-mean"),
            counts,
            &["--fit-type", "mean"],
            &reference.join("vst_mean.tsv"),
            1e-6,
        );
        // fitType = "local": R's locfit, ported (tree of local quadratic fits, Hermite
        // interpolation) and the VST's numerical integration through an FMM spline.
        assert_vst(
            &dir,
            &format!("{name}-local"),
            counts,
            &["--fit-type", "local"],
            &reference.join("vst_local.tsv"),
            1e-6,
        );
        assert_eq!(fit_type("vst"), "parametric", "{name}: R's trend on every gene");
        assert_vst(&dir, &format!("{name}-nsub"), counts, &["--nsub", nsub], &reference.join("vst_nsub.tsv"), 1e-6);
        if fit_type("vst_nsub") != "parametric" {
            assert_substitutes_local(&dir, &format!("{name}-nsub"));
            fallbacks += 1;
        }
    }
    // R substitutes locfit on the fixture's 100-gene subset and with its site + timepoint design.
    assert_eq!(fallbacks, 2, "R substitutes locfit on the fixture's 100-gene subset and site + timepoint design only");
}

/// The output `name` of [`assert_vst`] where R's parametric fit failed and R substituted locfit:
/// the matrix's metadata must record the local trend and the warning.
fn assert_substitutes_local(dir: &Workdir, name: &str) {
    let (_, kv) = read_parquet(&dir.join(&format!("{name}.parquet")));
    let params = kv.iter().find(|(k, _)| k.ends_with("params")).map(|(_, v)| v.clone()).expect("params");
    assert!(params.contains("\"fit_type\":\"local\""), "{name}: {params}");
    assert!(
        params.contains("parametric fit failed") && params.contains("local regression fit was substituted"),
        "{name}: {params}"
    );
}

/// Runs `normalise transcriptome` with `args`, asserting success; the output path.
fn normalise(dir: &Workdir, name: &str, counts: &Path, args: &[&str]) -> PathBuf {
    let out = dir.join(&format!("{name}.parquet"));
    let o = harmonomics(&[&["normalise", "transcriptome", "--counts", arg(counts), "-o", arg(&out)], args].concat());
    assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The largest difference relative to R's value (absolute where R's is 0).
fn max_relative_difference(ours: &Path, reference: &Path) -> f64 {
    let (batch, _) = read_parquet(ours);
    let (samples, rows) = read_reference(reference);
    let ids = strings(&batch, "feature_id");
    let mut worst = 0.0f64;
    for (j, sample) in samples.iter().enumerate() {
        let column = f64s(&batch, sample);
        for (i, id) in ids.iter().enumerate() {
            let expected = rows[id.as_deref().expect("id")][j];
            let got = column[i].expect("value");
            let d = (got - expected).abs();
            worst = worst.max(if expected == 0.0 { d } else { d / expected.abs() });
        }
    }
    worst
}

/// A samples table, the column holding filterByExpr's groups and a design of its columns.
type Groups<'a> = Option<(&'a Path, &'a str, &'a str)>;

#[test]
#[ignore = "needs R with edgeR and DESeq2 (Debian r-bioc-edger, r-bioc-deseq2); .ci/run installs them"]
fn edger_methods_filter_and_control_genes_match_r_on_real_and_fixture_counts() {
    let dir = Workdir::new();
    let pasilla =
        dir.write("pasilla.tsv", &gunzip_text(&repo().join("test-data/real/pasilla/pasilla_gene_counts.tsv.gz")));
    // pasilla's design: the RNAi condition (treated/untreated) as filterByExpr's group, and
    // ~ type + condition as its design.
    let pasilla_samples = dir.write(
        "pasilla_samples.csv",
        "sample_id,condition,type\nuntreated1,untreated,single\nuntreated2,untreated,single\n\
         untreated3,untreated,paired\nuntreated4,untreated,paired\ntreated1,treated,single\ntreated2,treated,paired\n\
         treated3,treated,paired\n",
    );
    let synthetic = dir.join("synthetic.tsv");
    r("reference_deseq2.R", &["--synthetic", "2000", "12", "11", arg(&synthetic)], &[]);
    let fixture = fixture_counts(&dir);
    let samplesheet = repo().join("test-data/cohort/samplesheet.csv");
    let sets: [(&str, &Path, Groups); 3] = [
        ("pasilla", &pasilla, Some((&pasilla_samples, "condition", "type+condition"))),
        ("synthetic", &synthetic, None),
        ("fixture", &fixture, Some((&samplesheet, "timepoint", "site+timepoint"))),
    ];
    for (name, counts, groups) in sets {
        let reference = dir.join(&format!("edger-{name}"));
        let mut r_args = vec![arg(counts), arg(&reference)];
        if let Some((table, column, design)) = groups {
            r_args.extend([arg(table), column, design]);
        }
        r("reference_edger.R", &r_args, &[]);
        // Stated tolerance 1e-9 relative (we reach about 1e-14).
        for method in ["tmm", "tmmwsp", "uq", "log2cpm", "log2cpm_tmm"] {
            let ours = normalise(&dir, &format!("{name}-{method}"), counts, &["--method", method]);
            let worst = max_relative_difference(&ours, &reference.join(format!("{method}.tsv")));
            eprintln!("{name} {method}: max relative |ours - R| = {worst:e}");
            assert!(worst <= 1e-9, "{name} {method}: {worst}");
        }
        let controls = reference.join("controls.txt");
        let ours = normalise(
            &dir,
            &format!("{name}-controls"),
            counts,
            &["--method", "deseq2", "--control-genes", arg(&controls)],
        );
        let worst = max_relative_difference(&ours, &reference.join("deseq2_controls.tsv"));
        eprintln!("{name} deseq2 with controlGenes: max relative |ours - R| = {worst:e}");
        assert!(worst <= 1e-9, "{name} controlGenes: {worst}");
        // filterByExpr with the group, and with the design: the same genes kept (the others are
        // null rows).
        let mut filters = vec![("keep.tsv", vec!["--method", "cpm", "--filter-by-expr"])];
        if let Some((table, column, design)) = groups {
            filters[0].1.extend(["--filter-group", column, "--samples", arg(table)]);
            filters.push((
                "keep_design.tsv",
                vec!["--method", "cpm", "--filter-by-expr", "--filter-design", design, "--samples", arg(table)],
            ));
        }
        for (expected, filter_args) in filters {
            let ours = normalise(&dir, &format!("{name}-filter-{expected}"), counts, &filter_args);
            let (batch, _) = read_parquet(&ours);
            let (_, keep) = read_reference(&reference.join(expected));
            let first_sample = batch.schema().field(1).name().clone();
            let values = f64s(&batch, &first_sample);
            let ids = strings(&batch, "feature_id");
            let differ = ids
                .iter()
                .zip(&values)
                .filter(|(id, v)| (keep[id.as_deref().expect("id")][0] == 1.0) != v.is_some())
                .count();
            let kept = keep.values().filter(|k| k[0] == 1.0).count();
            eprintln!("{name} filterByExpr ({expected}): R keeps {kept} of {}, {differ} differ", keep.len());
            assert_eq!(differ, 0, "{name}: filterByExpr ({expected})");
            assert!(kept > 0 && kept < keep.len(), "{name}: the filter must keep some genes and drop others");
        }
        // R's own CSV and write.table files give the same matrix, byte for byte.
        let tsv =
            std::fs::read(normalise(&dir, &format!("{name}-tsv"), counts, &["--method", "deseq2"])).expect("ours");
        for file in ["counts.csv", "counts.txt"] {
            let other = normalise(&dir, &format!("{name}-{file}"), &reference.join(file), &["--method", "deseq2"]);
            assert_eq!(std::fs::read(other).expect("ours"), tsv, "{name}: {file} read differently from the TSV");
        }
    }
}
