//! `harmonomics import`: other quantifiers' real outputs (test-data/real/quantifiers) read back.
//! Agreement with pytximport is in `concordance.rs`.

mod common;

use std::collections::BTreeMap;

use common::*;

fn q(name: &str) -> std::path::PathBuf {
    repo().join("test-data/real/quantifiers").join(name)
}

fn import(args: &[&str]) -> std::process::Output {
    harmonomics(&[&["import"][..], args].concat())
}

#[test]
fn htseq_count_output_keeps_genes_and_sends_double_underscore_rows_to_qc() {
    let dir = Workdir::new();
    let out = dir.join("htseq");
    let o = import(&[
        "htseq",
        "-i",
        q("htseq-count_yeast.tsv").to_str().expect("utf-8"),
        "--sample",
        "yeast",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (raw, meta) = read_parquet(&out.join("raw.parquet"));
    assert_eq!(meta.get("harmonomics.import").map(String::as_str), Some("htseq"));
    let (_, rows) = read_tsv(&q("htseq-count_yeast.tsv"));
    let genes: Vec<&Vec<String>> = rows.iter().filter(|r| !r[0].starts_with("__")).collect();
    assert_eq!(raw.num_rows(), genes.len() + 1, "every gene row (read_tsv took the first as header), no __ row");
    let counts = u64s(&raw, "yeast");
    let ids = strings(&raw, "feature_id");
    // read_tsv took the first gene line as header; compare the rest.
    for (i, r) in genes.iter().enumerate() {
        assert_eq!(ids[i + 1].as_deref(), Some(r[0].as_str()));
        assert_eq!(counts[i + 1], Some(r[1].parse().expect("count")));
    }
    let (qc, _) = read_parquet(&out.join("qc.parquet"));
    assert_eq!(f64s(&qc, "no_feature"), vec![Some(1444.0)]);
    assert_eq!(f64s(&qc, "not_aligned"), vec![Some(1336.0)]);
}

#[test]
fn featurecounts_table_round_trips_with_its_summary_and_lengths() {
    let dir = Workdir::new();
    let out = dir.join("fc");
    let o = import(&[
        "featurecounts",
        "-i",
        q("featurecounts_yeast.txt").to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (raw, _) = read_parquet(&out.join("raw.parquet"));
    let (_, rows) = read_tsv(&q("featurecounts_yeast.txt"));
    let counts = u64s(&raw, "yeast_RNASeq_excerpt_withNH");
    assert_eq!(counts.len(), rows.len());
    let total: u64 = counts.iter().map(|c| c.expect("count")).sum();
    assert_eq!(total, 20988, "equals the table's Assigned");
    let (qc, _) = read_parquet(&out.join("qc.parquet"));
    assert_eq!(f64s(&qc, "Assigned"), vec![Some(20988.0)]);
    let (lengths, _) = read_parquet(&out.join("lengths.parquet"));
    let l = f64s(&lengths, "yeast_RNASeq_excerpt_withNH");
    assert_eq!(l[0], Some(rows[0][5].parse().expect("length")));
}

/// Gene sums of a transcript file computed here, independently: id column, count column.
fn sums(path: &std::path::Path, id: usize, count: usize) -> BTreeMap<String, f64> {
    let (_, map) = read_tsv(&q("tx2gene.tsv"));
    let gene: BTreeMap<String, String> = map.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let (_, rows) = read_tsv(path);
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(gene[&r[id]].clone()).or_insert(0.0) += r[count].parse::<f64>().expect("count");
    }
    out
}

#[test]
fn salmon_and_kallisto_transcripts_sum_to_genes() {
    let dir = Workdir::new();
    for (tool, file, count_col) in [("salmon", "salmon_quant.sf", 4), ("kallisto", "kallisto_abundance.tsv", 3)] {
        let out = dir.join(tool);
        let o = import(&[
            tool,
            "-i",
            q(file).to_str().expect("utf-8"),
            "--sample",
            "s1",
            "--tx2gene",
            q("tx2gene.tsv").to_str().expect("utf-8"),
            "-o",
            out.to_str().expect("utf-8"),
        ]);
        assert!(o.status.success(), "{tool}: {}", String::from_utf8_lossy(&o.stderr));
        let (raw, _) = read_parquet(&out.join("raw.parquet"));
        let ids = strings(&raw, "feature_id");
        let got = f64s(&raw, "s1");
        let expected = sums(&q(file), 0, count_col);
        assert_eq!(ids.len(), expected.len());
        for (i, id) in ids.iter().enumerate() {
            let e = expected[id.as_deref().expect("id")];
            assert!((got[i].expect("count") - e).abs() < 1e-9, "{tool} {id:?}");
        }
    }
}

#[test]
fn transcript_versions_are_reconciled_and_unknown_ids_are_a_clear_error() {
    let dir = Workdir::new();
    let versioned = std::fs::read_to_string(q("tx2gene.tsv"))
        .expect("map")
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.to_string() } else { l.replacen('\t', ".3\t", 1) })
        .collect::<Vec<_>>()
        .join("\n");
    let map = dir.write("versioned.tsv", &versioned);
    let out = dir.join("v");
    let o = import(&[
        "salmon",
        "-i",
        q("salmon_quant.sf").to_str().expect("utf-8"),
        "--tx2gene",
        map.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let wrong = dir.write("wrong.tsv", "transcript_id\tgene_id\nENST0001\tENSG1\nENST0002\tENSG2\n");
    let o = import(&[
        "salmon",
        "-i",
        q("salmon_quant.sf").to_str().expect("utf-8"),
        "--tx2gene",
        wrong.to_str().expect("utf-8"),
        "-o",
        dir.join("w").to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("salmon_quant.sf") && e.contains("NM_001168316") && e.contains("ENST0001"), "{e}");

    let o = import(&[
        "salmon",
        "-i",
        q("salmon_quant.sf").to_str().expect("utf-8"),
        "-o",
        dir.join("x").to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "missing --tx2gene is a usage error");
}

#[test]
fn star_reads_per_gene_takes_the_column_of_the_strandedness() {
    let dir = Workdir::new();
    let tab = dir.write(
        "S1ReadsPerGene.out.tab",
        "N_unmapped\t100\t100\t100\nN_multimapping\t20\t20\t20\nN_noFeature\t30\t400\t45\nN_ambiguous\t5\t1\t2\ngA\t50\t2\t48\ngB\t10\t9\t1\n",
    );
    for (s, expected) in [("0", [50, 10]), ("1", [2, 9]), ("2", [48, 1])] {
        let out = dir.join(&format!("star{s}"));
        let o = import(&["star", "-i", tab.to_str().expect("utf-8"), "-s", s, "-o", out.to_str().expect("utf-8")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (raw, _) = read_parquet(&out.join("raw.parquet"));
        assert_eq!(u64s(&raw, "S1"), expected.map(Some).to_vec(), "-s {s}");
    }
    let bad = dir.write("bad.tab", "N_unmapped\t1\t1\t1\ngA\t5\tx\t1\n");
    let o =
        import(&["star", "-i", bad.to_str().expect("utf-8"), "-s", "1", "-o", dir.join("b").to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.tab:2") && e.contains("\"x\""), "{e}");
}

#[test]
fn run_imports_samplesheet_rows_pointing_at_htseq_count_files() {
    let dir = Workdir::new();
    // Three samples: the real htseq-count output, and the same library sequenced 2x and 3x deeper.
    let text = std::fs::read_to_string(q("htseq-count_yeast.tsv")).expect("htseq");
    for (k, factor) in [(1, 1u64), (2, 2), (3, 3)] {
        let scaled: String = text
            .lines()
            .map(|l| {
                let (g, c) = l.split_once('\t').expect("two fields");
                format!("{g}\t{}\n", c.parse::<u64>().expect("count") * factor)
            })
            .collect();
        dir.write(&format!("s{k}.htseq.tsv"), &scaled);
    }
    dir.write(
        "samplesheet.csv",
        "sample_id,patient_id,timepoint,layer,path,days_from_admission\n\
         s1,P1,day0,transcriptome,s1.htseq.tsv,0\ns2,P1,day3,transcriptome,s2.htseq.tsv,3\ns3,P2,day0,transcriptome,s3.htseq.tsv,1\n",
    );
    let config = dir.write(
        "cohort.toml",
        "samplesheet = \"samplesheet.csv\"\n[study]\nname = \"imported\"\n\
         [[timepoints]]\nname = \"day0\"\norder = 1\nnominal_day = 0\nwindow_after_days = 2\n\
         [[timepoints]]\nname = \"day3\"\norder = 2\nnominal_day = 3\nwindow_before_days = 1\nwindow_after_days = 1\n\
         [transcriptome.normalise]\nmethods = [\"deseq2\", \"cpm\"]\n",
    );
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (raw, _) = read_parquet(&out.join("transcriptome/raw.parquet"));
    let (s1, s3) = (u64s(&raw, "s1"), u64s(&raw, "s3"));
    assert!(s1.iter().zip(&s3).all(|(a, b)| a.expect("a") * 3 == b.expect("b")));
    let (f, _) = read_parquet(&out.join("transcriptome/factors.parquet"));
    let sf: Vec<f64> = f64s(&f, "size_factor").into_iter().map(|v| v.expect("sf")).collect();
    assert!((sf[1] / sf[0] - 2.0).abs() < 1e-12 && (sf[2] / sf[0] - 3.0).abs() < 1e-12, "{sf:?}");
    // DESeq2-normalised counts are then identical across the three samples.
    let (n, _) = read_parquet(&out.join("transcriptome/normalised.parquet"));
    let (a, c) = (f64s(&n, "s1"), f64s(&n, "s3"));
    assert!(a.iter().zip(&c).all(|(x, y)| (x.expect("x") - y.expect("y")).abs() < 1e-9));
    let (qc, _) = read_parquet(&out.join("transcriptome/qc.parquet"));
    assert_eq!(f64s(&qc, "no_feature"), vec![Some(1444.0), Some(2888.0), Some(4332.0)]);
    assert!(out.join("manifest.json").exists());
}

#[test]
fn a_layer_mixing_alignments_and_imports_is_refused() {
    let dir = Workdir::new();
    let bam = repo().join("test-data/transcriptome/bam/P01_day0.bam");
    dir.write(
        "samplesheet.csv",
        &format!(
            "sample_id,patient_id,timepoint,layer,path\ns1,P1,day0,transcriptome,{}\ns2,P2,day0,transcriptome,{}\n",
            bam.display(),
            q("htseq-count_yeast.tsv").display()
        ),
    );
    let config = dir.write(
        "cohort.toml",
        &format!(
            "samplesheet = \"samplesheet.csv\"\n[study]\nname = \"mixed\"\n[[timepoints]]\nname = \"day0\"\norder = 1\nnominal_day = 0\n\
             [annotation]\npath = {:?}\n",
            repo().join("test-data/annotation/hg38_refseq_fixture.saf")
        ),
    );
    let out = dir.join("out");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("mixes inputs") && e.contains("alignments") && e.contains("htseq"), "{e}");
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn imported_effective_lengths_feed_tpm() {
    let dir = Workdir::new();
    let out = dir.join("salmon");
    let o = import(&[
        "salmon",
        "-i",
        q("salmon_quant.sf").to_str().expect("utf-8"),
        "--sample",
        "s1",
        "--tx2gene",
        q("tx2gene.tsv").to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tpm = dir.join("tpm.parquet");
    let o = harmonomics(&[
        "normalise",
        "transcriptome",
        "--counts",
        out.join("raw.parquet").to_str().expect("utf-8"),
        "--method",
        "tpm",
        "--out",
        tpm.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (raw, _) = read_parquet(&out.join("raw.parquet"));
    let (len, _) = read_parquet(&out.join("lengths.parquet"));
    let (t, _) = read_parquet(&tpm);
    let (c, l, v) = (f64s(&raw, "s1"), f64s(&len, "s1"), f64s(&t, "s1"));
    let total: f64 = c.iter().zip(&l).map(|(c, l)| c.expect("c") / l.expect("l")).sum();
    for i in 0..c.len() {
        let expected = c[i].expect("c") / l[i].expect("l") / total * 1e6;
        assert!((v[i].expect("tpm") - expected).abs() < 1e-6 * expected.max(1.0));
    }
}
