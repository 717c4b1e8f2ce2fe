//! Gene-count tables: featureCounts (one or many samples), htseq-count, STAR `ReadsPerGene`.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{ImportError, ImportedSample};
use crate::error::Location;
use crate::transcriptome::quant::Strandedness;

fn lines(path: &Path) -> Result<Vec<(u64, String)>, ImportError> {
    let io_err = |source| ImportError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let reader = BufReader::new(crate::io::open::decompress(file).map_err(io_err)?);
    reader.lines().enumerate().map(|(i, l)| l.map(|l| (i as u64 + 1, l)).map_err(io_err)).collect()
}

pub(super) fn bad(path: &Path, line: u64, message: impl Into<String>) -> ImportError {
    ImportError::Malformed { location: Location::line(path, line), message: message.into() }
}

/// Counts above this are not exact in a 64-bit float, and no library has that many reads.
pub(super) const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// A count: a finite, non-negative number up to 2^53 (fractional counts allowed: featureCounts
/// `--fraction`, Salmon's estimates).
pub(super) fn count_value(text: &str) -> Result<f64, String> {
    let v: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number"))?;
    if !v.is_finite() {
        Err(format!("{text:?} is not a finite number"))
    } else if v < 0.0 {
        Err(format!("{text:?} is negative"))
    } else if v > MAX_COUNT {
        Err(format!("{text:?} is larger than any read count (over 2^53)"))
    } else {
        Ok(v)
    }
}

fn number(path: &Path, line: u64, text: &str, what: &str) -> Result<f64, ImportError> {
    count_value(text).map_err(|e| bad(path, line, format!("{what}: {e}")))
}

/// Refuses an id (`what`: gene, transcript) listed twice: the tools write each once, so a repeat
/// is a concatenated or corrupted file, and would be counted twice. `lines[i]` is the line of
/// row `i`.
pub(super) fn unique_rows(path: &Path, what: &str, ids: &[String], lines: &[u64]) -> Result<(), ImportError> {
    match crate::matrix::first_repeat(ids.iter().map(String::as_str)) {
        Some((first, again)) => Err(bad(
            path,
            lines[again],
            format!("{what} {:?} again (first on line {}): each {what} must appear once", ids[again], lines[first]),
        )),
        None => Ok(()),
    }
}

/// featureCounts' table: `# Program...` line, `Geneid Chr Start End Strand Length <samples...>`.
pub fn featurecounts(path: &Path) -> Result<Vec<ImportedSample>, ImportError> {
    let mut rows = lines(path)?.into_iter().filter(|(_, l)| !l.starts_with('#'));
    let (n, header) = rows.next().ok_or_else(|| bad(path, 1, "empty file"))?;
    let header: Vec<&str> = header.split('\t').collect();
    if header.len() < 7 || header[0] != "Geneid" || header[5] != "Length" {
        return Err(bad(path, n, "expected featureCounts' header: Geneid Chr Start End Strand Length <samples...>"));
    }
    let mut samples: Vec<ImportedSample> =
        header[6..].iter().map(|s| ImportedSample::new(&sample_name(s), true)).collect();
    let mut row_lines = Vec::new();
    for (n, line) in rows {
        row_lines.push(n);
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != header.len() {
            return Err(bad(path, n, format!("expected {} fields, found {}", header.len(), f.len())));
        }
        let length = number(path, n, f[5], "Length")?;
        for (k, s) in samples.iter_mut().enumerate() {
            s.feature_ids.push(f[0].to_string());
            s.counts.push(number(path, n, f[6 + k], "count")?);
            if let Some(l) = s.lengths.as_mut() {
                l.push(length);
            }
        }
    }
    if let Some(first) = samples.first() {
        unique_rows(path, "gene", &first.feature_ids, &row_lines)?;
    }
    // The .summary beside it goes to QC when present.
    let summary = std::path::PathBuf::from(format!("{}.summary", path.display()));
    if summary.exists() {
        let mut rows = lines(&summary)?.into_iter();
        rows.next();
        for (n, line) in rows {
            let f: Vec<&str> = line.split('\t').collect();
            for (k, s) in samples.iter_mut().enumerate() {
                if let Some(v) = f.get(k + 1) {
                    s.qc.push((f[0].to_string(), number(&summary, n, v, "count")?));
                }
            }
        }
    }
    Ok(samples)
}

/// A sample name from a featureCounts column (usually a BAM path): the file stem.
fn sample_name(column: &str) -> String {
    let name = Path::new(column).file_name().and_then(|n| n.to_str()).unwrap_or(column);
    name.strip_suffix(".bam").or_else(|| name.strip_suffix(".sam")).unwrap_or(name).to_string()
}

/// htseq-count: `gene<TAB>count`, with `__no_feature`, `__ambiguous`, ... rows for QC.
pub fn htseq(path: &Path, sample: &str) -> Result<ImportedSample, ImportError> {
    let mut s = ImportedSample::new(sample, false);
    let mut row_lines = Vec::new();
    for (n, line) in lines(path)? {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 2 {
            return Err(bad(path, n, format!("expected 2 tab-separated fields (gene, count), found {}", f.len())));
        }
        let v = number(path, n, f[1], "count")?;
        if let Some(category) = f[0].strip_prefix("__") {
            s.qc.push((category.to_string(), v));
        } else {
            s.feature_ids.push(f[0].to_string());
            s.counts.push(v);
            row_lines.push(n);
        }
    }
    unique_rows(path, "gene", &s.feature_ids, &row_lines)?;
    Ok(s)
}

/// STAR `ReadsPerGene.out.tab`: four header rows (`N_unmapped`, `N_multimapping`,
/// `N_noFeature`, `N_ambiguous`), then gene, unstranded, forward (-s 1), reverse (-s 2) counts.
pub fn star(path: &Path, sample: &str, strandedness: Strandedness) -> Result<ImportedSample, ImportError> {
    let column = match strandedness {
        Strandedness::Unstranded => 1,
        Strandedness::Forward => 2,
        Strandedness::Reverse => 3,
    };
    let mut s = ImportedSample::new(sample, false);
    let mut row_lines = Vec::new();
    for (n, line) in lines(path)? {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            return Err(bad(
                path,
                n,
                format!("expected 4 tab-separated fields (STAR ReadsPerGene), found {}", f.len()),
            ));
        }
        let v = number(path, n, f[column], "count")?;
        if f[0].starts_with("N_") {
            s.qc.push((f[0].to_string(), v));
        } else {
            s.feature_ids.push(f[0].to_string());
            s.counts.push(v);
            row_lines.push(n);
        }
    }
    unique_rows(path, "gene", &s.feature_ids, &row_lines)?;
    Ok(s)
}
