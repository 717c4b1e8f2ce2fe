//! The transcriptome's Parquet tables: per-sample counts, features and per-sample QC.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::ArrowError;

use super::quant::{Category, SampleCounts};
use crate::annotation::FeatureSet;
use crate::io::parquet::batch;

/// `samples/<id>.parquet`: `feature_id`, `count`.
pub fn sample_counts(features: &FeatureSet, counts: &SampleCounts) -> Result<RecordBatch, ArrowError> {
    batch(vec![
        (
            "feature_id",
            Arc::new(StringArray::from_iter_values(features.genes.iter().map(|g| g.id.as_str()))) as ArrayRef,
        ),
        (
            "count",
            if counts.fractional {
                Arc::new(Float64Array::from(counts.counts.clone())) as ArrayRef
            } else {
                Arc::new(UInt64Array::from(counts.integer_counts()))
            },
        ),
    ])
}

/// `quant rna -f`: one row per annotation row (feature), in annotation order: `feature_id` (its
/// gene, as featureCounts names the row), `chrom`, `start`, `end`, `strand`, then a count
/// column per file (`count` for one file).
pub fn feature_level_counts(
    features: &FeatureSet,
    names: &[String],
    samples: &[SampleCounts],
) -> Result<RecordBatch, ArrowError> {
    let exons = &features.exons;
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        (
            "feature_id",
            Arc::new(StringArray::from_iter_values(exons.iter().map(|e| features.genes[e.gene as usize].id.as_str()))),
        ),
        (
            "chrom",
            Arc::new(StringArray::from_iter_values(exons.iter().map(|e| features.contigs[e.contig as usize].as_str()))),
        ),
        ("start", Arc::new(UInt64Array::from_iter_values(exons.iter().map(|e| e.start)))),
        ("end", Arc::new(UInt64Array::from_iter_values(exons.iter().map(|e| e.end)))),
        ("strand", Arc::new(StringArray::from_iter_values(exons.iter().map(|e| e.strand.as_char().to_string())))),
    ];
    for (name, counts) in names.iter().zip(samples) {
        let name = if samples.len() == 1 { "count" } else { name.as_str() };
        let column: ArrayRef = if counts.fractional {
            Arc::new(Float64Array::from(counts.counts.clone()))
        } else {
            Arc::new(UInt64Array::from(counts.integer_counts()))
        };
        columns.push((name, column));
    }
    batch(columns)
}

/// `features.parquet`: one row per gene, in annotation order.
///
/// `chrom`/`strand` are the gene's (distinct values joined by `;` in the rare gene that spans
/// several), `start`/`end` its outermost exon bounds (1-based, inclusive), `length` the union
/// of its exons (featureCounts' `Length`). `gene_name` is null where the annotation has none.
pub fn features(features: &FeatureSet) -> Result<RecordBatch, ArrowError> {
    let mut chrom = Vec::new();
    let mut strand = Vec::new();
    let mut start = Vec::new();
    let mut end = Vec::new();
    let mut length = Vec::new();
    let mut exons = Vec::new();
    for (i, gene) in features.genes.iter().enumerate() {
        let mut contigs: Vec<&str> = Vec::new();
        let mut strands: Vec<char> = Vec::new();
        let (mut lo, mut hi) = (u64::MAX, 0);
        for &e in &gene.exons {
            let exon = &features.exons[e as usize];
            let c = features.contigs[exon.contig as usize].as_str();
            if !contigs.contains(&c) {
                contigs.push(c);
            }
            if !strands.contains(&exon.strand.as_char()) {
                strands.push(exon.strand.as_char());
            }
            lo = lo.min(exon.start);
            hi = hi.max(exon.end);
        }
        chrom.push(contigs.join(";"));
        strand.push(strands.iter().map(char::to_string).collect::<Vec<_>>().join(";"));
        start.push(lo);
        end.push(hi);
        length.push(features.gene_length(i));
        exons.push(gene.exons.len() as u32);
    }
    batch(vec![
        (
            "feature_id",
            Arc::new(StringArray::from_iter_values(features.genes.iter().map(|g| g.id.as_str()))) as ArrayRef,
        ),
        ("gene_name", Arc::new(StringArray::from_iter(features.genes.iter().map(|g| g.name.as_deref())))),
        ("chrom", Arc::new(StringArray::from(chrom))),
        ("start", Arc::new(UInt64Array::from(start))),
        ("end", Arc::new(UInt64Array::from(end))),
        ("strand", Arc::new(StringArray::from(strand))),
        ("length", Arc::new(UInt64Array::from(length))),
        ("exons", Arc::new(UInt32Array::from(exons))),
    ])
}

/// `qc.parquet`: one row per sample with every featureCounts category, the total and the
/// assigned fraction (null when a BAM has no records).
pub fn qc(sample_ids: &[&str], samples: &[&SampleCounts]) -> Result<RecordBatch, ArrowError> {
    let mut columns: Vec<(&str, ArrayRef)> =
        vec![("sample_id", Arc::new(StringArray::from_iter_values(sample_ids.iter().copied())))];
    for category in Category::ALL {
        columns.push((
            category.name(),
            Arc::new(UInt64Array::from_iter_values(samples.iter().map(|s| s.summary.get(category)))),
        ));
    }
    columns
        .push(("total_alignments", Arc::new(UInt64Array::from_iter_values(samples.iter().map(|s| s.summary.total())))));
    let fraction = samples.iter().map(|s| {
        let total = s.summary.total();
        (total > 0).then(|| s.summary.get(Category::Assigned) as f64 / total as f64)
    });
    columns.push(("assigned_fraction", Arc::new(Float64Array::from_iter(fraction))));
    columns.push(("strand_sense", Arc::new(UInt64Array::from_iter_values(samples.iter().map(|s| s.strand.sense)))));
    columns.push((
        "strand_antisense",
        Arc::new(UInt64Array::from_iter_values(samples.iter().map(|s| s.strand.antisense))),
    ));
    columns.push((
        "strand_sense_fraction",
        Arc::new(Float64Array::from_iter(samples.iter().map(|s| s.strand.sense_fraction()))),
    ));
    let inferred = samples.iter().map(|s| s.strand.inferred().map(|x| u8::from(x).to_string()));
    columns.push(("inferred_strandedness", Arc::new(arrow_array::StringArray::from_iter(inferred))));
    batch(columns)
}

/// `factors.parquet` / `--factors`: per sample, library size and every method's factor.
pub fn factors(sample_ids: &[&str], f: &super::normalise::Factors) -> Result<RecordBatch, ArrowError> {
    let col = |v: &[Option<f64>]| -> ArrayRef { Arc::new(Float64Array::from(v.to_vec())) };
    batch(vec![
        ("sample_id", Arc::new(StringArray::from_iter_values(sample_ids.iter().copied())) as ArrayRef),
        ("library_size", col(&f.library_size)),
        ("size_factor", col(&f.size_factor)),
        ("size_factor_poscounts", col(&f.size_factor_poscounts)),
        ("tmm_factor", col(&f.tmm_factor)),
        ("uq_factor", col(&f.uq_factor)),
    ])
}
