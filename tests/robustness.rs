//! Seeded mutations of valid inputs, through the CLI (issue 15): whatever is done to a file, the
//! command ends with exit 0, or with exit 1 or 2 and the file named, never a panic, a hang, or
//! an output left under its final name. A fixed list of bad inputs (`regressions.rs`) can only
//! hold what someone thought of; this finds what nobody did.
//!
//! `HARMONOMICS_MUTATIONS` sets the mutations per input kind (default 250); the seed is fixed, so
//! a failure repeats. Accepted mutations whose output differs from the unmutated run's are
//! counted and printed per kind (a changed number is allowed to change a count).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{MZTAB, Workdir, repo};

/// splitmix64: a deterministic stream without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// What a mutation did to the input's records, for explaining an accepted run's different output.
#[derive(Clone, Copy, Debug)]
enum Touched {
    /// These many lines changed, appeared or went.
    Lines(usize),
    /// Everything after a byte offset went (the last line may be cut short).
    Truncated,
    /// Bytes of a binary file: no line-by-line account.
    Opaque,
}

/// One mutation: the bytes, what was done (for the failure message) and what it touched.
struct Mutated {
    bytes: Vec<u8>,
    what: String,
    touched: Touched,
}

/// One mutation of a text file's bytes.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Mutated {
    let (bytes, what, touched) = mutate_lines(bytes, rng);
    Mutated { bytes, what, touched }
}

fn mutate_lines(bytes: &[u8], rng: &mut Rng) -> (Vec<u8>, String, Touched) {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let pick = |rng: &mut Rng| rng.below(lines.len());
    let join = |ls: Vec<&[u8]>| ls.concat();
    match rng.below(9) {
        0 => {
            let at = rng.below(bytes.len());
            (bytes[..at].to_vec(), format!("truncated at byte {at}"), Touched::Truncated)
        }
        1 => {
            let at = rng.below(bytes.len());
            let mut b = bytes.to_vec();
            b[at] ^= 1 << rng.below(8);
            (b, format!("bit flipped at byte {at}"), Touched::Lines(2))
        }
        2 => {
            let k = pick(rng);
            let mut ls = lines.clone();
            ls.remove(k);
            (join(ls), format!("line {} deleted", k + 1), Touched::Lines(1))
        }
        3 => {
            let k = pick(rng);
            let mut ls = lines.clone();
            ls.insert(k, lines[k]);
            (join(ls), format!("line {} duplicated", k + 1), Touched::Lines(1))
        }
        4 => {
            let (a, b) = (pick(rng), pick(rng));
            let mut ls = lines.clone();
            ls.swap(a, b);
            (join(ls), format!("lines {} and {} swapped", a + 1, b + 1), Touched::Lines(2))
        }
        mode => {
            // A field of one line: replaced by text, a huge number, nothing, or a column dropped.
            let k = pick(rng);
            let line = String::from_utf8_lossy(lines[k]);
            let body = line.trim_end_matches(['\n', '\r']);
            let sep = if body.contains('\t') { '\t' } else { ',' };
            let mut fields: Vec<String> = body.split(sep).map(String::from).collect();
            let f = rng.below(fields.len());
            let what = match mode {
                5 => {
                    fields[f] = "abc".into();
                    "text"
                }
                6 => {
                    fields[f] = "99999999999999999999999".into();
                    "a huge number"
                }
                7 => {
                    fields[f].clear();
                    "an empty field"
                }
                _ => {
                    fields.remove(f);
                    "a column dropped"
                }
            };
            let mut ls: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
            ls[k] = format!("{}\n", fields.join(&sep.to_string())).into_bytes();
            (ls.concat(), format!("line {} field {}: {what}", k + 1, f + 1), Touched::Lines(1))
        }
    }
}

/// One mutation of a binary file: truncation, a flipped bit, a deleted or a repeated run of
/// bytes (inside compressed blocks, their headers or the end-of-file marker alike).
fn mutate_bytes(bytes: &[u8], rng: &mut Rng) -> Mutated {
    let (bytes, what) = mutate_binary(bytes, rng);
    Mutated { bytes, what, touched: Touched::Opaque }
}

