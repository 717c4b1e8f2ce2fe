//! Per-sample taxonomic profiles as shotgun profilers write them: Kraken2 reports (and
//! Bracken's `--out-report`, which has the same layout) and MetaPhlAn 3/4 profiles, each reduced
//! to one value per taxon at a chosen rank.

use std::path::Path;

use super::taxonomy::{Lineage, Rank};
use super::{InputError, read_text};
use crate::error::Location;

/// What a profile's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abundance {
    /// Read counts (Kraken2, Bracken, MetaPhlAn's estimated reads).
    Reads,
    /// Percentages of the sample (MetaPhlAn's default output).
    Percent,
}

/// How a profile's entries relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entries {
    /// Each value belongs to its taxon alone (Kraken2's reads assigned directly to a node): a
    /// rank's value is the sum over the taxa at and below it.
    Direct,
    /// Each value covers its whole clade (MetaPhlAn lists every rank): a rank's value is that of
    /// the entries at exactly that rank.
    Clade,
}

/// One sample's profile: a value per lineage.
#[derive(Debug, Clone)]
pub struct Profile {
    /// What the values are.
    pub abundance: Abundance,
    entries: Entries,
    taxa: Vec<(Lineage, f64)>,
}

impl Profile {
    /// The profile at `rank`: `(feature id, value)` sorted by id, one row per taxon at that rank
    /// ([`Lineage::id_at`]), taxa assigned only above it kept as their parent's unclassified
    /// row (Kraken2's reads stopped at a family), `Unclassified` for reads no rank was given.
    pub fn at_rank(&self, rank: Rank) -> Vec<(String, f64)> {
        let mut sums: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        for (lineage, value) in &self.taxa {
            let keep = match self.entries {
                Entries::Direct => true,
                Entries::Clade => lineage.deepest() == Some(rank) || lineage.deepest().is_none(),
            };
            if keep {
                *sums.entry(lineage.id_at(rank)).or_default() += value;
            }
        }
        sums.into_iter().collect()
    }
}

fn malformed(path: &Path, line: usize, message: impl Into<String>) -> InputError {
    InputError::Malformed { location: Location::line(path, line as u64), message: message.into() }
}

/// Lines of a text file (gzip-compressed or not), with their 1-based numbers.
fn lines(path: &Path) -> Result<Vec<(usize, String)>, InputError> {
    Ok(read_text(path)?.lines().enumerate().map(|(i, l)| (i + 1, l.to_string())).collect())
}

/// A Kraken2 report (`kraken2 --report`, 6 columns, or 8 with `--report-minimizer-data`; Bracken's
/// `--out-report` has the same layout): percentage, clade reads, reads assigned to the taxon
/// itself, rank code, NCBI taxid, and the name indented two spaces per level. The lineage of
/// each taxon comes from the tree; reads assigned directly to each taxon are its value.
pub fn read_kraken_report(path: &Path) -> Result<Profile, InputError> {
    let mut taxa = Vec::new();
    // The path from the root to the current taxon: its depth and, where the rank code is one of
    // the seven, its rank and name.
    let mut stack: Vec<(usize, Option<(Rank, String)>)> = Vec::new();
    for (number, line) in lines(path)? {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (direct, code) = match fields.len() {
            6 => (fields[2], fields[3]),
            8 => (fields[2], fields[5]),
            n => {
                return Err(malformed(
                    path,
                    number,
                    format!("expected a Kraken2 report line of 6 or 8 tab-separated fields, found {n}"),
                ));
            }
        };
        let direct: f64 = direct.trim().parse::<u64>().map_err(|_| {
            malformed(path, number, format!("reads assigned to the taxon {direct:?} is not a whole number"))
        })? as f64;
        let name = fields[fields.len() - 1];
        let indent = name.len() - name.trim_start_matches(' ').len();
        let (depth, name) = (indent / 2, name.trim());
        let code = code.trim();
        if code == "U" {
            taxa.push((Lineage::default(), direct));
            continue;
        }
        if depth > stack.len() {
            return Err(malformed(
                path,
                number,
                format!("{name:?} is indented {depth} levels below a taxon at level {}", stack.len().saturating_sub(1)),
            ));
        }
        stack.truncate(depth);
        let rank = match code {
            "D" => Some(Rank::Domain),
            "P" => Some(Rank::Phylum),
            "C" => Some(Rank::Class),
            "O" => Some(Rank::Order),
            "F" => Some(Rank::Family),
            "G" => Some(Rank::Genus),
            "S" => Some(Rank::Species),
            // Root, kingdom (below the domain in NCBI's tree) and intermediate levels (D1, G2, S1);
            // kraken2 2.1 leaves the code empty for a ranked node it has no letter for and writes
            // "1", "2" for the unranked levels below it.
            c if c == "R" || c.starts_with(['R', 'K', 'D', 'P', 'C', 'O', 'F', 'G', 'S']) => None,
            c if c.chars().all(|ch| ch.is_ascii_digit()) => None,
            c => return Err(malformed(path, number, format!("unknown Kraken2 rank code {c:?}"))),
        };
        stack.push((depth, rank.map(|r| (r, name.to_string()))));
        if direct > 0.0 {
            let lineage =
                Lineage::from_ranks(stack.iter().filter_map(|(_, r)| r.as_ref().map(|(r, n)| (*r, n.as_str()))));
            taxa.push((lineage, direct));
        }
    }
    if taxa.is_empty() && stack.is_empty() {
        return Err(malformed(path, 1, "no Kraken2 report lines (percentage, reads, ..., name)"));
    }
    Ok(Profile { abundance: Abundance::Reads, entries: Entries::Direct, taxa })
}

