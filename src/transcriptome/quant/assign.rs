//! Overlap rules: which gene, if any, an aligned read is counted for.

use std::io;

use noodles::sam::alignment::record::cigar::op::{Kind, Op};

use super::outcome::Category;
use super::{QuantOptions, Strandedness};
use crate::annotation::{FeatureSet, Strand};

/// Reusable per-thread state for assigning reads (buffers live across records).
///
/// `Q` is the overlap query from [`crate::annotation::FeatureIndex::querier`].
pub struct Assigner<'a, Q> {
    features: &'a FeatureSet,
    query: Q,
    strandedness: Strandedness,
    allow_multi_overlap: bool,
    genes: Vec<u32>,
}

impl<'a, Q: FnMut(u32, u64, u64, &mut dyn FnMut(u32))> Assigner<'a, Q> {
    /// A new assigner for one thread.
    pub fn new(features: &'a FeatureSet, query: Q, options: &QuantOptions) -> Self {
        Self {
            features,
            query,
            strandedness: options.strandedness,
            allow_multi_overlap: options.allow_multi_overlap,
            genes: Vec::new(),
        }
    }

    /// Assigns one mapped alignment starting at 1-based `start` on `contig`, adding to `counts`.
    ///
    /// Aligned blocks are the reference spans of `M`/`=`/`X` and `D` operations; `N` (introns)
    /// separates blocks; soft and hard clips and insertions cover no reference.
    pub fn assign(
        &mut self,
        contig: u32,
        start: u64,
        cigar: impl Iterator<Item = io::Result<Op>>,
        reverse: bool,
        counts: &mut [u64],
    ) -> io::Result<Category> {
        self.genes.clear();
        let mut pos = start - 1; // 0-based
        let mut block_start = pos;
        for op in cigar {
            let op = op?;
            let len = op.len() as u64;
            match op.kind() {
                Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch | Kind::Deletion => pos += len,
                Kind::Skip => {
                    self.collect(contig, block_start, pos, reverse);
                    pos += len;
                    block_start = pos;
                }
                Kind::Insertion | Kind::SoftClip | Kind::HardClip | Kind::Pad => {}
            }
        }
        self.collect(contig, block_start, pos, reverse);
        Ok(match self.genes.len() {
            0 => Category::NoFeatures,
            1 => {
                counts[self.genes[0] as usize] += 1;
                Category::Assigned
            }
            _ if self.allow_multi_overlap => {
                for &g in &self.genes {
                    counts[g as usize] += 1;
                }
                Category::Assigned
            }
            _ => Category::Ambiguity,
        })
    }

    /// Adds the distinct genes whose exons overlap `[start, end)` and pass the strand rule.
    fn collect(&mut self, contig: u32, start: u64, end: u64, reverse: bool) {
        let (features, strandedness, genes) = (self.features, self.strandedness, &mut self.genes);
        (self.query)(contig, start, end, &mut |e| {
            let exon = &features.exons[e as usize];
            let ok = match (strandedness, exon.strand) {
                (Strandedness::Unstranded, _) | (_, Strand::Unknown) => true,
                (Strandedness::Forward, s) => (s == Strand::Reverse) == reverse,
                (Strandedness::Reverse, s) => (s == Strand::Reverse) != reverse,
            };
            if ok && !genes.contains(&exon.gene) {
                genes.push(exon.gene);
            }
        });
    }
}
