//! featureCounts' `-J`: reads supporting each exon–exon junction, and its `.jcounts` table.
//!
//! What featureCounts 2.0.3 does, and so what this does:
//! - a read (a fragment with `--countReadPairs`) that passes every filter counts once for each
//!   distinct junction its `N` operations make (the two ends of a fragment crossing one junction
//!   count it once), whatever its assignment;
//! - a junction is named by its contig and the last base before the `N` and the first after it;
//! - each row names the genes whose span (first to last base of the gene's rows on a contig)
//!   covers either site: the primary gene is the one covering both sites, else the one on the
//!   better supported site, else the leftmost; the others are secondary;
//! - with `-G`, `+` for a GT…AG intron, `-` for CT…AC, `NA` otherwise.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use crate::annotation::FeatureSet;

/// One end of a read or fragment for [`JunctionTally::add`]: its reference id and junctions
/// (`None` when absent or unmapped).
pub type End<'a> = Option<(usize, &'a [(u64, u64)])>;

/// Junctions and their splice sites in one file (or read group), by reference id.
#[derive(Clone, Debug, Default)]
pub struct JunctionTally {
    /// (reference id, left site, right site) → reads.
    pairs: HashMap<(u32, u64, u64), u64>,
    /// (reference id, site) → reads through a junction with a site there (left or right).
    sites: HashMap<(u32, u64), u64>,
}

impl JunctionTally {
    /// Counts one read or fragment: each distinct junction of its ends once.
    pub fn add(&mut self, ends: [End<'_>; 2]) {
        let mut seen: [Option<(u32, u64, u64)>; 8] = [None; 8];
        let mut more: Vec<(u32, u64, u64)> = Vec::new();
        let mut n = 0;
        for (reference, splices) in ends.into_iter().flatten() {
            for &(left, right) in splices {
                let key = (reference as u32, left, right);
                let known = seen[..n.min(8)].contains(&Some(key)) || more.contains(&key);
                if known {
                    continue;
                }
                if n < 8 {
                    seen[n] = Some(key);
                } else {
                    more.push(key);
                }
                n += 1;
                *self.pairs.entry(key).or_default() += 1;
                *self.sites.entry((key.0, left)).or_default() += 1;
                *self.sites.entry((key.0, right)).or_default() += 1;
            }
        }
    }

    /// Adds another worker's tally for the same file.
    pub fn absorb(&mut self, other: &JunctionTally) {
        for (k, v) in &other.pairs {
            *self.pairs.entry(*k).or_default() += v;
        }
        for (k, v) in &other.sites {
            *self.sites.entry(*k).or_default() += v;
        }
    }

    /// The tally with the header's reference names.
    pub fn named(&self, names: &[String]) -> Junctions {
        let name = |r: u32| names.get(r as usize).cloned().unwrap_or_default();
        Junctions {
            pairs: self.pairs.iter().map(|(&(r, a, b), &n)| ((name(r), a, b), n)).collect(),
            sites: self.sites.iter().map(|(&(r, p), &n)| ((name(r), p), n)).collect(),
        }
    }
}

/// One column's junction counts, by the alignments' contig names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Junctions {
    /// (contig, last base before the intron, first base after it) → reads.
    pub pairs: HashMap<(String, u64, u64), u64>,
    /// (contig, site) → reads with a junction there.
    pub sites: HashMap<(String, u64), u64>,
}

/// featureCounts' junction buckets: 128 kb of a contig.
const BUCKET: u64 = 128 * 1024;
/// Buckets of featureCounts' per-contig gene table, whose order decides which of two genes that
/// start together is primary and the order of the secondary genes.
const GENE_TABLE_BUCKETS: u64 = 48367;

/// Subread's `fc_chro_hash`, which orders its gene tables.
fn fc_chro_hash(s: &str) -> u64 {
    s.bytes().enumerate().fold(0u64, |h, (i, c)| {
        let c = u64::from(c);
        h.wrapping_add(c.wrapping_add(i as u64) << (c & 0xf))
    })
}

/// One gene's span on one contig.
#[derive(Clone, Debug)]
struct Span {
    gene: u32,
    first: u64,
    last: u64,
}

/// The genes covering a position, found as featureCounts finds them for `.jcounts`.
#[derive(Debug)]
pub struct JunctionGenes<'a> {
    features: &'a FeatureSet,
    spans: Vec<Span>,
    /// (annotation contig, bucket start) → spans, in featureCounts' gene-table order.
    buckets: HashMap<(String, u64), Vec<u32>>,
    /// `-A`: alignment contig → annotation contig.
    aliases: &'a HashMap<String, String>,
}

