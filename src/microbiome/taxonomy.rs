//! Taxonomic lineages as profilers and databases write them, parsed into ranks so a table can be
//! aggregated to one rank (genus by default). Greengenes/QIIME (`k__Bacteria; p__Firmicutes`),
//! SILVA and GTDB (`d__Bacteria;p__Firmicutes_A`), MetaPhlAn (`k__Bacteria|p__Firmicutes`) and
//! unprefixed positional lineages (`Bacteria;Firmicutes`) all become one [`Lineage`]; kingdom and
//! domain are one rank, as they are in every profiler we read.

/// The ranks a table can be aggregated to, from the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// Domain (GTDB, SILVA `d__`) or kingdom (Greengenes, MetaPhlAn `k__`).
    Domain,
    /// `p__`.
    Phylum,
    /// `c__`.
    Class,
    /// `o__`.
    Order,
    /// `f__`.
    Family,
    /// `g__`.
    Genus,
    /// `s__`.
    Species,
}

impl Rank {
    /// Every rank, from the root.
    pub const ALL: [Rank; 7] =
        [Rank::Domain, Rank::Phylum, Rank::Class, Rank::Order, Rank::Family, Rank::Genus, Rank::Species];

    /// The rank a lineage prefix letter stands for (`k` and `d` both for the domain).
    fn from_prefix(letter: char) -> Option<Rank> {
        Some(match letter.to_ascii_lowercase() {
            'k' | 'd' => Rank::Domain,
            'p' => Rank::Phylum,
            'c' => Rank::Class,
            'o' => Rank::Order,
            'f' => Rank::Family,
            'g' => Rank::Genus,
            's' => Rank::Species,
            _ => return None,
        })
    }

    /// The prefix written in aggregated feature ids.
    fn prefix(self) -> &'static str {
        ["d__", "p__", "c__", "o__", "f__", "g__", "s__"][self as usize]
    }

    /// The rank named in a config (`genus`, `phylum`, ...; `kingdom` for the domain).
    pub fn parse(name: &str) -> Option<Rank> {
        Some(match name.to_ascii_lowercase().as_str() {
            "domain" | "kingdom" | "superkingdom" => Rank::Domain,
            "phylum" => Rank::Phylum,
            "class" => Rank::Class,
            "order" => Rank::Order,
            "family" => Rank::Family,
            "genus" => Rank::Genus,
            "species" => Rank::Species,
            _ => return None,
        })
    }
}

/// Which naming a lineage follows, for the report: GTDB renames and splits NCBI taxa
/// (`Firmicutes` → `Bacillota`, `Firmicutes_A`), so tables from two databases do not line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `d__` prefixes with GTDB's alphabetic suffixes on split taxa (`Firmicutes_A`).
    Gtdb,
    /// Anything else (NCBI, Greengenes, SILVA).
    Other,
}

/// One taxon's lineage: a name per rank, `None` where the rank is unassigned (`g__` with no
/// name, or a lineage that stops early).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lineage {
    names: [Option<String>; 7],
    gtdb: bool,
}

/// A lineage string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    /// A rank appears twice or out of order (`p__A;d__B`).
    #[error("lineage {lineage:?}: rank {rank:?} is out of order or repeated")]
    Order {
        /// The lineage as written.
        lineage: String,
        /// The rank found out of place.
        rank: Rank,
    },
    /// An unprefixed lineage with more names than there are ranks.
    #[error("lineage {0:?} has more than 7 unprefixed levels; prefix its ranks (k__, p__, ...)")]
    TooDeep(String),
}

impl Lineage {
    /// Parses a lineage: elements split on `;` or `|`, each `x__Name` with `x` a rank letter
    /// (strain levels `t__` are ignored), or, when no element has a prefix, names by position
    /// from the domain. Empty names, `__`-only elements and QIIME's `Unassigned` leave the rank
    /// unassigned. Kraken-style `unclassified` as a whole lineage is an empty lineage.
    pub fn parse(text: &str) -> Result<Lineage, TaxonomyError> {
        let mut lineage = Lineage::default();
        let elements: Vec<&str> = text.split([';', '|']).map(str::trim).filter(|e| !e.is_empty()).collect();
        let prefixed = elements.iter().any(|e| prefix_of(e).is_some());
        if !prefixed {
            if elements.len() > 7 {
                return Err(TaxonomyError::TooDeep(text.to_string()));
            }
            for (rank, name) in Rank::ALL.iter().zip(&elements) {
                lineage.names[*rank as usize] = assigned(name);
            }
            return Ok(lineage);
        }
        let mut last: Option<Rank> = None;
        for element in elements {
            let Some((letter, name)) = prefix_of(element) else {
                continue;
            };
            let Some(rank) = Rank::from_prefix(letter) else {
                continue; // t__ (strain) and other levels below or beside the seven
            };
            if last.is_some_and(|l| rank <= l) {
                return Err(TaxonomyError::Order { lineage: text.to_string(), rank });
            }
            last = Some(rank);
            if letter.eq_ignore_ascii_case(&'d') {
                lineage.gtdb = true;
            }
            lineage.names[rank as usize] = assigned(name);
        }
        Ok(lineage)
    }

