//! mzTab-M 2.0 (HUPO-PSI's metabolomics reporting standard): tab-separated lines tagged `MTD`
//! (metadata), `SMH`/`SML` (small molecule summary), `SFH`/`SMF` (small molecule features) and
//! `SEH`/`SME` (evidence), `COM` comments.
//!
//! Features come from SMF when it has rows (each with m/z and retention time), else from SML.
//! `abundance_assay[n]` columns are matched to the injection list through the metadata: the
//! assay's name (`assay[n]`), or the file name of its run (`assay[n]-ms_run_ref` →
//! `ms_run[k]-location`). `null` is a missing value. MTD (with `mzTab-version`) and SML are
//! mandatory: a file without them is refused.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use super::MetabolomeError;
use super::injections::{Injection, bare};
use super::table::FeatureTable;
use crate::error::Location;

/// One tagged section's header and rows (with their line numbers).
#[derive(Default)]
struct Section {
    header: Vec<String>,
    header_line: u64,
    rows: Vec<(u64, Vec<String>)>,
}

/// Reads an mzTab-M file whose first bytes are already buffered in `input`.
pub fn read(
    path: &Path,
    input: impl BufRead,
    injections: &[Injection],
    list: &Path,
) -> Result<FeatureTable, MetabolomeError> {
    let at = |line: u64| Location::line(path, line);
    let mut mtd: HashMap<String, String> = HashMap::new();
    let (mut sml, mut smf) = (Section::default(), Section::default());
    for (k, line) in input.lines().enumerate() {
        let line = line.map_err(|source| MetabolomeError::Io { path: path.to_path_buf(), source })?;
        let number = k as u64 + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<String> = line.split('\t').map(|f| f.trim().to_string()).collect();
        match fields[0].as_str() {
            "COM" => {}
            "MTD" => {
                if fields.len() < 3 {
                    return Err(MetabolomeError::at(at(number), "MTD line: expected MTD, a key and a value"));
                }
                mtd.insert(fields[1].clone(), fields[2].clone());
            }
            "SMH" => (sml.header, sml.header_line) = (fields, number),
            "SFH" => (smf.header, smf.header_line) = (fields, number),
            "SML" | "SMF" => {
                let section = if fields[0] == "SML" { &mut sml } else { &mut smf };
                if section.header.is_empty() {
                    return Err(MetabolomeError::at(
                        at(number),
                        format!(
                            "{} row before its header line ({})",
                            fields[0],
                            if fields[0] == "SML" { "SMH" } else { "SFH" }
                        ),
                    ));
                }
                if fields.len() != section.header.len() {
                    return Err(MetabolomeError::at(
                        at(number),
                        format!(
                            "expected {} tab-separated fields as in the header, found {}",
                            section.header.len(),
                            fields.len()
                        ),
                    ));
                }
                section.rows.push((number, fields));
            }
            "SEH" | "SME" => {}
            other => {
                return Err(MetabolomeError::at(
                    at(number),
                    format!("unknown line prefix {other:?}; expected MTD, SMH, SML, SFH, SMF, SEH, SME or COM"),
                ));
            }
        }
    }
    let version = mtd.get("mzTab-version").ok_or_else(|| {
        MetabolomeError::at(
            Location::file(path),
            "not an mzTab-M file: the mandatory MTD section (with mzTab-version) is missing",
        )
    })?;
    if !version.starts_with("2.") {
        return Err(MetabolomeError::at(
            Location::file(path),
            format!("mzTab-version {version:?}: only mzTab-M 2.x (metabolomics) is read"),
        ));
    }
    if sml.header.is_empty() {
        return Err(MetabolomeError::at(
            Location::file(path),
            "the mandatory SML section (SMH header and SML rows) is missing",
        ));
    }
    // Which injection each assay is.
    let by_column: HashMap<&str, usize> = injections.iter().enumerate().map(|(k, i)| (bare(&i.column), k)).collect();
    let assay_injection = |n: &str| -> Option<usize> {
        if let Some(name) = mtd.get(&format!("assay[{n}]"))
            && let Some(&k) = by_column.get(bare(name))
        {
            return Some(k);
        }
        let run = mtd.get(&format!("assay[{n}]-ms_run_ref"))?;
        let location = mtd.get(&format!("{run}-location"))?;
        let file = location.rsplit(['/', '\\']).next()?;
        by_column.get(bare(file)).copied()
    };
    let section = if smf.rows.is_empty() { &sml } else { &smf };
    let id_col = if smf.rows.is_empty() { "SML_ID" } else { "SMF_ID" };
    let col = |name: &str| section.header.iter().position(|h| h == name);
    let id_index = col(id_col)
        .ok_or_else(|| MetabolomeError::at(at(section.header_line), format!("the header has no {id_col} column")))?;
    let mut abundance: Vec<(usize, usize)> = Vec::new();
    let mut found = vec![false; injections.len()];
    for (c, h) in section.header.iter().enumerate() {
        if let Some(n) = h.strip_prefix("abundance_assay[").and_then(|r| r.strip_suffix(']')) {
            let Some(k) = assay_injection(n) else {
                return Err(MetabolomeError::at(
                    at(section.header_line).with_column(h.as_str()),
                    format!("assay[{n}] (its name or its run's file) is not in the injection list"),
                ));
            };
            found[k] = true;
            abundance.push((c, k));
        }
    }
    if let Some(k) = found.iter().position(|f| !f) {
        return Err(MetabolomeError::at(
            Location::file(path),
            format!(
                "injection {:?} ({}:{}) is no assay of this mzTab-M",
                injections[k].column,
                list.display(),
                injections[k].line
            ),
        ));
    }
    let (mz_col, rt_col) =
        if smf.rows.is_empty() { (None, None) } else { (col("exp_mass_to_charge"), col("retention_time_in_seconds")) };
    let annotation_names: &[&str] = if smf.rows.is_empty() {
        &["chemical_name", "database_identifier", "chemical_formula", "adduct_ions", "theoretical_neutral_mass"]
    } else {
        &["adduct_ion", "charge", "SME_ID_REFS"]
    };
    let annotation_cols: Vec<(usize, &str)> = annotation_names.iter().filter_map(|n| col(n).map(|c| (c, *n))).collect();
    let mut table = FeatureTable {
        format: "mztab-m",
        annotations: annotation_cols.iter().map(|(_, n)| (n.to_string(), Vec::new())).collect(),
        ..Default::default()
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, fields) in &section.rows {
        let value = |c: usize| -> Result<Option<f64>, MetabolomeError> {
            let v = fields[c].as_str();
            if v.is_empty() || v.eq_ignore_ascii_case("null") || v.eq_ignore_ascii_case("nan") {
                return Ok(None);
            }
            v.parse::<f64>().map(Some).map_err(|_| {
                MetabolomeError::at(
                    at(*line).with_column(section.header[c].as_str()),
                    format!("expected a number or null, found {v:?}"),
                )
            })
        };
        let id = fields[id_index].clone();
        if let Some(first) = seen.insert(id.clone(), *line) {
            return Err(MetabolomeError::at(
                at(*line).with_column(id_col),
                format!("duplicate {id_col} {id:?} (first on line {first})"),
            ));
        }
        let mut row = vec![None; injections.len()];
        for &(c, k) in &abundance {
            row[k] = value(c)?;
            if row[k].is_some_and(|v| v < 0.0) {
                return Err(MetabolomeError::at(
                    at(*line).with_column(section.header[c].as_str()),
                    format!("abundance {:?} is negative", fields[c]),
                ));
            }
        }
        table.ids.push(id);
        table.mz.push(mz_col.map(value).transpose()?.flatten());
        table.rt.push(rt_col.map(value).transpose()?.flatten());
        for (a, (c, _)) in table.annotations.iter_mut().zip(&annotation_cols) {
            let v = &fields[*c];
            a.1.push((!v.is_empty() && v != "null").then(|| v.clone()));
        }
        table.rows.push(row);
    }
    if table.ids.is_empty() {
        return Err(MetabolomeError::at(
            Location::file(path),
            format!("no {} rows", if smf.rows.is_empty() { "SML" } else { "SMF" }),
        ));
    }
    Ok(table)
}
