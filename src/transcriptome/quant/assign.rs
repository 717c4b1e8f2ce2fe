//! Overlap rules: which gene(s), if any, a read or fragment is counted for.
//!
//! featureCounts' vote (its `vote_and_add_count`): every gene overlapped by an aligned block of
//! either end scores the number of ends that hit it, or with `--largest-overlap` the number of
//! bases the fragment overlaps it (the union over blocks and ends). Genes overlapping fewer than
//! `--min-overlap` bases drop out (Unassigned_Overlapping_Length when none is left). The highest
//! score wins; a tie is Unassigned_Ambiguity unless `-O`, which counts every gene at the top
//! score (each 1/k with `--fraction`).
//!
//! With `-f` the vote is among features (annotation rows) instead of genes. The overlap filters
//! follow featureCounts too: `--fracOverlapFeature`/`--nonOverlapFeature` drop each feature the
//! fragment covers too little of (a fragment left with none is Unassigned_NoFeatures), then
//! `--minOverlap`, `--fracOverlap` and `--nonOverlap` drop each gene (feature) the fragment
//! overlaps by fewer bases than the strictest of them asks.

use super::outcome::Category;
use super::{QuantOptions, Strandedness};
use crate::annotation::{FeatureSet, OverlapQuery, Strand};

/// One exon overlapped by one aligned block of one end.
#[derive(Clone, Copy, Debug)]
struct Hit {
    /// What the vote is among: the gene, or the exon with `-f`.
    key: u32,
    exon: u32,
    contig: u32,
    start: u64,
    end: u64,
    /// Bit 1 for the first end, 2 for the second.
    end_bit: u8,
    /// Passes the strandedness rule.
    strand_ok: bool,
    /// featureCounts' search order (block, then feature start; of features starting together,
    /// the later annotation row first), which orders `-R CORE`'s targets.
    seq: (u32, u64, u32),
    /// The fragment's strand equals the feature's.
    sense: bool,
}

/// Reusable per-thread assignment state (buffers live across records).
///
/// `Q` is the overlap query from [`crate::annotation::FeatureIndex::querier`].
pub struct Assigner<'a, Q> {
    features: &'a FeatureSet,
    query: Q,
    strandedness: Strandedness,
    allow_multi_overlap: bool,
    largest_overlap: bool,
    min_overlap: u64,
    frac_overlap: f32,
    frac_overlap_feature: f32,
    non_overlap: Option<u64>,
    non_overlap_feature: Option<u64>,
    feature_level: bool,
    need_overlap: bool,
    fraction: bool,
    hits: Vec<Hit>,
    /// Per gene (feature) left after the filters: key, score, first hit's `seq`.
    genes: Vec<(u32, u64, (u32, u64, u32))>,
    /// Blocks looked up for the current read, numbering them for `seq`.
    blocks_seen: u32,
    winners: Vec<u32>,
}

/// featureCounts 2.0.3's threshold for a fraction of `n` bases: the single-precision fraction
/// times `n`, rounded up (0.3 of 100 bases asks for 31: 0.3 is 0.30000001 in single precision;
/// verified on the binary. Later releases forgive a remainder under 0.001).
pub fn fraction_threshold(fraction: f32, n: u64) -> u64 {
    (f64::from(fraction) * n as f64).ceil() as u64
}

impl<'a, Q: OverlapQuery> Assigner<'a, Q> {
    /// A new assigner for one thread.
    pub fn new(features: &'a FeatureSet, query: Q, options: &QuantOptions) -> Self {
        Self {
            features,
            query,
            strandedness: options.strandedness,
            allow_multi_overlap: options.allow_multi_overlap,
            largest_overlap: options.largest_overlap,
            min_overlap: u64::from(options.min_overlap),
            frac_overlap: options.frac_overlap,
            frac_overlap_feature: options.frac_overlap_feature,
            non_overlap: options.non_overlap.map(u64::from),
            non_overlap_feature: options.non_overlap_feature.map(u64::from),
            feature_level: options.feature_level,
            need_overlap: options.needs_overlap_lengths(),
            fraction: options.fraction,
            hits: Vec::new(),
            genes: Vec::new(),
            blocks_seen: 0,
            winners: Vec::new(),
        }
    }

    /// Forgets the previous read's hits.
    pub fn clear(&mut self) {
        self.hits.clear();
        self.blocks_seen = 0;
    }

    /// The genes (features) the last read assigned by [`Assigner::decide`] was counted for, in
    /// the order featureCounts lists them.
    pub fn winners(&self) -> &[u32] {
        &self.winners
    }

    /// Collects the exons hit by one end's aligned blocks (0-based half-open) on `contig`.
    /// `negative` is the fragment strand this end implies.
    pub fn add_end(&mut self, end_bit: u8, contig: u32, blocks: &[(u64, u64)], negative: bool) {
        let (features, strandedness, hits, feature_level) =
            (self.features, self.strandedness, &mut self.hits, self.feature_level);
        for &(start, end) in blocks {
            let block = self.blocks_seen;
            self.blocks_seen += 1;
            (self.query)(contig, start, end, &mut |e| {
                let exon = &features.exons[e as usize];
                // A '.' feature is read as '+' for the strand tally; featureCounts' strand test
                // stores it as -1, which `-s 1` never matches and `-s 2` always passes.
                let sense = (exon.strand == Strand::Reverse) == negative;
                let strand_ok = match (strandedness, exon.strand) {
                    (Strandedness::Unstranded, _) => true,
                    (Strandedness::Forward, Strand::Unknown) => false,
                    (Strandedness::Reverse, Strand::Unknown) => true,
                    (Strandedness::Forward, _) => sense,
                    (Strandedness::Reverse, _) => !sense,
                };
                let seq = (block, exon.start, u32::MAX - e);
                hits.push(Hit {
                    seq,
                    key: if feature_level { e } else { exon.gene },
                    exon: e,
                    contig,
                    start: start.max(exon.start - 1),
                    end: end.min(exon.end),
                    end_bit,
                    strand_ok,
                    sense,
                });
            });
        }
    }

