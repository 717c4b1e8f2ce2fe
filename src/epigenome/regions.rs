//! Region sets for aggregation: promoters (TSS ± a window, from the gene annotation) and any BED
//! (CpG islands, enhancers). A region's beta is the sum of its methylated calls over the sum of
//! its calls, never a mean of per-CpG betas, so deep and shallow sites weigh what they measured.

use std::cmp::Ordering;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EpigenomeError;
use super::sites::chrom_cmp;
use crate::annotation::{FeatureSet, Strand};

/// `[[epigenome.regions]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSetConfig {
    /// Name of the set; outputs go to `epigenome/regions/<name>.parquet`.
    pub name: String,
    /// A BED file (0-based half-open; name from column 4 when present). Without it the set is
    /// the promoters of the `[annotation]` genes.
    #[serde(default)]
    pub bed: Option<PathBuf>,
    /// Promoters: bases upstream of the TSS (default 1000).
    #[serde(default = "default_flank")]
    pub upstream: u64,
    /// Promoters: bases downstream of the TSS, TSS included (default 1000).
    #[serde(default = "default_flank")]
    pub downstream: u64,
}

fn default_flank() -> u64 {
    1000
}

/// One region: 1-based inclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Identifier (gene id for promoters, `chrom:start-end` for BED).
    pub id: String,
    /// Name (gene name, BED name).
    pub name: Option<String>,
    /// Chromosome.
    pub chrom: String,
    /// First base, 1-based.
    pub start: u64,
    /// Last base, 1-based inclusive.
    pub end: u64,
    /// Strand, when known.
    pub strand: Option<char>,
}

/// A named, sorted set of regions.
#[derive(Clone, Debug)]
pub struct RegionSet {
    /// The set's name.
    pub name: String,
    /// Regions sorted by chromosome ([`chrom_cmp`]), start, end, id.
    pub regions: Vec<Region>,
}

fn sort(regions: &mut [Region]) {
    regions.sort_by(|a, b| {
        chrom_cmp(&a.chrom, &b.chrom).then(a.start.cmp(&b.start)).then(a.end.cmp(&b.end)).then(a.id.cmp(&b.id))
    });
}

impl RegionSet {
    /// Promoters of every gene: `upstream` bases 5' of the TSS to `downstream - 1` bases 3' of it.
    pub fn promoters(name: &str, features: &FeatureSet, upstream: u64, downstream: u64) -> Self {
        let mut regions = Vec::with_capacity(features.genes.len());
        for gene in &features.genes {
            let exons: Vec<_> = gene.exons.iter().map(|&e| &features.exons[e as usize]).collect();
            let Some(first) = exons.first() else { continue };
            let reverse = first.strand == Strand::Reverse;
            let (start, end) = if reverse {
                let tss = exons.iter().map(|e| e.end).max().unwrap_or(first.end);
                ((tss + 1).saturating_sub(downstream).max(1), tss + upstream)
            } else {
                let tss = exons.iter().map(|e| e.start).min().unwrap_or(first.start);
                (tss.saturating_sub(upstream).max(1), tss + downstream.max(1) - 1)
            };
            regions.push(Region {
                id: gene.id.clone(),
                name: gene.name.clone(),
                chrom: features.contigs[first.contig as usize].clone(),
                start,
                end,
                strand: Some(first.strand.as_char()),
            });
        }
        sort(&mut regions);
        Self { name: name.to_string(), regions }
    }

    /// Regions from a BED file (`track`/`browser`/`#` lines skipped).
    pub fn bed(name: &str, path: &Path) -> Result<Self, EpigenomeError> {
        let io_err = |source| EpigenomeError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let reader = std::io::BufReader::new(crate::io::open::decompress(file).map_err(io_err)?);
        let mut regions = Vec::new();
        let mut record = noodles::bed::Record::<3>::default();
        for (k, line) in reader.lines().enumerate() {
            let line = line.map_err(io_err)?;
            let number = k as u64 + 1;
            if line.trim().is_empty()
                || line.starts_with('#')
                || line.starts_with("track")
                || line.starts_with("browser")
            {
                continue;
            }
            let bad = |message: String| EpigenomeError::Line { path: path.to_path_buf(), line: number, message };
            let mut one = noodles::bed::io::Reader::<3, _>::new(line.as_bytes());
            one.read_record(&mut record).map_err(|e| bad(format!("expected chrom, start, end: {e}")))?;
            let chrom = record.reference_sequence_name().to_string();
            let start = record.feature_start().map_err(|e| bad(format!("column 2 (start): {e}")))?.get() as u64;
            let end = match record.feature_end() {
                Some(Ok(p)) => p.get() as u64,
                Some(Err(e)) => return Err(bad(format!("column 3 (end): {e}"))),
                None => return Err(bad("column 3 (end) is missing".into())),
            };
            if end < start {
                return Err(bad(format!("end {end} lies before start {}", start - 1)));
            }
            let other = record.other_fields();
            let name = other.get(0).map(|n| n.to_string()).filter(|n| n != ".");
            let strand = other.get(2).and_then(|s| match s.as_ref() as &[u8] {
                b"+" => Some('+'),
                b"-" => Some('-'),
                _ => None,
            });
            regions.push(Region { id: format!("{chrom}:{start}-{end}"), name, chrom, start, end, strand });
        }
        sort(&mut regions);
        regions.dedup_by(|a, b| a.id == b.id);
        Ok(Self { name: name.to_string(), regions })
    }
}