impl<'a> JunctionGenes<'a> {
    /// Spans of every gene on every contig (first to last base of its rows there).
    pub fn new(features: &'a FeatureSet, aliases: &'a HashMap<String, String>) -> Self {
        // (contig, gene) → span index, in the order featureCounts registers them (annotation rows).
        let mut index: HashMap<(u32, u32), usize> = HashMap::new();
        let mut spans: Vec<Span> = Vec::new();
        let mut contig_of: Vec<u32> = Vec::new();
        for exon in &features.exons {
            let at = *index.entry((exon.contig, exon.gene)).or_insert_with(|| {
                spans.push(Span { gene: exon.gene, first: exon.start, last: exon.end });
                contig_of.push(exon.contig);
                spans.len() - 1
            });
            let span = &mut spans[at];
            span.first = span.first.min(exon.start);
            span.last = span.last.max(exon.end);
        }
        // The gene table is walked bucket by bucket, each bucket's chain newest first.
        let mut order: Vec<usize> = (0..spans.len()).collect();
        order.sort_by_key(|&i| {
            let hash = fc_chro_hash(&features.genes[spans[i].gene as usize].id) % GENE_TABLE_BUCKETS;
            (contig_of[i], hash, std::cmp::Reverse(i))
        });
        let mut buckets: HashMap<(String, u64), Vec<u32>> = HashMap::new();
        for i in order {
            let s = &spans[i];
            let contig = &features.contigs[contig_of[i] as usize];
            let mut at = s.first - s.first % BUCKET;
            while at <= s.last {
                buckets.entry((contig.clone(), at)).or_default().push(i as u32);
                at += BUCKET;
            }
        }
        Self { features, spans, buckets, aliases }
    }

    /// The spans covering `pos` on the alignments' contig `contig`: through `-A`, then the name
    /// itself, then without or with `chr` (whichever first has genes near `pos`).
    fn locate(&self, contig: &str, pos: u64) -> Vec<u32> {
        let at = pos - pos % BUCKET;
        let get = |name: &str| self.buckets.get(&(name.to_string(), at));
        let list = self
            .aliases
            .get(contig)
            .and_then(|a| get(a))
            .or_else(|| get(contig))
            .or_else(|| contig.strip_prefix("chr").filter(|rest| !rest.is_empty()).and_then(get))
            .or_else(|| get(&format!("chr{contig}")));
        list.map_or_else(Vec::new, |l| {
            l.iter()
                .copied()
                .filter(|&i| self.spans[i as usize].first <= pos && pos <= self.spans[i as usize].last)
                .collect()
        })
    }

    /// The primary and secondary genes of a junction (`NA` where none), as featureCounts picks
    /// them; `site_support` is the reads through each site, all columns together.
    fn name(
        &self,
        contig: &str,
        left: u64,
        right: u64,
        site_support: &HashMap<(String, u64), u64>,
    ) -> (String, String) {
        let (small, large) = (self.locate(contig, left), self.locate(contig, right));
        // (gene, sites covered, which sites: 1 left, 2 right, the first base of the span it was
        // first found by), in the order found.
        let mut genes: Vec<(u32, u32, u8, u64)> = Vec::new();
        for (side, found) in [(1u8, &small), (2u8, &large)] {
            for &i in found {
                let span = &self.spans[i as usize];
                match genes.iter_mut().find(|g| g.0 == span.gene) {
                    Some(g) => {
                        g.1 += 1;
                        g.2 |= side;
                    }
                    None => genes.push((span.gene, 1, side, span.first)),
                }
            }
        }
        let max_support = genes.iter().map(|g| g.1).max().unwrap_or(0);
        let mut kept: Vec<bool> = vec![true; genes.len()];
        if max_support == 1 && !small.is_empty() && !large.is_empty() {
            let support = |p: u64| site_support.get(&(contig.to_string(), p)).copied().unwrap_or(0);
            let (s, l) = (support(left), support(right));
            if s != l {
                // As featureCounts 2.0.3's code has it: the genes of the site with *more* reads
                // go (its comment says the opposite).
                let dropped = if s > l { 1 } else { 2 };
                for (k, g) in kept.iter_mut().zip(&genes) {
                    if g.2 == dropped {
                        *k = false;
                    }
                }
            }
        }
        let mut primary: Option<usize> = None;
        for (i, g) in genes.iter().enumerate() {
            if kept[i] && g.1 == max_support && primary.is_none_or(|p| g.3 < genes[p].3) {
                primary = Some(i);
            }
        }
        let id = |g: u32| self.features.genes[g as usize].id.as_str();
        let primary_name = primary.map_or_else(|| "NA".to_string(), |p| id(genes[p].0).to_string());
        let secondary: Vec<&str> =
            genes.iter().enumerate().filter(|&(i, _)| kept[i] && Some(i) != primary).map(|(_, g)| id(g.0)).collect();
        let secondary = if secondary.is_empty() { "NA".to_string() } else { secondary.join(",") };
        (primary_name, secondary)
    }
}

