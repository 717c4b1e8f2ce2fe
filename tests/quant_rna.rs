//! featureCounts' counting rules, one edge case per read, on BAMs built in the test.
//!
//! Every expectation below is what featureCounts 2.0.3 reports for the same file (the
//! `edge_cases_match_featurecounts` test in `concordance.rs` re-checks them against the live
//! tool); here they run without it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::edge::*;
use common::*;

struct Case {
    dir: Workdir,
    bam: PathBuf,
    saf: PathBuf,
}

fn case(sam: &str) -> Case {
    let dir = Workdir::new();
    let bam = dir.join("reads.bam");
    sam_to_bam(sam, &bam);
    let saf = dir.write("genes.saf", SAF);
    Case { dir, bam, saf }
}

fn check(case: &Case, flags: &[&str], counts: &[(&str, &str)], summary: &[(&str, u64)]) {
    let (got_counts, got_summary) = quant_tables(&case.dir, &case.bam, &case.saf, flags);
    let expected: BTreeMap<String, String> = counts.iter().map(|(g, c)| (g.to_string(), c.to_string())).collect();
    assert_eq!(got_counts, expected, "counts with {flags:?}");
    let nonzero: BTreeMap<String, u64> = got_summary.into_iter().filter(|(_, n)| *n > 0).collect();
    let expected: BTreeMap<String, u64> = summary.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    assert_eq!(nonzero, expected, "summary with {flags:?}");
}

#[test]
fn default_rules_deletions_clips_splices_and_overlaps() {
    let c = case(&single_end_sam());
    check(
        &c,
        &[],
        &[("gA", "6"), ("gB", "0"), ("gC", "0"), ("gD", "3"), ("gE", "1")],
        &[
            ("Assigned", 10),
            ("Unassigned_Unmapped", 2),
            ("Unassigned_MultiMapping", 3),
            ("Unassigned_NoFeatures", 3),
            ("Unassigned_Ambiguity", 6),
        ],
    );
}

#[test]
fn largest_overlap_and_min_overlap_use_aligned_bases_only() {
    let c = case(&single_end_sam());
    check(
        &c,
        &["--largest-overlap"],
        &[("gA", "6"), ("gB", "1"), ("gC", "2"), ("gD", "3"), ("gE", "1")],
        &[
            ("Assigned", 13),
            ("Unassigned_Unmapped", 2),
            ("Unassigned_MultiMapping", 3),
            ("Unassigned_NoFeatures", 3),
            ("Unassigned_Ambiguity", 3),
        ],
    );
    check(
        &c,
        &["--min-overlap", "15"],
        &[("gA", "0"), ("gB", "0"), ("gC", "1"), ("gD", "0"), ("gE", "0")],
        &[
            ("Assigned", 1),
            ("Unassigned_Unmapped", 2),
            ("Unassigned_MultiMapping", 3),
            ("Unassigned_NoFeatures", 3),
            ("Unassigned_Overlapping_Length", 13),
            ("Unassigned_Ambiguity", 2),
        ],
    );
}

#[test]
fn multi_overlap_multi_mapping_and_fractions() {
    let c = case(&single_end_sam());
    check(
        &c,
        &["-O"],
        &[("gA", "7"), ("gB", "5"), ("gC", "6"), ("gD", "3"), ("gE", "1")],
        &[("Assigned", 16), ("Unassigned_Unmapped", 2), ("Unassigned_MultiMapping", 3), ("Unassigned_NoFeatures", 3)],
    );
    check(
        &c,
        &["-M", "--fraction"],
        &[("gA", "6.33"), ("gB", "0"), ("gC", "0"), ("gD", "3.33"), ("gE", "1")],
        &[("Assigned", 12), ("Unassigned_Unmapped", 2), ("Unassigned_NoFeatures", 3), ("Unassigned_Ambiguity", 7)],
    );
    // NH 3 and two genes at the top score: 1/3 × 1/2 each.
    check(
        &c,
        &["-M", "--fraction", "-O"],
        &[("gA", "6.83"), ("gB", "2.67"), ("gC", "3.17"), ("gD", "3.33"), ("gE", "1")],
        &[("Assigned", 19), ("Unassigned_Unmapped", 2), ("Unassigned_NoFeatures", 3)],
    );
}

