//! Other tools' per-CpG tables, reconciled to one convention (1-based forward-strand C, strands
//! merged):
//!
//! | tool | file | coordinates | strand |
//! |---|---|---|---|
//! | Bismark | `*.bismark.cov(.gz)` | 1-based, `start == end` (one C) or `end == start + 1` (`--merge_CpG`) | not given |
//! | Bismark | `*CpG_report.txt(.gz)` / `*.CX_report.txt(.gz)` | 1-based C | column 3 |
//! | MethylDackel | `*_CpG.bedGraph` | 0-based half-open; 2 bp with `--mergeContext` | not given |
//! | modkit | `pileup` bedMethyl | 0-based half-open | column 6 (`.` after `--combine-strands`) |
//!
//! Where the file gives a strand, a minus-strand C (the G of the CpG on the forward strand) is
//! moved one base left and merged. Per-cytosine `.cov` and bedGraph files carry no strand, so
//! their sites stay as written and [`Imported::strands_merged`] is false.

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::EpigenomeError;
use super::sites::{SampleCalls, SiteCollector};

/// A methylation table format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Bismark `bismark_methylation_extractor` / `coverage2cytosine --merge_CpG` coverage file.
    BismarkCov,
    /// Bismark `coverage2cytosine` genome-wide cytosine report.
    CpgReport,
    /// MethylDackel `extract` bedGraph.
    Methyldackel,
    /// modkit `pileup` bedMethyl.
    Modkit,
}

impl Format {
    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Format::BismarkCov => "bismark-cov",
            Format::CpgReport => "cpg-report",
            Format::Methyldackel => "methyldackel",
            Format::Modkit => "modkit",
        }
    }
}

/// One imported sample.
#[derive(Debug)]
pub struct Imported {
    /// The calls.
    pub calls: SampleCalls,
    /// The format read.
    pub format: Format,
    /// Whether both strands of each CpG were merged (false for per-C files without a strand).
    pub strands_merged: bool,
}

fn line_err(path: &Path, line: u64, message: impl Into<String>) -> EpigenomeError {
    EpigenomeError::Line { path: path.to_path_buf(), line, message: message.into() }
}

fn open(path: &Path) -> Result<Box<dyn BufRead>, EpigenomeError> {
    let io_err = |source| EpigenomeError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    Ok(Box::new(std::io::BufReader::new(crate::io::open::decompress(file).map_err(io_err)?)))
}

/// Largest gzip file inflated whole in memory (with libdeflate, about twice zlib's speed); larger
/// ones (whole-genome tables) stream, so memory stays bounded whatever the file.
const WHOLE_GZIP_LIMIT: u64 = 64 << 20;
/// Largest table inflated whole (the gzip trailer's size, checked before allocating).
const WHOLE_TABLE_LIMIT: usize = 512 << 20;

/// A table's lines, without their line ends: a moderate plain file, or single-member gzip file
/// (what Bismark, MethylDackel and modkit write) inflated whole, split in place; anything else
/// (larger files, BGZF, damaged gzip) streamed.
enum Lines {
    Whole { text: Vec<u8>, at: usize },
    Stream { reader: Box<dyn BufRead>, line: Vec<u8> },
}

impl Lines {
    fn open(path: &Path) -> Result<Self, EpigenomeError> {
        let io_err = |source| EpigenomeError::Io { path: path.to_path_buf(), source };
        let size = std::fs::metadata(path).map_err(io_err)?.len();
        if size <= WHOLE_GZIP_LIMIT {
            let bytes = std::fs::read(path).map_err(io_err)?;
            if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
                // Plain text: already whole.
                return Ok(Lines::Whole { text: bytes, at: 0 });
            }
            if let Some(text) = inflate_whole(&bytes) {
                return Ok(Lines::Whole { text, at: 0 });
            }
        }
        Ok(Lines::Stream { reader: open(path)?, line: Vec::new() })
    }

    /// The next line (its `\n` and trailing `\r` removed), `None` at the end.
    fn next(&mut self) -> std::io::Result<Option<&[u8]>> {
        let line = match self {
            Lines::Whole { text, at } => {
                if *at >= text.len() {
                    return Ok(None);
                }
                let rest = &text[*at..];
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                *at += (end + 1).min(rest.len());
                &rest[..end]
            }
            Lines::Stream { reader, line } => {
                line.clear();
                if reader.read_until(b'\n', line)? == 0 {
                    return Ok(None);
                }
                line.as_slice()
            }
        };
        let mut line = line;
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        Ok(Some(line))
    }
}