    /// Sense (`Some(true)`) or antisense (`Some(false)`) when every hit, ignoring the
    /// strandedness rule, agrees; `None` when there is no hit or they disagree.
    pub fn orientation(&self) -> Option<bool> {
        let first = self.hits.first()?.sense;
        self.hits.iter().all(|h| h.sense == first).then_some(first)
    }

    /// Decides the collected hits, adding `units` (of 1/65536: a whole read, or 1/NH with
    /// `--fraction`) to `counts` (per gene, or per feature with `-f`); with `-O --fraction` each
    /// of k winners gets `units / k`, rounded down as featureCounts does. `fragment_length` is
    /// the read's (fragment's) length as featureCounts measures it, for `--fracOverlap` and
    /// `--nonOverlap`.
    pub fn decide(&mut self, units: u32, fragment_length: u64, counts: &mut [f64]) -> Category {
        let weight = f64::from(units) / f64::from(super::UNIT);
        self.winners.clear();
        self.hits.retain(|h| h.strand_ok);
        if self.frac_overlap_feature > 0.0 || self.non_overlap_feature.is_some() {
            self.drop_little_covered_features();
        }
        let Some(first) = self.hits.first() else {
            return Category::NoFeatures;
        };
        // The common case: every hit is one gene and no overlap length matters.
        if !self.need_overlap {
            let key = first.key;
            if self.hits.iter().all(|h| h.key == key) {
                counts[key as usize] += weight;
                self.winners.push(key);
                return Category::Assigned;
            }
        }
        let threshold = if self.need_overlap {
            let missing = match self.non_overlap {
                Some(n) if fragment_length <= n => 0,
                Some(n) => fragment_length - n,
                None => 1,
            };
            self.min_overlap.max(fraction_threshold(self.frac_overlap, fragment_length)).max(missing)
        } else {
            0
        };
        self.hits.sort_unstable_by_key(|h| (h.key, h.contig, h.start, h.end));
        // Per gene (feature): (key, score), score = ends hitting it or overlapping bases.
        self.genes.clear();
        let mut i = 0;
        while i < self.hits.len() {
            let key = self.hits[i].key;
            let end = i + self.hits[i..].iter().take_while(|h| h.key == key).count();
            let group = &self.hits[i..end];
            i = end;
            let ends = group.iter().fold(0u8, |bits, h| bits | h.end_bit);
            let first = group.iter().map(|h| h.seq).min().unwrap_or((u32::MAX, u64::MAX, u32::MAX));
            let overlap = if self.need_overlap { union_length(group) } else { 0 };
            if self.need_overlap && overlap < threshold {
                continue;
            }
            // -O counts every gene hit, by one end or both: no preference for two-end hits.
            let score = if self.largest_overlap {
                overlap
            } else if self.allow_multi_overlap {
                1
            } else {
                u64::from(ends.count_ones())
            };
            self.genes.push((key, score, first));
        }
        let Some(best) = self.genes.iter().map(|g| g.1).max() else {
            return Category::OverlappingLength;
        };
        let top = self.genes.iter().filter(|g| g.1 == best).count();
        if top > 1 && !self.allow_multi_overlap {
            return Category::Ambiguity;
        }
        self.genes.retain(|g| g.1 == best);
        self.genes.sort_unstable_by_key(|g| g.2);
        let share =
            if top > 1 && self.fraction { f64::from(units / top as u32) / f64::from(super::UNIT) } else { weight };
        for &(key, _, _) in &self.genes {
            counts[key as usize] += share;
            self.winners.push(key);
        }
        Category::Assigned
    }

    /// `--fracOverlapFeature` / `--nonOverlapFeature`: drops the hits of every feature the
    /// fragment (both ends, every block) covers fewer bases of than asked.
    fn drop_little_covered_features(&mut self) {
        self.hits.sort_unstable_by_key(|h| (h.exon, h.start, h.end));
        let (features, fraction, most_missing) = (self.features, self.frac_overlap_feature, self.non_overlap_feature);
        let mut kept = 0;
        let mut i = 0;
        while i < self.hits.len() {
            let exon = self.hits[i].exon;
            let j = i + self.hits[i..].iter().take_while(|h| h.exon == exon).count();
            let covered = union_length(&self.hits[i..j]);
            let e = &features.exons[exon as usize];
            let span = e.end + 1 - e.start;
            let missing = match most_missing {
                Some(n) if span > n => span - n,
                _ => 0,
            };
            if fraction_threshold(fraction, span).max(missing) <= covered {
                for k in i..j {
                    self.hits[kept] = self.hits[k];
                    kept += 1;
                }
            }
            i = j;
        }
        self.hits.truncate(kept);
    }
}

/// Bases covered by the union of hit spans sorted by (contig, start): overlapping spans (mates
/// over the same bases, a feature hit by two blocks) count once.
fn union_length(hits: &[Hit]) -> u64 {
    let mut total = 0;
    let mut current: Option<(u32, u64, u64)> = None;
    for h in hits {
        match current {
            Some((c, s, e)) if c == h.contig && h.start <= e => current = Some((c, s, e.max(h.end))),
            previous => {
                total += previous.map_or(0, |(_, s, e)| e - s);
                current = Some((h.contig, h.start, h.end));
            }
        }
    }
    total + current.map_or(0, |(_, s, e)| e - s)
}
