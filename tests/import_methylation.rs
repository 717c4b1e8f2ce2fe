//! Methylation tables from other tools, on real Bismark output (Bioconductor bsseq's test data,
//! shipped by Debian's r-bioc-bsseq): one coordinate convention whatever wrote the file.

mod common;

use std::collections::BTreeMap;

use common::*;
use harmonomics::epigenome::import::{Format, detect, read};

type Calls = BTreeMap<(String, u64), (u64, u64)>;

fn calls_of(path: &std::path::Path, format: Format) -> (Calls, bool) {
    assert_eq!(detect(path).expect("detect"), format, "{}", path.display());
    let imported = read(path, format).expect("import");
    let map = imported.calls.iter().map(|(c, s)| ((c.to_string(), s.pos), (s.methylated, s.unmethylated))).collect();
    (map, imported.strands_merged)
}

fn bismark(name: &str) -> std::path::PathBuf {
    repo().join("test-data/real/bismark").join(name)
}

#[test]
fn a_real_bismark_coverage_file_imports_every_row_unmerged() {
    let path = bismark("test_data.fastq_bismark.bismark.cov.gz");
    let text = gunzip_text(&path);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let (calls, merged) = calls_of(&path, Format::BismarkCov);
    assert!(!merged, "a per-cytosine .cov has no strand");
    assert_eq!(calls.len(), rows.len());
    for r in &rows {
        let key = (r[0].to_string(), r[1].parse::<u64>().expect("pos"));
        let want = (r[4].parse().expect("m"), r[5].parse().expect("u"));
        assert_eq!(calls[&key], want, "{r:?}");
    }
}

#[test]
fn the_cytosine_report_merges_strands_onto_the_coverage_files_forward_cs() {
    // Same Bismark run: the report knows each C's strand, the .cov does not. Every merged CpG
    // must equal the .cov's forward C (pos) plus its reverse C (pos + 1).
    let (report, merged) = calls_of(&bismark("test_data.cytosineReport.gz"), Format::CpgReport);
    assert!(merged);
    assert!(report.len() >= 3, "{report:?}");
    let (cov, _) = calls_of(&bismark("test_data.fastq_bismark.bismark.cov.gz"), Format::BismarkCov);
    for ((chrom, pos), (m, u)) in &report {
        let plus = cov.get(&(chrom.clone(), *pos)).copied().unwrap_or_default();
        let minus = cov.get(&(chrom.clone(), pos + 1)).copied().unwrap_or_default();
        assert_eq!((*m, *u), (plus.0 + minus.0, plus.1 + minus.1), "{chrom}:{pos}");
    }
}

#[test]
fn the_same_sites_in_every_tools_coordinates_import_identically() {
    // The real .cov's sites written the way MethylDackel (0-based bedGraph) and modkit (0-based
    // bedMethyl with a strand) write them; a merged Bismark .cov and bedGraph of the report's
    // CpGs too. Each must come back as the same 1-based forward-C sites.
    let dir = Workdir::new();
    let cov = gunzip_text(&bismark("test_data.fastq_bismark.bismark.cov.gz"));
    let mut bedgraph = String::from("track type=\"bedGraph\" description=\"CpG methylation levels\"\n");
    for l in cov.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let start: u64 = f[1].parse().expect("start");
        bedgraph.push_str(&format!("{}\t{}\t{}\t{}\t{}\t{}\n", f[0], start - 1, start, f[3], f[4], f[5]));
    }
    let bg = dir.join("sample_CpG.bedGraph");
    std::fs::write(&bg, bedgraph).expect("write");
    let (from_cov, _) = calls_of(&bismark("test_data.fastq_bismark.bismark.cov.gz"), Format::BismarkCov);
    let (from_bg, merged) = calls_of(&bg, Format::Methyldackel);
    assert!(!merged);
    assert_eq!(from_bg, from_cov);

    let report = gunzip_text(&bismark("test_data.cytosineReport.gz"));
    let (mut modkit, mut merged_cov, mut merged_bg) = (String::new(), String::new(), String::new());
    let (merged_calls, _) = calls_of(&bismark("test_data.cytosineReport.gz"), Format::CpgReport);
    for l in report.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let (pos, m, u): (u64, u64, u64) =
            (f[1].parse().expect("pos"), f[3].parse().expect("m"), f[4].parse().expect("u"));
        if m + u == 0 {
            continue;
        }
        let pct = 100.0 * m as f64 / (m + u) as f64;
        modkit.push_str(&format!(
            "{}\t{}\t{}\tm\t{}\t{}\t{}\t{}\t255,0,0\t{}\t{pct:.2}\t{m}\t{u}\t0\t0\t0\t0\t0\n",
            f[0],
            pos - 1,
            pos,
            m + u,
            f[2],
            pos - 1,
            pos,
            m + u
        ));
    }
    for ((chrom, pos), (m, u)) in &merged_calls {
        let pct = 100.0 * *m as f64 / (m + u) as f64;
        merged_cov.push_str(&format!("{chrom}\t{pos}\t{}\t{pct}\t{m}\t{u}\n", pos + 1));
        merged_bg.push_str(&format!("{chrom}\t{}\t{}\t{}\t{m}\t{u}\n", pos - 1, pos + 1, pct as u64));
    }
    for (name, text, format) in [
        ("sample.bed", modkit, Format::Modkit),
        ("sample.merged_CpG_evidence.cov", merged_cov, Format::BismarkCov),
        ("merged.bedGraph", merged_bg, Format::Methyldackel),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        let (got, merged) = calls_of(&p, format);
        assert!(merged, "{name}");
        assert_eq!(got, merged_calls, "{name}");
    }
}

#[test]
fn quant_methylation_imports_tables_and_writes_a_bedgraph_that_reads_back() {
    let dir = Workdir::new();
    let out = dir.join("s.parquet");
    let bg = dir.join("s.bedGraph");
    let input = bismark("test_data.cytosineReport.gz");
    quant_methylation(&input, &out, &["--bedgraph", bg.to_str().expect("utf-8")]);
    let (t, kv) = read_parquet(&out);
    assert_eq!(kv.get("harmonomics.source").map(String::as_str), Some("cpg-report"));
    let (report, _) = calls_of(&input, Format::CpgReport);
    let (back, _) = calls_of(&bg, Format::Methyldackel);
    assert_eq!(back, report);
    assert_eq!(u64s(&t, "pos"), report.keys().map(|(_, p)| Some(*p)).collect::<Vec<_>>());

    // A bad row: the error names the file, the line and the column.
    let bad = dir.join("bad.cov");
    std::fs::write(&bad, "chr1\t10\t10\t100\t1\t0\nchr1\t12\t12\t50\t1\tone\n").expect("write");
    let o = harmonomics(&[
        "quant",
        "methylation",
        "--bam",
        bad.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.cov:2") && e.contains("column 6") && e.contains("\"one\""), "{e}");
}
