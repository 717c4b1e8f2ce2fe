//! The epigenome layer of `harmonomics run` on the fixture cohort: bisulfite BAMs in, per-CpG
//! calls, beta/M-value matrices and promoter aggregates out, checked against the planted truth
//! (test-data/cohort/README.md, truth/methylation_*.tsv*).

mod common;

use std::collections::BTreeMap;

use common::*;

const HI: [&str; 4] = ["P01", "P02", "P03", "P04"];
const IS: [&str; 4] = ["P05", "P06", "P07", "P08"];

/// (chrom, pos) → per-sample (methylated, unmethylated).
type CallTable = BTreeMap<(String, u64), Vec<(u64, u64)>>;

/// The generator's calls, with the sample names of the columns.
fn planted() -> (Vec<String>, CallTable) {
    let text = gunzip_text(&repo().join("test-data/cohort/truth/methylation_calls.tsv.gz"));
    let mut lines = text.lines();
    let samples: Vec<String> = lines.next().expect("header").split('\t').skip(2).map(String::from).collect();
    let rows = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let calls = f[2..]
                .iter()
                .map(|c| {
                    let (m, u) = c.split_once('/').expect("m/u");
                    (m.parse().expect("m"), u.parse().expect("u"))
                })
                .collect();
            ((f[0].to_string(), f[1].parse().expect("pos")), calls)
        })
        .collect();
    (samples, rows)
}

fn run() -> (Workdir, std::path::PathBuf) {
    let dir = Workdir::new();
    let out = dir.join("out");
    run_fixture(&out, "2");
    (dir, out)
}

#[test]
fn per_sample_calls_equal_the_planted_bisulfite_calls_exactly() {
    let (_dir, out) = run();
    let (samples, truth) = planted();
    assert_eq!(samples.len(), 39);
    for (j, s) in samples.iter().enumerate() {
        let (t, kv) = read_parquet(&out.join(format!("epigenome/samples/{s}.parquet")));
        assert_eq!(kv.get("harmonomics.source").map(String::as_str), Some("alignments"));
        let (chroms, pos, m, u) =
            (strings(&t, "chrom"), u64s(&t, "pos"), u64s(&t, "methylated"), u64s(&t, "unmethylated"));
        let ours: BTreeMap<(String, u64), (u64, u64)> = (0..t.num_rows())
            .map(|k| {
                let key = (chroms[k].clone().expect("chrom"), pos[k].expect("pos"));
                (key, (m[k].expect("m"), u[k].expect("u")))
            })
            .collect();
        let want: BTreeMap<(String, u64), (u64, u64)> =
            truth.iter().filter(|(_, c)| c[j].0 + c[j].1 > 0).map(|(k, c)| (k.clone(), c[j])).collect();
        assert_eq!(ours, want, "{s}");
    }
}

#[test]
fn normalised_betas_and_m_values_follow_the_filters_from_raw_counts() {
    let (_dir, out) = run();
    let (cov, _) = read_parquet(&out.join("epigenome/raw.parquet"));
    let (meth, _) = read_parquet(&out.join("epigenome/raw.methylated.parquet"));
    let (beta, kv) = read_parquet(&out.join("epigenome/normalised.parquet"));
    let (mval, _) = read_parquet(&out.join("epigenome/normalised.mvalue.parquet"));
    let (features, _) = read_parquet(&out.join("epigenome/features.parquet"));
    assert_eq!(kv.get("harmonomics.method").map(String::as_str), Some("beta"));
    let samples: Vec<String> = cov.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect();
    let ids = strings(&cov, "feature_id");
    assert_eq!(strings(&features, "feature_id"), ids);
    // Fixture config: min_coverage 5, min_sample_fraction 0.8 → 32 of 39 samples.
    let kept_ids: Vec<Option<String>> = strings(&beta, "feature_id");
    let mut expected_kept = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let passing = samples.iter().filter(|s| u64s(&cov, s)[i].expect("cov") >= 5).count();
        if passing >= 32 {
            expected_kept.push(id.clone());
        }
    }
    assert_eq!(kept_ids, expected_kept);
    assert!(kept_ids.len() > 500 && kept_ids.len() < ids.len(), "the filter keeps most but not all CpGs");
    let row_of: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_deref().expect("id"), i)).collect();
    for s in &samples {
        let (c, m, b, mv) = (u64s(&cov, s), u64s(&meth, s), f64s(&beta, s), f64s(&mval, s));
        for (k, id) in kept_ids.iter().enumerate() {
            let i = row_of[id.as_deref().expect("id")];
            let (c, m) = (c[i].expect("cov"), m[i].expect("meth"));
            if c < 5 {
                assert_eq!((b[k], mv[k]), (None, None), "{s} {id:?}: below the coverage bar is null");
            } else {
                assert_eq!(b[k], Some(m as f64 / c as f64));
                let want = ((m as f64 + 1.0) / ((c - m) as f64 + 1.0)).log2();
                assert!((mv[k].expect("m-value") - want).abs() < 1e-12);
            }
        }
    }
}