fn mutate_binary(bytes: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let at = rng.below(bytes.len());
    let len = (1 + rng.below(64)).min(bytes.len() - at);
    match rng.below(4) {
        0 => (bytes[..at].to_vec(), format!("truncated at byte {at}")),
        1 => {
            let mut b = bytes.to_vec();
            b[at] ^= 1 << rng.below(8);
            (b, format!("bit flipped at byte {at}"))
        }
        2 => ([&bytes[..at], &bytes[at + len..]].concat(), format!("{len} bytes deleted at {at}")),
        _ => ([&bytes[..at + len], &bytes[at..]].concat(), format!("{len} bytes repeated at {at}")),
    }
}

/// One mutation of a BAM's decompressed content (header, reference list, records), compressed
/// again into valid BGZF blocks: what a bug in an aligner or a damaged file that still inflates
/// would give the record decoder.
fn mutate_bam_records(bytes: &[u8], rng: &mut Rng) -> Mutated {
    use std::io::{Read, Write};
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut raw).expect("inflate the valid BAM");
    let (raw, what) = mutate_binary(&raw, rng);
    let mut writer = noodles::bgzf::io::Writer::new(Vec::new());
    writer.write_all(&raw).expect("deflate");
    Mutated {
        bytes: writer.finish().expect("finish"),
        what: format!("decompressed content: {what}"),
        touched: Touched::Opaque,
    }
}

/// A Parquet output's rows, each as one comparable string (dictionary columns as their values:
/// a new chromosome name changes the dictionary, not the other rows).
fn output_rows(path: &Path) -> Vec<String> {
    use arrow_array::cast::AsArray;
    let (batch, _) = common::read_parquet(path);
    let columns: Vec<arrow_array::ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.as_dictionary_opt::<arrow_array::types::Int32Type>() {
            Some(d) => arrow_select::take::take(d.values(), d.keys(), None).expect("dictionary values"),
            None => c.clone(),
        })
        .collect();
    (0..batch.num_rows()).map(|i| format!("{:?}", columns.iter().map(|c| c.slice(i, 1)).collect::<Vec<_>>())).collect()
}

/// Checks that an accepted mutation's output differs from the unmutated run's only where the
/// mutation reached: at most `rows` output rows changed, added or removed per line it touched; after
/// a truncation of a table imported row by row, rows may go but at most `rows` new ones appear
/// (from the cut last line).
fn explain(reference: &[String], output: &Path, touched: Touched, rows: usize, row_per_line: bool, context: &str) {
    let mut count: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for r in reference {
        *count.entry(r).or_default() -= 1;
    }
    let got = output_rows(output);
    for r in &got {
        *count.entry(r).or_default() += 1;
    }
    let added: i64 = count.values().filter(|&&c| c > 0).sum();
    let removed: i64 = -count.values().filter(|&&c| c < 0).sum::<i64>();
    let explained = match touched {
        Touched::Lines(n) => (added + removed) as usize <= 2 * n * rows,
        Touched::Truncated if row_per_line => added as usize <= rows,
        Touched::Truncated | Touched::Opaque => true,
    };
    assert!(
        explained,
        "accepted with an output the mutation does not explain ({added} rows added, {removed} removed, \
         {touched:?}, up to {rows} rows per line): {context}"
    );
}

