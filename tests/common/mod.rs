//! Shared test harness: a private temporary directory per test, running the binary, reading
//! Parquet back, and the fixture's planted truth.
#![allow(dead_code)]

pub mod edge;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture cohort's config.
pub fn fixture_config() -> PathBuf {
    repo().join("test-data/cohort/cohort.toml")
}

/// The fixture's `cohort.toml` with every path made absolute, so a test can write it into its own
/// directory; `keep_samplesheet` also points `samplesheet` at the fixture's (else the test
/// writes `samplesheet.csv` beside it).
pub fn portable_fixture_config(keep_samplesheet: bool) -> String {
    let text = std::fs::read_to_string(fixture_config()).expect("fixture config");
    let cohort = repo().join("test-data/cohort");
    let mut text = text
        .replace("patients = \"patients.csv\"", &format!("patients = {:?}", cohort.join("patients.csv")))
        .replace("injections = \"injections.csv\"", &format!("injections = {:?}", cohort.join("injections.csv")))
        .replace("\"../annotation/", &format!("\"{}/annotation/", repo().join("test-data").display()));
    if keep_samplesheet {
        text = text.replace(
            "samplesheet = \"samplesheet.csv\"",
            &format!("samplesheet = {:?}", cohort.join("samplesheet.csv")),
        );
    }
    text
}

/// The Python with the reference tools (`HARMONOMICS_PYTHON`, set by `.ci/run` to its venv).
pub fn reference_python() -> String {
    std::env::var("HARMONOMICS_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `harmonomics quant methylation --bam INPUT -o OUT [extra...]`, asserting success.
pub fn quant_methylation(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let args = ["quant", "methylation", "--bam", input.to_str().expect("utf-8"), "-o", out.to_str().expect("utf-8")];
    let o = harmonomics(&[&args[..], extra].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// A unique temporary directory, removed when dropped.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("harmonomics-test-").tempdir().expect("tempdir") }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, contents).expect("write");
        p
    }
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs `harmonomics` with `args`.
pub fn harmonomics(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harmonomics")).args(args).output().expect("run harmonomics")
}

/// Runs `harmonomics run --config CONFIG --out OUT` plus `extra` flags.
pub fn run_cohort(config: &Path, out: &Path, extra: &[&str]) -> Output {
    let (config, out) = (config.to_str().expect("utf-8 path"), out.to_str().expect("utf-8 path"));
    harmonomics(&[&["run", "--config", config, "--out", out][..], extra].concat())
}

/// Runs `harmonomics run` on the fixture into `out`, asserting success.
pub fn run_fixture(out: &Path, threads: &str) {
    let o = run_cohort(&fixture_config(), out, &["--threads", threads, "--quiet"]);
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// A finished fixture run in its own temporary directory (removed when dropped).
pub struct FixtureRun {
    _dir: Workdir,
    /// The output directory.
    pub out: PathBuf,
}

/// `harmonomics run` on the fixture at two threads, into a fresh directory.
pub fn fixture_run() -> FixtureRun {
    let dir = Workdir::new();
    let out = dir.join("out");
    run_fixture(&out, "2");
    FixtureRun { _dir: dir, out }
}

/// The text of a gzip-compressed file.
pub fn gunzip_text(path: &Path) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(File::open(path).expect("open gz")), &mut text)
        .expect("gunzip");
    text
}

/// Reads a whole Parquet file into one batch, and its key-value metadata.
pub fn read_parquet(path: &Path) -> (RecordBatch, BTreeMap<String, String>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("open parquet")).expect("parquet");
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| kv.iter().map(|k| (k.key.clone(), k.value.clone().unwrap_or_default())).collect())
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().expect("reader").map(|b| b.expect("batch")).collect();
    (arrow_select::concat::concat_batches(&schema, &batches).expect("concat"), kv)
}

/// A column as strings (plain or dictionary-encoded).
pub fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    if let Some(dict) = col.as_any().downcast_ref::<arrow_array::DictionaryArray<arrow_array::types::Int32Type>>() {
        let values = dict.values().as_any().downcast_ref::<arrow_array::StringArray>().expect("string dictionary");
        return dict.keys().iter().map(|k| k.map(|k| values.value(k as usize).to_string())).collect();
    }
    col.as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap_or_else(|| panic!("{name} is not Utf8"))
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(batch: &RecordBatch, name: &str) -> Vec<Option<T::Native>> {
    let col = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let typed = arrow_array::cast::AsArray::as_primitive_opt::<T>(col.as_ref());
    typed.unwrap_or_else(|| panic!("{name} is {}, not {}", col.data_type(), T::DATA_TYPE)).iter().collect()
}