/// C's `atoi` on the bytes from `at`: leading white space, a sign, digits (saturating, then
/// narrowed to `int` as glibc does).
fn atoi(s: &[u8], at: usize) -> i32 {
    let mut i = at;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let negative = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        i += 1;
    }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(i64::from(s[i] - b'0'));
        i += 1;
    }
    (if negative { v.saturating_neg() } else { v }) as i32
}

/// featureCounts' chromosome rank for sorting `.jcounts`: the number in `N`/`chrN`, X 90, Y 91,
/// M 99, -1 for other names.
fn chromosome_rank(key: &[u8]) -> i32 {
    let at = |i: usize| key.get(i).copied().unwrap_or(0);
    let mut rank = -1;
    let n = atoi(key, 0);
    if n > 0 {
        rank = n;
    }
    if !at(1).is_ascii_alphanumeric() {
        rank = match at(0) {
            b'X' => 90,
            b'Y' => 91,
            b'M' => 99,
            _ => rank,
        };
    }
    if key.starts_with(b"chr") {
        rank = atoi(key, 3);
        if rank == 0 {
            rank = match at(3) {
                b'X' => 90,
                b'Y' => 91,
                b'M' => 99,
                _ => 0,
            };
        }
    }
    rank
}

/// featureCounts' `junckey_sort_compare` on keys `chr\tleft\tchr\tright`: chromosome rank, then
/// the shorter name, then the name's bytes, then the left site, then the whole key.
fn junction_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (ra, rb) = (chromosome_rank(a), chromosome_rank(b));
    let tab = |k: &[u8]| k.iter().position(|&c| c == b'\t').unwrap_or(k.len());
    let (ta, tb) = (tab(a), tab(b));
    let length = match ta.cmp(&tb) {
        Ordering::Less => -1,
        Ordering::Greater => 1,
        Ordering::Equal => 0,
    };
    if ra != rb || length != 0 {
        let v = ra.wrapping_mul(100).wrapping_add(length).wrapping_sub(rb.wrapping_mul(100));
        return v.cmp(&0);
    }
    for x in 0..=ta {
        let (c1, c2) = (a[x], b[x]);
        if c1 != c2 {
            // C's `char` is signed here.
            return (c1 as i8).cmp(&(c2 as i8));
        }
        if c1 == b'\t' {
            let (p1, p2) = (atoi(a, x + 1), atoi(b, x + 1));
            return if p1 == p2 { a.cmp(b) } else { p1.wrapping_sub(p2).cmp(&0) };
        }
    }
    Ordering::Equal
}

/// The bases around each intron, to call its strand from the genome (`-G`).
#[derive(Debug, Default)]
pub struct Genome {
    /// (contig, 0-based position) → base (upper case).
    bases: HashMap<(String, u64), u8>,
    /// Contigs the FASTA has.
    contigs: std::collections::HashSet<String>,
}

impl Genome {
    /// Reads the four bases around each junction's intron from `fasta` (streamed, one contig at a
    /// time). Errors name the file.
    pub fn read(fasta: &Path, junctions: &[(String, u64, u64)]) -> io::Result<Self> {
        let mut wanted: HashMap<&str, Vec<u64>> = HashMap::new();
        for (contig, left, right) in junctions {
            let at = wanted.entry(contig.as_str()).or_default();
            at.extend([*left, left + 1]);
            if *right >= 3 {
                at.extend([right - 3, right - 2]);
            }
        }
        let file = std::fs::File::open(fasta)?;
        let mut reader = noodles::fasta::io::Reader::new(io::BufReader::new(crate::io::open::decompress(file)?));
        let mut genome = Genome::default();
        let mut definition = noodles::fasta::record::Definition::default();
        let mut sequence = Vec::new();
        loop {
            if reader.read_definition(&mut definition)? == 0 {
                break;
            }
            let name = String::from_utf8_lossy(definition.name()).into_owned();
            sequence.clear();
            reader.read_sequence(&mut sequence)?;
            if let Some(positions) = wanted.get(name.as_str()) {
                for &p in positions {
                    if let Some(&b) = sequence.get(p as usize) {
                        genome.bases.insert((name.clone(), p), b.to_ascii_uppercase());
                    }
                }
            }
            genome.contigs.insert(name);
        }
        Ok(genome)
    }

