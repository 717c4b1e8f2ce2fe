//! Bad inputs that once gave a wrong result with exit 0 or refused a valid file (issue 15): each
//! case here failed on the `main` of its day. The rule: a wrong matrix is never written; an
//! error names the file and, where there is one, the line or record.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::{Workdir, arg, harmonomics, repo, sam_to_bam};

const SAF: &str = "GeneID\tChr\tStart\tEnd\tStrand\ng1\tchr1\t1\t1000\t+\n";
const HEADER: &str = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:5000\n";

/// Runs `args`, which write the file `out` (removed first): the exit code and stderr; asserts
/// that a failure leaves no output behind.
fn run_writing(args: &[&str], out: &Path) -> (Option<i32>, String) {
    let _ = std::fs::remove_file(out);
    let o = harmonomics(args);
    if !o.status.success() {
        assert!(!out.exists(), "a failed run must leave no output");
    }
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// `quant rna` on `bam` against [`SAF`], through [`run_writing`].
fn quant_rna(dir: &Workdir, bam: &Path) -> (Option<i32>, String) {
    let saf = dir.write("genes.saf", SAF);
    let out = dir.join("counts.parquet");
    run_writing(&["quant", "rna", "--bam", arg(bam), "-a", arg(&saf), "--out", arg(&out)], &out)
}

#[test]
fn a_zero_byte_alignment_file_is_refused_not_counted_as_an_empty_library() {
    let dir = Workdir::new();
    let empty = dir.write("empty.bam", "");
    let (code, e) = quant_rna(&dir, &empty);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("empty.bam") && e.contains("empty file (0 bytes)"), "{e}");
    let out = dir.join("m.parquet");
    let o = harmonomics(&["quant", "methylation", "--bam", arg(&empty), "-o", arg(&out)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("empty.bam") && e.contains("0 bytes") && !out.exists(), "{e}");
}

/// Rewrites the first record's reference id (and its mate's) in the BAM at `path`.
/// Rewrites a BAM's decompressed bytes with `patch`, given the offset of its first record's
/// block_size, and compresses them again.
fn patch_first_record(path: &Path, patch: impl FnOnce(&mut [u8], usize)) {
    let mut raw = Vec::new();
    noodles::bgzf::io::Reader::new(std::fs::File::open(path).expect("open")).read_to_end(&mut raw).expect("inflate");
    let int = |at: usize| i32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes")) as usize;
    // magic, l_text, text, n_ref, then each reference's l_name, name, l_ref.
    let mut at = 8 + int(4);
    let n_ref = int(at);
    at += 4;
    for _ in 0..n_ref {
        at += 4 + int(at) + 4;
    }
    patch(&mut raw, at);
    let mut writer = noodles::bgzf::io::Writer::new(std::fs::File::create(path).expect("create"));
    writer.write_all(&raw).expect("deflate");
    writer.finish().expect("finish");
}

fn set_first_reference_id(path: &Path, id: i32) {
    // block_size, then refID; next_refID sits 20 bytes after refID.
    patch_first_record(path, |raw, at| {
        raw[at + 4..at + 8].copy_from_slice(&id.to_le_bytes());
        raw[at + 24..at + 28].copy_from_slice(&id.to_le_bytes());
    });
}

#[test]
fn a_record_length_no_record_can_have_is_refused_before_it_is_allocated() {
    // noodles would allocate (and zero) the claimed length before the read fails: ~1 GiB here.
    let dir = Workdir::new();
    let bam = dir.join("huge.bam");
    let mut sam = String::from(HEADER);
    sam.push_str("r1\t0\tchr1\t100\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\n");
    sam_to_bam(&sam, &bam);
    patch_first_record(&bam, |raw, at| raw[at..at + 4].copy_from_slice(&0x3C00_0000u32.to_le_bytes()));
    let (code, e) = quant_rna(&dir, &bam);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("huge.bam") && e.contains("alignment record 1") && e.contains("block_size 1006632960"), "{e}");
    // The same for methylation calls, which read BAMs through the same guard.
    let o = harmonomics(&["quant", "methylation", "--bam", arg(&bam), "-o", arg(&dir.join("m.parquet"))]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("block_size 1006632960"), "{e}");
}

