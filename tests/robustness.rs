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

use common::{Workdir, repo};

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

/// One mutation of a text file's bytes, and what it was (for the failure message).
fn mutate(bytes: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let pick = |rng: &mut Rng| rng.below(lines.len());
    let join = |ls: Vec<&[u8]>| ls.concat();
    match rng.below(9) {
        0 => {
            let at = rng.below(bytes.len());
            (bytes[..at].to_vec(), format!("truncated at byte {at}"))
        }
        1 => {
            let at = rng.below(bytes.len());
            let mut b = bytes.to_vec();
            b[at] ^= 1 << rng.below(8);
            (b, format!("bit flipped at byte {at}"))
        }
        2 => {
            let k = pick(rng);
            let mut ls = lines.clone();
            ls.remove(k);
            (join(ls), format!("line {} deleted", k + 1))
        }
        3 => {
            let k = pick(rng);
            let mut ls = lines.clone();
            ls.insert(k, lines[k]);
            (join(ls), format!("line {} duplicated", k + 1))
        }
        4 => {
            let (a, b) = (pick(rng), pick(rng));
            let mut ls = lines.clone();
            ls.swap(a, b);
            (join(ls), format!("lines {} and {} swapped", a + 1, b + 1))
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
            (ls.concat(), format!("line {} field {}: {what}", k + 1, f + 1))
        }
    }
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
type Arguments = Box<dyn Fn(&Path, &Path) -> Vec<String>>;

/// One input kind: a valid file, and the command that reads it and writes `out`.
struct Kind {
    name: &'static str,
    /// File name of the input under mutation.
    file: &'static str,
    valid: Vec<u8>,
    /// Arguments, given the mutated input's path and the output path.
    args: Arguments,
    /// The output compared: the output path itself (`""`), or this file under it (commands
    /// that write a directory).
    compared: &'static str,
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn mutations() -> usize {
    std::env::var("HARMONOMICS_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(250)
}

/// Mutates `kind.valid` `n` times; checks every run; returns (accepted, accepted with a
/// different output).
fn exercise(dir: &Workdir, kind: &Kind, n: usize, seed: u64) -> (usize, usize) {
    let input = dir.join(kind.file);
    let out = dir.join(&format!("{}.out", kind.name));
    let compared = if kind.compared.is_empty() { out.clone() } else { out.join(kind.compared) };
    let clear = || {
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_dir_all(&out);
    };
    std::fs::write(&input, &kind.valid).expect("write");
    let (code, e) = run_limited(&(kind.args)(&input, &out), "the valid input");
    assert_eq!(code, Some(0), "{}: the unmutated input must pass: {e}", kind.name);
    let reference = std::fs::read(&compared).expect("reference output");
    let mut rng = Rng(seed);
    let (mut accepted, mut different) = (0, 0);
    for _ in 0..n {
        let (bytes, what) = mutate(&kind.valid, &mut rng);
        std::fs::write(&input, &bytes).expect("write");
        clear();
        let (code, e) = run_limited(&(kind.args)(&input, &out), &what);
        let context = format!("{} ({what}): exit {code:?}\n{e}", kind.name);
        assert!(!e.contains("panicked"), "panic: {context}");
        match code {
            Some(0) => {
                accepted += 1;
                let got = std::fs::read(&compared).unwrap_or_else(|_| panic!("exit 0 without output: {context}"));
                different += usize::from(got != reference);
            }
            Some(1 | 2) => {
                assert!(e.contains(kind.file), "the error must name the file: {context}");
                assert!(!compared.exists(), "a failed run left its output: {context}");
            }
            _ => panic!("unexpected exit: {context}"),
        }
    }
    let hidden: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    assert!(hidden.is_empty(), "{}: temporary files left: {hidden:?}", kind.name);
    (accepted, different)
}

fn kinds(dir: &Workdir) -> Vec<Kind> {
    let saf = dir.write("genes.saf", common::edge::SAF);
    let sam = dir.write("reads.sam", &common::edge::single_end_sam());
    let cov_text = common::gunzip_text(&repo().join("test-data/real/bismark/test_data.fastq_bismark.bismark.cov.gz"));
    let cov: String = cov_text.lines().take(200).map(|l| format!("{l}\n")).collect();
    let pasilla = common::gunzip_text(&repo().join("test-data/real/pasilla/pasilla_gene_counts.tsv.gz"));
    let counts: String = pasilla.lines().take(60).map(|l| format!("{l}\n")).collect();
    let quantifiers = repo().join("test-data/real/quantifiers");
    let read = |p: PathBuf| std::fs::read(p).expect("read");
    let tx2gene = s(&quantifiers.join("tx2gene.tsv"));
    let (sam_arg, saf_arg) = (s(&sam), s(&saf));
    let table = dir.write(
        "table.csv",
        "name,B1,Q1,S1,S2,Q2,S3,S4,B2\nlactate,2,150,120,0,160,140,200,2\ncitrate,0,80,90,70,85,0,95,0\n\
         glucose,1,500,400,450,480,0,520,1\n",
    );
    let injections = "column,injection_order,batch,sample_type,sample_id\nB1,1,1,blank,\nQ1,2,1,qc,\n\
                      S1,3,1,sample,S1\nS2,4,1,sample,S2\nQ2,5,1,qc,\nS3,6,1,sample,S3\nS4,7,1,sample,S4\nB2,8,1,blank,\n";
    let table_arg = s(&table);
    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|x| x.to_string()).collect()
    }
    vec![
        Kind {
            name: "sam",
            file: "mutated.sam",
            valid: common::edge::single_end_sam().into_bytes(),
            args: Box::new(move |input, out| {
                v(&["quant", "rna", "--bam", &s(input), "-a", &saf_arg, "-q", "--out", &s(out)])
            }),
            compared: "",
        },
        Kind {
            name: "saf",
            file: "mutated.saf",
            valid: common::edge::SAF.as_bytes().to_vec(),
            args: Box::new(move |input, out| {
                v(&["quant", "rna", "--bam", &sam_arg, "-a", &s(input), "-q", "--out", &s(out)])
            }),
            compared: "",
        },
        Kind {
            name: "bismark_cov",
            file: "calls.cov",
            valid: cov.into_bytes(),
            args: Box::new(|input, out| v(&["quant", "methylation", "--bam", &s(input), "-q", "-o", &s(out)])),
            compared: "",
        },
        Kind {
            name: "count_matrix",
            file: "counts.tsv",
            valid: counts.into_bytes(),
            args: Box::new(|input, out| {
                v(&["normalise", "transcriptome", "--counts", &s(input), "--method", "deseq2", "--out", &s(out)])
            }),
            compared: "",
        },
        Kind {
            name: "salmon",
            file: "quant.sf",
            valid: read(quantifiers.join("salmon_quant.sf")),
            args: Box::new(move |input, out| {
                v(&["import", "salmon", "-q", "-i", &s(input), "--tx2gene", &tx2gene, "--out", &s(out)])
            }),
            compared: "raw.parquet",
        },
        Kind {
            name: "injections",
            file: "injections.csv",
            valid: injections.as_bytes().to_vec(),
            args: Box::new(move |input, out| {
                v(&[
                    "normalise",
                    "metabolome",
                    "--table",
                    &table_arg,
                    "--injections",
                    &s(input),
                    "--drift",
                    "none",
                    "-q",
                    "-o",
                    &s(out),
                ])
            }),
            compared: "normalised.parquet",
        },
    ]
}

#[test]
fn mutated_inputs_end_cleanly_and_name_the_file() {
    let dir = Workdir::new();
    let n = mutations();
    for (k, kind) in kinds(&dir).iter().enumerate() {
        let (accepted, different) = exercise(&dir, kind, n, 2026 + k as u64);
        eprintln!("{}: {n} mutations, {accepted} accepted, {different} of them with a different output", kind.name);
    }
}