/// Runs the binary with a time limit: (exit code, stderr), or a panic on a hang.
fn run_limited(args: &[String], what: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harmonomics"))
        .args(args)
        .env("HARMONOMICS_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut stderr).expect("stderr");
            }
            return (status.code(), stderr);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("hang (over 30 s) on {what}: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The command line for a mutated input's path and an output path.
type Arguments = Box<dyn Fn(&Path, &Path) -> Vec<String> + Send + Sync>;

/// How a kind's bytes are mutated.
type Mutation = fn(&[u8], &mut Rng) -> Mutated;

/// One input kind: a valid file, and the command that reads it and writes `out`.
struct Kind {
    name: &'static str,
    /// File name of the input under mutation.
    file: &'static str,
    valid: Vec<u8>,
    /// Arguments, given the mutated input's path and the output path.
    args: Arguments,
    /// The output compared: the output path itself (`Some("")`), this file under it (commands
    /// that write a directory), or none (`validate`).
    compared: Option<&'static str>,
    mutate: Mutation,
    /// Output rows one input line can change, for kinds whose output is row by row (a gene's
    /// count, a CpG's calls); `None` for outputs normalised across rows (every value moves).
    local: Option<usize>,
    /// Whether each output row comes from one input line (a table imported), so that a
    /// truncation can only take rows away; not so for counts of reads, where each read lost
    /// changes a gene's count.
    row_per_line: bool,
}

impl Kind {
    /// A text kind whose command writes `compared` (see [`Kind::compared`]).
    fn text(
        name: &'static str,
        file: &'static str,
        valid: Vec<u8>,
        compared: Option<&'static str>,
        args: Arguments,
    ) -> Self {
        Kind { name, file, valid, args, compared, mutate, local: None, row_per_line: false }
    }

    /// Declares the output row by row: an accepted mutation may change at most `rows` output
    /// rows per input line it touched.
    fn local(self, rows: usize) -> Self {
        Kind { local: Some(rows), ..self }
    }

    /// Declares each output row the image of one input line (see [`Kind::row_per_line`]).
    fn row_per_line(self) -> Self {
        Kind { row_per_line: true, ..self }
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn mutations() -> usize {
    std::env::var("HARMONOMICS_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(250)
}

/// Mutates `kind.valid` `n` times; checks every run; returns (accepted, accepted with a
/// different output).
fn exercise(dir: &Path, kind: &Kind, n: usize, seed: u64) -> (usize, usize) {
    // Each kind in a directory of its own: kinds run in parallel, and the check for temporary
    // files left behind looks at this kind's alone.
    let dir = dir.join(kind.name);
    std::fs::create_dir_all(&dir).expect("kind directory");
    let input = dir.join(kind.file);
    let out = dir.join("out");
    let compared = kind.compared.map(|c| if c.is_empty() { out.clone() } else { out.join(c) });
    let clear = || {
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_dir_all(&out);
    };
    std::fs::write(&input, &kind.valid).expect("write");
    let (code, e) = run_limited(&(kind.args)(&input, &out), "the valid input");
    assert_eq!(code, Some(0), "{}: the unmutated input must pass: {e}", kind.name);
    let reference = compared.as_ref().map(|c| std::fs::read(c).expect("reference output"));
    let reference_rows = match (&compared, kind.local) {
        (Some(c), Some(_)) => output_rows(c),
        _ => Vec::new(),
    };
    let mut rng = Rng(seed);
    let (mut accepted, mut different) = (0, 0);
    for _ in 0..n {
        let Mutated { bytes, what, touched } = (kind.mutate)(&kind.valid, &mut rng);
        std::fs::write(&input, &bytes).expect("write");
        clear();
        let started = Instant::now();
        let (code, e) = run_limited(&(kind.args)(&input, &out), &what);
        if started.elapsed() > Duration::from_millis(500) {
            eprintln!("{}: slow ({:.1} s): {what}", kind.name, started.elapsed().as_secs_f64());
        }
        let context = format!("{} ({what}): exit {code:?}\n{e}", kind.name);
        assert!(!e.contains("panicked"), "panic: {context}");
        match code {
            Some(0) => {
                accepted += 1;
                if let (Some(compared), Some(reference)) = (&compared, &reference) {
                    let got = std::fs::read(compared).unwrap_or_else(|_| panic!("exit 0 without output: {context}"));
                    if &got != reference {
                        different += 1;
                        if let Some(rows) = kind.local {
                            explain(&reference_rows, compared, touched, rows, kind.row_per_line, &context);
                        }
                    }
                }
            }
            Some(1 | 2) => {
                assert!(e.contains(kind.file), "the error must name the file: {context}");
                assert!(!compared.as_ref().is_some_and(|c| c.exists()), "a failed run left its output: {context}");
            }
            _ => panic!("unexpected exit: {context}"),
        }
    }
    let hidden: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    assert!(hidden.is_empty(), "{}: temporary files left: {hidden:?}", kind.name);
    (accepted, different)
}

fn v(a: &[&str]) -> Vec<String> {
    a.iter().map(|x| x.to_string()).collect()
}

/// The SAF's genes as GTF (`gff3 == false`) or GFF3 exon lines.
fn annotation_text(gff3: bool) -> String {
    let mut text = String::from(if gff3 { "##gff-version 3\n" } else { "" });
    for line in common::edge::SAF.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let attributes = if gff3 {
            format!("ID=e{0};Parent=t{0};gene_id={0}", f[0])
        } else {
            format!("gene_id \"{0}\"; transcript_id \"t{0}\";", f[0])
        };
        text.push_str(&format!("{}\tsim\texon\t{}\t{}\t.\t{}\t.\t{attributes}\n", f[1], f[2], f[3], f[4]));
    }
    text
}

/// Alignment, annotation and quantifier kinds: `quant rna` and `import`.
fn transcriptome_kinds(dir: &Workdir) -> Vec<Kind> {
    let saf = dir.write("genes.saf", common::edge::SAF);
    let sam_text = common::edge::single_end_sam();
    let sam = dir.write("reads.sam", &sam_text);
    let bam = dir.join("reads.bam");
    common::sam_to_bam(&sam_text, &bam);
    let reference = dir.join("ref.fa");
    common::write_reference(&reference, &[("c1", 5000), ("c2", 5000)]);
    let cram = dir.join("reads.cram");
    common::sam_to_cram(&sam_text, &reference, &cram);
    let pasilla = common::gunzip_text(&repo().join("test-data/real/pasilla/pasilla_gene_counts.tsv.gz"));
    let counts: String = pasilla.lines().take(60).map(|l| format!("{l}\n")).collect();
    let quantifiers = repo().join("test-data/real/quantifiers");
    let read = |p: PathBuf| std::fs::read(p).expect("read");
    let tx2gene = s(&quantifiers.join("tx2gene.tsv"));
    let tx2gene_k = tx2gene.clone();
    let (sam_arg, saf_arg, ref_arg) = (s(&sam), s(&saf), s(&reference));
    let quant = |input: &Path, annotation: &str, out: &Path, extra: &[&str]| {
        [&v(&["quant", "rna", "--bam", &s(input), "-a", annotation, "-q", "--out", &s(out)])[..], &v(extra)].concat()
    };
    let (saf_a, saf_b, saf_c) = (saf_arg.clone(), saf_arg.clone(), saf_arg.clone());
    let (sam_a, sam_b, sam_c) = (sam_arg.clone(), sam_arg.clone(), sam_arg.clone());
    let import = |tool: &'static str| -> Arguments {
        Box::new(move |input, out| v(&["import", tool, "-q", "-i", &s(input), "--out", &s(out)]))
    };
    // A count matrix as our own Parquet (htseq-count's table imported), and a STAR
    // ReadsPerGene.out.tab made from the same counts (unstranded, forward, reverse columns).
    let htseq_text = std::fs::read_to_string(quantifiers.join("htseq-count_yeast.tsv")).expect("htseq");
    let imported = dir.join("imported");
    let htseq_path = s(&quantifiers.join("htseq-count_yeast.tsv"));
    let o = common::harmonomics(&["import", "htseq", "-q", "-i", &htseq_path, "--out", &s(&imported)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let parquet_counts = read(imported.join("raw.parquet"));
    let mut star =
        String::from("N_unmapped\t10\t10\t10\nN_multimapping\t5\t5\t5\nN_noFeature\t7\t9\t11\nN_ambiguous\t1\t2\t3\n");
    for line in htseq_text.lines().filter(|l| !l.starts_with("__")) {
        let (gene, count) = line.split_once('\t').expect("two columns");
        star.push_str(&format!("{gene}\t{count}\t0\t{count}\n"));
    }
    vec![
        Kind {
            mutate: mutate_bytes,
            ..Kind::text(
                "parquet_counts",
                "counts.parquet",
                parquet_counts,
                Some(""),
                Box::new(|i, o| {
                    v(&["normalise", "transcriptome", "--counts", &s(i), "--method", "cpm", "--out", &s(o)])
                }),
            )
        },
        Kind::text(
            "star",
            "ReadsPerGene.out.tab",
            star.into_bytes(),
            Some("raw.parquet"),
            Box::new(|i, o| v(&["import", "star", "-q", "-i", &s(i), "--strandedness", "2", "--out", &s(o)])),
        )
        .local(2)
        .row_per_line(),
        Kind::text(
            "sam",
            "mutated.sam",
            sam_text.clone().into_bytes(),
            Some(""),
            Box::new(move |i, o| quant(i, &saf_arg, o, &[])),
        )
        .local(2),
        Kind {
            mutate: mutate_bytes,
            ..Kind::text(
                "bam_bgzf",
                "mutated.bam",
                read(bam.clone()),
                Some(""),
                Box::new(move |i, o| quant(i, &saf_a, o, &[])),
            )
        },
        Kind {
            mutate: mutate_bam_records,
            ..Kind::text(
                "bam_records",
                "records.bam",
                read(bam),
                Some(""),
                Box::new(move |i, o| quant(i, &saf_b, o, &[])),
            )
        },
        Kind {
            mutate: mutate_bytes,
            ..Kind::text(
                "cram",
                "mutated.cram",
                read(cram),
                Some(""),
                Box::new(move |i, o| quant(i, &saf_c, o, &["-R", &ref_arg])),
            )
        },
        Kind::text(
            "saf",
            "mutated.saf",
            common::edge::SAF.as_bytes().to_vec(),
            Some(""),
            Box::new(move |i, o| quant(&PathBuf::from(&sam_a), &s(i), o, &[])),
        )
        .local(3),
        Kind::text(
            "gtf",
            "mutated.gtf",
            annotation_text(false).into_bytes(),
            Some(""),
            Box::new(move |i, o| quant(&PathBuf::from(&sam_b), &s(i), o, &["-F", "gtf"])),
        )
        .local(3),
        Kind::text(
            "gff3",
            "mutated.gff3",
            annotation_text(true).into_bytes(),
            Some(""),
            Box::new(move |i, o| quant(&PathBuf::from(&sam_c), &s(i), o, &["-F", "gff"])),
        )
        .local(3),
        Kind::text(
            "count_matrix",
            "counts.tsv",
            counts.into_bytes(),
            Some(""),
            Box::new(|i, o| {
                v(&["normalise", "transcriptome", "--counts", &s(i), "--method", "deseq2", "--out", &s(o)])
            }),
        ),
        Kind::text(
            "salmon",
            "quant.sf",
            read(quantifiers.join("salmon_quant.sf")),
            Some("raw.parquet"),
            Box::new(move |i, o| v(&["import", "salmon", "-q", "-i", &s(i), "--tx2gene", &tx2gene, "--out", &s(o)])),
        )
        .local(2)
        .row_per_line(),
        Kind::text(
            "kallisto",
            "abundance.tsv",
            read(quantifiers.join("kallisto_abundance.tsv")),
            Some("raw.parquet"),
            Box::new(move |i, o| {
                v(&["import", "kallisto", "-q", "-i", &s(i), "--tx2gene", &tx2gene_k, "--out", &s(o)])
            }),
        )
        .local(2)
        .row_per_line(),
        Kind::text(
            "featurecounts",
            "fc.txt",
            read(quantifiers.join("featurecounts_yeast.txt")),
            Some("raw.parquet"),
            import("featurecounts"),
        )
        .local(2)
        .row_per_line(),
        Kind::text(
            "htseq",
            "htseq.tsv",
            read(quantifiers.join("htseq-count_yeast.tsv")),
            Some("raw.parquet"),
            import("htseq"),
        )
        .local(2)
        .row_per_line(),
    ]
}

/// Methylation call tables: `quant methylation`.
fn methylation_kinds() -> Vec<Kind> {
    let cov_text = common::gunzip_text(&repo().join("test-data/real/bismark/test_data.fastq_bismark.bismark.cov.gz"));
    let rows: Vec<Vec<String>> =
        cov_text.lines().take(200).map(|l| l.split('\t').map(String::from).collect()).collect();
    let cov: String = rows.iter().map(|f| format!("{}\n", f.join("\t"))).collect();
    let mut dackel = String::from("track type=\"bedGraph\" description=\"CpG methylation levels\"\n");
    let mut bedmethyl = String::new();
    for f in &rows {
        let start: u64 = f[1].parse().expect("start");
        let (m, u): (u64, u64) = (f[4].parse().expect("m"), f[5].parse().expect("u"));
        let pct = 100 * m / (m + u).max(1);
        dackel.push_str(&format!("{}\t{}\t{start}\t{pct}\t{m}\t{u}\n", f[0], start - 1));
        let n = m + u;
        bedmethyl.push_str(&format!(
            "{0}\t{1}\t{start}\tm\t{n}\t.\t{1}\t{start}\t255,0,0\t{n}\t{pct}.00\t{m}\t{u}\t0\t0\t0\t0\t0\n",
            f[0],
            start - 1
        ));
    }
    let quant = || -> Arguments { Box::new(|i, o| v(&["quant", "methylation", "--bam", &s(i), "-q", "-o", &s(o)])) };
    vec![
        Kind::text("bismark_cov", "calls.cov", cov.into_bytes(), Some(""), quant()).local(2).row_per_line(),
        Kind::text("methyldackel", "calls_CpG.bedGraph", dackel.into_bytes(), Some(""), quant())
            .local(2)
            .row_per_line(),
        Kind::text("bedmethyl", "pileup.bed", bedmethyl.into_bytes(), Some(""), quant()).local(2).row_per_line(),
    ]
}

/// Metabolome tables and injection lists: `normalise metabolome`.
fn metabolome_kinds(dir: &Workdir) -> Vec<Kind> {
    let table = dir.write(
        "table.csv",
        "name,B1,Q1,S1,S2,Q2,S3,S4,B2\nlactate,2,150,120,0,160,140,200,2\ncitrate,0,80,90,70,85,0,95,0\n\
         glucose,1,500,400,450,480,0,520,1\n",
    );
    let injections = "column,injection_order,batch,sample_type,sample_id\nB1,1,1,blank,\nQ1,2,1,qc,\n\
                      S1,3,1,sample,S1\nS2,4,1,sample,S2\nQ2,5,1,qc,\nS3,6,1,sample,S3\nS4,7,1,sample,S4\nB2,8,1,blank,\n";
    let table_arg = s(&table);
    // The fixture's MZmine export (first 40 features) with the fixture's injection list.
    let mzmine: String = std::fs::read_to_string(repo().join("test-data/metabolome/features_mzmine.csv"))
        .expect("mzmine")
        .lines()
        .take(41)
        .map(|l| format!("{l}\n"))
        .collect();
    let fixture_list = s(&repo().join("test-data/cohort/injections.csv"));
    let mztab_list = dir.write(
        "mztab_list.csv",
        "column,injection_order,batch,sample_type\nassay_a,1,1,sample\nassay_b,2,1,sample\nqc,3,1,qc\n",
    );
    let mztab_list = s(&mztab_list);
    let chain = |table: &str, list: &str, out: &Path| {
        v(&["normalise", "metabolome", "--table", table, "--injections", list, "--drift", "none", "-q", "-o", &s(out)])
    };
    // MS-DIAL 4's alignment export: metadata rows above the header.
    let msdial = "\t\t\t\tClass\tcase\tcase\tQC\tcase\n\
                  \t\t\t\tFile type\tSample\tSample\tQC\tSample\n\
                  \t\t\t\tInjection order\t1\t2\t3\t4\n\
                  \t\t\t\tBatch ID\t1\t1\t1\t1\n\
                  Alignment ID\tAverage Rt(min)\tAverage Mz\tMetabolite name\tFill %\ta\tb\tqc\tc\n\
                  0\t1.21\t89.0244\tLactate\t1\t100\t200\t150\t120\n\
                  1\t4.11\t205.0972\tTryptophan\t1\t50\t60\t40\t55\n\
                  2\t2.50\t147.0764\tGlutamate\t1\t500\t450\t480\t510\n";
    let msdial_list = dir.write(
        "msdial_list.csv",
        "column,injection_order,batch,sample_type\na,1,1,sample\nb,2,1,sample\nqc,3,1,qc\nc,4,1,sample\n",
    );
    let msdial_list = s(&msdial_list);
    vec![
        Kind::text(
            "msdial",
            "alignment.txt",
            msdial.as_bytes().to_vec(),
            Some("normalised.parquet"),
            Box::new(move |i, o| {
                [chain(&s(i), &msdial_list, o), v(&["--blank-ratio", "0", "--min-detection", "0"])].concat()
            }),
        ),
        Kind::text(
            "injections",
            "injections.csv",
            injections.as_bytes().to_vec(),
            Some("normalised.parquet"),
            Box::new(move |i, o| chain(&table_arg, &s(i), o)),
        ),
        Kind::text(
            "mzmine",
            "mzmine.csv",
            mzmine.into_bytes(),
            Some("normalised.parquet"),
            Box::new(move |i, o| chain(&s(i), &fixture_list, o)),
        ),
        Kind::text(
            "mztab",
            "table.mzTab",
            MZTAB.as_bytes().to_vec(),
            Some("normalised.parquet"),
            Box::new(move |i, o| {
                [chain(&s(i), &mztab_list, o), v(&["--blank-ratio", "0", "--min-detection", "0"])].concat()
            }),
        ),
    ]
}

/// The cohort files: `validate` (nothing written).
fn cohort_kinds(dir: &Workdir) -> Vec<Kind> {
    let cohort = repo().join("test-data/cohort");
    // Absolute paths, so the copies work from the test's directory.
    let samplesheet = std::fs::read_to_string(cohort.join("samplesheet.csv"))
        .expect("samplesheet")
        .replace(",../", &format!(",{}/", repo().join("test-data").display()));
    dir.write("samplesheet.csv", &samplesheet);
    let config = common::portable_fixture_config(false);
    let validate = |config: &str| v(&["validate", "-q", "--config", config]);
    // Each mutated file sits in its kind's directory under `dir`; the configs that read the
    // mutated samplesheet and patient table live in `dir` and point there.
    let sheet_config = dir.write(
        "sheet.toml",
        &config.replace("samplesheet = \"samplesheet.csv\"", "samplesheet = \"samplesheet/mutated_samplesheet.csv\""),
    );
    let patients_abs = format!("{:?}", cohort.join("patients.csv"));
    let patients_config =
        dir.write("patients.toml", &config.replace(&patients_abs, "\"patients/mutated_patients.csv\""));
    let (sheet_config, patients_config) = (s(&sheet_config), s(&patients_config));
    // The mutated cohort.toml itself is one directory down.
    let config = config.replace("samplesheet = \"samplesheet.csv\"", "samplesheet = \"../samplesheet.csv\"");
    vec![
        Kind::text(
            "cohort_toml",
            "cohort.toml",
            config.clone().into_bytes(),
            None,
            Box::new(move |i, _| validate(&s(i))),
        ),
        Kind::text(
            "samplesheet",
            "mutated_samplesheet.csv",
            samplesheet.into_bytes(),
            None,
            Box::new(move |_, _| validate(&sheet_config)),
        ),
        Kind::text(
            "patients",
            "mutated_patients.csv",
            std::fs::read(cohort.join("patients.csv")).expect("patients"),
            None,
            Box::new(move |_, _| validate(&patients_config)),
        ),
    ]
}

fn kinds(dir: &Workdir) -> Vec<Kind> {
    let mut kinds = transcriptome_kinds(dir);
    kinds.extend(methylation_kinds());
    kinds.extend(metabolome_kinds(dir));
    kinds.extend(cohort_kinds(dir));
    kinds
}

#[test]
fn mutated_inputs_end_cleanly_and_name_the_file() {
    let dir = Workdir::new();
    let n = mutations();
    let kinds = kinds(&dir);
    // Kinds in parallel, one per core: each spawns its runs one after another.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(kind) = kinds.get(k) else { break };
                    let start = Instant::now();
                    let (accepted, different) = exercise(dir.path(), kind, n, 2026 + k as u64);
                    eprintln!(
                        "{}: {n} mutations in {:.1} s, {accepted} accepted, {different} of them with a different output",
                        kind.name,
                        start.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
}