#[test]
fn primary_duplicates_mapq_and_strand() {
    let c = case(&single_end_sam());
    // --primary without -M: NH > 1 is still multi-mapping; a secondary without NH is Secondary.
    check(
        &c,
        &["--primary"],
        &[("gA", "6"), ("gB", "0"), ("gC", "0"), ("gD", "2"), ("gE", "1")],
        &[
            ("Assigned", 9),
            ("Unassigned_Unmapped", 2),
            ("Unassigned_MultiMapping", 3),
            ("Unassigned_Secondary", 1),
            ("Unassigned_NoFeatures", 3),
            ("Unassigned_Ambiguity", 6),
        ],
    );
    check(
        &c,
        &["-M", "--primary"],
        &[("gA", "7"), ("gB", "0"), ("gC", "0"), ("gD", "2"), ("gE", "1")],
        &[
            ("Assigned", 10),
            ("Unassigned_Unmapped", 2),
            ("Unassigned_Secondary", 3),
            ("Unassigned_NoFeatures", 3),
            ("Unassigned_Ambiguity", 6),
        ],
    );
    check(
        &c,
        &["--ignore-duplicates", "-Q", "10"],
        &[("gA", "5"), ("gB", "0"), ("gC", "0"), ("gD", "1"), ("gE", "1")],
        &[
            ("Assigned", 7),
            ("Unassigned_Unmapped", 2),
            ("Unassigned_MappingQuality", 5),
            ("Unassigned_Duplicate", 1),
            ("Unassigned_NoFeatures", 3),
            ("Unassigned_Ambiguity", 6),
        ],
    );
    // -s 2: a forward read counts for '-' genes only; gB21_gC19 (reverse) counts for gC.
    check(
        &c,
        &["-s", "2"],
        &[("gA", "0"), ("gB", "4"), ("gC", "1"), ("gD", "0"), ("gE", "0")],
        &[("Assigned", 5), ("Unassigned_Unmapped", 2), ("Unassigned_MultiMapping", 3), ("Unassigned_NoFeatures", 14)],
    );
}