#[test]
fn a_record_on_a_reference_the_header_does_not_list_is_an_error_naming_the_record() {
    let dir = Workdir::new();
    let bam = dir.join("badref.bam");
    let mut sam = String::from(HEADER);
    for (name, pos) in [("r1", 100), ("r2", 200)] {
        sam.push_str(&format!("{name}\t0\tchr1\t{pos}\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\n"));
    }
    sam_to_bam(&sam, &bam);
    let (code, e) = quant_rna(&dir, &bam);
    assert_eq!(code, Some(0), "the untouched BAM counts: {e}");
    set_first_reference_id(&bam, 3);
    let (code, e) = quant_rna(&dir, &bam);
    assert_eq!(code, Some(1), "{e}");
    assert!(
        e.contains("badref.bam") && e.contains("alignment record 1") && e.contains("reference sequence id 3"),
        "{e}"
    );
}

#[test]
fn sam_records_samtools_refuses_are_errors_with_their_line() {
    let dir = Workdir::new();
    for (name, record, expected) in [
        (
            "cigar.sam",
            "r1\t0\tchr1\t100\t60\t8M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII",
            "the CIGAR covers 8 read bases but SEQ has 10",
        ),
        ("qual.sam", "r1\t0\tchr1\t100\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIII", "QUAL has 5 values but SEQ has 10"),
    ] {
        let good = "r0\t0\tchr1\t50\t60\t4M2S\t*\t0\t0\tACGTAC\t*\n";
        let sam = dir.write(name, &format!("{HEADER}{good}{record}\n"));
        let (code, e) = quant_rna(&dir, &sam);
        assert_eq!(code, Some(1), "{name}: {e}");
        assert!(e.contains(name) && e.contains("line 4") && e.contains(expected), "{name}: {e}");
    }
    // SEQ `*` and QUAL `*` are not lengths to compare; an unmapped read's CIGAR is not checked.
    let fine = dir.write(
        "fine.sam",
        &format!("{HEADER}r1\t0\tchr1\t100\t60\t10M\t*\t0\t0\t*\t*\nr2\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\n"),
    );
    let (code, e) = quant_rna(&dir, &fine);
    assert_eq!(code, Some(0), "{e}");
}

#[test]
fn a_pipe_is_refused_with_what_to_do_instead() {
    let dir = Workdir::new();
    let fifo = dir.join("reads.bam");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let (code, e) = quant_rna(&dir, &fifo);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("reads.bam") && e.contains("not a regular file"), "{e}");
}

/// A Bismark coverage table (real: Bismark's own test data), as modkit would write the same calls: 18
/// tab-separated columns (`modkit pileup` without `--mixed-delim`).
fn modkit_from_cov(cov: &Path, out: &Path) -> PathBuf {
    let text = common::gunzip_text(cov);
    let mut bed = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (start, m, u): (u64, u64, u64) =
            (f[1].parse().expect("start"), f[4].parse().expect("m"), f[5].parse().expect("u"));
        let n = m + u;
        let pct = 100.0 * m as f64 / n.max(1) as f64;
        bed.push_str(&format!(
            "{}\t{}\t{}\tm\t{n}\t.\t{}\t{}\t255,0,0\t{n}\t{pct:.2}\t{m}\t{u}\t0\t0\t0\t0\t0\n",
            f[0],
            start - 1,
            start,
            start - 1,
            start
        ));
    }
    std::fs::write(out, bed).expect("write bedMethyl");
    out.to_path_buf()
}

