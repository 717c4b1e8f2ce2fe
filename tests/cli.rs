//! Command-line behaviour: exit codes, every problem reported with file and line, nothing
//! written on failure.

mod common;

use common::*;

/// A copy of the fixture cohort config in `dir`, pointing at `samplesheet.csv` there and at the
/// real fixture patients table and annotation.
/// The fixture config over `samplesheet`, keeping only the timepoints its rows use (a declared
/// timepoint without samples is an error of its own).
fn cohort_in(dir: &Workdir, samplesheet: &str) -> std::path::PathBuf {
    dir.write("samplesheet.csv", samplesheet);
    let column = samplesheet.lines().next().and_then(|h| h.split(',').position(|c| c == "timepoint"));
    let used: Vec<&str> = samplesheet.lines().skip(1).filter_map(|l| l.split(',').nth(column?)).collect();
    let mut config = String::new();
    let mut block: Option<String> = None;
    let keep_block = |block: String, config: &mut String| {
        if used.is_empty() || used.iter().any(|t| block.contains(&format!("name = \"{t}\""))) {
            config.push_str(&block);
        }
    };
    for line in portable_fixture_config(false).lines() {
        if line.starts_with('[') {
            if let Some(b) = block.take() {
                keep_block(b, &mut config);
            }
            if line == "[[timepoints]]" {
                block = Some(String::new());
            }
        }
        match block.as_mut() {
            Some(b) => b.push_str(&format!("{line}\n")),
            None => config.push_str(&format!("{line}\n")),
        }
    }
    if let Some(b) = block {
        keep_block(b, &mut config);
    }
    dir.write("cohort.toml", &config)
}

const HEADER: &str = "sample_id,patient_id,timepoint,layer,path,batch,site,collection_date,days_from_admission,sex\n";

fn bam(name: &str) -> String {
    repo().join("test-data/transcriptome/bam").join(name).display().to_string()
}

#[test]
fn a_samplesheet_with_many_mistakes_reports_each_with_its_line_and_writes_nothing() {
    let dir = Workdir::new();
    std::fs::write(dir.join("empty.bam"), b"").expect("empty file");
    let ok = bam("P01_day0.bam");
    let rows = [
        /* 2 */ format!("P01_day0,P01,day0,transcriptome,{ok},seq1,nijmegen,2024-01-09,,F"),
        /* 3 duplicate sample id */ format!("P01_day0,P01,day3,transcriptome,{ok},seq1,nijmegen,2024-01-10,,F"),
        /* 4 missing file */
        "P01_discharge,P01,discharge,transcriptome,missing.bam,seq1,nijmegen,2024-02-05,,F".to_string(),
        /* 5 unknown timepoint */ format!("P01_day7,P01,day7,transcriptome,{ok},seq1,nijmegen,2024-01-15,,F"),
        /* 6 unknown layer */ format!("P01_prot,P01,month3,proteome,{ok},seq1,nijmegen,2024-05-01,,F"),
        /* 7 same patient, layer and timepoint as line 2 */
        format!("P01_day0b,P01,day0,transcriptome,{ok},seq1,nijmegen,2024-01-09,,F"),
        /* 8 bad date */ format!("P02_day0,P02,day0,transcriptome,{ok},seq1,nijmegen,2024-02-30,,M"),
        /* 9 empty input file */
        "P02_day3,P02,day3,transcriptome,empty.bam,seq1,nijmegen,2024-01-29,,M".to_string(),
        /* 10 non-numeric days */ format!("P03_day0,P03,day0,transcriptome,{ok},seq2,athens,,one,M"),
        /* 11 empty patient id */ format!("P03_day3,,day3,transcriptome,{ok},seq2,athens,,3,M"),
        /* 12 wrong number of fields */ format!("P03_discharge,P03,discharge,transcriptome,{ok},seq2"),
        /* 13 patient not in the patients table */
        format!("P99_day0,P99,day0,transcriptome,{ok},seq2,athens,,0,M"),
        /* 14 another unknown layer */ format!("P04_day0,P04,day0,lipidome,{ok},seq2,athens,,0,M"),
        /* 15 a sample id that would escape the output directory */
        format!("../P04_day3,P04,day3,transcriptome,{ok},seq2,athens,,3,F"),
    ];
    let config = cohort_in(&dir, &format!("{HEADER}{}\n", rows.join("\n")));
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!out.exists(), "nothing may be written under --out when validation fails");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.trim_start().starts_with("error:")).collect();
    let expect = [
        (3, "duplicate sample_id"),
        (4, "does not exist"),
        (5, "unknown timepoint \"day7\""),
        (6, "unknown layer \"proteome\""),
        (7, "has two transcriptome samples at timepoint \"day0\""),
        (8, "bad date \"2024-02-30\""),
        (9, "is empty"),
        (10, "expected a number of days"),
        (11, "empty patient_id"),
        (12, "expected 10 fields"),
        (13, "patient \"P99\" is not in"),
        (14, "unknown layer \"lipidome\""),
        (15, "must use only letters, digits"),
    ];
    assert_eq!(errors.len(), expect.len(), "one message per problem:\n{stderr}");
    for (line, what) in expect {
        let tag = format!("samplesheet.csv:{line}");
        assert!(
            errors.iter().any(|e| e.contains(&tag) && e.contains(what)),
            "no error naming {tag} with {what:?}:\n{stderr}"
        );
    }

    // `validate` reports the same problems with the same exit code.
    let v = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(v.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&v.stderr).lines().filter(|l| l.trim_start().starts_with("error:")).count(),
        expect.len()
    );
}

