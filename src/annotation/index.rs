//! Overlap queries: which exons does an aligned block touch?
//!
//! Two tiers. A short block (the aligned pieces of short reads: within two 4 kb bins) is answered
//! from a flat bin table: each bin lists the exons overlapping it, sorted by start, so a query
//! reads one or two short runs of memory and stops at the first exon starting past the block.
//! A longer block (long reads, read extension) goes to one `bio` [`ArrayBackedIntervalTree`] per
//! contig (a sorted array with an implicit augmented tree), whose cost does not grow with the
//! block's length. The bins took the overlap query from 29% of a short-read count's time to a
//! few percent. bio does not export the tree's entry type, so the reusable buffer lives inside
//! the closure [`FeatureIndex::querier`] returns; each worker thread makes its own.

use bio::data_structures::interval_tree::ArrayBackedIntervalTree;

use super::feature::FeatureSet;

/// An overlap query: `query(contig, start, end, visit)` calls `visit(exon)` for every exon
/// overlapping the 0-based half-open `[start, end)` on `contig`.
pub trait OverlapQuery: FnMut(u32, u64, u64, &mut dyn FnMut(u32)) {}

impl<F: FnMut(u32, u64, u64, &mut dyn FnMut(u32))> OverlapQuery for F {}

/// log2 of the bin width: 4 kb, ten times a typical exon, so most exons sit in one bin.
const BIN_SHIFT: u32 = 12;

/// Per-contig bin tables and interval trees over exons; values are exon indices.
pub struct FeatureIndex {
    trees: Vec<ArrayBackedIntervalTree<u64, u32>>,
    bins: Vec<Bins>,
}

/// One contig's exons by 4 kb bin: `entries[offsets[b]..offsets[b + 1]]` overlap bin `b`.
#[derive(Default)]
struct Bins {
    offsets: Vec<u32>,
    entries: Vec<Entry>,
}

/// An exon as the bin table holds it: 0-based half-open, so a query needs no other lookup.
/// Positions fit 32 bits: SAM and BAM positions are 31-bit (an annotation end past that is
/// clamped: no read reaches it).
#[derive(Clone, Copy)]
struct Entry {
    start: u32,
    end: u32,
    exon: u32,
}

impl Entry {
    fn new(exon: u32, e: &super::feature::Exon) -> Self {
        let clamp = |p: u64| p.min(u64::from(u32::MAX)) as u32;
        Self { start: clamp(e.start - 1), end: clamp(e.end), exon }
    }
}

impl Bins {
    fn new(ids: &[u32], features: &FeatureSet) -> Self {
        let exons = ids.iter().map(|&i| Entry::new(i, &features.exons[i as usize]));
        let Some(last) = exons.clone().map(|e| e.end).max().filter(|&e| e > 0) else { return Self::default() };
        let n = ((last - 1) >> BIN_SHIFT) as usize + 1;
        let span = |e: &Entry| (e.start >> BIN_SHIFT) as usize..=((e.end.max(e.start + 1) - 1) >> BIN_SHIFT) as usize;
        let mut offsets = vec![0u32; n + 1];
        for e in exons.clone() {
            for b in span(&e) {
                offsets[b + 1] += 1;
            }
        }
        for b in 0..n {
            offsets[b + 1] += offsets[b];
        }
        let mut fill = offsets.clone();
        let mut entries = vec![Entry { start: 0, end: 0, exon: 0 }; offsets[n] as usize];
        for e in exons {
            for b in span(&e) {
                entries[fill[b] as usize] = e;
                fill[b] += 1;
            }
        }
        for b in 0..n {
            entries[offsets[b] as usize..offsets[b + 1] as usize].sort_unstable_by_key(|e| (e.start, e.exon));
        }
        Self { offsets, entries }
    }

    /// Visits each exon overlapping `[start, end)` once, if the block spans at most two bins;
    /// `false` (nothing visited) for a longer block.
    #[inline]
    fn query(&self, start: u64, end: u64, visit: &mut dyn FnMut(u32)) -> bool {
        let (first, last) = ((start >> BIN_SHIFT) as usize, ((end - 1) >> BIN_SHIFT) as usize);
        if last > first + 1 {
            return false;
        }
        let bins = self.offsets.len().saturating_sub(1);
        for b in first..=last.min(bins.saturating_sub(1)) {
            let run = &self.entries[self.offsets[b] as usize..self.offsets[b + 1] as usize];
            for e in run {
                if u64::from(e.start) >= end {
                    break;
                }
                // An exon reaching back into the first bin was visited there.
                if u64::from(e.end) > start && (b == first || (e.start >> BIN_SHIFT) as usize == b) {
                    visit(e.exon);
                }
            }
        }
        true
    }
}

impl FeatureIndex {
    /// Builds the index over every exon of `features`.
    pub fn new(features: &FeatureSet) -> Self {
        let mut trees: Vec<ArrayBackedIntervalTree<u64, u32>> =
            (0..features.contigs.len()).map(|_| ArrayBackedIntervalTree::new()).collect();
        let mut by_contig: Vec<Vec<u32>> = vec![Vec::new(); features.contigs.len()];
        for (i, exon) in features.exons.iter().enumerate() {
            // Half-open, 0-based: [start - 1, end).
            trees[exon.contig as usize].insert((exon.start - 1)..exon.end, i as u32);
            by_contig[exon.contig as usize].push(i as u32);
        }
        for tree in &mut trees {
            tree.index();
        }
        Self { trees, bins: by_contig.iter().map(|ids| Bins::new(ids, features)).collect() }
    }

    /// A query function with its own reusable hit buffer: `query(contig, start, end, visit)`
    /// calls `visit(exon)` for every exon overlapping the 0-based half-open `[start, end)`.
    pub fn querier(&self) -> impl OverlapQuery + '_ {
        let mut hits = Vec::new();
        move |contig, start, end, visit| {
            if end <= start {
                return;
            }
            if self.bins.get(contig as usize).is_some_and(|b| b.query(start, end, visit)) {
                return;
            }
            if let Some(tree) = self.trees.get(contig as usize) {
                tree.find_into(start..end, &mut hits);
                for hit in &hits {
                    visit(*hit.data());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotation::Strand;

    #[test]
    fn finds_overlaps_with_one_based_inclusive_exons() {
        let mut set = FeatureSet::default();
        set.push("g1", "chr1", 100, 199, Strand::Forward);
        set.push("g2", "chr1", 150, 300, Strand::Reverse);
        set.push("g3", "chr2", 1, 10, Strand::Forward);
        let index = FeatureIndex::new(&set);
        let mut query = index.querier();
        let mut found = |contig, start, end| {
            let mut v = Vec::new();
            query(contig, start, end, &mut |e| v.push(e));
            v.sort_unstable();
            v
        };
        // 0-based [99, 100) is 1-based base 100: first base of g1.
        assert_eq!(found(0, 99, 100), vec![0]);
        assert_eq!(found(0, 98, 99), Vec::<u32>::new());
        assert_eq!(found(0, 199, 200), vec![1]); // base 200: only g2
        assert_eq!(found(0, 160, 170), vec![0, 1]);
        assert_eq!(found(1, 0, 5), vec![2]);
        assert_eq!(found(7, 0, 5), Vec::<u32>::new());
    }
}