#[test]
fn a_tab_separated_modkit_bedmethyl_is_imported_like_the_bismark_table_it_equals() {
    let dir = Workdir::new();
    let cov = repo().join("test-data/real/bismark/test_data.fastq_bismark.bismark.cov.gz");
    let bed = modkit_from_cov(&cov, &dir.join("pileup.bed"));
    let from_bed = dir.join("bed.parquet");
    let from_cov = dir.join("cov.parquet");
    common::quant_methylation(&bed, &from_bed, &["--sample", "s"]);
    common::quant_methylation(&cov, &from_cov, &["--sample", "s"]);
    let (a, _) = common::read_parquet(&from_bed);
    let (b, _) = common::read_parquet(&from_cov);
    assert!(a.num_rows() > 1000, "{} rows", a.num_rows());
    for column in ["pos", "methylated", "unmethylated"] {
        assert_eq!(common::u64s(&a, column), common::u64s(&b, column), "{column}");
    }
    assert_eq!(common::strings(&a, "chrom"), common::strings(&b, "chrom"));
}

/// `harmonomics import TOOL -i INPUT... --out DIR [extra]`: exit code and stderr; a failure
/// leaves no output directory contents behind.
fn import(dir: &Workdir, tool: &str, inputs: &[&Path], extra: &[&str]) -> (Option<i32>, String) {
    let out = dir.join(&format!("import-{tool}"));
    let _ = std::fs::remove_dir_all(&out);
    let mut args = vec!["import", tool, "--out", arg(&out), "-q"];
    for i in inputs {
        args.extend(["-i", arg(i)]);
    }
    args.extend(extra);
    let o = harmonomics(&args);
    if !o.status.success() {
        let left = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "a failed import must leave nothing in {}", out.display());
    }
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// `normalise transcriptome --counts TABLE --method METHOD --out OUT`, through [`run_writing`].
fn normalise_counts(table: &Path, method: &str, out: &Path) -> (Option<i32>, String) {
    run_writing(&["normalise", "transcriptome", "--counts", arg(table), "--method", method, "--out", arg(out)], out)
}

#[test]
fn a_gene_listed_twice_in_a_count_table_is_refused_with_both_lines() {
    let dir = Workdir::new();
    let htseq = dir.write("a.htseq.txt", "g1\t5\ng2\t7\ng1\t3\n__no_feature\t2\n");
    let (code, e) = import(&dir, "htseq", &[&htseq], &[]);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("a.htseq.txt:3") && e.contains("\"g1\" again (first on line 1)"), "{e}");

    let star = dir.write(
        "ReadsPerGene.out.tab",
        "N_unmapped\t1\t1\t1\nN_multimapping\t0\t0\t0\nN_noFeature\t0\t0\t0\nN_ambiguous\t0\t0\t0\ng1\t5\t0\t5\ng1\t2\t0\t2\n",
    );
    let (code, e) = import(&dir, "star", &[&star], &[]);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("ReadsPerGene.out.tab:6") && e.contains("first on line 5"), "{e}");

    let table = dir.write("counts.tsv", "gene\ts1\ts2\ng1\t5\t6\ng2\t1\t2\ng1\t3\t4\n");
    let (code, e) = normalise_counts(&table, "cpm", &dir.join("n.parquet"));
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("counts.tsv:4") && e.contains("\"g1\" again (first on line 2)"), "{e}");
}

#[test]
fn count_values_that_are_not_counts_name_their_line_and_say_why() {
    let dir = Workdir::new();
    let huge = dir.write("huge.htseq.txt", "g1\t5\ng2\t18446744073709551616\n");
    let (code, e) = import(&dir, "htseq", &[&huge], &[]);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("huge.htseq.txt:2") && e.contains("over 2^53"), "{e}");
    for (value, why) in [("NaN", "not a finite number"), ("inf", "not a finite number"), ("-3", "is negative")] {
        let table = dir.write("m.tsv", &format!("gene\ts1\ts2\ng1\t5\t6\ng2\t{value}\t2\n"));
        let (code, e) = normalise_counts(&table, "cpm", &dir.join("n.parquet"));
        assert_eq!(code, Some(1), "{value}: {e}");
        assert!(e.contains("m.tsv:3") && e.contains(why) && e.contains("\"g2\""), "{value}: {e}");
    }
}

