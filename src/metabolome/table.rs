//! Feature tables: one row per feature, one intensity column per injection.
//!
//! - MZmine 2 CSV export: `row ID`, `row m/z`, `row retention time`, identity columns, then
//!   `<raw file> Peak area` (or `Peak height`) per injection;
//! - MZmine 3: `id`, `mz`, `rt`, ..., `datafile:<raw file>:area`;
//! - XCMS `featureValues()` / `diffreport()` written with `write.csv`/`write.table`: the feature
//!   name first (`""`, `name`), `mzmed`/`rtmed` (or `mz`/`rt`), then the injections;
//! - MS-DIAL alignment exports (`Alignment ID`, `Average Rt(min)`, `Average Mz`, `Metabolite
//!   name`, ..., one column per injection), the metadata rows above the header skipped;
//! - any CSV/TSV of that shape;
//! - mzTab-M 2.0, recognised by its `MTD`/`COM` lines and read by [`super::mztab`].
//!
//! Injection columns are recognised by the injection list (with or without the raw-file
//! extension); every other column is an annotation. A column that is unmistakably an injection
//! (an MZmine `Peak area`/`datafile:` column) but is not in the list is an error.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::MetabolomeError;
use super::injections::{Injection, bare};
use crate::error::Location;

/// `[metabolome.import]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// Which MZmine measure to read when both exist: `area` (default) or `height`.
    #[serde(default)]
    pub measure: Measure,
}

crate::choice::named_enum! {
    /// MZmine's per-injection measure.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Measure {
        /// Peak area.
        Area = "area",
        /// Peak height.
        Height = "height",
    }
    default Area
}

/// A feature table, injections as columns in injection-list order.
#[derive(Clone, Debug, Default)]
pub struct FeatureTable {
    /// `mzmine` or `table`.
    pub format: &'static str,
    /// Feature ids, in file order.
    pub ids: Vec<String>,
    /// m/z per feature, when the table has it.
    pub mz: Vec<Option<f64>>,
    /// Retention time per feature, when the table has it.
    pub rt: Vec<Option<f64>>,
    /// Other columns (name, values as written).
    pub annotations: Vec<(String, Vec<Option<String>>)>,
    /// Intensities, one row per feature, one value per injection in list order (`None`: empty).
    pub rows: Vec<Vec<Option<f64>>>,
}

/// What a header cell is.
enum Role {
    Id,
    Mz,
    Rt,
    Injection(usize),
    Annotation,
    Skip,
}

/// The injection a header names, if it looks like an MZmine injection column.
fn mzmine_injection(header: &str, measure: Measure) -> Option<Option<&str>> {
    let (area, height) = (" Peak area", " Peak height");
    if let Some(rest) = header.strip_prefix("datafile:") {
        let (name, what) = rest.rsplit_once(':')?;
        let wanted = match measure {
            Measure::Area => "area",
            Measure::Height => "height",
        };
        return Some((what == wanted).then_some(name));
    }
    if let Some(name) = header.strip_suffix(area) {
        return Some((measure == Measure::Area).then_some(name));
    }
    if let Some(name) = header.strip_suffix(height) {
        return Some((measure == Measure::Height).then_some(name));
    }
    if header.ends_with(" Peak status") || header.ends_with(" Peak m/z") || header.ends_with(" Peak RT") {
        return Some(None);
    }
    None
}