/// Gzip `bytes` inflated, when they are one member whose trailer gives a size within
/// [`WHOLE_TABLE_LIMIT`] and libdeflate inflates them to exactly that size; `None` otherwise
/// (several members as BGZF, or a damaged file, which the streaming reader then reads and
/// reports).
fn inflate_whole(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < 18 {
        return None;
    }
    let tail: [u8; 4] = bytes[bytes.len() - 4..].try_into().ok()?;
    let size = u32::from_le_bytes(tail) as usize;
    if size > WHOLE_TABLE_LIMIT {
        return None;
    }
    let mut out = vec![0u8; size];
    let n = libdeflater::Decompressor::new().gzip_decompress(bytes, &mut out).ok()?;
    (n == size).then_some(out)
}

/// Whether `path` holds alignments (BAM, CRAM, or SAM: an `@` header or a record line) rather
/// than a per-CpG table.
pub fn is_alignment(path: &Path) -> Result<bool, EpigenomeError> {
    use crate::io::open::{AlignmentFile, SniffError, sniff_alignments};
    match sniff_alignments(path) {
        Ok(AlignmentFile::Bam | AlignmentFile::Cram) => return Ok(true),
        Err(SniffError::Io(source)) => return Err(EpigenomeError::Io { path: path.to_path_buf(), source }),
        Err(SniffError::Empty) => {
            return Err(EpigenomeError::File {
                path: path.to_path_buf(),
                message: "empty file (0 bytes): neither alignments nor a methylation table".into(),
            });
        }
        Err(e @ (SniffError::Truncated | SniffError::NotAFile)) => {
            return Err(EpigenomeError::File { path: path.to_path_buf(), message: e.to_string() });
        }
        Ok(AlignmentFile::BgzfSam | AlignmentFile::GzipSam | AlignmentFile::Sam) | Err(SniffError::Unknown) => {}
    }
    let mut reader = open(path)?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|source| EpigenomeError::Io { path: path.to_path_buf(), source })? == 0 {
            return Ok(false);
        }
        if !line.trim().is_empty() {
            return Ok(line.starts_with('@') || is_sam_record(line.trim_end_matches(['\n', '\r'])));
        }
    }
}

/// A SAM record line: 11 or more tab-separated fields with FLAG, POS and MAPQ whole numbers and a
/// CIGAR of `*` or operations. A bedMethyl line (18 tab-separated fields as `modkit pileup`
/// writes them) has the modification code, a letter, where SAM has POS, so it is not one.
fn is_sam_record(line: &str) -> bool {
    let fields: Vec<&str> = line.split('\t').collect();
    let operation = |ch: char| "MIDNSHP=X".contains(ch);
    let cigar = |c: &str| {
        c == "*"
            || (!c.is_empty()
                && c.split_inclusive(operation).all(|op| {
                    op.len() >= 2 && op.ends_with(operation) && op[..op.len() - 1].bytes().all(|b| b.is_ascii_digit())
                }))
    };
    fields.len() >= 11
        && fields[1].parse::<u16>().is_ok()
        && fields[3].parse::<u64>().is_ok()
        && fields[4].parse::<u8>().is_ok()
        && cigar(fields[5])
}

