//! Genes (meta-features) and their exons (features).

use std::collections::HashMap;

/// Strand of a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strand {
    /// `+`
    Forward,
    /// `-`
    Reverse,
    /// `.`: unknown; matches reads on either strand.
    Unknown,
}

impl Strand {
    /// The SAF/GTF character.
    pub fn as_char(self) -> char {
        match self {
            Strand::Forward => '+',
            Strand::Reverse => '-',
            Strand::Unknown => '.',
        }
    }
}

/// One feature row (an exon): 1-based inclusive coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exon {
    /// Index into [`FeatureSet::contigs`].
    pub contig: u32,
    /// First base, 1-based.
    pub start: u64,
    /// Last base, 1-based inclusive.
    pub end: u64,
    /// Strand.
    pub strand: Strand,
    /// Index into [`FeatureSet::genes`].
    pub gene: u32,
}

/// A meta-feature: every exon sharing one gene id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gene {
    /// Gene identifier as written in the annotation.
    pub id: String,
    /// Gene name (GTF `gene_name`, GFF3 `gene_name` or `Name`), when the annotation has one.
    pub name: Option<String>,
    /// Indices into [`FeatureSet::exons`], in annotation order.
    pub exons: Vec<u32>,
}

/// All features of an annotation, genes in first-appearance order.
#[derive(Clone, Debug, Default)]
pub struct FeatureSet {
    /// Contig names in first-appearance order.
    pub contigs: Vec<String>,
    /// Exons in annotation order.
    pub exons: Vec<Exon>,
    /// Genes in first-appearance order.
    pub genes: Vec<Gene>,
    /// Per exon, the values of the attributes asked for with `--extraAttributes` (in the order
    /// asked; `None` where the row lacks one); empty when none were asked for.
    pub extra: Vec<Vec<Option<String>>>,
    gene_index: HashMap<String, u32>,
    contig_index: HashMap<String, u32>,
}

impl FeatureSet {
    /// Adds one exon row, creating its gene and contig on first sight.
    pub fn push(&mut self, gene_id: &str, contig: &str, start: u64, end: u64, strand: Strand) {
        self.push_named(gene_id, None, contig, start, end, strand);
    }

    /// [`FeatureSet::push`] with the gene's name (kept from the first row that has one).
    pub fn push_named(
        &mut self,
        gene_id: &str,
        name: Option<&str>,
        contig: &str,
        start: u64,
        end: u64,
        strand: Strand,
    ) {
        let contig = match self.contig_index.get(contig) {
            Some(&i) => i,
            None => {
                let i = self.contigs.len() as u32;
                self.contigs.push(contig.to_string());
                self.contig_index.insert(contig.to_string(), i);
                i
            }
        };
        let gene = match self.gene_index.get(gene_id) {
            Some(&i) => i,
            None => {
                let i = self.genes.len() as u32;
                self.genes.push(Gene { id: gene_id.to_string(), name: None, exons: Vec::new() });
                self.gene_index.insert(gene_id.to_string(), i);
                i
            }
        };
        let exon = self.exons.len() as u32;
        self.exons.push(Exon { contig, start, end, strand, gene });
        let g = &mut self.genes[gene as usize];
        g.exons.push(exon);
        if g.name.is_none() {
            g.name = name.map(str::to_string);
        }
    }

    /// The contig index of a name, if the annotation has it.
    pub fn contig(&self, name: &str) -> Option<u32> {
        self.contig_index.get(name).copied()
    }

    /// Gene lengths for `ids` (union of exons), `None` unless every id is a gene here.
    pub fn lengths_of(&self, ids: &[String]) -> Option<Vec<f64>> {
        ids.iter().map(|id| self.gene_index.get(id).map(|&g| self.gene_length(g as usize) as f64)).collect()
    }

    /// featureCounts' `Length`: the bases covered by the union of a gene's exons on each contig
    /// and strand, summed over them (featureCounts merges a gene's exons only within one contig
    /// and strand: exons overlapping on opposite strands count twice, measured on 2.0.3).
    pub fn gene_length(&self, gene: usize) -> u64 {
        let mut spans: Vec<((u32, char), u64, u64)> = self.genes[gene]
            .exons
            .iter()
            .map(|&e| &self.exons[e as usize])
            .map(|e| ((e.contig, e.strand.as_char()), e.start, e.end))
            .collect();
        spans.sort_unstable();
        let mut total = 0;
        let mut current: Option<((u32, char), u64, u64)> = None;
        for (group, start, end) in spans {
            match current {
                Some((g, s, e)) if g == group && start <= e + 1 => current = Some((g, s, e.max(end))),
                _ => {
                    if let Some((_, s, e)) = current {
                        total += e - s + 1;
                    }
                    current = Some((group, start, end));
                }
            }
        }
        if let Some((_, s, e)) = current {
            total += e - s + 1;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gene_length_is_the_union_of_exons() {
        let mut set = FeatureSet::default();
        set.push("g1", "chr1", 100, 199, Strand::Forward);
        set.push("g1", "chr1", 150, 249, Strand::Forward); // overlaps: union 100..249
        set.push("g1", "chr1", 250, 259, Strand::Forward); // adjacent: joins
        set.push("g1", "chr1", 300, 309, Strand::Forward);
        set.push("g2", "chr2", 1, 10, Strand::Reverse);
        // On the other strand the same bases count again, as featureCounts counts them.
        set.push("g1", "chr1", 150, 249, Strand::Reverse);
        assert_eq!(set.gene_length(0), 160 + 10 + 100);
        assert_eq!(set.gene_length(1), 10);
        assert_eq!(set.genes.len(), 2);
        assert_eq!(set.contig("chr2"), Some(1));
    }
}