    /// `+` for GT…AG, `-` for CT…AC, `NA` otherwise or where the genome lacks the bases.
    fn strand(&self, contig: &str, left: u64, right: u64) -> &'static str {
        let base = |p: u64| self.bases.get(&(contig.to_string(), p)).copied();
        let donor = (base(left), base(left + 1));
        let acceptor = if right >= 3 { (base(right - 3), base(right - 2)) } else { (None, None) };
        match (donor, acceptor) {
            ((Some(b'G'), Some(b'T')), (Some(b'A'), Some(b'G'))) => "+",
            ((Some(b'C'), Some(b'T')), (Some(b'A'), Some(b'C'))) => "-",
            _ => "NA",
        }
    }

    /// Whether the FASTA has the contig.
    pub fn has(&self, contig: &str) -> bool {
        self.contigs.contains(contig)
    }
}

/// Every junction of every column, in featureCounts' row order.
pub fn sorted_junctions(columns: &[&Junctions]) -> Vec<(String, u64, u64)> {
    let mut keys: Vec<(String, u64, u64)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in columns {
        for k in c.pairs.keys() {
            if seen.insert(k) {
                keys.push(k.clone());
            }
        }
    }
    let text = |k: &(String, u64, u64)| format!("{}\t{}\t{}\t{}", k.0, k.1, k.0, k.2).into_bytes();
    let mut keyed: Vec<(Vec<u8>, (String, u64, u64))> = keys.into_iter().map(|k| (text(&k), k)).collect();
    keyed.sort_by(|a, b| junction_order(&a.0, &b.0));
    keyed.into_iter().map(|(_, k)| k).collect()
}

/// Writes featureCounts' `.jcounts`: a header, then a row per junction with its genes, sites,
/// strands and a count per column.
pub fn write_jcounts<W: Write>(
    w: &mut W,
    names: &[&str],
    columns: &[&Junctions],
    genes: &JunctionGenes<'_>,
    genome: Option<&Genome>,
) -> io::Result<()> {
    write!(
        w,
        "PrimaryGene\tSecondaryGenes\tSite1_chr\tSite1_location\tSite1_strand\tSite2_chr\tSite2_location\tSite2_strand"
    )?;
    for n in names {
        write!(w, "\t{n}")?;
    }
    writeln!(w)?;
    let mut support: HashMap<(String, u64), u64> = HashMap::new();
    for c in columns {
        for (k, v) in &c.sites {
            *support.entry(k.clone()).or_default() += v;
        }
    }
    for (contig, left, right) in sorted_junctions(columns) {
        let (primary, secondary) = genes.name(&contig, left, right, &support);
        let strand = genome.map_or("NA", |g| g.strand(&contig, left, right));
        write!(w, "{primary}\t{secondary}\t{contig}\t{left}\t{strand}\t{contig}\t{right}\t{strand}")?;
        let key = (contig, left, right);
        for c in columns {
            write!(w, "\t{}", c.pairs.get(&key).copied().unwrap_or(0))?;
        }
        writeln!(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sort_as_featurecounts_sorts_them() {
        let mut keys = [
            "chr10\t5\tchr10\t9",
            "chrX\t1\tchrX\t2",
            "chr2\t100\tchr2\t980",
            "chr2\t100\tchr2\t1151",
            "chr2\t20\tchr2\t90",
            "1\t5\t1\t6",
            "chrUn\t3\tchrUn\t4",
            "MT\t1\tMT\t5",
        ];
        keys.sort_by(|a, b| junction_order(a.as_bytes(), b.as_bytes()));
        // Other names first (rank -1 before chrUn's 0), then by number; equal left sites by the
        // rest of the key as text ("1151" before "980").
        assert_eq!(
            keys,
            [
                "MT\t1\tMT\t5",
                "chrUn\t3\tchrUn\t4",
                "1\t5\t1\t6",
                "chr2\t20\tchr2\t90",
                "chr2\t100\tchr2\t1151",
                "chr2\t100\tchr2\t980",
                "chr10\t5\tchr10\t9",
                "chrX\t1\tchrX\t2"
            ]
        );
    }

    #[test]
    fn a_fragment_counts_a_junction_both_ends_cross_once() {
        let mut t = JunctionTally::default();
        let a: &[(u64, u64)] = &[(10, 20), (30, 40)];
        let b: &[(u64, u64)] = &[(30, 40)];
        t.add([Some((0, a)), Some((0, b))]);
        let n = t.named(&["c".into()]);
        assert_eq!(n.pairs[&("c".into(), 30, 40)], 1);
        assert_eq!(n.pairs[&("c".into(), 10, 20)], 1);
        assert_eq!(n.sites[&("c".into(), 30)], 1);
    }
}
