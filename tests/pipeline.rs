//! `harmonomics run` on the fixture cohort: every output read back and checked against the
//! generator's planted truth (test-data/cohort/README.md).

mod common;

use std::collections::BTreeMap;

use common::*;

#[test]
fn raw_counts_equal_the_planted_reads_for_every_gene_and_sample() {
    let run = fixture_run();
    let (raw, kv) = read_parquet(&run.out.join("transcriptome/raw.parquet"));
    assert_eq!(kv.get("harmonomics.layer").map(String::as_str), Some("transcriptome"));
    let planted = planted_counts();
    let features = strings(&raw, "feature_id");
    assert_eq!(raw.num_columns(), 1 + planted.len(), "one column per sample");
    let mut checked = 0;
    for (sample, genes) in &planted {
        let column = u64s(&raw, sample);
        for (i, f) in features.iter().enumerate() {
            let f = f.as_deref().expect("feature id");
            assert_eq!(column[i], Some(genes[f]), "{sample} {f}");
            checked += 1;
        }
    }
    assert_eq!(checked, 238 * 39, "238 genes in the fixture annotation");

    // The per-sample scatter output carries the same numbers.
    let (one, meta) = read_parquet(&run.out.join("transcriptome/samples/P03_day3.parquet"));
    assert_eq!(strings(&one, "feature_id"), features);
    assert_eq!(u64s(&one, "count"), u64s(&raw, "P03_day3"));
    assert_eq!(meta.get("harmonomics.sample_id").map(String::as_str), Some("P03_day3"));
}

#[test]
fn qc_has_featurecounts_categories_matching_the_planted_noise() {
    let run = fixture_run();
    let (qc, _) = read_parquet(&run.out.join("transcriptome/qc.parquet"));
    let (header, rows) = read_tsv(&repo().join("test-data/cohort/truth/planted_summary.tsv"));
    let ids = strings(&qc, "sample_id");
    for row in rows {
        let i = ids.iter().position(|s| s.as_deref() == Some(row[0].as_str())).expect("sample in qc");
        for (j, name) in header.iter().enumerate().take(5).skip(1) {
            assert_eq!(u64s(&qc, name)[i], Some(row[j].parse().expect("n")), "{} {name}", row[0]);
        }
        let total = u64s(&qc, "total_alignments")[i].expect("total");
        let assigned = u64s(&qc, "Assigned")[i].expect("assigned");
        assert!((f64s(&qc, "assigned_fraction")[i].expect("fraction") - assigned as f64 / total as f64).abs() < 1e-15);
    }
    for zero in ["Unassigned_Ambiguity", "Unassigned_Secondary", "Unassigned_MappingQuality", "Unassigned_Duplicate"] {
        assert!(u64s(&qc, zero).iter().all(|v| *v == Some(0)), "{zero} must be 0 with default options");
    }
}

#[test]
fn samples_table_follows_the_samplesheet_and_the_protocol_windows() {
    let run = fixture_run();
    let (s, _) = read_parquet(&run.out.join("samples.parquet"));
    let sheet = std::fs::read_to_string(repo().join("test-data/cohort/samplesheet.csv")).expect("samplesheet");
    let rows: Vec<Vec<&str>> = sheet.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(s.num_rows(), rows.len());
    assert_eq!(strings(&s, "sample_id"), rows.iter().map(|r| Some(r[0].to_string())).collect::<Vec<_>>());
    let order: BTreeMap<&str, u32> = [("day0", 1), ("day3", 2), ("discharge", 3), ("month3", 4), ("month12", 5)].into();
    let tps = strings(&s, "timepoint");
    let tp_order = s
        .column_by_name("timepoint_order")
        .expect("order")
        .as_any()
        .downcast_ref::<arrow_array::UInt32Array>()
        .expect("u32")
        .clone();
    for (i, r) in rows.iter().enumerate() {
        if r[3] == "genome" {
            // The germline genome is time-invariant: no timepoint, null order.
            assert_eq!((tps[i].as_deref(), r[2]), (None, ""));
            assert!(arrow_array::Array::is_null(&tp_order, i));
            continue;
        }
        assert_eq!(tps[i].as_deref(), Some(r[2]));
        assert_eq!(tp_order.value(i), order[r[2]]);
    }
    let within = s
        .column_by_name("within_window")
        .expect("within")
        .as_any()
        .downcast_ref::<arrow_array::BooleanArray>()
        .expect("bool")
        .clone();
    let ids = strings(&s, "sample_id");
    let genome = |i: usize| rows[i][3] == "genome";
    for (i, id) in ids.iter().enumerate() {
        if genome(i) {
            assert!(arrow_array::Array::is_null(&within, i), "{id:?}: no window without a timepoint");
            continue;
        }
        let expected = id.as_deref() != Some("P06_month3");
        assert_eq!(within.value(i), expected, "{id:?}");
    }
    // Days from admission: from the date (nijmegen) or given directly (athens); none for the genome.
    let days = f64s(&s, "days_from_admission");
    assert_eq!(days[0], Some(1.0)); // P01_day0 collected 2024-01-09, admitted 2024-01-08
    assert!(days.iter().enumerate().all(|(i, d)| d.is_some() != genome(i)));
    assert_eq!(strings(&s, "sex")[0].as_deref(), Some("F"), "extra samplesheet columns pass through");

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.out.join("manifest.json")).expect("manifest")).expect("json");
    // P06's month-3 blood draw is late; one warning names the three layers measured on it
    // (lines 30, 69 and 108).
    let warnings = manifest["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().expect("str");
    assert!(w.contains("samplesheet.csv:30") && w.contains("also lines 69, 108"), "{w}");
    for layer in ["transcriptome", "epigenome", "metabolome"] {
        assert!(w.contains(&format!("\"P06_month3\" ({layer})")), "{w}");
    }
}

