//! Overlap queries: which exons does an aligned block touch?
//!
//! One `bio` [`ArrayBackedIntervalTree`] per contig (a sorted array with an implicit augmented
//! tree: cache-friendly, and allocation-free to query through `find_into` with a reused buffer).
//! bio does not export the tree's entry type, so the reusable buffer lives inside the closure
//! [`FeatureIndex::querier`] returns; each worker thread makes its own.

use bio::data_structures::interval_tree::ArrayBackedIntervalTree;

use super::feature::FeatureSet;

/// An overlap query: `query(contig, start, end, visit)` calls `visit(exon)` for every exon
/// overlapping the 0-based half-open `[start, end)` on `contig`.
pub trait OverlapQuery: FnMut(u32, u64, u64, &mut dyn FnMut(u32)) {}

impl<F: FnMut(u32, u64, u64, &mut dyn FnMut(u32))> OverlapQuery for F {}

/// Per-contig interval trees over exons; values are exon indices.
pub struct FeatureIndex {
    trees: Vec<ArrayBackedIntervalTree<u64, u32>>,
}

impl FeatureIndex {
    /// Builds the index over every exon of `features`.
    pub fn new(features: &FeatureSet) -> Self {
        let mut trees: Vec<ArrayBackedIntervalTree<u64, u32>> =
            (0..features.contigs.len()).map(|_| ArrayBackedIntervalTree::new()).collect();
        for (i, exon) in features.exons.iter().enumerate() {
            // Half-open, 0-based: [start - 1, end).
            trees[exon.contig as usize].insert((exon.start - 1)..exon.end, i as u32);
        }
        for tree in &mut trees {
            tree.index();
        }
        Self { trees }
    }

    /// A query function with its own reusable hit buffer: `query(contig, start, end, visit)`
    /// calls `visit(exon)` for every exon overlapping the 0-based half-open `[start, end)`.
    pub fn querier(&self) -> impl OverlapQuery + '_ {
        let mut hits = Vec::new();
        move |contig, start, end, visit| {
            if end <= start {
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