/// Rows of the cohort merge on one chromosome, as [`RegionAccumulator::add`] reads them:
/// positions, and each sample's calls as a column (sample `j`'s value at row `i` sits at
/// `j * stride + first + i`).
pub struct Segment<'a> {
    /// The chromosome of every row.
    pub chrom: &'a str,
    /// Row positions, ascending.
    pub pos: &'a [u64],
    /// Methylated calls, column by column.
    pub methylated: &'a [u64],
    /// Calls (coverage), column by column.
    pub coverage: &'a [u64],
    /// Distance between two samples' columns.
    pub stride: usize,
    /// Row of `pos[0]` within each column.
    pub first: usize,
}

/// A region's sums over every sample (empty when no CpG fell in it).
#[derive(Debug, Default)]
pub struct RegionSums {
    /// Methylated calls per sample.
    pub methylated: Vec<u64>,
    /// Calls per sample.
    pub coverage: Vec<u64>,
    /// CpGs in the region.
    pub sites: u64,
    done: bool,
}

/// Sums calls per region and sample as the cohort merge passes, in site order, and hands each
/// region on ([`RegionAccumulator::finished`]) in set order once the merge has passed it: memory
/// holds the regions between the first unfinished one and the merge, not the whole set.
#[derive(Debug)]
pub struct RegionAccumulator {
    /// The regions, in order.
    pub set: RegionSet,
    samples: usize,
    /// Sums of regions `emitted..next`.
    pending: std::collections::VecDeque<RegionSums>,
    emitted: usize,
    next: usize,
    /// Regions overlapping the merge's position, with the segment row each started at.
    active: Vec<(usize, usize)>,
    chrom: Option<String>,
}

impl RegionAccumulator {
    /// An accumulator for `samples` samples.
    pub fn new(set: RegionSet, samples: usize) -> Self {
        Self { set, samples, pending: Default::default(), emitted: 0, next: 0, active: Vec::new(), chrom: None }
    }

    /// Adds a segment of merged rows (which must come in site order).
    pub fn add(&mut self, segment: &Segment<'_>) {
        let chrom = segment.chrom;
        if self.chrom.as_deref() != Some(chrom) {
            // The regions open on the last chromosome are complete (their rows were summed at the
            // end of its last segment).
            for (r, _) in std::mem::take(&mut self.active) {
                self.pending[r - self.emitted].done = true;
            }
            // Skip regions on chromosomes before this one (none of their sites came).
            while self.next < self.set.regions.len()
                && chrom_cmp(&self.set.regions[self.next].chrom, chrom) == Ordering::Less
            {
                self.open(true);
            }
            self.chrom = Some(chrom.to_string());
        }
        for (i, &pos) in segment.pos.iter().enumerate() {
            while self.next < self.set.regions.len()
                && self.set.regions[self.next].chrom == chrom
                && self.set.regions[self.next].start <= pos
            {
                self.active.push((self.next, i));
                self.open(false);
            }
            let mut k = 0;
            while k < self.active.len() {
                let (r, from) = self.active[k];
                if self.set.regions[r].end < pos {
                    self.sum(r, segment, from, i);
                    self.pending[r - self.emitted].done = true;
                    self.active.swap_remove(k);
                } else {
                    k += 1;
                }
            }
        }
        let rows = segment.pos.len();
        for k in 0..self.active.len() {
            let (r, from) = self.active[k];
            self.sum(r, segment, from, rows);
            self.active[k].1 = 0;
        }
    }

    /// The next region in set order, with its sums, once the merge has passed it.
    pub fn finished(&mut self) -> Option<(usize, RegionSums)> {
        if !self.pending.front().is_some_and(|p| p.done) {
            return None;
        }
        let sums = self.pending.pop_front()?;
        self.emitted += 1;
        Some((self.emitted - 1, sums))
    }

    /// Marks every region finished: the merge is over.
    pub fn close(&mut self) {
        while self.next < self.set.regions.len() {
            self.open(true);
        }
        self.active.clear();
        for p in &mut self.pending {
            p.done = true;
        }
    }