#[test]
fn salmon_transcripts_twice_or_mapped_to_two_genes_are_refused() {
    let dir = Workdir::new();
    let header = "Name\tLength\tEffectiveLength\tTPM\tNumReads\n";
    let quant = dir.write("quant.sf", &format!("{header}t1\t1000\t800\t10\t50\nt2\t500\t300\t5\t10\n"));
    let twice = dir.write("twice.sf", &format!("{header}t1\t1000\t800\t10\t50\nt1\t1000\t800\t10\t50\n"));
    let map = dir.write("tx2gene.tsv", "t1\tgA\nt2\tgB\n");
    let (code, e) = import(&dir, "salmon", &[&quant], &["--tx2gene", arg(&map)]);
    assert_eq!(code, Some(0), "{e}");
    let (code, e) = import(&dir, "salmon", &[&twice], &["--tx2gene", arg(&map)]);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("twice.sf:3") && e.contains("transcript \"t1\" again (first on line 2)"), "{e}");
    let conflict = dir.write("conflict.tsv", "t1\tgA\nt2\tgB\nt1\tgC\n");
    let (code, e) = import(&dir, "salmon", &[&quant], &["--tx2gene", arg(&conflict)]);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("conflict.tsv:3") && e.contains("\"gC\" here and to \"gA\" on line 1"), "{e}");
    // A GTF repeats a transcript on every exon line with the same gene: that is not a conflict.
    let gtf = dir.write(
        "genes.gtf",
        "c1\tx\texon\t1\t10\t.\t+\t.\tgene_id \"gA\"; transcript_id \"t1\";\n\
         c1\tx\texon\t20\t30\t.\t+\t.\tgene_id \"gA\"; transcript_id \"t1\";\n\
         c1\tx\texon\t40\t50\t.\t+\t.\tgene_id \"gB\"; transcript_id \"t2\";\n",
    );
    let (code, e) = import(&dir, "salmon", &[&quant], &["--tx2gene", arg(&gtf)]);
    assert_eq!(code, Some(0), "{e}");
}

/// `normalise metabolome` on a wide table of three features × (four study samples, two QCs, two
/// blanks); `extra` sets the steps.
fn normalise_metabolome(dir: &Workdir, extra: &[&str]) -> (Option<i32>, String, PathBuf) {
    let table = dir.write(
        "table.csv",
        "name,B1,Q1,S1,S2,Q2,S3,S4,B2\n\
         lactate,2,150,120,0,160,140,200,2\n\
         citrate,0,80,90,70,85,0,95,0\n\
         glucose,1,500,400,450,480,0,520,1\n",
    );
    let injections = dir.write(
        "injections.csv",
        "column,injection_order,batch,sample_type,sample_id\nB1,1,1,blank,\nQ1,2,1,qc,\nS1,3,1,sample,S1\n\
         S2,4,1,sample,S2\nQ2,5,1,qc,\nS3,6,1,sample,S3\nS4,7,1,sample,S4\nB2,8,1,blank,\n",
    );
    let out = dir.join("metabolome");
    let _ = std::fs::remove_dir_all(&out);
    let args = ["normalise", "metabolome", "--table", arg(&table), "--injections", arg(&injections), "-o", arg(&out)];
    let o = harmonomics(&[&args[..], &["--drift", "none", "--no-pqn", "--transform", "none"], extra].concat());
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), out)
}