    /// A lineage from names already split by rank (a Kraken2 report's tree), from the root.
    pub fn from_ranks<'a>(names: impl IntoIterator<Item = (Rank, &'a str)>) -> Lineage {
        let mut lineage = Lineage::default();
        for (rank, name) in names {
            lineage.names[rank as usize] = assigned(name);
        }
        lineage
    }

    /// The name at `rank`, if assigned.
    pub fn name(&self, rank: Rank) -> Option<&str> {
        self.names[rank as usize].as_deref()
    }

    /// The deepest assigned rank.
    pub fn deepest(&self) -> Option<Rank> {
        Rank::ALL.iter().rev().copied().find(|r| self.names[*r as usize].is_some())
    }

    /// GTDB when written with `d__` and a GTDB-style split suffix on some name (`Firmicutes_A`).
    pub fn naming(&self) -> Naming {
        let split = |n: &str| {
            n.rsplit_once('_').is_some_and(|(head, tail)| {
                !head.is_empty() && !tail.is_empty() && tail.chars().all(|c| c.is_ascii_uppercase())
            })
        };
        if self.gtdb && self.names.iter().flatten().any(|n| split(n)) { Naming::Gtdb } else { Naming::Other }
    }

    /// The feature id of this lineage's taxon at `rank`: every rank down to it, prefixed and
    /// `;`-joined (`d__Bacteria;p__Firmicutes;...;g__Enterococcus`). A taxon unassigned at `rank`
    /// keeps its known ranks and empty names below (`...;f__Enterococcaceae;g__`), so the
    /// unclassified of each parent stay their own row, as QIIME 2's `taxa collapse` keeps them;
    /// a lineage with no rank assigned at all is `Unclassified`.
    pub fn id_at(&self, rank: Rank) -> String {
        if self.deepest().is_none() {
            return "Unclassified".to_string();
        }
        let mut id = String::new();
        for r in Rank::ALL.iter().take(rank as usize + 1) {
            if !id.is_empty() {
                id.push(';');
            }
            id.push_str(r.prefix());
            if let Some(name) = self.name(*r) {
                id.push_str(name);
            }
        }
        id
    }
}

/// `("g", "Enterococcus")` for `g__Enterococcus`; `None` for an unprefixed name.
fn prefix_of(element: &str) -> Option<(char, &str)> {
    let mut chars = element.chars();
    let letter = chars.next()?;
    let rest = chars.as_str();
    (letter.is_ascii_alphabetic() && rest.starts_with("__")).then(|| (letter, rest[2..].trim()))
}

/// A name, or `None` for the placeholders profilers write for "not assigned at this rank".
fn assigned(name: &str) -> Option<String> {
    let placeholder = name.is_empty()
        || name == "__"
        || name.eq_ignore_ascii_case("unassigned")
        || name.eq_ignore_ascii_case("unclassified")
        || name.eq_ignore_ascii_case("unknown");
    (!placeholder).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_lineage_styles_become_one_lineage() {
        let greengenes =
            "k__Bacteria; p__Firmicutes; c__Bacilli; o__Lactobacillales; f__Enterococcaceae; g__Enterococcus; s__";
        let metaphlan = "k__Bacteria|p__Firmicutes|c__Bacilli|o__Lactobacillales|f__Enterococcaceae|g__Enterococcus";
        let positional = "Bacteria;Firmicutes;Bacilli;Lactobacillales;Enterococcaceae;Enterococcus";
        let want = "d__Bacteria;p__Firmicutes;c__Bacilli;o__Lactobacillales;f__Enterococcaceae;g__Enterococcus";
        for text in [greengenes, metaphlan, positional] {
            let l = Lineage::parse(text).unwrap();
            assert_eq!(l.id_at(Rank::Genus), want, "{text}");
            assert_eq!(l.deepest(), Some(Rank::Genus));
            assert_eq!(l.name(Rank::Species), None);
            assert_eq!(l.naming(), Naming::Other);
        }
        assert_eq!(Lineage::parse(greengenes).unwrap().id_at(Rank::Phylum), "d__Bacteria;p__Firmicutes");
    }

    #[test]
    fn unassigned_ranks_stay_their_own_rows_and_gtdb_is_recognised() {
        let l = Lineage::parse("d__Bacteria;p__Firmicutes_A;c__Clostridia;o__;f__;g__").unwrap();
        assert_eq!(l.id_at(Rank::Genus), "d__Bacteria;p__Firmicutes_A;c__Clostridia;o__;f__;g__");
        assert_eq!(l.deepest(), Some(Rank::Class));
        assert_eq!(l.naming(), Naming::Gtdb);
        assert_eq!(Lineage::parse("Unassigned").unwrap().id_at(Rank::Genus), "Unclassified");
        assert_eq!(Lineage::parse("").unwrap().id_at(Rank::Genus), "Unclassified");
        // MetaPhlAn's strain level is below the seven ranks.
        let s = Lineage::parse("k__Bacteria|g__Escherichia|s__Escherichia_coli|t__SGB10068").unwrap();
        assert_eq!(s.name(Rank::Species), Some("Escherichia_coli"));
        assert_eq!(s.naming(), Naming::Other);
    }

    #[test]
    fn malformed_lineages_are_refused() {
        assert!(matches!(Lineage::parse("p__A;d__B"), Err(TaxonomyError::Order { rank: Rank::Domain, .. })));
        assert!(matches!(Lineage::parse("g__A;g__B"), Err(TaxonomyError::Order { rank: Rank::Genus, .. })));
        assert!(matches!(Lineage::parse("a;b;c;d;e;f;g;h"), Err(TaxonomyError::TooDeep(_))));
        assert_eq!(Rank::parse("Genus"), Some(Rank::Genus));
        assert_eq!(Rank::parse("kingdom"), Some(Rank::Domain));
        assert_eq!(Rank::parse("strain"), None);
    }
}