#[test]
fn fragments_are_counted_once_with_featurecounts_pair_rules() {
    let c = case(&paired_end_sam());
    let base = [("gB", "0"), ("gC", "0"), ("gE", "0")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    check(
        &c,
        &["--paired", "--count-pairs"],
        &with(&[("gA", "11"), ("gD", "0")]),
        &[("Assigned", 11), ("Unassigned_Unmapped", 1), ("Unassigned_MultiMapping", 2), ("Unassigned_Ambiguity", 2)],
    );
    check(
        &c,
        &["--paired", "--count-pairs", "-B", "-C"],
        &with(&[("gA", "7"), ("gD", "0")]),
        &[
            ("Assigned", 7),
            ("Unassigned_Unmapped", 1),
            ("Unassigned_Singleton", 2),
            ("Unassigned_Chimera", 2),
            ("Unassigned_MultiMapping", 2),
            ("Unassigned_Ambiguity", 2),
        ],
    );
    check(
        &c,
        &["--paired", "--count-pairs", "-Q", "10", "--ignore-duplicates", "--primary"],
        &with(&[("gA", "8"), ("gD", "0")]),
        &[
            ("Assigned", 8),
            ("Unassigned_Unmapped", 1),
            ("Unassigned_MappingQuality", 1),
            ("Unassigned_Duplicate", 1),
            ("Unassigned_MultiMapping", 2),
            ("Unassigned_Secondary", 1),
            ("Unassigned_Ambiguity", 2),
        ],
    );
    // -O: a fragment whose ends hit two genes counts for both.
    check(
        &c,
        &["--paired", "--count-pairs", "-O", "-M"],
        &[("gA", "15"), ("gB", "1"), ("gC", "0"), ("gD", "1"), ("gE", "0")],
        &[("Assigned", 15), ("Unassigned_Unmapped", 1)],
    );
    // Without --count-pairs each mate is a read.
    let (counts, summary) = quant_tables(&c.dir, &c.bam, &c.saf, &["--paired"]);
    assert_eq!(counts["gA"], "21");
    assert_eq!(summary["Unassigned_Unmapped"], 4);
}

#[test]
fn paired_reads_without_paired_flag_are_refused_like_featurecounts() {
    let c = case(&paired_end_sam());
    let o = harmonomics(&[
        "quant",
        "rna",
        "--bam",
        c.bam.to_str().expect("utf-8"),
        "-a",
        c.saf.to_str().expect("utf-8"),
        "--out",
        c.dir.join("x.parquet").to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("reads.bam") && stderr.contains("alignment record 1") && stderr.contains("--paired"),
        "{stderr}"
    );
    assert!(!c.dir.join("x.parquet").exists());
}

#[test]
fn sam_and_bam_inputs_give_the_same_counts() {
    let c = case(&single_end_sam());
    let sam = c.dir.write("reads.sam", &single_end_sam());
    for flags in [&[][..], &["-M", "--fraction", "-O"], &["--largest-overlap", "-s", "1"]] {
        assert_eq!(quant_tables(&c.dir, &c.bam, &c.saf, flags), quant_tables(&c.dir, &sam, &c.saf, flags), "{flags:?}");
    }
}

#[test]
fn strandedness_check_warns_when_the_library_contradicts_the_declaration() {
    let dir = Workdir::new();
    let mut sam = String::from(HEADER);
    for i in 0..150 {
        sam.push_str(&read(&format!("r{i}"), 0, "c1", 101 + i % 50, 60, "20M", ""));
    }
    let bam = dir.join("fwd.bam");
    sam_to_bam(&sam, &bam);
    let saf = dir.write("genes.saf", SAF);
    let run = |s: &str| {
        harmonomics(&[
            "quant",
            "rna",
            "--bam",
            bam.to_str().expect("utf-8"),
            "-a",
            saf.to_str().expect("utf-8"),
            "-s",
            s,
            "--out",
            dir.join("x.parquet").to_str().expect("utf-8"),
        ])
    };
    let o = run("2");
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("declared strandedness 2") && stderr.contains("forward-stranded (-s 1)"), "{stderr}");
    let o = run("1");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"), "no warning when the declaration fits");
}

#[test]
fn bad_inputs_fail_with_file_and_record_and_leave_no_output() {
    let dir = Workdir::new();
    let fixture = repo().join("test-data/transcriptome/bam/P01_day0.bam");
    let saf = repo().join("test-data/annotation/hg38_refseq_fixture.saf");
    let out = dir.join("out.parquet");
    let table = dir.join("out.tsv");
    let run = |bam: &std::path::Path, annotation: &std::path::Path, format: &str| {
        let o = harmonomics(&[
            "quant",
            "rna",
            "--bam",
            bam.to_str().expect("utf-8"),
            "-a",
            annotation.to_str().expect("utf-8"),
            "-F",
            format,
            "--out",
            out.to_str().expect("utf-8"),
            "--featurecounts-tsv",
            table.to_str().expect("utf-8"),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!out.exists() && !table.exists(), "no output may be left behind");
        let leftovers = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with('.'));
        assert!(!leftovers, "no temporary file may be left behind");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let bytes = std::fs::read(&fixture).expect("bam");

    // Truncated at a block boundary: every block decodes, but BGZF's EOF marker is missing.
    let truncated = dir.join("truncated.bam");
    std::fs::write(&truncated, &bytes[..bytes.len() - 28]).expect("write");
    let e = run(&truncated, &saf, "saf");
    assert!(e.contains("truncated.bam") && e.contains("end-of-file marker is missing"), "{e}");

    // A corrupted block: the CRC check fails at a record we name.
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid..mid + 64].fill(0);
    let corrupted = dir.join("corrupted.bam");
    std::fs::write(&corrupted, corrupt).expect("write");
    let e = run(&corrupted, &saf, "saf");
    assert!(e.contains("corrupted.bam") && e.contains("alignment record"), "{e}");

    // SAM with a malformed POS on line 3.
    let sam = dir.write("bad.sam", "@SQ\tSN:chr1\tLN:1000\nr1\t0\tchr1\t10\t60\t10M\t*\t0\t0\tAAAAAAAAAA\tIIIIIIIIII\nr2\t0\tchr1\tten\t60\t10M\t*\t0\t0\tAAAAAAAAAA\tIIIIIIIIII\n");
    let e = run(&sam, &saf, "saf");
    assert!(e.contains("bad.sam") && e.contains("line 3"), "{e}");

    // GTF with a broken attribute column on line 2.
    let gtf = dir.write(
        "bad.gtf",
        "chr1\tx\texon\t10\t20\t.\t+\t.\tgene_id \"g1\";\nchr1\tx\texon\t30\t40\t.\t+\t.\tgene_id \"g2\n",
    );
    let e = run(&fixture, &gtf, "gtf");
    assert!(e.contains("bad.gtf:2") && e.contains("attributes"), "{e}");

    // An exon without the -g attribute.
    let gtf = dir.write("noid.gtf", "chr1\tx\texon\t10\t20\t.\t+\t.\ttranscript_id \"t1\";\n");
    let e = run(&fixture, &gtf, "gtf");
    assert!(e.contains("noid.gtf:1") && e.contains("no \"gene_id\" attribute"), "{e}");

    // Empty annotations.
    let e = run(&fixture, &dir.write("empty.gtf", ""), "gtf");
    assert!(e.contains("empty.gtf") && e.contains("no features"), "{e}");
    let e = run(&fixture, &dir.write("empty.saf", "GeneID\tChr\tStart\tEnd\tStrand\n"), "saf");
    assert!(e.contains("empty.saf") && e.contains("no features"), "{e}");

    // Not an alignment file at all.
    let e = run(&dir.write("notes.txt", "\u{1}\u{2}binary"), &saf, "saf");
    assert!(e.contains("notes.txt") && e.contains("not a BAM, CRAM or SAM"), "{e}");
}

#[test]
fn gtf_and_saf_of_the_same_genes_count_alike() {
    let c = case(&single_end_sam());
    let mut gtf = String::new();
    for line in SAF.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        gtf.push_str(&format!(
            "{}\ttest\texon\t{}\t{}\t.\t{}\t.\tgene_id \"{}\"; gene_name \"{}-name\";\n",
            f[1], f[2], f[3], f[4], f[0], f[0]
        ));
        gtf.push_str(&format!("{}\ttest\tCDS\t{}\t{}\t.\t{}\t0\tgene_id \"{}\";\n", f[1], f[2], f[3], f[4], f[0]));
    }
    let gtf = c.dir.write("genes.gtf", &gtf);
    for flags in [&[][..], &["-O", "-M", "--fraction"], &["--largest-overlap"]] {
        let with_gtf = [&["-F", "gtf"][..], flags].concat();
        assert_eq!(
            quant_tables(&c.dir, &c.bam, &c.saf, flags),
            quant_tables(&c.dir, &c.bam, &gtf, &with_gtf),
            "{flags:?}"
        );
    }
    let out = c.dir.join("x.parquet");
    let o = harmonomics(&[
        "quant",
        "rna",
        "--bam",
        c.bam.to_str().expect("utf-8"),
        "-a",
        gtf.to_str().expect("utf-8"),
        "-F",
        "gtf",
        "-t",
        "CDS",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success());
    let (counts, _) = read_parquet(&out);
    assert_eq!(
        u64s(&counts, "count"),
        vec![Some(6), Some(0), Some(0), Some(3), Some(1)],
        "-t CDS selects the CDS rows"
    );
}

#[test]
fn cram_with_its_reference_counts_like_bam() {
    let c = case(&single_end_sam());
    let reference = c.dir.join("ref.fa");
    write_reference(&reference, &[("c1", 5000), ("c2", 5000)]);
    let cram = c.dir.join("reads.cram");
    sam_to_cram(&single_end_sam(), &reference, &cram);
    let r = reference.to_str().expect("utf-8");
    for flags in [&[][..], &["-M", "--fraction", "-O"], &["--largest-overlap", "-s", "2"]] {
        let with_ref = [flags, &["--reference", r]].concat();
        assert_eq!(
            quant_tables(&c.dir, &c.bam, &c.saf, flags),
            quant_tables(&c.dir, &cram, &c.saf, &with_ref),
            "{flags:?}"
        );
    }
    let pe = case(&paired_end_sam());
    let pe_cram = pe.dir.join("pairs.cram");
    let pe_ref = pe.dir.join("ref.fa");
    write_reference(&pe_ref, &[("c1", 5000), ("c2", 5000)]);
    sam_to_cram(&paired_end_sam(), &pe_ref, &pe_cram);
    let flags = ["--paired", "--count-pairs", "-B"];
    let with_ref = [&flags[..], &["--reference", pe_ref.to_str().expect("utf-8")]].concat();
    assert_eq!(quant_tables(&pe.dir, &pe.bam, &pe.saf, &flags), quant_tables(&pe.dir, &pe_cram, &pe.saf, &with_ref));

    // -R SAM reads the CRAM again for its records: the BAM's records, tags and all.
    let annotated = |input: &std::path::Path, extra: &[&str], to: &str| {
        let dir = pe.dir.join(to);
        std::fs::create_dir_all(&dir).expect("dir");
        let parquet = pe.dir.join("r.parquet");
        let args = [
            &["--quiet", "quant", "rna", "-a", arg(&pe.saf), "-R", "SAM", "--Rpath", arg(&dir)][..],
            &flags,
            extra,
            &["-o", arg(&parquet), arg(input)],
        ]
        .concat();
        let o = harmonomics(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let name = format!("{}.featureCounts.sam", input.file_name().and_then(|n| n.to_str()).expect("name"));
        let text = std::fs::read_to_string(dir.join(&name))
            .unwrap_or_else(|e| panic!("{name}: {e}; {:?}", std::fs::read_dir(&dir).map(|d| d.count())));
        text.lines().filter(|l| !l.starts_with('@')).map(str::to_string).collect::<Vec<_>>()
    };
    let from_bam = annotated(&pe.bam, &[], "from-bam");
    let from_cram = annotated(&pe_cram, &["--reference", arg(&pe_ref)], "from-cram");
    assert!(from_bam.len() > 10 && from_bam.iter().all(|l| l.contains("\tXS:Z:")), "{from_bam:?}");
    // CRAM recomputes TLEN and stores no MAPQ for unmapped reads: compare the rest.
    let fields = |l: &String| {
        let f: Vec<&str> = l.split('\t').collect();
        [f[0], f[1], f[2], f[3], f[5]]
            .into_iter()
            .chain(f.iter().copied().filter(|t| t.starts_with('X')))
            .collect::<Vec<_>>()
            .join("\t")
    };
    assert_eq!(from_bam.iter().map(fields).collect::<Vec<_>>(), from_cram.iter().map(fields).collect::<Vec<_>>());

    // A reference without its index is refused with a hint.
    std::fs::remove_file(format!("{r}.fai")).expect("rm fai");
    let o = harmonomics(&[
        "quant",
        "rna",
        "--bam",
        cram.to_str().expect("utf-8"),
        "-a",
        c.saf.to_str().expect("utf-8"),
        "--reference",
        r,
        "--out",
        c.dir.join("x.parquet").to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("ref.fa.fai is missing") && stderr.contains("samtools faidx"), "{stderr}");
}

#[test]
fn a_flag_given_twice_is_accepted_and_the_last_one_counts() {
    // featureCounts takes `--primary --primary` and `-Q 0 -Q 61`; scripts that build command
    // lines from pieces do both.
    let dir = Workdir::new();
    let sam = dir.write("reads.sam", &common::edge::single_end_sam());
    let saf = dir.write("genes.saf", common::edge::SAF);
    let (strict, strict_summary) = quant_tables(&dir, &sam, &saf, &["-Q", "61"]);
    let (last_strict, last_strict_summary) = quant_tables(&dir, &sam, &saf, &["-Q", "0", "-Q", "61"]);
    let (last_lenient, _) =
        quant_tables(&dir, &sam, &saf, &["-Q", "61", "-Q", "0", "--primary-only", "--primary-only"]);
    let (lenient, _) = quant_tables(&dir, &sam, &saf, &["--primary-only"]);
    assert_eq!((strict, strict_summary.clone()), (last_strict, last_strict_summary));
    assert_eq!(last_lenient, lenient);
    assert_eq!(strict_summary.get("Assigned"), Some(&0), "no read has MAPQ 61: {strict_summary:?}");
    assert_ne!(lenient.values().filter(|c| *c != "0").count(), 0);
}

#[test]
fn several_alignment_files_share_one_call_and_a_file_given_twice_is_refused() {
    let dir = Workdir::new();
    let saf = dir.write("genes.saf", common::edge::SAF);
    let a = dir.write("a.sam", &common::edge::single_end_sam());
    let b = dir.write("b.sam", &common::edge::single_end_sam().replace("\t60\t", "\t5\t"));
    let out = dir.join("both.parquet");
    let (sa, sb, ss, so) = (
        a.to_str().expect("utf-8"),
        b.to_str().expect("utf-8"),
        saf.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    );
    let o = harmonomics(&["-q", "quant", "rna", "-a", ss, "-Q", "10", "-o", so, sa, sb]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (m, _) = read_parquet(&out);
    let (one, _) = quant_tables(&dir, &a, &saf, &["-Q", "10"]);
    let column: BTreeMap<String, String> = strings(&m, "feature_id")
        .into_iter()
        .zip(u64s(&m, sa))
        .map(|(g, c)| (g.expect("id"), c.expect("count").to_string()))
        .collect();
    assert_eq!(column, one, "a file's column equals its count alone");
    assert!(u64s(&m, sb).iter().all(|c| *c == Some(0)) || u64s(&m, sb) != u64s(&m, sa), "MAPQ 5 reads are filtered");
    let o = harmonomics(&["-q", "quant", "rna", "-a", ss, "-o", so, "--bam", sa, sa]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("given twice") && e.contains("a.sam"), "{e}");
}

#[test]
fn option_files_and_values_featurecounts_would_misread_are_errors_naming_them() {
    let c = case(&single_end_sam());
    let out = c.dir.join("out.parquet");
    let run = |extra: &[&str]| {
        let args = [
            &["--quiet", "quant", "rna", "--bam", c.bam.to_str().expect("utf-8"), "-a", c.saf.to_str().expect("utf-8")]
                [..],
            extra,
            &["-o", out.to_str().expect("utf-8")],
        ]
        .concat();
        let o = harmonomics(&args);
        (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    // featureCounts reads a tab-separated alias line as one name and silently matches nothing.
    let aliases = c.dir.write("aliases.csv", "c9,chr9\nc1\tchr1\n");
    let (code, e) = run(&["-A", aliases.to_str().expect("utf-8")]);
    assert_ne!(code, Some(0), "{e}");
    assert!(e.contains("aliases.csv:2: chromosome alias file: expected `annotation name,alignment name`"), "{e}");
    let (code, e) = run(&["--extraAttributes", "gene_name"]);
    assert_ne!(code, Some(0), "{e}");
    assert!(e.contains("--extraAttributes reads GTF/GFF attributes; a SAF has none"), "{e}");
    let (code, e) = run(&["--read2pos", "4"]);
    assert_eq!(code, Some(2), "{e}");
    let (code, e) = run(&["-R", "TXT"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("\"TXT\" is neither a report format (CORE, SAM or BAM"), "{e}");
    // Two inputs with one file name would share one -R CORE report.
    let other = c.dir.join("sub");
    std::fs::create_dir_all(&other).expect("dir");
    std::fs::copy(&c.bam, other.join("reads.bam")).expect("copy");
    let (code, e) = run(&["-R", "CORE", other.join("reads.bam").to_str().expect("utf-8")]);
    assert_ne!(code, Some(0), "{e}");
    assert!(e.contains("have one file name, so their -R CORE reports (reads.bam.featureCounts)"), "{e}");
    let (code, e) = run(&["--fracOverlap", "1.5"]);
    assert_ne!(code, Some(0), "{e}");
    assert!(e.contains("--fracOverlap must be within [0, 1], found 1.5"), "{e}");
    // -J's genome FASTA that cannot be read is named; -G without -J is refused.
    let (code, e) = run(&["-J", "-G", c.dir.join("no-such.fa").to_str().expect("utf-8")]);
    assert_ne!(code, Some(0), "{e}");
    assert!(e.contains("no-such.fa: cannot read the genome FASTA (-G)"), "{e}");
    assert!(!c.dir.join("out.parquet.jcounts").exists(), "no junction table after an error");
    let (code, e) = run(&["-G", c.dir.join("no-such.fa").to_str().expect("utf-8")]);
    assert_eq!(code, Some(2), "{e}");
    assert!(!out.exists(), "no output after an error");
    // A good alias file is used: c1 is reached through it once renamed in the alignments.
    let renamed = single_end_sam().replace("SN:c1\t", "SN:chrom_one\t").replace("\tc1\t", "\tchrom_one\t");
    let bam = c.dir.join("renamed.bam");
    sam_to_bam(&renamed, &bam);
    let aliases = c.dir.write("good.csv", "c1,chrom_one\n");
    let (with, _) = quant_tables(&c.dir, &bam, &c.saf, &["-A", aliases.to_str().expect("utf-8")]);
    let (plain, _) = quant_tables(&c.dir, &c.bam, &c.saf, &[]);
    assert_eq!(with, plain);
}

/// The block-parallel BAM pass (every worker inflating, decoding and assigning its own run of
/// BGZF blocks) must give the one-thread pass's table and summary to the byte, whatever the
/// chunking: records straddle many blocks here, and paired files come coordinate-sorted (mates
/// paired across chunk borders), claimed sorted but not (the parallel pass must notice and count
/// again in one pass) and name-grouped; with 3 blocks per chunk at most 5 mates wait in memory,
/// the rest go to disk and are replayed.
#[test]
fn block_parallel_counting_equals_the_one_thread_pass_whatever_the_chunking() {
    let dir = Workdir::new();
    let single: &[&[&str]] =
        &[&[], &["-O", "-M", "--fraction"], &["-s", "2", "--primary", "-M"], &["-f"], &["-J", "-Q", "3"]];
    let paired: &[&[&str]] = &[
        &["-p", "--countReadPairs"],
        &["-p", "--countReadPairs", "-J", "-B"],
        &["-p", "--countReadPairs", "-B", "-C", "-O"],
        &["-p", "--countReadPairs", "-M", "--fraction", "--primary"],
        &["-p", "--countReadPairs", "-P", "-B", "-d", "100", "-D", "300", "--fracOverlap", "0.3"],
        &["-p"],
    ];
    let count = |bam: &std::path::Path, saf: &std::path::Path, flags: &[&str], threads: &str, blocks: &str| {
        let table = dir.join(&format!("t{threads}-{blocks}.tsv"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_harmonomics"))
            .env("HARMONOMICS_CHUNK_BLOCKS", blocks)
            // Few waiting mates in memory: most go to disk and are replayed at the end.
            .env("HARMONOMICS_MATE_CAP", if blocks == "3" { "5" } else { "200000" })
            .args(["--quiet", "--threads", threads, "quant", "rna", "--bam", arg(bam), "-a", arg(saf)])
            .args(flags)
            .args(["-o", arg(&dir.join("t.parquet")), "--featurecounts-tsv", arg(&table)])
            .output()
            .expect("run");
        assert!(o.status.success(), "{flags:?}: {}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&table).expect("table");
        let mut body = text.lines().skip(1).collect::<Vec<_>>().join("\n");
        if flags.contains(&"-J") {
            let junctions = std::fs::read_to_string(format!("{}.jcounts", table.display())).expect("jcounts");
            assert!(junctions.lines().count() > 50, "{flags:?}: junctions counted");
            body.push_str(&junctions);
        }
        let summary = std::fs::read_to_string(format!("{}.summary", table.display())).expect("summary");
        (body, summary)
    };
    let mut checked = 0;
    for seed in 1..=3 {
        let mut rng = Rng::new(seed);
        let (saf_text, targets) = random_saf(&mut rng);
        let saf = dir.write("random.saf", &saf_text);
        let se = random_single_end_sam(&mut rng, &targets, 1_500);
        let pe = random_paired_end_sam(&mut rng, &targets, 1_000);
        let pe_lying = pe.replacen("SO:unsorted", "SO:coordinate", 1);
        let inputs = [
            ("se-sorted", se.as_str(), true, single),
            ("pe-sorted", pe.as_str(), true, paired),
            ("pe-claimed-sorted", pe_lying.as_str(), false, paired),
            ("pe-name-grouped", pe.as_str(), false, paired),
        ];
        for (name, sam, sort, sets) in inputs {
            let bam = dir.join(&format!("{name}.bam"));
            tiny_block_bam(&mut rng, sam, &bam, sort);
            for flags in sets {
                let one = count(&bam, &saf, flags, "1", "64");
                for blocks in ["1", "3", "40"] {
                    let many = count(&bam, &saf, flags, "2", blocks);
                    assert!(
                        one == many,
                        "seed {seed} {name} {flags:?}, {blocks} blocks per chunk: {one:?} vs {many:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 3 * 3 * (5 + 3 * 6));
}

/// `--tmpDir` is where `--count-pairs` sets waiting mates aside: a directory that cannot take
/// them is an error naming it (and nothing is written), a good one gives the same counts as
/// memory alone.
#[test]
fn waiting_mates_go_to_tmpdir_and_a_bad_tmpdir_is_named() {
    let dir = Workdir::new();
    let mut rng = Rng::new(9);
    let (saf_text, targets) = random_saf(&mut rng);
    let saf = dir.write("random.saf", &saf_text);
    let bam = dir.join("pe.bam");
    let sam = random_paired_end_sam(&mut rng, &targets, 1_000);
    tiny_block_bam(&mut rng, &sam, &bam, true);
    let run = |cap: &str, tmp: &std::path::Path, table: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_harmonomics"))
            .env("HARMONOMICS_MATE_CAP", cap)
            .env("HARMONOMICS_CHUNK_BLOCKS", "3")
            .args(["--quiet", "--threads", "2", "quant", "rna", "-p", "--countReadPairs", "--bam", arg(&bam)])
            .args(["-a", arg(&saf), "--tmpDir", arg(tmp), "-o", arg(&dir.join(&format!("{table}.parquet")))])
            .args(["--featurecounts-tsv", arg(&dir.join(table))])
            .output()
            .expect("run")
    };
    let missing = dir.join("no-such-dir");
    let o = run("5", &missing, "bad.tsv");
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("no-such-dir") && e.contains("waiting mates") && !dir.join("bad.tsv").exists(), "{e}");
    let tmp = dir.join("spill");
    std::fs::create_dir(&tmp).expect("mkdir");
    for (cap, table) in [("5", "spilled.tsv"), ("200000", "memory.tsv")] {
        let o = run(cap, &tmp, table);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let body =
        |t: &str| std::fs::read_to_string(dir.join(t)).expect("table").lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body("spilled.tsv"), body("memory.tsv"));
    assert_eq!(std::fs::read_dir(&tmp).expect("dir").count(), 0, "spill files are anonymous and gone");
}
