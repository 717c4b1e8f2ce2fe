//! Sample identity across layers on the fixture: the RNA and bisulfite reads carry each
//! patient's alleles at the genome's SNVs, one RNA sample (`cohort/truth/identity.tsv`) carries
//! another patient's. The check must name exactly that sample and its real patient, and nothing
//! else; `strict` must fail the run on it. Reference-tool checks (samtools mpileup's allele
//! counts, bcftools gtcheck's discordance) are in `concordance_identity.rs`.

mod common;

use common::*;

#[test]
fn the_planted_swap_and_nothing_else_is_found() {
    let run = fixture_run();
    let (samples, meta) = read_parquet(&run.out.join("identity/samples.parquet"));
    assert!(meta.get("harmonomics.identity.sites").is_some_and(|s| s.ends_with("genotypes.vcf")), "{meta:?}");
    let (_, truth) = read_tsv(&repo().join("test-data/cohort/truth/identity.tsv"));
    assert_eq!(truth.len(), 1);
    let (swapped, swapped_layer, labelled, carrier) = (&truth[0][0], &truth[0][1], &truth[0][2], &truth[0][3]);

    let ids = strings(&samples, "sample_id");
    let layers = strings(&samples, "layer");
    let verdicts = strings(&samples, "verdict");
    let best = strings(&samples, "best_other_patient");
    let own = f64s(&samples, "own_patient_llr");
    let other = f64s(&samples, "best_other_llr");
    // 39 RNA, 39 bisulfite and 8 genome samples, each judged.
    assert_eq!(samples.num_rows(), 39 + 39 + 8);
    let mut problems = Vec::new();
    for k in 0..samples.num_rows() {
        let (id, layer, verdict) =
            (ids[k].as_deref().expect("id"), layers[k].as_deref().expect("layer"), verdicts[k].as_deref().expect("v"));
        if verdict != "match" {
            problems.push((id.to_string(), layer.to_string(), verdict.to_string(), best[k].clone()));
            continue;
        }
        // A match is decisive: its own patient's samples claim it, no other patient's do.
        let (o, b) = (own[k].expect("own"), other[k].expect("other"));
        assert!(o > 6.9 && b < o, "{id} ({layer}): own {o}, best other {b}");
    }
    assert_eq!(
        problems,
        [(swapped.clone(), swapped_layer.clone(), "swap".to_string(), Some(carrier.clone()))],
        "exactly the planted swap ({swapped} of {labelled} carries {carrier}'s alleles)"
    );

    // Pairwise: the swapped sample against both genomes, and every pair once.
    let (pairs, _) = read_parquet(&run.out.join("identity/pairs.parquet"));
    assert_eq!(pairs.num_rows(), 86 * 85 / 2);
    let (a, b, llr) = (strings(&pairs, "sample_a"), strings(&pairs, "sample_b"), f64s(&pairs, "llr"));
    let pair_llr = |x: &str, y: &str| {
        (0..pairs.num_rows())
            .find(|&k| {
                let (p, q) = (a[k].as_deref(), b[k].as_deref());
                (p == Some(x) && q == Some(y)) || (p == Some(y) && q == Some(x))
            })
            .and_then(|k| llr[k])
            .unwrap_or_else(|| panic!("no pair {x} {y}"))
    };
    assert!(pair_llr(swapped, &format!("{carrier}_germline")) > 6.9);
    assert!(pair_llr(swapped, &format!("{labelled}_germline")) < -6.9);
    // Between two genomes of different patients, somalier's relatedness is near 0; of one, 1.
    let rel = f64s(&pairs, "relatedness");
    let (la, lb) = (strings(&pairs, "layer_a"), strings(&pairs, "layer_b"));
    for k in 0..pairs.num_rows() {
        if la[k].as_deref() == Some("genome") && lb[k].as_deref() == Some("genome") {
            let r = rel[k].expect("relatedness between genomes");
            assert!(r < 0.5, "{:?} {:?}: {r}", a[k], b[k]);
        }
    }

    // One manifest warning, naming both patients.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.out.join("manifest.json")).expect("manifest")).expect("json");
    let stage = manifest["stages"].as_array().expect("stages").iter().find(|s| s["name"] == "identity").expect("stage");
    let warnings: Vec<&str> =
        stage["warnings"].as_array().expect("warnings").iter().filter_map(|w| w.as_str()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("sample {swapped} of patient {labelled} matches patient {carrier}")),
        "{}",
        warnings[0]
    );
    assert_eq!(stage["counts"]["verdicts"]["swap"], 1);
}

/// The fixture's config with `toml` appended and the samplesheet's paths made absolute.
fn cohort(dir: &Workdir, toml: &str) -> std::path::PathBuf {
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("sheet");
    let base = repo().join("test-data/cohort");
    dir.write("samplesheet.csv", &sheet.replace(",../", &format!(",{}/../", base.display())));
    dir.write("cohort.toml", &format!("{}\n{toml}", portable_fixture_config(false)))
}

#[test]
fn strict_identity_fails_the_run_after_writing_the_tables() {
    let dir = Workdir::new();
    let config = cohort(&dir, "[identity]\nstrict = true\n");
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &[]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("identity check failed (strict") && e.contains("P04_discharge"), "{e}");
    assert!(out.join("identity/samples.parquet").is_file());
    assert!(!out.join("manifest.json").exists(), "a failed run leaves no manifest");

    // The same from the command line, and from `validate --identity strict` without a run; a
    // bare `--identity` warns and succeeds.
    let config = fixture_config();
    let o = harmonomics(&["validate", "-c", arg(&config), "--identity", "strict", "-o", arg(&dir.join("v"))]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("v/identity/pairs.parquet").is_file());
    let o = harmonomics(&["validate", "-c", arg(&config), "--identity", "-o", arg(&dir.join("w"))]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("verdicts {\"match\":85,\"swap\":1}; 1 suspect"), "{stdout}");
    assert!(stderr.contains("P04_discharge of patient P04 matches patient P07"), "{stderr}");
    let o = run_cohort(&config, &dir.join("r"), &["--identity", "strict", "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_cohort(&config, &dir.join("off"), &["--identity", "off", "--quiet"]);
    assert!(o.status.success());
    assert!(!dir.join("off/identity").exists());
}

#[test]
fn bad_identity_options_and_missing_sites_are_named() {
    let dir = Workdir::new();
    let config = cohort(&dir, "[identity]\nerror_rate = 0.7\n");
    let o = run_cohort(&config, &dir.join("out"), &[]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("[identity]") && e.contains("error_rate must lie in (0, 0.5), got 0.7"), "{e}");

    let config = cohort(&dir, "[identity]\nsites = \"no/such/panel.vcf.gz\"\n");
    let o = run_cohort(&config, &dir.join("out2"), &[]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{e}");
    assert!(e.contains("panel.vcf.gz"), "{e}");
}