    fn open(&mut self, done: bool) {
        self.pending.push_back(RegionSums { done, ..Default::default() });
        self.next += 1;
    }

    /// Adds rows `from..to` of `segment` to region `r`.
    fn sum(&mut self, r: usize, segment: &Segment<'_>, from: usize, to: usize) {
        if to <= from {
            return;
        }
        let n = self.samples;
        let sums = &mut self.pending[r - self.emitted];
        if sums.coverage.is_empty() {
            sums.methylated = vec![0; n];
            sums.coverage = vec![0; n];
        }
        sums.sites += (to - from) as u64;
        for j in 0..n {
            let range = j * segment.stride + segment.first + from..j * segment.stride + segment.first + to;
            sums.methylated[j] += segment.methylated[range.clone()].iter().sum::<u64>();
            sums.coverage[j] += segment.coverage[range].iter().sum::<u64>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promoters_follow_the_strand() {
        let mut f = FeatureSet::default();
        f.push("plus", "chr1", 1000, 1100, Strand::Forward);
        f.push("plus", "chr1", 2000, 2100, Strand::Forward);
        f.push("minus", "chr1", 5000, 5100, Strand::Reverse);
        f.push("minus", "chr1", 3000, 3100, Strand::Reverse);
        let set = RegionSet::promoters("p", &f, 100, 50);
        let spans: Vec<(&str, u64, u64)> = set.regions.iter().map(|r| (r.id.as_str(), r.start, r.end)).collect();
        assert_eq!(spans, [("plus", 900, 1049), ("minus", 5051, 5200)]);
    }

    #[test]
    fn bed_is_zero_based_and_errors_name_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cgi.bed");
        std::fs::write(&p, "track name=cgi\nchr2\t99\t200\tCGI:1\nchr1\t0\t10\n").expect("write");
        let set = RegionSet::bed("cgi", &p).expect("bed");
        let spans: Vec<(&str, u64, u64, Option<&str>)> =
            set.regions.iter().map(|r| (r.chrom.as_str(), r.start, r.end, r.name.as_deref())).collect();
        assert_eq!(spans, [("chr1", 1, 10, None), ("chr2", 100, 200, Some("CGI:1"))]);
        std::fs::write(&p, "chr1\t0\t10\nchr1\tten\t20\n").expect("write");
        let e = RegionSet::bed("cgi", &p).expect_err("bad start").to_string();
        assert!(e.contains("cgi.bed:2") && e.contains("start"), "{e}");
    }

    #[test]
    fn region_beta_sums_calls() {
        let set = RegionSet {
            name: "r".into(),
            regions: vec![
                Region { id: "a".into(), name: None, chrom: "chr1".into(), start: 10, end: 20, strand: None },
                Region { id: "b".into(), name: None, chrom: "chr1".into(), start: 15, end: 30, strand: None },
                Region { id: "c".into(), name: None, chrom: "chr2".into(), start: 1, end: 5, strand: None },
            ],
        };
        let mut acc = RegionAccumulator::new(set, 2);
        // Two samples; the second's calls are the first's doubled. One segment per chromosome,
        // the first split in two so a region spans segments.
        let add = |acc: &mut RegionAccumulator, chrom: &str, pos: &[u64], calls: &[(u64, u64)]| {
            let m: Vec<u64> = calls.iter().map(|c| c.0).chain(calls.iter().map(|c| 2 * c.0)).collect();
            let c: Vec<u64> = calls.iter().map(|c| c.1).chain(calls.iter().map(|c| 2 * c.1)).collect();
            acc.add(&Segment { chrom, pos, methylated: &m, coverage: &c, stride: pos.len(), first: 0 });
        };
        add(&mut acc, "chr1", &[12, 18], &[(9, 10), (0, 2)]);
        assert!(acc.finished().is_none(), "region a is still open");
        add(&mut acc, "chr1", &[25], &[(1, 1)]);
        let (r, a) = acc.finished().expect("a is passed");
        assert_eq!((r, a.methylated, a.coverage, a.sites), (0, vec![9, 18], vec![12, 24], 2));
        assert!(acc.finished().is_none(), "region b is still open");
        add(&mut acc, "chr2", &[3], &[(2, 4)]);
        let (r, b) = acc.finished().expect("b is passed");
        assert_eq!((r, b.methylated, b.coverage, b.sites), (1, vec![1, 2], vec![3, 6], 2));
        acc.close();
        let (r, c) = acc.finished().expect("c is closed");
        assert_eq!((r, c.methylated, c.coverage, c.sites), (2, vec![2, 4], vec![4, 8], 1));
        assert!(acc.finished().is_none());
    }
}