/// Guesses the format from the first data line (column count, strand and context columns, a
/// `track` line) and, only where the columns are ambiguous, the file name.
pub fn detect(path: &Path) -> Result<Format, EpigenomeError> {
    let mut reader = open(path)?;
    let mut line = String::new();
    let mut saw_track = false;
    loop {
        line.clear();
        let n =
            reader.read_line(&mut line).map_err(|source| EpigenomeError::Io { path: path.to_path_buf(), source })?;
        if n == 0 {
            return Err(EpigenomeError::File { path: path.to_path_buf(), message: "no data lines".into() });
        }
        let trimmed = line.trim_end();
        if trimmed.starts_with("track") {
            saw_track = true;
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_ascii_whitespace().collect();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
        return match fields.len() {
            7 if matches!(fields[2], "+" | "-") => Ok(Format::CpgReport),
            n if n >= 18 => Ok(Format::Modkit),
            6 if saw_track || name.contains("bedgraph") => Ok(Format::Methyldackel),
            6 => Ok(Format::BismarkCov),
            n => Err(EpigenomeError::File {
                path: path.to_path_buf(),
                message: format!(
                    "cannot tell the methylation format from a line of {n} columns; expected a Bismark .cov (6), \
                     CpG_report (7), MethylDackel bedGraph (6, after a track line) or modkit bedMethyl (18)"
                ),
            }),
        };
    }
}

/// Columns of a line kept for reading (bedMethyl has 18; more are counted, not kept).
const MAX_FIELDS: usize = 24;

/// A line's fields: the first [`MAX_FIELDS`], and how many there were.
struct Fields<'a> {
    fields: &'a [&'a [u8]],
    count: usize,
}

impl<'a> Fields<'a> {
    fn get(&self, k: usize) -> Option<&'a [u8]> {
        self.fields.get(k).copied()
    }

    fn len(&self) -> usize {
        self.count
    }

    /// Field `k`, which the caller has checked exists.
    fn at(&self, k: usize) -> &'a [u8] {
        self.fields[k]
    }
}

/// Why column `k` of a line is not a whole number within bounds (kept out of the parsing loop).
#[cold]
#[inline(never)]
fn number_error(path: &Path, line: u64, f: &Fields<'_>, k: usize, what: &str, beyond: &str) -> EpigenomeError {
    let Some(field) = f.get(k) else {
        return line_err(path, line, format!("expected at least {} columns, found {}", k + 1, f.len()));
    };
    match parse_u64(field) {
        None => {
            let found = String::from_utf8_lossy(field);
            line_err(path, line, format!("column {} ({what}): expected a whole number, found {found:?}", k + 1))
        }
        Some(v) => line_err(path, line, format!("column {} ({what}): {v} is {beyond}", k + 1)),
    }
}

/// Splits a line at runs of ASCII white space (as `split(is_ascii_whitespace)` without the empty
/// pieces), keeping the first [`MAX_FIELDS`]; returns how many fields there were.
fn split_fields<'a>(line: &'a [u8], fields: &mut [&'a [u8]; MAX_FIELDS]) -> usize {
    let (mut count, mut i) = (0, 0);
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        let start = i;
        while i < line.len() && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        if let Some(slot) = fields.get_mut(count) {
            *slot = &line[start..i];
        }
        count += 1;
    }
    count
}

/// Largest position read: the cohort merge keys a site by chromosome rank above 40 bits of
/// position (`sites::site_key`), and the longest chromosome known is under 2^33.
const MAX_POSITION: u64 = (1 << 40) - 2;

/// Largest count read at one site: no library reaches 2^32 reads at one CpG.
const MAX_DEPTH: u64 = u32::MAX as u64;

/// A whole number as `str::parse::<u64>` reads it (an optional `+`, then ASCII digits), from bytes:
/// the tables are read as bytes so that millions of lines skip UTF-8 validation.
fn parse_u64(field: &[u8]) -> Option<u64> {
    let digits = field.strip_prefix(b"+").unwrap_or(field);
    if digits.is_empty() {
        return None;
    }
    // Up to 19 digits cannot overflow: no checks per digit on the common path.
    if digits.len() <= 19 {
        let mut n = 0u64;
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + u64::from(d);
        }
        return Some(n);
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Column 1, the chromosome name, as text.
fn chrom<'a>(path: &Path, line: u64, field: &'a [u8]) -> Result<&'a str, EpigenomeError> {
    std::str::from_utf8(field).map_err(|_| line_err(path, line, "column 1 (chromosome): not valid UTF-8 text"))
}

