//! Cohort-wide taxon tables (features × samples), as amplicon pipelines write them: BIOM 1.0 JSON
//! (`biom convert --to-json`, QIIME 1 and many 16S tools), the TSV that `biom convert --to-tsv` and
//! QIIME 2's `qiime tools export` give (`#OTU ID` header, an optional `taxonomy` column), a
//! QIIME 2 `taxonomy.tsv` to name features, and a generic taxa × samples CSV/TSV whose first
//! column is the lineage. Values are read counts; aggregation to a rank sums them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::taxonomy::{Lineage, Rank};
use super::{InputError, read_text};
use crate::error::Location;
use crate::matrix::FeatureMatrix;

/// A features × samples table with a lineage per feature.
#[derive(Debug, Clone)]
pub struct TaxonTable {
    /// Feature ids as written (ASV hashes, OTU ids or lineages).
    pub feature_ids: Vec<String>,
    /// Each feature's lineage (empty when the table names none: aggregation then needs a
    /// taxonomy table, see [`TaxonTable::assign`]).
    pub lineages: Vec<Lineage>,
    /// Sample ids, in file order.
    pub sample_ids: Vec<String>,
    /// One column of values per sample, in feature order.
    pub columns: Vec<Vec<f64>>,
}

fn error(location: Location, message: impl Into<String>) -> InputError {
    InputError::Malformed { location, message: message.into() }
}

fn value(location: impl Fn() -> Location, text: &str) -> Result<f64, InputError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| error(location(), format!("{:?} is not a non-negative count", text.trim())))
}

fn lineage(location: impl Fn() -> Location, text: &str) -> Result<Lineage, InputError> {
    Lineage::parse(text).map_err(|e| error(location(), e.to_string()))
}

/// A cohort-wide table, by its name: BIOM 1.0 JSON for `.biom` and `.json`, else delimited.
pub fn read(path: &Path) -> Result<TaxonTable, InputError> {
    if is_biom(path) { read_biom_json(path) } else { read_delimited(path) }
}

/// Whether [`read`] takes `path` for BIOM.
pub fn is_biom(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "biom" || e == "json")
}

/// BIOM 1.0 (JSON): `rows` and `columns` with ids (rows may carry `metadata.taxonomy` as a list
/// of ranks or one string), `shape`, and `data` as `[row, column, value]` triples (`sparse`) or
/// rows of values (`dense`). BIOM 2.1 is HDF5: convert it with `biom convert --to-json`.
pub fn read_biom_json(path: &Path) -> Result<TaxonTable, InputError> {
    use serde_json::Value;
    let here = || Location::file(path);
    let mut magic = [0u8; 8];
    let head = std::fs::File::open(path).and_then(|mut f| crate::io::read_up_to(&mut f, &mut magic));
    if head.is_ok_and(|n| n == 8) && magic == *b"\x89HDF\r\n\x1a\n" {
        return Err(error(
            here(),
            "BIOM 2.1 (HDF5) is not read directly; convert it with `biom convert -i TABLE.biom -o TABLE.json --to-json`",
        ));
    }
    let text = read_text(path)?;
    let json: Value = serde_json::from_str(&text).map_err(|e| error(here(), format!("not BIOM 1.0 JSON: {e}")))?;
    let field = |name: &str| json.get(name).ok_or_else(|| error(here(), format!("BIOM 1.0 field {name:?} is missing")));
    let ids = |name: &str| -> Result<Vec<(String, Option<&Value>)>, InputError> {
        field(name)?
            .as_array()
            .ok_or_else(|| error(here(), format!("BIOM field {name:?} is not a list")))?
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let id = entry
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| error(here().with_column(name), format!("entry {} has no string \"id\"", i + 1)))?;
                Ok((id.to_string(), entry.get("metadata")))
            })
            .collect()
    };
    let (rows, columns) = (ids("rows")?, ids("columns")?);
    let shape: Vec<u64> =
        field("shape")?.as_array().map(|s| s.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
    if shape != [rows.len() as u64, columns.len() as u64] {
        return Err(error(
            here(),
            format!("\"shape\" {shape:?} does not match {} rows and {} columns", rows.len(), columns.len()),
        ));
    }
    let mut values = vec![vec![0.0; rows.len()]; columns.len()];
    let data = field("data")?.as_array().ok_or_else(|| error(here(), "BIOM field \"data\" is not a list"))?;
    let number = |v: &Value, what: &str| -> Result<f64, InputError> {
        v.as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| error(here().with_column("data"), format!("{what}: {v} is not a non-negative count")))
    };
    match field("matrix_type")?.as_str() {
        Some("sparse") => {
            for (k, entry) in data.iter().enumerate() {
                let triple = entry.as_array().filter(|t| t.len() == 3);
                let (r, c, v) = match triple {
                    Some(t) => (t[0].as_u64(), t[1].as_u64(), &t[2]),
                    None => {
                        return Err(error(
                            here().with_column("data"),
                            format!("entry {} is not [row, column, value]", k + 1),
                        ));
                    }
                };
                let (Some(r), Some(c)) =
                    (r.filter(|r| (*r as usize) < rows.len()), c.filter(|c| (*c as usize) < columns.len()))
                else {
                    return Err(error(
                        here().with_column("data"),
                        format!("entry {} is outside the {}×{} shape", k + 1, rows.len(), columns.len()),
                    ));
                };
                values[c as usize][r as usize] = number(v, &format!("entry {}", k + 1))?;
            }
        }
        Some("dense") => {
            if data.len() != rows.len() {
                return Err(error(
                    here().with_column("data"),
                    format!("{} rows of values for {} rows", data.len(), rows.len()),
                ));
            }
            for (r, row) in data.iter().enumerate() {
                let row = row.as_array().filter(|row| row.len() == columns.len()).ok_or_else(|| {
                    error(here().with_column("data"), format!("row {} does not hold {} values", r + 1, columns.len()))
                })?;
                for (c, v) in row.iter().enumerate() {
                    values[c][r] = number(v, &format!("row {}", r + 1))?;
                }
            }
        }
        other => return Err(error(here(), format!("\"matrix_type\" {other:?} is neither \"sparse\" nor \"dense\""))),
    }
    let lineages = rows
        .iter()
        .map(|(id, metadata)| match metadata.and_then(|m| m.get("taxonomy")) {
            Some(Value::Array(ranks)) => {
                let text: Vec<&str> = ranks.iter().filter_map(Value::as_str).collect();
                lineage(|| here().with_column(id.clone()), &text.join(";"))
            }
            Some(Value::String(text)) => lineage(|| here().with_column(id.clone()), text),
            _ => Ok(Lineage::default()),
        })
        .collect::<Result<_, _>>()?;
    Ok(TaxonTable {
        feature_ids: rows.into_iter().map(|(id, _)| id).collect(),
        lineages,
        sample_ids: columns.into_iter().map(|(id, _)| id).collect(),
        columns: values,
    })
}

