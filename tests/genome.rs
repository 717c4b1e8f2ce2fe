//! The genome layer in the cohort: time-invariant rows (one per patient, no timepoint), one
//! multi-sample VCF, the variant filters, the planted sex mislabel, and the validator's refusals.

mod common;

use std::path::PathBuf;

use common::*;

/// The fixture's config and a copy of its samplesheet (paths absolute) after `edit` maps its lines.
fn cohort(dir: &Workdir, edit: impl Fn(&str) -> Option<String>, extra_toml: &str) -> PathBuf {
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    let base = repo().join("test-data/cohort");
    let rows: String = sheet
        .lines()
        .filter_map(|l| edit(&l.replace(",../", &format!(",{}/../", base.display()))))
        .map(|l| format!("{l}\n"))
        .collect();
    dir.write("samplesheet.csv", &rows);
    dir.write("cohort.toml", &format!("{}\n{extra_toml}", portable_fixture_config(false)))
}

#[test]
fn the_genome_is_read_once_per_patient_filtered_and_its_sex_checked() {
    let run = fixture_run();
    let dir = run.out.join("genome");
    let (features, meta) = read_parquet(&dir.join("features.parquet"));
    assert_eq!(meta.get("harmonomics.layer").map(String::as_str), Some("genome"));
    let (kept, removed) = (strings(&features, "removed_by"), features.num_rows());
    assert_eq!(removed, 361, "every biallelic record of the VCF");
    let count = |why: Option<&str>| kept.iter().filter(|r| r.as_deref() == why).count();
    // With 8 patients one missing call is a 12.5% missing rate (> 0.05); a variant no patient
    // carries has MAF 0.
    assert_eq!((count(None), count(Some("missing")), count(Some("maf")), count(Some("hwe"))), (274, 64, 23, 0));
    let (normalised, _) = read_parquet(&dir.join("normalised.parquet"));
    assert_eq!(normalised.num_rows(), 274);
    let names: Vec<String> = normalised.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    assert_eq!(names, (1..=8).map(|p| format!("P{p:02}_germline")).collect::<Vec<_>>());

    // The sex check calls every patient's genetic sex and warns only for the planted mislabel.
    let (qc, _) = read_parquet(&dir.join("qc.parquet"));
    let (truth_header, truth) = read_tsv(&repo().join("test-data/cohort/truth/genome_sex.tsv"));
    assert_eq!(truth_header, ["patient_id", "sample_id", "recorded_sex", "genetic_sex"]);
    let inferred = strings(&qc, "inferred_sex");
    for (row, called) in truth.iter().zip(&inferred) {
        let expected = if row[3] == "M" { "male" } else { "female" };
        assert_eq!(called.as_deref(), Some(expected), "{}", row[1]);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.out.join("manifest.json")).expect("manifest")).expect("json");
    let stage =
        manifest["stages"].as_array().expect("stages").iter().find(|s| s["name"] == "process_genome").expect("stage");
    let warnings: Vec<&str> =
        stage["warnings"].as_array().expect("warnings").iter().filter_map(|w| w.as_str()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("P03_germline")
            && warnings[0].contains("recorded male")
            && warnings[0].contains("chrX says female")
    );
    assert_eq!(stage["counts"]["kept"], 274);
}

