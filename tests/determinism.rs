//! Same inputs and options → byte-identical Parquet (and report and MultiQC files), whatever the
//! thread count.

mod common;

use common::*;

#[test]
fn one_and_two_threads_give_identical_parquet_bytes() {
    let dir = Workdir::new();
    let (a, b) = (dir.join("t1"), dir.join("t2"));
    run_fixture(&a, "1");
    run_fixture(&b, "2");
    let files = files_under(&a);
    // transcriptome: 39 samples + 12 matrices; epigenome: 39 samples + 6 CpG files + 3 region
    // files; metabolome: 5 tables; genome: 5 tables; microbiome: 4 tables; mofa.parquet and the 5
    // wide exports (the 12 include the other top-level tables); identity: 3 tables.
    // Besides Parquet: report.html and the 7 MultiQC files.
    assert_eq!(files.len(), 39 + 12 + 39 + 6 + 3 + 5 + 5 + 4 + 3 + 1 + 5 + 1 + 7);
    assert_same_files(&a, &b, "--threads 1 and 2");
}

#[test]
fn quant_rna_is_byte_identical_at_1_2_and_4_threads_fractional_counts_included() {
    let dir = Workdir::new();
    let sam = repo().join("test-data/real/htseq/yeast_RNASeq_excerpt_withNH.sam.gz");
    let gtf = repo().join("test-data/real/htseq/Saccharomyces_cerevisiae.SGD1.01.56.gtf.gz");
    let bam = dir.join("yeast.bam");
    let text = gunzip_text(&sam);
    sam_to_bam(&text, &bam);
    let mut outputs = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = dir.join(&format!("t{threads}.parquet"));
        let o = harmonomics(&[
            "--threads",
            threads,
            "quant",
            "rna",
            "--bam",
            bam.to_str().expect("utf-8"),
            "-a",
            gtf.to_str().expect("utf-8"),
            "-F",
            "gtf",
            "-M",
            "--fraction",
            "-O",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outputs.push(std::fs::read(&out).expect("parquet"));
    }
    assert!(outputs[0] == outputs[1] && outputs[1] == outputs[2], "thread count changed the output bytes");
    let (batch, _) = read_parquet(&dir.join("t4.parquet"));
    let counts = f64s(&batch, "count");
    assert!(counts.iter().any(|c| c.is_some_and(|c| c.fract() != 0.0)), "fractional counts were exercised");
}