/// A column as u64.
pub fn u64s(batch: &RecordBatch, name: &str) -> Vec<Option<u64>> {
    primitive::<arrow_array::types::UInt64Type>(batch, name)
}

/// A column as f64.
pub fn f64s(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    primitive::<arrow_array::types::Float64Type>(batch, name)
}

/// A tab-separated table with a header: (header, rows).
pub fn read_tsv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("read tsv");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().expect("header").split('\t').map(str::to_string).collect();
    let rows = lines.map(|l| l.split('\t').map(str::to_string).collect()).collect();
    (header, rows)
}

/// The generator's planted counts: sample → feature → reads placed on that gene's exons.
pub fn planted_counts() -> BTreeMap<String, BTreeMap<String, u64>> {
    let (header, rows) = read_tsv(&repo().join("test-data/cohort/truth/planted_counts.tsv"));
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for row in rows {
        for (j, sample) in header.iter().enumerate().skip(1) {
            out.entry(sample.clone()).or_default().insert(row[0].clone(), row[j].parse().expect("count"));
        }
    }
    out
}

/// Writes `sam` (SAM text with header) as a BAM with noodles, as an aligner would.
pub fn sam_to_bam(sam: &str, path: &Path) {
    use noodles::sam::alignment::io::Write as _;
    let mut reader = noodles::sam::io::Reader::new(sam.as_bytes());
    let header = reader.read_header().expect("SAM header");
    let mut writer = noodles::bam::io::Writer::new(File::create(path).expect("create bam"));
    writer.write_header(&header).expect("write header");
    for record in reader.record_bufs(&header) {
        writer.write_alignment_record(&header, &record.expect("SAM record")).expect("write record");
    }
    writer.try_finish().expect("finish bam");
}

/// Runs `quant rna` on `bam` with `extra` flags; returns featureCounts-layout counts
/// (gene → count text) and summary (category → n).
pub fn quant_tables(
    dir: &Workdir,
    bam: &Path,
    annotation: &Path,
    extra: &[&str],
) -> (BTreeMap<String, String>, BTreeMap<String, u64>) {
    let table = dir.join("ours.tsv");
    let parquet = dir.join("ours.parquet");
    let args = [
        &["--quiet", "quant", "rna", "--bam", bam.to_str().expect("utf-8"), "-a", annotation.to_str().expect("utf-8")]
            [..],
        extra,
        &["--out", parquet.to_str().expect("utf-8"), "--featurecounts-tsv", table.to_str().expect("utf-8")],
    ]
    .concat();
    let o = harmonomics(&args);
    assert!(o.status.success(), "quant rna {extra:?}: {}", String::from_utf8_lossy(&o.stderr));
    featurecounts_tables(&table)
}

/// Reads a featureCounts-layout table (first sample column) and its `.summary`.
pub fn featurecounts_tables(table: &Path) -> (BTreeMap<String, String>, BTreeMap<String, u64>) {
    let (_, rows) = read_tsv(table);
    let counts = rows.iter().map(|r| (r[0].clone(), r[6].clone())).collect();
    let (_, summary) = read_tsv(&PathBuf::from(format!("{}.summary", table.display())));
    let summary = summary.iter().map(|r| (r[0].clone(), r[1].parse().expect("summary count"))).collect();
    (counts, summary)
}

/// Every row of a featureCounts-layout table as (Geneid, exons as sorted `chr:start-end:strand`
/// list, Length, count). featureCounts orders a gene's exons by start with an unstable sort, so
/// the exon lists are compared as sets.
pub fn featurecounts_rows(table: &Path) -> Vec<(String, Vec<String>, String, String)> {
    let (_, rows) = read_tsv(table);
    rows.iter().map(|r| (r[0].clone(), sorted_exons(r), r[5].clone(), r[6].clone())).collect()
}

/// A featureCounts table row's exons (columns 2-5, `;`-separated) as sorted
/// `chr:start-end:strand` strings.
pub fn sorted_exons(row: &[String]) -> Vec<String> {
    let split = |i: usize| row[i].split(';').collect::<Vec<_>>();
    let (c, s, e, st) = (split(1), split(2), split(3), split(4));
    let mut exons: Vec<String> = (0..c.len()).map(|k| format!("{}:{}-{}:{}", c[k], s[k], e[k], st[k])).collect();
    exons.sort();
    exons
}