#[test]
fn normalised_matrices_are_cpm_and_edger_log_cpm_of_the_raw_counts() {
    let run = fixture_run();
    let (raw, _) = read_parquet(&run.out.join("transcriptome/raw.parquet"));
    let (cpm, kv_cpm) = read_parquet(&run.out.join("transcriptome/normalised.cpm.parquet"));
    let (log, kv_log) = read_parquet(&run.out.join("transcriptome/normalised.log2cpm.parquet"));
    assert_eq!(kv_cpm.get("harmonomics.method").map(String::as_str), Some("cpm"));
    assert_eq!(kv_log.get("harmonomics.method").map(String::as_str), Some("log2cpm"));
    assert_eq!(strings(&cpm, "feature_id"), strings(&raw, "feature_id"));
    let samples: Vec<String> = raw.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let libs: Vec<f64> = samples.iter().map(|s| u64s(&raw, s).iter().map(|v| v.expect("count") as f64).sum()).collect();
    let mean_lib = libs.iter().sum::<f64>() / libs.len() as f64;
    for (j, s) in samples.iter().enumerate() {
        let c = f64s(&cpm, s);
        let total: f64 = c.iter().map(|v| v.expect("cpm")).sum();
        assert!((total - 1e6).abs() < 1e-6, "{s}: CPM sums to {total}");
        let prior = 2.0 * libs[j] / mean_lib;
        for (i, y) in u64s(&raw, s).iter().enumerate() {
            let expected = ((y.expect("count") as f64 + prior) / (libs[j] + 2.0 * prior) * 1e6).log2();
            let got = f64s(&log, s)[i].expect("log cpm");
            assert!((got - expected).abs() < 1e-12, "{s} row {i}: {got} vs {expected}");
        }
    }
}

fn primary_of(run: &FixtureRun, feature: &str) -> BTreeMap<String, f64> {
    let (log, kv) = read_parquet(&run.out.join("transcriptome/normalised.parquet"));
    assert_eq!(kv.get("harmonomics.method").map(String::as_str), Some("vst"), "the primary normalisation is VST");
    let i = strings(&log, "feature_id").iter().position(|f| f.as_deref() == Some(feature)).expect("feature");
    log.schema().fields().iter().skip(1).map(|f| (f.name().clone(), f64s(&log, f.name())[i].expect("value"))).collect()
}