#[test]
fn genome_rows_without_a_timepoint_are_valid_and_a_second_one_per_patient_is_not() {
    let dir = Workdir::new();
    // A genome row may also name a timepoint (the draw the DNA came from).
    let config = cohort(&dir, |l| Some(l.replace("P01_germline,P01,,genome", "P01_germline,P01,day0,genome")), "");
    let o = harmonomics(&["validate", "-c", arg(&config)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let config = cohort(
        &dir,
        |l| {
            if l.starts_with("P02_germline") {
                Some(format!("{l}\n{}", l.replace("P02_germline", "P02_germline_b")))
            } else {
                Some(l.to_string())
            }
        },
        "",
    );
    let o = harmonomics(&["validate", "-c", arg(&config)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("samplesheet.csv:160")
            && e.contains("patient \"P02\" has two genome samples (the other on line 159)"),
        "{e}"
    );

    // Other layers still need their timepoint.
    let config =
        cohort(&dir, |l| Some(l.replace("P01_day3,P01,day3,transcriptome", "P01_day3,P01,,transcriptome")), "");
    let o = harmonomics(&["validate", "-c", arg(&config)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("samplesheet.csv:3 (column \"timepoint\"): empty timepoint"), "{e}");
}

#[test]
fn a_vcf_without_the_sample_two_vcfs_and_a_corrected_genome_are_refused_before_any_work() {
    let dir = Workdir::new();
    let config = cohort(&dir, |l| Some(l.replace("P04_germline,P04,", "P04_dna,P04,")), "");
    let o = harmonomics(&["validate", "-c", arg(&config)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("samplesheet.csv:161") && e.contains("has no sample \"P04_dna\""), "{e}");

    let other = dir.join("other.vcf");
    std::fs::copy(repo().join("test-data/genome/genotypes.vcf"), &other).expect("copy");
    let config = cohort(
        &dir,
        |l| {
            if l.starts_with("P05_germline") {
                let (head, _) = l.split_once(",genome,").expect("genome row");
                let rest = l.split_once("genotypes.vcf").expect("vcf").1;
                Some(format!("{head},genome,{}{rest}", other.display()))
            } else {
                Some(l.to_string())
            }
        },
        "",
    );
    let o = harmonomics(&["validate", "-c", arg(&config)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("samplesheet.csv:162") && e.contains("bcftools merge"), "{e}");

    let config = cohort(&dir, |l| Some(l.to_string()), "");
    let text = std::fs::read_to_string(&config).expect("config");
    let corrected = if text.contains("[batch_correction]") {
        text.replacen("[batch_correction]", "[batch_correction]\nlayers = [\"transcriptome\", \"genome\"]", 1)
    } else {
        format!("{text}\n[batch_correction]\nmethod = \"combat\"\nlayers = [\"transcriptome\", \"genome\"]\n")
    };
    std::fs::write(&config, corrected).expect("write");
    let o = harmonomics(&["validate", "-c", arg(&config)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("genotypes are not batch-corrected"), "{e}");
}

#[test]
fn ancestry_components_reach_every_sample_of_their_patient() {
    let run = fixture_run();
    let (ancestry, meta) = read_parquet(&run.out.join("genome/ancestry.parquet"));
    // 8 patients: at most 7 components; the variants they come from are listed.
    assert_eq!(ancestry.num_rows(), 8);
    assert_eq!(ancestry.num_columns(), 1 + 7);
    let kept: usize = meta["harmonomics.ancestry.variants_kept"].parse().expect("kept");
    assert_eq!(meta["harmonomics.ancestry.variants"].split(',').count(), kept);
    assert!(kept > 50 && kept <= 183, "{kept}");
    let eigenvalues: Vec<f64> =
        meta["harmonomics.ancestry.eigenvalues"].split(',').map(|v| v.parse().expect("number")).collect();
    assert!(eigenvalues.windows(2).all(|w| w[0] >= w[1]), "{eigenvalues:?}");
    // Each PC is a unit vector.
    for k in 1..=7 {
        let pc = f64s(&ancestry, &format!("pc{k}"));
        let norm: f64 = pc.iter().map(|v| v.expect("value").powi(2)).sum();
        assert!((norm - 1.0).abs() < 1e-9, "pc{k}: {norm}");
    }
    let (samples, _) = read_parquet(&run.out.join("samples.parquet"));
    let (genome_ids, genome_pc1) = (strings(&ancestry, "sample_id"), f64s(&ancestry, "pc1"));
    let (patients, pc1) = (strings(&samples, "patient_id"), f64s(&samples, "genetic_pc1"));
    for (p, v) in patients.iter().zip(&pc1) {
        let p = p.as_deref().expect("patient");
        let k = genome_ids.iter().position(|g| g.as_deref() == Some(&format!("{p}_germline"))).expect("genome");
        assert_eq!(*v, genome_pc1[k], "{p}");
    }
}
