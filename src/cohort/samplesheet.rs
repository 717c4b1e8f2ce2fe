//! Reading CSV tables (samplesheet, patients) row by row with their line numbers.
//!
//! Parsing is separate from validation: this module only turns bytes into named fields and
//! reports structural problems (missing columns, ragged rows); [`super::validate`] judges values.

use std::collections::HashMap;
use std::path::Path;

use crate::error::Location;

/// One data row: its 1-based line and its fields by column index.
#[derive(Debug)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: u64,
    /// Trimmed fields.
    pub fields: Vec<String>,
}

/// A CSV table with a header.
#[derive(Debug)]
pub struct Table {
    /// Header names, trimmed.
    pub header: Vec<String>,
    columns: HashMap<String, usize>,
    /// Data rows that had the right number of fields.
    pub rows: Vec<Row>,
}

impl Table {
    /// Index of a column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    /// The value of `name` in `row`, `None` when the column is absent or the cell is empty.
    pub fn get<'r>(&self, row: &'r Row, name: &str) -> Option<&'r str> {
        let i = self.column(name)?;
        row.fields.get(i).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Reads a comma-separated table; structural problems go to `problems` (every one, not the first).
///
/// Lines starting with `#` are comments. Returns `None` when the file cannot be used at all.
pub fn read_table(path: &Path, problems: &mut Vec<(Location, String)>) -> Option<Table> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            problems.push((Location::file(path), format!("cannot read file: {e}")));
            return None;
        }
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        problems.push((Location::file(path), "file is empty; expected a header line and at least one row".into()));
        return None;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(bytes.as_slice());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            problems.push((Location::line(path, 1), format!("cannot parse the header: {e}")));
            return None;
        }
    };
    let mut columns = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            problems.push((Location::line(path, 1), format!("header column {} has no name", i + 1)));
        } else if columns.insert(name.clone(), i).is_some() {
            problems.push((Location::line(path, 1), format!("column {name:?} appears twice in the header")));
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                if record.iter().all(str::is_empty) {
                    continue;
                }
                if record.len() != header.len() {
                    problems.push((
                        Location::line(path, line),
                        format!("expected {} fields as in the header, found {}", header.len(), record.len()),
                    ));
                    continue;
                }
                rows.push(Row { line, fields: record.iter().map(str::to_string).collect() });
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                problems.push((Location::line(path, line), format!("malformed CSV: {e}")));
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
            }
        }
    }
    Some(Table { header, columns, rows })
}