fn group_mean(values: &BTreeMap<String, f64>, patients: &[&str], timepoint: &str) -> f64 {
    let v: Vec<f64> = patients.iter().filter_map(|p| values.get(&format!("{p}_{timepoint}")).copied()).collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn the_planted_immunotypes_are_recovered_and_converge_by_month_12() {
    // On the primary (VST, log2-like) scale.
    let run = fixture_run();
    let hi = ["P01", "P02", "P03", "P04"];
    let is = ["P05", "P06", "P07", "P08"];
    // IL6 (3569): planted 8x up at day 0 in the hyperinflammatory group, 1x at month 12.
    let il6 = primary_of(&run, "3569");
    let d0 = group_mean(&il6, &hi, "day0") - group_mean(&il6, &is, "day0");
    let m12 = group_mean(&il6, &hi, "month12") - group_mean(&il6, &is, "month12");
    assert!(d0 > 2.0, "IL6 day-0 log2 difference {d0}");
    assert!(m12.abs() < 1.0, "IL6 month-12 log2 difference {m12}");
    // HLA-DRA (3122): planted 4x down at day 0 in the immunosuppressed group.
    let hla = primary_of(&run, "3122");
    let d0 = group_mean(&hla, &is, "day0") - group_mean(&hla, &hi, "day0");
    assert!(d0 < -1.0, "HLA-DRA day-0 log2 difference {d0}");
}

#[test]
fn features_and_harmonised_tables_line_up() {
    let run = fixture_run();
    let (features, _) = read_parquet(&run.out.join("transcriptome/features.parquet"));
    let (raw, _) = read_parquet(&run.out.join("transcriptome/raw.parquet"));
    assert_eq!(strings(&features, "feature_id"), strings(&raw, "feature_id"));
    // S100A9 (6280): 3 exons on chr1:153357854-153361027 (+), union length 28+165+384.
    let ids = strings(&features, "feature_id");
    let i = ids.iter().position(|f| f.as_deref() == Some("6280")).expect("S100A9");
    assert_eq!(strings(&features, "chrom")[i].as_deref(), Some("chr1"));
    assert_eq!(u64s(&features, "start")[i], Some(153_357_854));
    assert_eq!(u64s(&features, "end")[i], Some(153_361_027));
    assert_eq!(u64s(&features, "length")[i], Some(28 + 165 + 384));

    let (h, _) = read_parquet(&run.out.join("harmonised.parquet"));
    // 238 genes (transcriptome), the promoters of the same 238 genes (epigenome), 52 kept
    // metabolites (metabolome) and 21 kept genera (microbiome), 39 blood draws each; and 274
    // variants that pass the genome's filters, once per patient.
    let per_draw = 238 + 238 + 52 + 21;
    assert_eq!(h.num_rows(), 39 * per_draw + 8 * 274);
    let patients = strings(&h, "patient_id");
    let samples = strings(&h, "sample_id");
    let layers = strings(&h, "layer");
    let feats = strings(&h, "feature_id");
    let raw_h = f64s(&h, "raw");
    // Grid order: patient, then timepoint order, then layer; P08 has no month-12 sample.
    assert_eq!(patients[0].as_deref(), Some("P01"));
    assert_eq!(samples[0].as_deref(), Some("P01_day0"));
    assert_eq!((samples[238].as_deref(), layers[238].as_deref()), (Some("P01_day0"), Some("epigenome")));
    assert_eq!((samples[2 * 238].as_deref(), layers[2 * 238].as_deref()), (Some("P01_day0"), Some("metabolome")));
    assert_eq!(samples[per_draw].as_deref(), Some("P01_day3"));
    // A patient's genome follows its timed rows, without a timepoint.
    let tps = strings(&h, "timepoint");
    let first_genome = layers.iter().position(|l| l.as_deref() == Some("genome")).expect("genome rows");
    assert_eq!(first_genome, 5 * per_draw);
    assert_eq!((samples[first_genome].as_deref(), tps[first_genome].as_deref()), (Some("P01_germline"), None));
    assert_eq!(samples[first_genome + 274].as_deref(), Some("P02_day0"));
    assert!(!samples.iter().any(|s| s.as_deref() == Some("P08_month12")));
    let planted = planted_counts();
    for k in (0..h.num_rows()).step_by(97).filter(|&k| layers[k].as_deref() == Some("transcriptome")) {
        let (s, f) = (samples[k].as_deref().expect("s"), feats[k].as_deref().expect("f"));
        assert_eq!(raw_h[k], Some(planted[s][f] as f64), "{s} {f}");
    }
}

#[test]
fn the_manifest_records_inputs_with_hashes_and_every_stage() {
    let run = fixture_run();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.out.join("manifest.json")).expect("manifest")).expect("json");
    assert_eq!(manifest["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let inputs = manifest["inputs"].as_array().expect("inputs");
    assert_eq!(
        inputs.len(),
        4 + 39 + 39 + 2 + 1 + 1,
        "config, samplesheet, patients, annotation, 39 RNA and 39 bisulfite BAMs, the injection list and the feature table, the ASV table, the VCF"
    );
    let bam =
        inputs.iter().find(|i| i["path"].as_str().is_some_and(|p| p.ends_with("P02_day3.bam"))).expect("bam input");
    let bytes = std::fs::read(repo().join("test-data/transcriptome/bam/P02_day3.bam")).expect("bam");
    assert_eq!(bam["size"], bytes.len() as u64);
    assert_eq!(bam["blake3"], blake3::hash(&bytes).to_hex().to_string());
    let stages: Vec<&str> =
        manifest["stages"].as_array().expect("stages").iter().map(|s| s["name"].as_str().expect("name")).collect();
    assert_eq!(
        stages,
        [
            "validate",
            "hash_inputs",
            "annotation",
            "quantify",
            "assemble",
            "normalise",
            "quantify_epigenome",
            "normalise_epigenome",
            "process_metabolome",
            "process_genome",
            "process_microbiome",
            "identity",
            "load_layers",
            "harmonise",
            "hash_outputs"
        ]
    );
    let outputs = manifest["outputs"].as_array().expect("outputs");
    assert_eq!(
        outputs.len(),
        39 + 12 + 39 + 9 + 5 + 5 + 4 + 3 + 1 + 5 + 7 + 1,
        "per-sample files + 12 RNA, 9 methylation, 5 metabolome, 5 genome and 4 microbiome tables + \
         3 identity tables + mofa.parquet + 5 wide exports + 7 MultiQC files + report.html"
    );
    assert!(outputs.iter().all(|o| !o["path"].as_str().expect("path").contains("manifest")));
}

#[test]
fn change_from_baseline_and_completeness_follow_the_grid() {
    let run = fixture_run();
    let (h, _) = read_parquet(&run.out.join("harmonised.parquet"));
    let (samples, feats, layers) = (strings(&h, "sample_id"), strings(&h, "feature_id"), strings(&h, "layer"));
    let (norm, change) = (f64s(&h, "normalised"), f64s(&h, "change_from_baseline"));
    let value = |s: &str, f: &str| -> (Option<f64>, Option<f64>) {
        let k = (0..h.num_rows())
            .find(|&k| {
                samples[k].as_deref() == Some(s)
                    && feats[k].as_deref() == Some(f)
                    && layers[k].as_deref() == Some("transcriptome")
            })
            .expect("row");
        (norm[k], change[k])
    };
    // IL6 in a hyperinflammatory patient: day 3 minus day 0; day 0 itself changes by 0.
    let (d0, c0) = value("P01_day0", "3569");
    let (d3, c3) = value("P01_day3", "3569");
    assert_eq!(c0, Some(0.0));
    assert!((c3.expect("change") - (d3.expect("d3") - d0.expect("d0"))).abs() < 1e-12);
    // The planted signature fades: IL6 falls from day 0 to month 12 in P01.
    let (_, c12) = value("P01_month12", "3569");
    assert!(c12.expect("change") < -1.5, "IL6 change to month 12: {c12:?}");

    let (c, _) = read_parquet(&run.out.join("completeness.parquet"));
    assert_eq!(c.num_rows(), 8 * 5 * 4 + 8, "8 patients x 5 timepoints x 4 layers, and one genome cell per patient");
    let (pat, tp, status, sid) =
        (strings(&c, "patient_id"), strings(&c, "timepoint"), strings(&c, "status"), strings(&c, "sample_id"));
    let layer = strings(&c, "layer");
    for l in ["transcriptome", "epigenome", "metabolome", "microbiome"] {
        let cell = |p: &str, t: &str| {
            let k = (0..c.num_rows())
                .find(|&k| {
                    pat[k].as_deref() == Some(p) && tp[k].as_deref() == Some(t) && layer[k].as_deref() == Some(l)
                })
                .expect("cell");
            (status[k].clone(), sid[k].clone())
        };
        assert_eq!(cell("P08", "month12"), (Some("missing".into()), None));
        assert_eq!(cell("P06", "month3"), (Some("outside_window".into()), Some("P06_month3".into())));
        assert_eq!(cell("P02", "day3"), (Some("present".into()), Some("P02_day3".into())));
    }
}

#[test]
fn the_mofa_table_holds_every_present_normalised_value_once_per_view() {
    let run = fixture_run();
    let (h, _) = read_parquet(&run.out.join("harmonised.parquet"));
    let (m, _) = read_parquet(&run.out.join("mofa.parquet"));
    let h_layers = strings(&h, "layer");
    let timed = f64s(&h, "normalised")
        .iter()
        .zip(&h_layers)
        .filter(|(v, l)| v.is_some() && l.as_deref() != Some("genome"))
        .count();
    // The time-invariant genome (274 kept variants, no missing calls among them) joins each of its
    // patient's 39 blood draws.
    assert_eq!(m.num_rows(), timed + 274 * 39, "one row per non-missing normalised value, the genome at every draw");
    let (samples, groups, features, views, times) =
        (strings(&m, "sample"), strings(&m, "group"), strings(&m, "feature"), strings(&m, "view"), f64s(&m, "time"));
    let k = (0..m.num_rows())
        .find(|&k| features[k].as_deref() == Some("transcriptome:3569") && samples[k].as_deref() == Some("P01_day0"))
        .expect("IL6 at P01 day 0");
    assert_eq!((groups[k].as_deref(), views[k].as_deref(), times[k]), (Some("P01"), Some("transcriptome"), Some(1.0)));
    // The same blood draw is one MOFA sample across its five views.
    let views_of_p01_day0: std::collections::BTreeSet<&str> = (0..m.num_rows())
        .filter(|&k| samples[k].as_deref() == Some("P01_day0"))
        .filter_map(|k| views[k].as_deref())
        .collect();
    assert_eq!(
        views_of_p01_day0.into_iter().collect::<Vec<_>>(),
        ["epigenome", "genome", "metabolome", "microbiome", "transcriptome"]
    );
    assert!(features.iter().all(|f| f.as_deref().is_some_and(|f| f.contains(':'))));
}