/// A delimited taxa × samples table: `biom convert --to-tsv` output (a `# Constructed from biom
/// file` line, then `#OTU ID` and the samples, and a last `taxonomy` column when exported with
/// `--header-key taxonomy`), or a generic CSV/TSV whose first column is the taxon (its lineage,
/// or an id named by a taxonomy table). The delimiter is a tab unless the file ends in `.csv`.
pub fn read_delimited(path: &Path) -> Result<TaxonTable, InputError> {
    let text = read_text(path)?;
    let delimiter = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) { b',' } else { b'\t' };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let mut header = None;
    for (i, line) in lines.by_ref() {
        if line.starts_with("# Constructed from biom file") {
            continue;
        }
        header = Some((i + 1, line));
        break;
    }
    let Some((_, header)) = header else {
        return Err(error(Location::file(path), "empty table: expected a header with the sample ids"));
    };
    let split = |line: &str| -> Vec<String> {
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).from_reader(line.as_bytes());
        reader.records().next().and_then(Result::ok).map(|r| r.iter().map(str::to_string).collect()).unwrap_or_default()
    };
    let mut names = split(header);
    let taxonomy_column = names.last().is_some_and(|n| n.eq_ignore_ascii_case("taxonomy")).then(|| names.len() - 1);
    if let Some(t) = taxonomy_column {
        names.truncate(t);
    }
    if names.len() < 2 {
        return Err(error(Location::line(path, 1), "expected a taxon column and at least one sample column"));
    }
    let sample_ids = names[1..].to_vec();
    let (mut feature_ids, mut lineages, mut columns) = (Vec::new(), Vec::new(), vec![Vec::new(); sample_ids.len()]);
    for (i, line) in lines {
        let number = i as u64 + 1;
        let fields = split(line);
        let want = names.len() + usize::from(taxonomy_column.is_some());
        if fields.len() != want {
            return Err(error(
                Location::line(path, number),
                format!("{} fields, expected {want} as in the header", fields.len()),
            ));
        }
        for (j, column) in columns.iter_mut().enumerate() {
            column.push(value(|| Location::line(path, number).with_column(sample_ids[j].clone()), &fields[j + 1])?);
        }
        let id = fields[0].clone();
        let lineage_text = match taxonomy_column {
            Some(t) => fields[t].as_str(),
            // A generic table names taxa by lineage when its ids look like one.
            None if id.contains("__") || id.contains(';') || id.contains('|') => id.as_str(),
            None => "",
        };
        lineages.push(lineage(|| Location::line(path, number), lineage_text)?);
        feature_ids.push(id);
    }
    Ok(TaxonTable { feature_ids, lineages, sample_ids, columns })
}