#[test]
fn metabolome_imputation_never_takes_values_from_blanks() {
    let dir = Workdir::new();
    let off = ["--blank-ratio", "0", "--max-qc-rsd", "0", "--min-detection", "0"];
    let (code, e, out) = normalise_metabolome(&dir, &[&off[..], &["--impute", "half_min"]].concat());
    assert_eq!(code, Some(0), "{e}");
    let (m, _) = common::read_parquet(&out.join("normalised.parquet"));
    let ids = common::strings(&m, "feature_id");
    let row = |f: &str| ids.iter().position(|i| i.as_deref() == Some(f)).expect("feature");
    // lactate's study and QC minimum is 120 (the blanks read 2): S2 is filled with 60, not 1.
    assert_eq!(common::f64s(&m, "S2")[row("lactate")], Some(60.0));
    assert_eq!(common::f64s(&m, "S3")[row("citrate")], Some(35.0));
    assert_eq!(common::f64s(&m, "S3")[row("glucose")], Some(200.0));
    // KNN: the donors are study samples and QCs; a blank (1 or 2) would pull the mean far down.
    let (code, e, out) =
        normalise_metabolome(&dir, &[&off[..], &["--impute", "knn", "--knn-neighbours", "2"]].concat());
    assert_eq!(code, Some(0), "{e}");
    let (m, _) = common::read_parquet(&out.join("normalised.parquet"));
    let s2 = common::f64s(&m, "S2")[row("lactate")].expect("imputed");
    assert!(s2 >= 120.0, "lactate in S2 imputed from blanks: {s2}");
}

#[test]
fn filters_that_remove_every_metabolite_are_an_error_naming_them() {
    let dir = Workdir::new();
    let (code, e, out) =
        normalise_metabolome(&dir, &["--blank-ratio", "0", "--max-qc-rsd", "0", "--min-detection", "1"]);
    // Exit 2: the thresholds are configuration, as for the other design errors.
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("removed all 3 features") && e.contains("detection_filter removed 3"), "{e}");
    assert!(e.contains("\"min_detection\":1.0"), "{e}");
    assert!(!out.join("normalised.parquet").exists());
}

#[test]
fn a_command_whose_last_output_fails_leaves_none_of_its_outputs() {
    let dir = Workdir::new();
    let bam = repo().join("test-data/transcriptome/bam/P01_day0.bam");
    let saf = repo().join("test-data/annotation/hg38_refseq_fixture.saf");
    let (out, table) = (dir.join("x.parquet"), dir.join("t.tsv"));
    // A directory (not empty) where featureCounts' summary goes.
    std::fs::create_dir(dir.join("t.tsv.summary")).expect("dir");
    dir.write("t.tsv.summary/keep", "x");
    let args = ["quant", "rna", "--bam", arg(&bam), "-a", arg(&saf), "-s", "2", "--out", arg(&out)];
    let o = harmonomics(&[&args[..], &["--featurecounts-tsv", arg(&table)]].concat());
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("t.tsv.summary"), "{e}");
    assert!(!out.exists() && !table.exists(), "no output may be left when one of them failed");
    let hidden = std::fs::read_dir(dir.path()).expect("dir").filter_map(|e| e.ok()).any(|e| {
        let name = e.file_name();
        name.to_string_lossy().starts_with('.')
    });
    assert!(!hidden, "no temporary file either");
    // The same for quant methylation's Parquet file and bedGraph.
    let cov = repo().join("test-data/real/bismark/test_data.fastq_bismark.bismark.cov.gz");
    std::fs::create_dir(dir.join("m.bedGraph")).expect("dir");
    dir.write("m.bedGraph/keep", "x");
    let m = dir.join("m.parquet");
    let o = harmonomics(&[
        "quant",
        "methylation",
        "--bam",
        arg(&cov),
        "-o",
        arg(&m),
        "--bedgraph",
        arg(&dir.join("m.bedGraph")),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(!m.exists(), "{e}");
}

#[test]
fn a_bad_sam_header_line_is_named_by_its_line() {
    let dir = Workdir::new();
    let sam = dir.write(
        "badheader.sam",
        "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:5000\n@SQ\tSN:chr2\nr1\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\t*\n",
    );
    let (code, e) = quant_rna(&dir, &sam);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("badheader.sam:3: SAM header") && e.contains("LN"), "{e}");
    let out = dir.join("m.parquet");
    let o = harmonomics(&["quant", "methylation", "--bam", arg(&sam), "-o", arg(&out)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("badheader.sam:3: SAM header"), "{e}");
}

#[test]
fn count_matrices_without_genes_or_reads_are_named_or_normalised_never_a_panic() {
    let dir = Workdir::new();
    let out = dir.join("n.parquet");
    let normalise = |table: &Path, method: &str| normalise_counts(table, method, &out);
    let no_genes = dir.write("nogenes.tsv", "gene\ts1\ts2\n");
    for method in ["tmm", "deseq2", "cpm", "vst"] {
        let (code, e) = normalise(&no_genes, method);
        assert_eq!(code, Some(1), "{method}: {e}");
        assert!(e.contains("nogenes.tsv") && e.contains("no features"), "{method}: {e}");
    }
    // No read at all: edgeR's calcNormFactors falls back to factors of 1 (method "none").
    let zeros = dir.write("zeros.tsv", "gene\ts1\ts2\ng1\t0\t0\ng2\t0\t0\n");
    let (code, e) = normalise(&zeros, "tmm");
    assert_eq!(code, Some(0), "{e}");
    // A method that cannot run on this matrix names the file.
    let one = dir.write("one.tsv", "gene\ts1\ng1\t5\ng2\t6\n");
    let (code, e) = normalise(&one, "vst");
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("one.tsv: vst: needs at least two samples"), "{e}");
    let (_, e) = normalise(&one, "tpm");
    assert!(e.contains("one.tsv: tpm: needs gene lengths"), "{e}");
}