/// Writes a FASTA (one line per sequence) of `length` × `A` for each contig, with its `.fai`.
pub fn write_reference(path: &Path, contigs: &[(&str, usize)]) {
    let (mut fasta, mut fai, mut offset) = (String::new(), String::new(), 0usize);
    for (name, length) in contigs {
        let header = format!(">{name}\n");
        offset += header.len();
        fai.push_str(&format!("{name}\t{length}\t{offset}\t{length}\t{}\n", length + 1));
        fasta.push_str(&header);
        fasta.push_str(&"A".repeat(*length));
        fasta.push('\n');
        offset += length + 1;
    }
    std::fs::write(path, fasta).expect("write fasta");
    std::fs::write(format!("{}.fai", path.display()), fai).expect("write fai");
}

/// Writes `sam` as a CRAM 3 with noodles, against the reference FASTA `reference`.
pub fn sam_to_cram(sam: &str, reference: &Path, path: &Path) {
    use noodles::sam::alignment::io::Write as _;
    let indexed = noodles::fasta::io::indexed_reader::Builder::default().build_from_path(reference).expect("fasta");
    let repository = noodles::fasta::Repository::new(noodles::fasta::repository::adapters::IndexedReader::new(indexed));
    let mut reader = noodles::sam::io::Reader::new(sam.as_bytes());
    let header = reader.read_header().expect("SAM header");
    let mut writer = noodles::cram::io::writer::Builder::default()
        .set_reference_sequence_repository(repository)
        .build_from_path(path)
        .expect("create cram");
    writer.write_header(&header).expect("write header");
    for record in reader.record_bufs(&header) {
        writer.write_alignment_record(&header, &record.expect("SAM record")).expect("write record");
    }
    writer.try_finish(&header).expect("finish cram");
}

/// Every file under `root` except `manifest.json` (timings, command lines), relative, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.ends_with("manifest.json") {
                out.push(p.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Asserts that `b` holds exactly `a`'s files (but manifests), byte for byte; returns how many.
pub fn assert_same_files(a: &Path, b: &Path, what: &str) -> usize {
    let names = files_under(a);
    assert_eq!(names, files_under(b), "{what}: different files");
    for f in &names {
        let (x, y) = (std::fs::read(a.join(f)).expect("read"), std::fs::read(b.join(f)).expect("read"));
        assert!(x == y, "{} differs: {what}", f.display());
    }
    names.len()
}

/// A small mzTab-M 2.0 file: three assays (two study samples and a pooled QC), small molecules
/// with their features.
pub const MZTAB: &str = "COM\tharmonomics test file\n\
MTD\tmzTab-version\t2.0.0-M\n\
MTD\tmzTab-ID\tHX-1\n\
MTD\tms_run[1]-location\tfile:///data/a.mzML\n\
MTD\tms_run[2]-location\tfile:///data/b.mzML\n\
MTD\tms_run[3]-location\tfile:///data/pool.mzML\n\
MTD\tassay[1]\tassay_a\n\
MTD\tassay[1]-ms_run_ref\tms_run[1]\n\
MTD\tassay[2]\tassay_b\n\
MTD\tassay[2]-ms_run_ref\tms_run[2]\n\
MTD\tassay[3]\tqc\n\
MTD\tassay[3]-ms_run_ref\tms_run[3]\n\
\n\
SMH\tSML_ID\tSMF_ID_REFS\tchemical_name\tdatabase_identifier\tabundance_assay[1]\tabundance_assay[2]\tabundance_assay[3]\n\
SML\t1\t1|2\tlactate\tHMDB:HMDB0000190\t100\t200\t150\n\
SML\t2\t3\ttryptophan\tHMDB:HMDB0000929\t50\tnull\t40\n\
\n\
SFH\tSMF_ID\tSME_ID_REFS\tadduct_ion\texp_mass_to_charge\tcharge\tretention_time_in_seconds\tabundance_assay[1]\tabundance_assay[2]\tabundance_assay[3]\n\
SMF\t1\t1\t[M-H]1-\t89.0244\t-1\t72.6\t60\t120\t90\n\
SMF\t2\t2\t[M+Cl]1-\t125.0011\t-1\t72.9\t40\t80\t60\n\
SMF\t3\t3\t[M-H]1-\t203.0826\t-1\t246.6\t50\tnull\t40\n";