impl TaxonTable {
    /// Names features from a QIIME 2 `taxonomy.tsv` (`Feature ID`, `Taxon`, optional
    /// `Confidence`). A feature of the table with no row there is an error naming it.
    pub fn assign(&mut self, taxonomy: &Path) -> Result<(), InputError> {
        let text = read_text(taxonomy)?;
        let mut by_id: HashMap<&str, (u64, &str)> = HashMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(id), Some(taxon)) = (fields.next(), fields.next()) else {
                return Err(error(Location::line(taxonomy, i as u64 + 1), "expected Feature ID<TAB>Taxon"));
            };
            by_id.insert(id.trim(), (i as u64 + 1, taxon.trim()));
        }
        for (id, lineage_out) in self.feature_ids.iter().zip(&mut self.lineages) {
            let (line, taxon) = by_id.get(id.as_str()).ok_or_else(|| {
                error(Location::file(taxonomy), format!("feature {id:?} of the table has no taxonomy row"))
            })?;
            *lineage_out = lineage(|| Location::line(taxonomy, *line), taxon)?;
        }
        Ok(())
    }

    /// The table summed to `rank` (rows by [`Lineage::id_at`], sorted), as a features × samples
    /// matrix.
    pub fn at_rank(&self, rank: Rank) -> FeatureMatrix<f64> {
        let mut rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, lineage) in self.lineages.iter().enumerate() {
            rows.entry(lineage.id_at(rank)).or_default().push(i);
        }
        let columns = self
            .columns
            .iter()
            .map(|column| Some(rows.values().map(|members| members.iter().map(|&i| column[i]).sum()).collect()))
            .collect();
        FeatureMatrix { feature_ids: rows.into_keys().collect(), sample_ids: self.sample_ids.clone(), columns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// The sparse example of the BIOM 1.0 specification (biom-format.org), cut to three OTUs.
    const BIOM: &str = r#"{
 "id": null, "format": "Biological Observation Matrix 1.0.0", "format_url": "http://biom-format.org",
 "type": "OTU table", "generated_by": "QIIME revision XYZ", "date": "2011-12-19T19:00:00",
 "rows": [
   {"id": "GG_OTU_1", "metadata": {"taxonomy": ["k__Bacteria", "p__Proteobacteria", "c__Gammaproteobacteria", "o__Enterobacteriales", "f__Enterobacteriaceae", "g__Escherichia", "s__"]}},
   {"id": "GG_OTU_2", "metadata": {"taxonomy": ["k__Bacteria", "p__Cyanobacteria", "c__Nostocophycideae", "o__Nostocales", "f__Nostocaceae", "g__Dolichospermum", "s__"]}},
   {"id": "GG_OTU_3", "metadata": {"taxonomy": ["k__Bacteria", "p__Proteobacteria", "c__Gammaproteobacteria", "o__Enterobacteriales", "f__Enterobacteriaceae", "g__Escherichia", "s__"]}}
 ],
 "columns": [{"id": "Sample1", "metadata": null}, {"id": "Sample2", "metadata": null}],
 "matrix_type": "sparse", "matrix_element_type": "int", "shape": [3, 2],
 "data": [[0, 1, 1], [1, 0, 5], [1, 1, 1], [2, 0, 2], [2, 1, 4]]
}"#;

    #[test]
    fn biom_json_sums_to_the_genus() {
        let (_dir, path) = write("table.biom", BIOM);
        let table = read_biom_json(&path).unwrap();
        assert_eq!(table.feature_ids, ["GG_OTU_1", "GG_OTU_2", "GG_OTU_3"]);
        assert_eq!(table.columns, [vec![0.0, 5.0, 2.0], vec![1.0, 1.0, 4.0]]);
        let genus = table.at_rank(Rank::Genus);
        assert_eq!(genus.feature_ids.len(), 2);
        assert!(genus.feature_ids[1].ends_with("g__Escherichia"));
        assert_eq!(genus.columns[0].as_deref(), Some(&[5.0, 2.0][..]));
        assert_eq!(genus.columns[1].as_deref(), Some(&[1.0, 5.0][..]));
        // The dense layout of the same table reads the same.
        let dense = BIOM
            .replace("\"sparse\"", "\"dense\"")
            .replace("[[0, 1, 1], [1, 0, 5], [1, 1, 1], [2, 0, 2], [2, 1, 4]]", "[[0, 1], [5, 1], [2, 4]]");
        let (_dir, path) = write("dense.biom", &dense);
        assert_eq!(read_biom_json(&path).unwrap().columns, table.columns);
    }

    #[test]
    fn biom_errors_say_what_is_wrong() {
        let cases = [
            (BIOM.replace("\"shape\": [3, 2]", "\"shape\": [3, 3]"), "does not match"),
            (BIOM.replace("[2, 1, 4]", "[2, 5, 4]"), "outside"),
            (BIOM.replace("[2, 1, 4]", "[2, 1, -4]"), "non-negative"),
            (BIOM.replace("\"sparse\"", "\"csr\""), "neither"),
            ("{ not json".to_string(), "not BIOM 1.0 JSON"),
        ];
        for (text, want) in cases {
            let (_dir, path) = write("bad.biom", &text);
            let e = read_biom_json(&path).unwrap_err().to_string();
            assert!(e.contains("bad.biom") && e.contains(want), "{want}: {e}");
        }
        // BIOM 2.1 is HDF5 (not UTF-8): refused with the conversion to run.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.biom");
        std::fs::write(&path, b"\x89HDF\r\n\x1a\n\x00\x00\xff\xfe").unwrap();
        let e = read_biom_json(&path).unwrap_err().to_string();
        assert!(e.contains("table.biom") && e.contains("biom convert"), "{e}");
    }

    #[test]
    fn biom_tsv_with_taxonomy_and_a_qiime2_taxonomy_table() {
        let tsv = "# Constructed from biom file\n#OTU ID\tS1\tS2\ttaxonomy\n\
                   a1\t3.0\t0.0\tk__Bacteria; p__Firmicutes; c__Bacilli; o__Lactobacillales; f__Enterococcaceae; g__Enterococcus\n\
                   a2\t1.0\t2.0\tk__Bacteria; p__Firmicutes; c__Bacilli; o__Lactobacillales; f__Enterococcaceae; g__Enterococcus\n\
                   a3\t0.0\t7.0\tUnassigned\n";
        let (_dir, path) = write("table.tsv", tsv);
        let table = read_delimited(&path).unwrap();
        assert_eq!(table.sample_ids, ["S1", "S2"]);
        let genus = table.at_rank(Rank::Genus);
        assert_eq!(genus.feature_ids[0], "Unclassified");
        assert_eq!(genus.columns[1].as_deref(), Some(&[7.0, 2.0][..]));

        // Without a taxonomy column the features are named by QIIME 2's taxonomy.tsv.
        let plain: String =
            tsv.lines().map(|l| l.rsplit_once('\t').map_or(l, |(head, _)| head).to_string() + "\n").collect();
        let (dir, path) = write("plain.tsv", &plain);
        let mut table = read_delimited(&path).unwrap();
        assert_eq!(table.at_rank(Rank::Genus).feature_ids, ["Unclassified"]);
        let taxonomy = dir.path().join("taxonomy.tsv");
        std::fs::write(&taxonomy, "Feature ID\tTaxon\tConfidence\na1\td__Bacteria;g__Enterococcus\t0.99\na2\td__Bacteria;g__Enterococcus\t0.9\na3\tUnassigned\t0.5\n").unwrap();
        table.assign(&taxonomy).unwrap();
        assert_eq!(table.at_rank(Rank::Genus).columns[0].as_deref(), Some(&[0.0, 4.0][..]));
        std::fs::write(&taxonomy, "Feature ID\tTaxon\na1\td__Bacteria\n").unwrap();
        let e = table.assign(&taxonomy).unwrap_err().to_string();
        assert!(e.contains("taxonomy.tsv") && e.contains("\"a2\""), "{e}");
    }

    #[test]
    fn a_generic_csv_of_lineages_and_its_errors() {
        let csv = "taxon,s1,s2\n\"d__Bacteria;p__Bacillota\",4,5\n\"d__Bacteria;p__Pseudomonadota\",1,x\n";
        let (_dir, path) = write("taxa.csv", csv);
        let e = read_delimited(&path).unwrap_err().to_string();
        assert!(e.contains("taxa.csv:3") && e.contains("s2") && e.contains("\"x\""), "{e}");
        let (_dir, path) = write("taxa.csv", &csv.replace(",x", ",2"));
        let phylum = read_delimited(&path).unwrap().at_rank(Rank::Phylum);
        assert_eq!(phylum.feature_ids, ["d__Bacteria;p__Bacillota", "d__Bacteria;p__Pseudomonadota"]);
        let (_dir, path) = write("short.csv", "taxon,s1,s2\nd__A,1\n");
        assert!(read_delimited(&path).unwrap_err().to_string().contains("short.csv:2"));
    }
}