/// Reads a feature table against the injection list.
pub fn read(
    path: &Path,
    injections: &[Injection],
    list: &Path,
    options: &ImportOptions,
) -> Result<FeatureTable, MetabolomeError> {
    let io_err = |source| MetabolomeError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, crate::io::open::decompress(file).map_err(io_err)?);
    // The format and delimiter from the first line; the table itself streams.
    let head = std::io::BufRead::fill_buf(&mut input).map_err(io_err)?;
    if head.starts_with(b"MTD") || head.starts_with(b"COM") {
        return super::mztab::read(path, input, injections, list);
    }
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b'\t') { b'\t' } else { b',' };
    // MS-DIAL alignment exports put per-injection metadata rows (class, file type, injection
    // order, batch) above the real header, which starts with `Alignment ID`: skip them.
    let header_at = head
        .split(|b| *b == b'\n')
        .take(10)
        .position(|l| l.starts_with(b"Alignment ID\t") || l.starts_with(b"Alignment ID,"))
        .unwrap_or(0);
    let msdial = header_at > 0;
    for _ in 0..header_at {
        let mut skipped = Vec::new();
        std::io::BufRead::read_until(&mut input, b'\n', &mut skipped).map_err(io_err)?;
    }
    let offset = header_at as u64;
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| MetabolomeError::at(Location::line(path, offset + 1), e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let by_column: HashMap<&str, usize> = injections.iter().enumerate().map(|(k, i)| (bare(&i.column), k)).collect();
    let mut roles = Vec::with_capacity(header.len());
    let mut found = vec![None::<usize>; injections.len()];
    let mut mzmine = false;
    for (c, h) in header.iter().enumerate() {
        let lower = h.to_ascii_lowercase();
        let role = if let Some(injection) = mzmine_injection(h, options.measure) {
            mzmine = true;
            match injection {
                None => Role::Skip,
                Some(name) => match by_column.get(bare(name)) {
                    Some(&k) => Role::Injection(k),
                    None => {
                        return Err(MetabolomeError::at(
                            Location::line(path, offset + 1).with_column(h.as_str()),
                            format!("injection {name:?} is not in the injection list"),
                        ));
                    }
                },
            }
        } else if let Some(&k) = by_column.get(bare(h)) {
            Role::Injection(k)
        } else if c == 0 || matches!(lower.as_str(), "row id" | "id" | "name" | "feature_id" | "alignment id") {
            Role::Id
        } else if matches!(lower.as_str(), "row m/z" | "mz" | "mzmed" | "m/z" | "average mz") {
            Role::Mz
        } else if matches!(lower.as_str(), "row retention time" | "rt" | "rtmed" | "retention time" | "average rt(min)")
        {
            Role::Rt
        } else {
            Role::Annotation
        };
        if let Role::Injection(k) = role {
            if let Some(first) = found[k] {
                return Err(MetabolomeError::at(
                    Location::line(path, offset + 1).with_column(h.as_str()),
                    format!("injection {:?} appears twice (also column {})", injections[k].column, first + 1),
                ));
            }
            found[k] = Some(c);
        }
        roles.push(role);
    }
    if let Some(k) = found.iter().position(Option::is_none) {
        return Err(MetabolomeError::at(
            Location::file(path),
            format!(
                "injection {:?} ({}:{}) has no column in the feature table",
                injections[k].column,
                list.display(),
                injections[k].line
            ),
        ));
    }
    let id_col = roles.iter().position(|r| matches!(r, Role::Id)).unwrap_or(0);
    let format = if mzmine {
        "mzmine"
    } else if msdial {
        "msdial"
    } else {
        "table"
    };
    let mut table = FeatureTable { format, ..Default::default() };
    let annotation_cols: Vec<usize> = (0..header.len()).filter(|&c| matches!(roles[c], Role::Annotation)).collect();
    table.annotations = annotation_cols.iter().map(|&c| (header[c].clone(), Vec::new())).collect();
    let mut ids: HashMap<String, u64> = HashMap::new();
    for (k, record) in reader.records().enumerate() {
        let line = offset + k as u64 + 2;
        let record = record.map_err(|e| MetabolomeError::at(Location::line(path, line), e.to_string()))?;
        let cell = |c: usize| record.get(c).map(str::trim).unwrap_or("");
        let number = |c: usize| -> Result<Option<f64>, MetabolomeError> {
            let v = cell(c);
            if v.is_empty() || v.eq_ignore_ascii_case("na") || v.eq_ignore_ascii_case("nan") {
                return Ok(None);
            }
            v.parse::<f64>().map(Some).map_err(|_| {
                MetabolomeError::at(
                    Location::line(path, line).with_column(header[c].as_str()),
                    format!("expected a number, found {v:?}"),
                )
            })
        };
        let id = cell(id_col).to_string();
        if id.is_empty() {
            return Err(MetabolomeError::at(
                Location::line(path, line).with_column(header[id_col].as_str()),
                "empty feature id",
            ));
        }
        if let Some(first) = ids.insert(id.clone(), line) {
            return Err(MetabolomeError::at(
                Location::line(path, line).with_column(header[id_col].as_str()),
                format!("duplicate feature id {id:?} (first on line {first})"),
            ));
        }
        table.ids.push(id);
        let mut mz = None;
        let mut rt = None;
        let mut row = vec![None; injections.len()];
        for (c, role) in roles.iter().enumerate() {
            match role {
                Role::Mz => mz = number(c)?,
                Role::Rt => rt = number(c)?,
                Role::Injection(k) => {
                    let v = number(c)?;
                    if v.is_some_and(|v| v < 0.0 || !v.is_finite()) {
                        return Err(MetabolomeError::at(
                            Location::line(path, line).with_column(header[c].as_str()),
                            format!("intensity {:?} is negative or not finite", cell(c)),
                        ));
                    }
                    row[*k] = v;
                }
                _ => {}
            }
        }
        table.mz.push(mz);
        table.rt.push(rt);
        table.rows.push(row);
        for (a, &c) in table.annotations.iter_mut().zip(&annotation_cols) {
            let v = cell(c);
            a.1.push((!v.is_empty()).then(|| v.to_string()));
        }
    }
    if table.ids.is_empty() {
        return Err(MetabolomeError::at(Location::file(path), "no features"));
    }
    Ok(table)
}