/// A MetaPhlAn 3/4 profile: `#` header lines (the last names the columns), then one line per
/// clade (`k__Bacteria|p__Firmicutes|...`) with its NCBI taxid path and relative abundance in
/// percent, or, with `-t rel_ab_w_read_stats`, also coverage and the estimated reads of the clade,
/// which are then the values. Strain and SGB levels (`t__`) are left out, as their species rows
/// already hold them; MetaPhlAn 4's `UNCLASSIFIED` row becomes `Unclassified`.
pub fn read_metaphlan(path: &Path) -> Result<Profile, InputError> {
    let mut taxa = Vec::new();
    let mut value_column = 2;
    let mut abundance = Abundance::Percent;
    let mut header_seen = false;
    for (number, line) in lines(path)? {
        if let Some(header) = line.strip_prefix('#') {
            let names: Vec<&str> = header.split('\t').map(str::trim).collect();
            if names.first() == Some(&"clade_name") {
                header_seen = true;
                if let Some(k) = names.iter().position(|n| *n == "estimated_number_of_reads_from_the_clade") {
                    (value_column, abundance) = (k, Abundance::Reads);
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let clade = fields[0].trim();
        let Some(value) = fields.get(value_column) else {
            return Err(malformed(
                path,
                number,
                format!("expected at least {} tab-separated fields (clade, taxids, abundance)", value_column + 1),
            ));
        };
        let value: f64 = value.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0).ok_or_else(|| {
            malformed(path, number, format!("abundance {:?} of {clade:?} is not a non-negative number", value.trim()))
        })?;
        if clade.rsplit('|').next().is_some_and(|last| last.starts_with("t__")) {
            continue;
        }
        let lineage = if clade.eq_ignore_ascii_case("UNCLASSIFIED") || clade.eq_ignore_ascii_case("unclassified") {
            Lineage::default()
        } else {
            Lineage::parse(clade).map_err(|e| malformed(path, number, e.to_string()))?
        };
        taxa.push((lineage, value));
    }
    if !header_seen && taxa.is_empty() {
        return Err(malformed(path, 1, "no MetaPhlAn profile lines (#clade_name header, then clades)"));
    }
    Ok(Profile { abundance, entries: Entries::Clade, taxa })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.txt");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// A Kraken2 report in the layout kraken2 2.1 writes (6 columns, two spaces per level).
    const KRAKEN: &str = "\
 10.00\t10\t10\tU\t0\tunclassified
 90.00\t90\t2\tR\t1\troot
 88.00\t88\t0\tR1\t131567\t  cellular organisms
 88.00\t88\t3\tD\t2\t    Bacteria
 85.00\t85\t0\tP\t1239\t      Bacillota
 85.00\t85\t0\tC\t91061\t        Bacilli
 85.00\t85\t0\tO\t186826\t          Lactobacillales
 85.00\t85\t5\tF\t81852\t            Enterococcaceae
 80.00\t80\t50\tG\t1350\t              Enterococcus
 30.00\t30\t30\tS\t1351\t                Enterococcus faecalis
";

    #[test]
    fn kraken_reads_fold_into_their_genus_and_stay_unclassified_above_it() {
        let (_dir, path) = write(KRAKEN);
        let profile = read_kraken_report(&path).unwrap();
        assert_eq!(profile.abundance, Abundance::Reads);
        let genus = profile.at_rank(Rank::Genus);
        let want = [
            ("Unclassified".to_string(), 12.0),
            ("d__Bacteria;p__;c__;o__;f__;g__".to_string(), 3.0),
            ("d__Bacteria;p__Bacillota;c__Bacilli;o__Lactobacillales;f__Enterococcaceae;g__".to_string(), 5.0),
            (
                "d__Bacteria;p__Bacillota;c__Bacilli;o__Lactobacillales;f__Enterococcaceae;g__Enterococcus".to_string(),
                80.0,
            ),
        ];
        assert_eq!(genus, want);
        // Every read is counted once, at every rank.
        for rank in Rank::ALL {
            assert_eq!(profile.at_rank(rank).iter().map(|(_, v)| v).sum::<f64>(), 100.0, "{rank:?}");
        }
    }

    #[test]
    fn kraken2_2_1_empty_and_numeric_rank_codes_are_unranked_levels() {
        // As kraken2 2.1.2 writes a superkingdom it has no letter for, and the levels below it.
        let report = " 10.00\t1\t1\tU\t0\tunclassified\n 90.00\t9\t0\t\t1\troot\n 90.00\t9\t0\t\t10239\t  Viruses\n \
                      90.00\t9\t0\t1\t29258\t    ssDNA viruses\n 90.00\t9\t0\tF\t39724\t      Circoviridae\n \
                      90.00\t9\t9\tG\t39725\t        Circovirus\n";
        let (_dir, path) = write(report);
        let genus = read_kraken_report(&path).unwrap().at_rank(Rank::Genus);
        assert_eq!(
            genus,
            [("Unclassified".to_string(), 1.0), ("d__;p__;c__;o__;f__Circoviridae;g__Circovirus".to_string(), 9.0)]
        );
    }

    #[test]
    fn kraken_errors_name_the_line() {
        let (_dir, path) = write(" 90.00\t90\t2\tR\t1\troot\n 1.0\t1\tx\tD\t2\t  Bacteria\n");
        let e = read_kraken_report(&path).unwrap_err().to_string();
        assert!(e.contains("profile.txt:2") && e.contains("\"x\""), "{e}");
        let (_dir, path) = write(" 90.00\t90\t2\tR\t1\troot\n 1.0\t1\t1\tD\t2\t      Bacteria\n");
        let e = read_kraken_report(&path).unwrap_err().to_string();
        assert!(e.contains("profile.txt:2") && e.contains("indented"), "{e}");
        let (_dir, path) = write("a\tb\n");
        assert!(read_kraken_report(&path).unwrap_err().to_string().contains("6 or 8"));
    }

    /// A MetaPhlAn 4 profile as `metaphlan -t rel_ab_w_read_stats --unclassified_estimation` writes it.
    const METAPHLAN: &str = "\
#mpa_vJan21_CHOCOPhlAnSGB_202103
#/usr/bin/metaphlan sample.fastq -t rel_ab_w_read_stats
#SampleID\tMetaphlan_Analysis
#estimated_reads_mapped_to_known_clades:9000
#clade_name\tclade_taxid\trelative_abundance\tcoverage\testimated_number_of_reads_from_the_clade
UNCLASSIFIED\t-1\t10.0\t-\t1000
k__Bacteria\t2\t90.0\t1.0\t9000
k__Bacteria|p__Firmicutes\t2|1239\t90.0\t1.0\t9000
k__Bacteria|p__Firmicutes|c__Bacilli|o__Lactobacillales|f__Enterococcaceae|g__Enterococcus\t2|1239|91061|186826|81852|1350\t60.0\t1.0\t6000
k__Bacteria|p__Firmicutes|c__Bacilli|o__Lactobacillales|f__Streptococcaceae|g__Streptococcus\t2|1239|91061|186826|1300|1301\t30.0\t1.0\t3000
k__Bacteria|p__Firmicutes|c__Bacilli|o__Lactobacillales|f__Enterococcaceae|g__Enterococcus|s__Enterococcus_faecalis\t2|1239|91061|186826|81852|1350|1351\t60.0\t1.0\t6000
k__Bacteria|p__Firmicutes|c__Bacilli|o__Lactobacillales|f__Enterococcaceae|g__Enterococcus|s__Enterococcus_faecalis|t__SGB7962\t2|1239|91061|186826|81852|1350|1351|\t60.0\t1.0\t6000
";

    #[test]
    fn metaphlan_takes_the_clades_at_the_rank_and_estimated_reads_when_present() {
        let (_dir, path) = write(METAPHLAN);
        let profile = read_metaphlan(&path).unwrap();
        assert_eq!(profile.abundance, Abundance::Reads);
        let genus = profile.at_rank(Rank::Genus);
        assert_eq!(genus.len(), 3);
        assert_eq!(genus[0], ("Unclassified".to_string(), 1000.0));
        assert!(genus[1].0.ends_with("g__Enterococcus") && genus[1].1 == 6000.0);
        assert!(genus[2].0.ends_with("g__Streptococcus") && genus[2].1 == 3000.0);
        // The strain row does not double the species.
        assert_eq!(profile.at_rank(Rank::Species).iter().map(|(_, v)| v).sum::<f64>(), 7000.0);
        // Without the read statistics the percentages are the values.
        let percent: String = METAPHLAN
            .lines()
            .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t") + "\n")
            .collect::<String>()
            .replace("#clade_name\tclade_taxid\trelative_abundance", "#clade_name\tNCBI_tax_id\trelative_abundance");
        let (_dir, path) = write(&percent);
        let profile = read_metaphlan(&path).unwrap();
        assert_eq!(profile.abundance, Abundance::Percent);
        assert_eq!(profile.at_rank(Rank::Genus).iter().map(|(_, v)| v).sum::<f64>(), 100.0);
    }

    #[test]
    fn metaphlan_errors_name_the_line() {
        let (_dir, path) = write("#clade_name\tNCBI_tax_id\trelative_abundance\nk__Bacteria\t2\tmany\n");
        let e = read_metaphlan(&path).unwrap_err().to_string();
        assert!(e.contains("profile.txt:2") && e.contains("\"many\""), "{e}");
        let (_dir, path) = write("#clade_name\tNCBI_tax_id\trelative_abundance\np__A|k__B\t2\t1\n");
        assert!(read_metaphlan(&path).unwrap_err().to_string().contains("out of order"));
    }
}