fn promoter_beta(out: &std::path::Path) -> BTreeMap<(String, String), Option<f64>> {
    let (b, _) = read_parquet(&out.join("epigenome/regions/promoters.parquet"));
    let ids = strings(&b, "feature_id");
    let mut map = BTreeMap::new();
    for f in b.schema().fields().iter().skip(1) {
        for (i, v) in f64s(&b, f.name()).into_iter().enumerate() {
            map.insert((ids[i].clone().expect("id"), f.name().clone()), v);
        }
    }
    map
}

fn mean(map: &BTreeMap<(String, String), Option<f64>>, gene: &str, patients: &[&str], tp: &str) -> f64 {
    let v: Vec<f64> =
        patients.iter().filter_map(|p| map.get(&(gene.to_string(), format!("{p}_{tp}"))).copied().flatten()).collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn planted_promoter_methylation_follows_the_immunotypes_and_fades_by_month_12() {
    let (_dir, out) = run();
    let beta = promoter_beta(&out);
    // IL6 (3569), hypomethylated in hyperinflammatory patients: planted 0.25 vs 0.85 at day 0.
    let d0 = mean(&beta, "3569", &IS, "day0") - mean(&beta, "3569", &HI, "day0");
    let m12 = mean(&beta, "3569", &IS, "month12") - mean(&beta, "3569", &HI, "month12");
    assert!(d0 > 0.45, "IL6 promoter day-0 difference {d0}");
    assert!(m12.abs() < 0.1, "IL6 promoter month-12 difference {m12}");
    // HLA-DRA (3122), hypermethylated in immunosuppressed patients: 0.70 vs 0.15 at day 0.
    let d0 = mean(&beta, "3122", &IS, "day0") - mean(&beta, "3122", &HI, "day0");
    assert!(d0 > 0.4, "HLA-DRA promoter day-0 difference {d0}");
    // A gene whose promoter has no reads has a null beta, not 0.
    let (features, _) = read_parquet(&out.join("epigenome/regions/promoters.features.parquet"));
    let cpgs = u64s(&features, "cpgs");
    let ids = strings(&features, "feature_id");
    let empty = ids
        .iter()
        .zip(&cpgs)
        .find(|(_, c)| **c == Some(0))
        .map(|(id, _)| id.clone().expect("id"))
        .expect("an unsequenced promoter");
    assert_eq!(beta[&(empty, "P01_day0".to_string())], None);
}

#[test]
fn region_beta_is_summed_calls_over_summed_coverage_and_sex_chromosomes_can_be_dropped() {
    let dir = Workdir::new();
    // The fixture with a BED region set and chrX/chrY dropped.
    let cohort = repo().join("test-data/cohort");
    let sheet = std::fs::read_to_string(cohort.join("samplesheet.csv")).expect("sheet");
    let sheet: String = sheet
        .lines()
        .enumerate()
        .filter(|(k, l)| *k == 0 || l.contains(",epigenome,"))
        .map(|(_, l)| {
            format!("{}\n", l.replace("../epigenome/", &format!("{}/", repo().join("test-data/epigenome").display())))
        })
        .collect();
    std::fs::write(dir.join("samplesheet.csv"), sheet).expect("write sheet");
    let toml = portable_fixture_config(false)
        .replace("min_sample_fraction = 0.8\n", "min_sample_fraction = 0.8\ndrop_sex_chromosomes = true\n")
        + "\n[[epigenome.regions]]\nname = \"blocks\"\nbed = \"blocks.bed\"\n";
    std::fs::write(dir.join("cohort.toml"), toml).expect("write toml");

    // Blocks around the IL6 promoter's CpGs, from the per-CpG features of a plain run.
    let (_fx, fixture_out) = run();
    let (promoters, _) = read_parquet(&fixture_out.join("epigenome/regions/promoters.features.parquet"));
    let k = strings(&promoters, "feature_id").iter().position(|i| i.as_deref() == Some("3569")).expect("IL6");
    let (start, end) = (u64s(&promoters, "start")[k].expect("start"), u64s(&promoters, "end")[k].expect("end"));
    let (f, _) = read_parquet(&fixture_out.join("epigenome/features.parquet"));
    let (chroms, pos) = (strings(&f, "chrom"), u64s(&f, "pos"));
    let il6: Vec<u64> = (0..f.num_rows())
        .filter(|&k| chroms[k].as_deref() == Some("chr7") && (start..=end).contains(&pos[k].expect("pos")))
        .map(|k| pos[k].expect("pos"))
        .collect();
    assert!(il6.len() > 20, "IL6 promoter CpGs: {}", il6.len());
    let (lo, mid, hi) = (il6[0], il6[il6.len() / 2], il6[il6.len() - 1]);
    // BED is 0-based half-open: [lo-1, mid) covers CpGs lo..mid-1.
    std::fs::write(
        dir.join("blocks.bed"),
        format!("track name=blocks\nchr7\t{}\t{}\tfirst\nchr7\t{}\t{}\tsecond\n", lo - 1, mid - 1, mid - 1, hi),
    )
    .expect("bed");
    let out = dir.join("out");
    let o = run_cohort(&dir.join("cohort.toml"), &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let (b, _) = read_parquet(&out.join("epigenome/regions/blocks.parquet"));
    let (cov, _) = read_parquet(&out.join("epigenome/regions/blocks.coverage.parquet"));
    assert_eq!(strings(&b, "feature_id"), [Some(format!("chr7:{lo}-{}", mid - 1)), Some(format!("chr7:{mid}-{hi}"))]);
    for s in ["P01_day0", "P05_month3"] {
        let (t, _) = read_parquet(&out.join(format!("epigenome/samples/{s}.parquet")));
        let (c, p, m, u) = (strings(&t, "chrom"), u64s(&t, "pos"), u64s(&t, "methylated"), u64s(&t, "unmethylated"));
        for (k, (from, to)) in [(lo, mid - 1), (mid, hi)].into_iter().enumerate() {
            let (mut sm, mut sc) = (0, 0);
            for r in 0..t.num_rows() {
                if c[r].as_deref() == Some("chr7") && (from..=to).contains(&p[r].expect("pos")) {
                    sm += m[r].expect("m");
                    sc += m[r].expect("m") + u[r].expect("u");
                }
            }
            assert_eq!(u64s(&cov, s)[k], Some(sc));
            assert_eq!(f64s(&b, s)[k], Some(sm as f64 / sc as f64), "{s} block {k}");
        }
    }
    // The chrX control promoter's CpGs are in raw but not in the normalised matrices.
    let (raw, _) = read_parquet(&out.join("epigenome/raw.parquet"));
    let (norm, _) = read_parquet(&out.join("epigenome/normalised.parquet"));
    let on_x =
        |ids: Vec<Option<String>>| ids.iter().filter(|i| i.as_deref().is_some_and(|i| i.starts_with("chrX:"))).count();
    assert!(on_x(strings(&raw, "feature_id")) > 10);
    assert_eq!(on_x(strings(&norm, "feature_id")), 0);
    let (plain, _) = read_parquet(&fixture_out.join("epigenome/normalised.parquet"));
    assert!(on_x(strings(&plain, "feature_id")) > 10, "kept without drop_sex_chromosomes");
}