#[test]
fn a_timepoint_defined_twice_in_cohort_toml_names_both_lines() {
    let dir = Workdir::new();
    let config = common::portable_fixture_config(true).replacen("name = \"day3\"", "name = \"day0\"", 1);
    let path = dir.write("cohort.toml", &config);
    let line_of = |needle: &str, nth: usize| {
        config.lines().enumerate().filter(|(_, l)| l.trim() == needle).nth(nth).expect("line").0 + 1
    };
    let (first, again) = (line_of("name = \"day0\"", 0), line_of("name = \"day0\"", 1));
    let o = harmonomics(&["validate", "--config", arg(&path)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    let expected =
        format!("cohort.toml:{again}: timepoint \"day0\" is defined twice (orders 1 and 2, first on line {first})");
    assert!(e.contains(&expected), "{expected}\n{e}");
    // Every problem at once: the samplesheet's rows (now at an unknown timepoint "day3") are
    // still checked after the config's error.
    assert!(e.contains("samplesheet.csv:"), "{e}");
}

#[test]
fn counting_options_a_cohort_cannot_use_are_refused_by_validate() {
    let dir = Workdir::new();
    let config = common::portable_fixture_config(true).replacen(
        "[transcriptome.quant]\n",
        "[transcriptome.quant]\nfeature_level = true\nsplit_only = true\nnon_split_only = true\nby_read_group = true\n",
        1,
    );
    assert!(config.contains("feature_level"), "the fixture config has a [transcriptome.quant] table");
    let path = dir.write("cohort.toml", &config);
    let o = harmonomics(&["validate", "--config", arg(&path)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("feature_level = true counts annotation rows"), "{e}");
    assert!(e.contains("--splitOnly and --nonSplitOnly exclude each other"), "{e}");
    assert!(e.contains("by_read_group = true splits a file"), "{e}");
}

#[test]
fn gtf_ids_that_are_not_text_are_refused_not_mangled() {
    let dir = Workdir::new();
    let sam = dir.write("r.sam", &format!("{HEADER}r1\t0\tchr1\t100\t60\t10M\t*\t0\t0\tACGTACGTAC\tIIIIIIIIII\n"));
    let gtf = dir.join("latin1.gtf");
    std::fs::write(&gtf, b"chr1\tx\texon\t1\t500\t.\t+\t.\tgene_id \"g\xe9ne\";\n").expect("write");
    let out = dir.join("c.parquet");
    let o = harmonomics(&["quant", "rna", "--bam", arg(&sam), "-a", arg(&gtf), "-F", "gtf", "--out", arg(&out)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("latin1.gtf:1") && e.contains("not UTF-8"), "{e}");
}

#[test]
fn two_injections_of_one_batch_at_one_order_are_refused_orders_may_restart_per_batch() {
    let dir = Workdir::new();
    let (code, e, _) = normalise_metabolome(&dir, &["--blank-ratio", "0", "--max-qc-rsd", "0", "--min-detection", "0"]);
    assert_eq!(code, Some(0), "{e}");
    let table = dir.join("table.csv");
    let injections = dir.write(
        "dup.csv",
        "column,injection_order,batch,sample_type,sample_id\nB1,1,1,blank,\nQ1,2,1,qc,\nS1,3,1,sample,S1\n\
         S2,3,1,sample,S2\nQ2,5,1,qc,\nS3,1,2,sample,S3\nS4,2,2,sample,S4\nB2,3,2,blank,\n",
    );
    let out = dir.join("dup-out");
    let args = ["normalise", "metabolome", "--table", arg(&table), "--injections", arg(&injections), "-o", arg(&out)];
    let o = harmonomics(&[&args[..], &["--drift", "none"]].concat());
    let e = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{e}");
    assert!(e.contains("dup.csv:5") && e.contains("injection order 3 of batch \"1\"") && e.contains("(line 4)"), "{e}");
}

/// A non-empty directory where one output of a command goes: the command fails naming it.
fn block(path: &Path) {
    std::fs::create_dir_all(path).expect("dir");
    std::fs::write(path.join("keep"), "x").expect("file in dir");
}

/// Names in `dir`, sorted (hidden ones too: a staging directory or temporary file left behind
/// would show here).
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn import_and_normalise_write_all_their_outputs_or_none() {
    let dir = Workdir::new();
    // import salmon writes raw, lengths and features.parquet; they are renamed in name order,
    // so features.parquet, renamed before lengths.parquet fails, must be taken back.
    let header = "Name\tLength\tEffectiveLength\tTPM\tNumReads\n";
    let quant = dir.write("quant.sf", &format!("{header}t1\t1000\t800\t10\t50\nt2\t500\t300\t5\t10\n"));
    let map = dir.write("tx2gene.tsv", "t1\tgA\nt2\tgB\n");
    let out = dir.join("imported");
    block(&out.join("lengths.parquet"));
    let o = harmonomics(&["import", "salmon", "-i", arg(&quant), "--tx2gene", arg(&map), "--out", arg(&out)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("lengths.parquet"), "{e}");
    assert_eq!(names(&out), ["lengths.parquet"], "only the blocking directory: {e}");
    std::fs::remove_dir_all(out.join("lengths.parquet")).expect("unblock");
    let o = harmonomics(&["import", "salmon", "-i", arg(&quant), "--tx2gene", arg(&map), "--out", arg(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(names(&out), ["features.parquet", "lengths.parquet", "raw.parquet"]);

    // normalise transcriptome: the matrix and --factors.
    let counts = dir.write("counts.tsv", "gene\ts1\ts2\ng1\t10\t3\ng2\t5\t4\ng3\t7\t9\n");
    let (matrix, factors) = (dir.join("n.parquet"), dir.join("f.tsv"));
    block(&factors);
    let args = ["normalise", "transcriptome", "--counts", arg(&counts), "--method", "cpm", "--out", arg(&matrix)];
    let o = harmonomics(&[&args[..], &["--factors", arg(&factors)]].concat());
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("f.tsv") && !matrix.exists(), "{e}");
    assert!(!names(dir.path()).iter().any(|n| n.starts_with('.')), "no temporary file left: {:?}", names(dir.path()));

    // normalise metabolome: five tables in a directory.
    let (code, e, out) = normalise_metabolome(&dir, &[]);
    assert_eq!(code, Some(0), "{e}");
    assert_eq!(names(&out).len(), 5, "{:?}", names(&out));
    let blocked = dir.join("blocked");
    block(&blocked.join("qc.parquet"));
    let (table, injections) = (dir.join("table.csv"), dir.join("injections.csv"));
    let args = ["normalise", "metabolome", "--table", arg(&table), "--injections", arg(&injections)];
    let o = harmonomics(&[&args[..], &["-o", arg(&blocked), "--drift", "none"]].concat());
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("qc.parquet"), "{e}");
    assert_eq!(names(&blocked), ["qc.parquet"], "{e}");
}