/// Reads one per-CpG table.
pub fn read(path: &Path, format: Format) -> Result<Imported, EpigenomeError> {
    let mut lines = Lines::open(path)?;
    let mut collector = SiteCollector::default();
    let mut merged = match format {
        Format::CpgReport | Format::Modkit => true,
        Format::BismarkCov | Format::Methyldackel => false,
    };
    let mut first = true;
    let mut modkit_m = 0u64;
    let mut number = 0u64;
    let mut data_lines = 0u64;
    loop {
        number += 1;
        let Some(line) = lines.next().map_err(|source| EpigenomeError::Io { path: path.to_path_buf(), source })? else {
            break;
        };
        if line.is_empty() || line.starts_with(b"#") || line.starts_with(b"track") {
            continue;
        }
        // Fields on the stack: a table has millions of lines and at most 18 columns we read.
        let mut fields: [&[u8]; MAX_FIELDS] = [b""; MAX_FIELDS];
        let count = split_fields(line, &mut fields);
        let f = Fields { fields: &fields[..count.min(MAX_FIELDS)], count };
        data_lines += 1;
        // Positions fit the merge's key (2^40) and counts a read depth (2^32): sums and `+ 1`
        // can then never overflow, and a corrupted number is named instead.
        // The common case inline; every error is built out of line (`number_error`).
        let bounded = |k: usize, what: &str, max: u64, beyond: &str| -> Result<u64, EpigenomeError> {
            match f.get(k).and_then(parse_u64) {
                Some(v) if v <= max => Ok(v),
                _ => Err(number_error(path, number, &f, k, what, beyond)),
            }
        };
        let int = |k: usize, what: &str| bounded(k, what, MAX_POSITION, "beyond any chromosome (over 2^40)");
        let count = |k: usize, what: &str| bounded(k, what, MAX_DEPTH, "larger than any read depth (over 2^32)");
        match format {
            Format::BismarkCov | Format::Methyldackel => {
                if f.len() != 6 {
                    return Err(line_err(path, number, format!("expected 6 columns, found {}", f.len())));
                }
                let (start, end) = (int(1, "start")?, int(2, "end")?);
                let (m, u) = (count(4, "methylated")?, count(5, "unmethylated")?);
                // Bismark: 1-based inclusive; MethylDackel: 0-based half-open.
                let (pos, span) = match format {
                    _ if end < start => (0, 0),
                    Format::BismarkCov => (start, end + 1 - start),
                    _ => (start + 1, end - start),
                };
                if !(1..=2).contains(&span) || pos == 0 {
                    return Err(line_err(
                        path,
                        number,
                        format!("start {start} and end {end} do not describe one cytosine or one CpG"),
                    ));
                }
                let site_merged = span == 2;
                if first {
                    merged = site_merged;
                    first = false;
                } else if merged != site_merged {
                    return Err(line_err(path, number, "mixes per-cytosine and merged-CpG rows"));
                }
                collector.add(chrom(path, number, f.at(0))?, pos, m, u);
            }
            Format::CpgReport => {
                if f.len() != 7 {
                    return Err(line_err(path, number, format!("expected 7 columns, found {}", f.len())));
                }
                if f.at(5) != b"CG" {
                    continue;
                }
                let (pos, m, u) = (int(1, "position")?, count(3, "methylated")?, count(4, "unmethylated")?);
                let pos = match f.at(2) {
                    b"+" => pos,
                    b"-" if pos >= 2 => pos - 1,
                    s => {
                        let s = String::from_utf8_lossy(s);
                        return Err(line_err(path, number, format!("column 3 (strand): expected + or -, found {s:?}")));
                    }
                };
                if m + u > 0 {
                    collector.add(chrom(path, number, f.at(0))?, pos, m, u);
                }
            }
            Format::Modkit => {
                if f.len() < 18 {
                    return Err(line_err(path, number, format!("expected 18 bedMethyl columns, found {}", f.len())));
                }
                if f.at(3) != b"m" {
                    continue;
                }
                let start = int(1, "start")?;
                let (m, u) = (count(11, "Nmod")?, count(12, "Ncanonical")?);
                let pos = match f.at(5) {
                    b"+" | b"." => start + 1,
                    b"-" if start >= 1 => start,
                    s => {
                        let s = String::from_utf8_lossy(s);
                        return Err(line_err(
                            path,
                            number,
                            format!("column 6 (strand): expected +, - or ., found {s:?}"),
                        ));
                    }
                };
                modkit_m += 1;
                if m + u > 0 {
                    collector.add(chrom(path, number, f.at(0))?, pos, m, u);
                }
            }
        }
    }
    if data_lines == 0 {
        return Err(EpigenomeError::File {
            path: path.to_path_buf(),
            message: format!("no data lines: an empty {} table", format.name()),
        });
    }
    if format == Format::Modkit && modkit_m == 0 {
        return Err(EpigenomeError::File {
            path: path.to_path_buf(),
            message: "no 5mC rows (modification code m) in this bedMethyl".into(),
        });
    }
    Ok(Imported { calls: collector.finish(), format, strands_merged: merged })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn rows(i: &Imported) -> Vec<(String, u64, u64, u64)> {
        i.calls.iter().map(|(c, s)| (c.to_string(), s.pos, s.methylated, s.unmethylated)).collect()
    }

    /// One CpG (C at 1-based 101 on +, its partner C at 102 on -), in each tool's words.
    #[test]
    fn every_format_names_the_same_cpg() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let report = write(d, "a.CpG_report.txt", "chr1\t101\t+\t3\t1\tCG\tCGA\nchr1\t102\t-\t2\t0\tCG\tCGT\n");
        let merged_cov = write(d, "a.merged_CpG_evidence.cov", "chr1\t101\t102\t83.3\t5\t1\n");
        let dackel = write(d, "a_CpG.bedGraph", "track type=\"bedGraph\"\nchr1\t100\t102\t83\t5\t1\n");
        let modkit = write(
            d,
            "a.bed",
            "chr1\t100\t101\tm\t4\t+\t100\t101\t255,0,0\t4\t75.00\t3\t1\t0\t0\t0\t0\t0\n\
             chr1\t100\t101\th\t4\t+\t100\t101\t255,0,0\t4\t0.00\t0\t4\t0\t0\t0\t0\t0\n\
             chr1\t101\t102\tm\t2\t-\t101\t102\t255,0,0\t2\t100.00\t2\t0\t0\t0\t0\t0\t0\n",
        );
        let expected = vec![("chr1".to_string(), 101, 5, 1)];
        for (path, format) in [
            (&report, Format::CpgReport),
            (&merged_cov, Format::BismarkCov),
            (&dackel, Format::Methyldackel),
            (&modkit, Format::Modkit),
        ] {
            assert_eq!(detect(path).expect("detect"), format, "{}", path.display());
            let imported = read(path, format).expect("read");
            assert_eq!(rows(&imported), expected, "{}", path.display());
            assert!(imported.strands_merged);
        }
        let combined = write(d, "c.bed", "chr1\t100\t101\tm\t6\t.\t100\t101\t0\t6\t83.3\t5\t1\t0\t0\t0\t0\t0\n");
        assert_eq!(rows(&read(&combined, Format::Modkit).expect("read")), expected);
    }

    #[test]
    fn per_cytosine_files_keep_their_positions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cov = write(dir.path(), "a.bismark.cov", "chr1\t101\t101\t75\t3\t1\nchr1\t102\t102\t100\t2\t0\n");
        let i = read(&cov, Format::BismarkCov).expect("read");
        assert!(!i.strands_merged);
        assert_eq!(rows(&i), [("chr1".into(), 101, 3, 1), ("chr1".into(), 102, 2, 0)]);
        let bg = write(dir.path(), "a.bedGraph", "chr1\t100\t101\t75\t3\t1\n");
        assert_eq!(rows(&read(&bg, Format::Methyldackel).expect("read")), [("chr1".into(), 101, 3, 1)]);
    }

    #[test]
    fn tab_separated_bedmethyl_is_a_table_and_sam_records_are_alignments() {
        let dir = tempfile::tempdir().expect("tempdir");
        // `modkit pileup` without --mixed-delim: 18 tab-separated columns.
        let bed = write(
            dir.path(),
            "pileup.bed",
            "chr1\t100\t101\tm\t4\t+\t100\t101\t255,0,0\t4\t75.00\t3\t1\t0\t0\t0\t0\t0\n",
        );
        assert!(!is_alignment(&bed).expect("sniff"));
        let sam = write(dir.path(), "r.sam", "r1\t0\tchr1\t100\t60\t10M5S\t*\t0\t0\tACGTACGTACGTACG\t*\n");
        assert!(is_alignment(&sam).expect("sniff"));
        for cigar in ["10", "M", "10M5", "1.5M"] {
            assert!(!is_sam_record(&format!("r\t0\tchr1\t100\t60\t{cigar}\t*\t0\t0\tA\t*")), "{cigar}");
        }
        let empty = write(dir.path(), "empty.cov", "");
        let e = is_alignment(&empty).expect_err("empty").to_string();
        assert!(e.contains("empty.cov") && e.contains("0 bytes"), "{e}");
        let header_only = write(dir.path(), "h.bedGraph", "track type=bedGraph\n");
        let e = read(&header_only, Format::Methyldackel).expect_err("no data").to_string();
        assert!(e.contains("h.bedGraph") && e.contains("no data lines"), "{e}");
    }

    #[test]
    fn positions_and_counts_out_of_range_are_named_not_overflowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (text, expected) in [
            ("chr1\t10\t3\t75\t3\t1\n", "start 10 and end 3 do not describe"),
            ("chr1\t18446744073709551615\t18446744073709551615\t75\t3\t1\n", "beyond any chromosome"),
            ("chr1\t10\t10\t75\t18446744073709551615\t1\n", "larger than any read depth"),
        ] {
            let p = write(dir.path(), "x.cov", text);
            let e = read(&p, Format::BismarkCov).expect_err(expected).to_string();
            assert!(e.contains("x.cov:1") && e.contains(expected), "{e}");
            let bg = write(dir.path(), "x.bedGraph", text);
            assert!(read(&bg, Format::Methyldackel).is_err(), "{text}");
        }
    }

    #[test]
    fn whole_numbers_read_as_str_parse_reads_them() {
        for text in ["0", "7", "+12", "18446744073709551615", "", "+", "-1", "1.5", "12a", "18446744073709551616"] {
            assert_eq!(parse_u64(text.as_bytes()), text.parse::<u64>().ok(), "{text:?}");
        }
    }

    #[test]
    fn a_chromosome_that_is_not_text_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("bin.cov");
        std::fs::write(&p, b"chr1\t101\t101\t75\t3\t1\nchr\xff\t105\t105\t75\t3\t1\n").expect("write");
        let e = read(&p, Format::BismarkCov).expect_err("not UTF-8").to_string();
        assert!(e.contains("bin.cov:2") && e.contains("column 1"), "{e}");
    }

    #[test]
    fn bad_lines_name_file_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cov = write(dir.path(), "bad.cov", "chr1\t101\t101\t75\t3\t1\nchr1\t105\t105\t75\tthree\t1\n");
        let e = read(&cov, Format::BismarkCov).expect_err("bad count").to_string();
        assert!(e.contains("bad.cov:2") && e.contains("column 5") && e.contains("\"three\""), "{e}");
        let short = write(dir.path(), "short.cov", "chr1\t101\t101\t75\t3\n");
        let e = read(&short, Format::BismarkCov).expect_err("5 columns").to_string();
        assert!(e.contains("short.cov:1") && e.contains("expected 6 columns"), "{e}");
        let report = write(dir.path(), "r.txt", "chr1\t101\t*\t3\t1\tCG\tCGA\n");
        let e = read(&report, Format::CpgReport).expect_err("strand").to_string();
        assert!(e.contains("r.txt:1") && e.contains("strand"), "{e}");
        let modkit = write(dir.path(), "h.bed", "chr1\t100\t101\th\t4\t+\t100\t101\t0\t4\t0\t0\t4\t0\t0\t0\t0\t0\n");
        assert!(read(&modkit, Format::Modkit).expect_err("no m").to_string().contains("no 5mC rows"));
    }
}