#[test]
fn missing_required_columns_and_empty_samplesheets_are_usage_errors() {
    let dir = Workdir::new();
    let config = cohort_in(&dir, "sample_id,patient_id,layer\nA,P01,transcriptome\n");
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("samplesheet.csv:1") && stderr.contains("\"timepoint\", \"path\""), "{stderr}");

    let config = cohort_in(&dir, HEADER);
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has a header but no samples"));

    // An empty samplesheet is one error, at the config that names it.
    let config = cohort_in(&dir, "");
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("cohort.toml: samplesheet file") && e.contains("samplesheet.csv is empty"), "{e}");
    assert!(e.contains("(1 problem)"), "{e}");
}

#[test]
fn a_broken_config_names_its_line_and_unknown_keys_are_rejected() {
    let dir = Workdir::new();
    let config = dir.write(
        "cohort.toml",
        "samplesheet = \"s.csv\"\n[study]\nname = \"x\"\n[[timepoints]]\nname = \"day0\"\norder = \"first\"\n",
    );
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr.contains("cohort.toml:6"), "{stderr}");

    let text = std::fs::read_to_string(fixture_config()).expect("config").replace("strandedness = 0", "stranded = 0");
    let config = dir.write("typo.toml", &text);
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr.contains("unknown field `stranded`"), "{stderr}");

    let o = harmonomics(&["validate", "--config", dir.join("nope.toml").to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.toml"));
}

#[test]
fn a_sample_outside_its_window_is_a_warning_not_an_error() {
    let dir = Workdir::new();
    let ok = bam("P06_month3.bam");
    // P06 was discharged 2024-04-22; month 3 is nominally 2024-07-21 ± 14 days.
    let config =
        cohort_in(&dir, &format!("{HEADER}P06_month3,P06,month3,transcriptome,{ok},seq1,nijmegen,2024-08-12,,F\n"));
    let o = harmonomics(&["validate", "--config", config.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("samplesheet.csv:2") && stderr.contains("+22 days"),
        "{stderr}"
    );
}

#[test]
fn quant_rna_errors_name_the_file_and_exit_1() {
    let dir = Workdir::new();
    let saf = repo().join("test-data/annotation/hg38_refseq_fixture.saf");
    let out = dir.join("x.parquet");
    let quant = |bam: &str, annotation: &std::path::Path| {
        let annotation = annotation.to_str().expect("utf-8");
        let o = harmonomics(&["quant", "rna", "--bam", bam, "-a", annotation, "--out", out.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!out.exists(), "no output may appear when counting fails");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };

    assert!(quant("/nonexistent/a.bam", &saf).contains("/nonexistent/a.bam"));

    // A truncated BAM: the error names the file.
    let bytes = std::fs::read(bam("P01_day0.bam")).expect("bam");
    let cut = dir.join("cut.bam");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    assert!(quant(cut.to_str().expect("utf-8"), &saf).contains("cut.bam"));

    // Contig names that match nothing in the annotation.
    let renamed = dir.write("renamed.saf", &std::fs::read_to_string(&saf).expect("saf").replace("\tchr", "\tcontig"));
    let stderr = quant(&bam("P01_day0.bam"), &renamed);
    assert!(
        stderr.contains("none of the alignment file's reference names match")
            && stderr.contains("chr1")
            && stderr.contains("BAM:"),
        "{stderr}"
    );

    // A malformed annotation line.
    let bad = dir.write("bad.saf", "GeneID\tChr\tStart\tEnd\tStrand\ng1\tchr1\t100\t50\t+\n");
    let stderr = quant(&bam("P01_day0.bam"), &bad);
    assert!(stderr.contains("bad.saf:2") && stderr.contains("End 50 is before Start 100"), "{stderr}");
}

#[test]
fn version_and_usage_errors() {
    let o = harmonomics(&["--version"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("harmonomics {}", env!("CARGO_PKG_VERSION")));
    let o = harmonomics(&["quant", "rna", "--strandedness", "3"]);
    assert_eq!(o.status.code(), Some(2));
    let o = harmonomics(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn runs_are_quiet_when_asked_and_say_where_outputs_are_otherwise() {
    let dir = Workdir::new();
    let out = dir.join("o");
    let o = run_cohort(&fixture_config(), &out, &[]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains(out.to_str().expect("utf-8")));
    // stderr is not a terminal here: no progress bar escape codes, only plain lines.
    assert!(!String::from_utf8_lossy(&o.stderr).contains('\u{1b}'));
    let o = run_cohort(&fixture_config(), &out, &["--quiet"]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
}

#[test]
fn a_run_in_a_log_says_when_each_stage_starts_and_ends_and_keeps_a_heartbeat() {
    let dir = Workdir::new();
    let out = dir.join("o");
    let (config, out_text) = (fixture_config(), out.to_str().expect("utf-8").to_string());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_harmonomics"))
        .args(["run", "--config", config.to_str().expect("utf-8"), "--out", &out_text])
        .env("HARMONOMICS_HEARTBEAT_SECONDS", "0.001")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("json");
    // Every stage of the manifest started and ended in the log, the end with its counts.
    for stage in manifest["stages"].as_array().expect("stages") {
        let name = stage["name"].as_str().expect("name");
        assert!(stderr.contains(&format!("harmonomics: {name}: started\n")), "{name}: {stderr}");
        assert!(stderr.contains(&format!("harmonomics: {name}: done in ")), "{name}: {stderr}");
    }
    assert!(stderr.contains("quantify: done in") && stderr.contains("(alignments 276927, assigned"), "{stderr}");
    // Inside the per-sample stages, the heartbeat carries how many of the 39 samples are done.
    assert!(stderr.lines().any(|l| l.contains("/39 done, ")), "{stderr}");
}

#[test]
fn a_failed_rerun_leaves_no_manifest_vouching_for_the_directory() {
    let dir = Workdir::new();
    let out = dir.join("out");
    run_fixture(&out, "2");
    assert!(out.join("manifest.json").exists());
    let bytes = std::fs::read(bam("P01_day0.bam")).expect("bam");
    std::fs::write(dir.join("cut.bam"), &bytes[..bytes.len() / 3]).expect("write");
    let config =
        cohort_in(&dir, &format!("{HEADER}P01_day0,P01,day0,transcriptome,cut.bam,seq1,nijmegen,2024-01-09,,F\n"));
    let o = run_cohort(&config, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut.bam"));
    assert!(!out.join("manifest.json").exists(), "the old manifest must not survive a failed run");
    let leftovers: Vec<_> = std::fs::read_dir(out.join("transcriptome/samples"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn the_readme_documents_every_flag_of_every_subcommand() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    for command in [
        &["run"][..],
        &["validate"],
        &["quant", "rna"],
        &["quant", "methylation"],
        &["import"],
        &["normalise", "transcriptome"],
        &["normalise", "metabolome"],
        &["harmonise"],
        &["quant", "sample"],
        &["normalise", "layer"],
    ] {
        let o = harmonomics(&[command, &["--help"]].concat());
        assert!(o.status.success());
        let help = String::from_utf8_lossy(&o.stdout);
        for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=') {
            let flag = word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            if flag.starts_with("--") && flag.len() > 3 && !["--help", "--version"].contains(&flag) {
                assert!(
                    readme.contains(flag),
                    "README.md does not mention {flag} of `harmonomics {}`",
                    command.join(" ")
                );
            }
        }
    }
}
