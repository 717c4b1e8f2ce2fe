//! Overlap rules: which gene(s), if any, a read or fragment is counted for.
//!
//! featureCounts' vote (its `vote_and_add_count`): every gene overlapped by an aligned block of
//! either end scores the number of ends that hit it, or with `--largest-overlap` the number of
//! bases the fragment overlaps it (the union over blocks and ends). Genes overlapping fewer than
//! `--min-overlap` bases drop out (Unassigned_Overlapping_Length when none is left). The highest
//! score wins; a tie is Unassigned_Ambiguity unless `-O`, which counts every gene at the top
//! score (each 1/k with `--fraction`).

use super::outcome::Category;
use super::{QuantOptions, Strandedness};
use crate::annotation::{FeatureSet, OverlapQuery, Strand};

/// One exon overlapped by one aligned block of one end.
#[derive(Clone, Copy, Debug)]
struct Hit {
    gene: u32,
    contig: u32,
    start: u64,
    end: u64,
    /// Bit 1 for the first end, 2 for the second.
    end_bit: u8,
    /// Passes the strandedness rule.
    strand_ok: bool,
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
    fraction: bool,
    hits: Vec<Hit>,
    genes: Vec<(u32, u64)>,
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
            fraction: options.fraction,
            hits: Vec::new(),
            genes: Vec::new(),
        }
    }

    /// Forgets the previous read's hits.
    pub fn clear(&mut self) {
        self.hits.clear();
    }

    /// Collects the exons hit by one end's aligned blocks (0-based half-open) on `contig`.
    /// `negative` is the fragment strand this end implies.
    pub fn add_end(&mut self, end_bit: u8, contig: u32, blocks: &[(u64, u64)], negative: bool) {
        let (features, strandedness, hits) = (self.features, self.strandedness, &mut self.hits);
        for &(start, end) in blocks {
            (self.query)(contig, start, end, &mut |e| {
                let exon = &features.exons[e as usize];
                // featureCounts stores '.' as '+'.
                let sense = (exon.strand == Strand::Reverse) == negative;
                let strand_ok = match strandedness {
                    Strandedness::Unstranded => true,
                    Strandedness::Forward => sense,
                    Strandedness::Reverse => !sense,
                };
                hits.push(Hit {
                    gene: exon.gene,
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

    /// Decides the collected hits, adding `weight` (1, or 1/NH with `--fraction`) to `counts`.
    pub fn decide(&mut self, weight: f64, counts: &mut [f64]) -> Category {
        self.hits.retain(|h| h.strand_ok);
        let Some(first) = self.hits.first() else {
            return Category::NoFeatures;
        };
        // The common case: every hit is one gene and no overlap length matters.
        let need_overlap = self.largest_overlap || self.min_overlap > 1;
        if !need_overlap {
            let gene = first.gene;
            if self.hits.iter().all(|h| h.gene == gene) {
                counts[gene as usize] += weight;
                return Category::Assigned;
            }
        }
        self.hits.sort_unstable_by_key(|h| (h.gene, h.contig, h.start, h.end));
        // Per gene: (gene, score), score = ends hitting it or overlapping bases.
        self.genes.clear();
        let mut i = 0;
        while i < self.hits.len() {
            let gene = self.hits[i].gene;
            let mut ends = 0u8;
            let mut overlap = 0u64;
            let mut current: Option<(u32, u64, u64)> = None;
            while i < self.hits.len() && self.hits[i].gene == gene {
                let h = self.hits[i];
                ends |= h.end_bit;
                if need_overlap {
                    match current {
                        Some((c, s, e)) if c == h.contig && h.start <= e => current = Some((c, s, e.max(h.end))),
                        _ => {
                            if let Some((_, s, e)) = current {
                                overlap += e - s;
                            }
                            current = Some((h.contig, h.start, h.end));
                        }
                    }
                }
                i += 1;
            }
            if let Some((_, s, e)) = current {
                overlap += e - s;
            }
            if self.min_overlap > 1 && overlap < self.min_overlap {
                continue;
            }
            let score = if self.largest_overlap { overlap } else { u64::from(ends.count_ones()) };
            self.genes.push((gene, score));
        }
        let Some(best) = self.genes.iter().map(|g| g.1).max() else {
            return Category::OverlappingLength;
        };
        let top = self.genes.iter().filter(|g| g.1 == best).count();
        if top == 1 && !self.allow_multi_overlap {
            if let Some(&(gene, _)) = self.genes.iter().find(|g| g.1 == best) {
                counts[gene as usize] += weight;
            }
            Category::Assigned
        } else if self.allow_multi_overlap {
            let share = if self.fraction { weight / top as f64 } else { weight };
            for &(gene, score) in &self.genes {
                if score == best {
                    counts[gene as usize] += share;
                }
            }
            Category::Assigned
        } else {
            Category::Ambiguity
        }
    }
}
