//! featureCounts' Simplified Annotation Format: `GeneID Chr Start End Strand`, tab-separated,
//! 1-based inclusive, with an optional header line starting with `GeneID`.

use std::path::Path;

use super::AnnotationError;
use super::feature::{FeatureSet, Strand};
use crate::error::Location;

/// Reads a SAF file (plain or gzip-compressed).
pub fn read(path: &Path) -> Result<FeatureSet, AnnotationError> {
    let io_err = |source| AnnotationError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let reader = crate::io::open::decompress(file).map_err(io_err)?;
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(reader);
    let mut set = FeatureSet::default();
    let mut record = csv::ByteRecord::new();
    let mut seen_line = false;
    loop {
        let more = csv.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            match e.into_kind() {
                csv::ErrorKind::Io(source) => io_err(source),
                other => {
                    AnnotationError::Malformed { location: Location::line(path, line), message: format!("{other:?}") }
                }
            }
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let malformed = |message: String| AnnotationError::Malformed { location: Location::line(path, line), message };
        // featureCounts 2.0.3 (`is_comment_line`) skips a line that starts "GeneID<TAB>Chr<TAB>Start"
        // (any case) and any line of fewer than five fields; we skip such a line only where it is the
        // first, as a header, and refuse a short line later rather than drop a gene silently.
        let first = !seen_line;
        seen_line = true;
        if is_header(record.iter()) || (first && record.len() < 5) {
            continue;
        }
        if record.len() < 5 {
            return Err(malformed(format!(
                "expected 5 tab-separated fields (GeneID, Chr, Start, End, Strand), found {}",
                record.len()
            )));
        }
        let field = |i: usize| {
            std::str::from_utf8(&record[i])
                .map(str::trim)
                .map_err(|_| malformed(format!("field {} is not UTF-8", i + 1)))
        };
        let (gene, chrom, start, end, strand) = (field(0)?, field(1)?, field(2)?, field(3)?, field(4)?);
        let coord = |name: &str, v: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|&v| v >= 1)
                .ok_or_else(|| malformed(format!("{name} must be a positive integer, found {v:?}")))
        };
        let (start, end) = (coord("Start", start)?, coord("End", end)?);
        if end < start {
            return Err(malformed(format!("End {end} is before Start {start}")));
        }
        let strand = match strand {
            "+" => Strand::Forward,
            "-" => Strand::Reverse,
            "." => Strand::Unknown,
            other => return Err(malformed(format!("Strand must be '+', '-' or '.', found {other:?}"))),
        };
        if gene.is_empty() || chrom.is_empty() {
            return Err(malformed("empty GeneID or Chr".into()));
        }
        set.push(gene, chrom, start, end, strand);
    }
    if set.exons.is_empty() {
        return Err(AnnotationError::Empty { path: path.display().to_string() });
    }
    Ok(set)
}

/// featureCounts' SAF header test on a line's fields: it starts `GeneID<TAB>Chr<TAB>Start`,
/// case aside.
pub(super) fn is_header<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut next = || fields.next().unwrap_or_default();
    let (gene, chrom, start) = (next(), next(), next());
    gene.eq_ignore_ascii_case(b"GeneID")
        && chrom.eq_ignore_ascii_case(b"Chr")
        && start.len() >= 5
        && start[..5].eq_ignore_ascii_case(b"Start")
}
