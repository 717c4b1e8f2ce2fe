//! Micro-benchmarks of the hot paths: BAM counting, overlap queries, cohort normalisation.
//! Run: `cargo bench --bench quant`. The end-to-end comparison with featureCounts is
//! `benches/compare_featurecounts.sh`.

use std::path::PathBuf;

use divan::Bencher;
use harmonomics::annotation::{self, AnnotationFormat, FeatureIndex, FeatureSet};
use harmonomics::matrix::FeatureMatrix;
use harmonomics::transcriptome::normalise::cpm;
use harmonomics::transcriptome::quant::{QuantOptions, quantify};

fn main() {
    divan::main();
}

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-data").join(path)
}

fn features() -> FeatureSet {
    annotation::read(&data("annotation/hg38_refseq_fixture.saf"), AnnotationFormat::Saf).expect("fixture annotation")
}

/// One fixture BAM (~6,300 alignments), decode + assign, single thread.
#[divan::bench]
fn quantify_fixture_bam(bencher: Bencher) {
    let features = features();
    let index = FeatureIndex::new(&features);
    let bam = data("transcriptome/bam/P01_day0.bam");
    let options = QuantOptions::default();
    bencher.bench(|| quantify(&bam, &features, &index, &options, 1).expect("count"));
}

/// 100,000 overlap queries of 50 bp blocks spread over the annotated contigs.
#[divan::bench]
fn overlap_queries(bencher: Bencher) {
    let features = features();
    let index = FeatureIndex::new(&features);
    let probes: Vec<(u32, u64)> = (0..100_000u64)
        .map(|i| {
            let exon = &features.exons[(i as usize * 7919) % features.exons.len()];
            (exon.contig, exon.start.saturating_sub(25) + (i % 200))
        })
        .collect();
    bencher.bench(|| {
        let mut query = index.querier();
        let mut hits = 0u64;
        for &(contig, start) in &probes {
            query(contig, start, start + 50, &mut |_| hits += 1);
        }
        hits
    });
}

/// edgeR log-CPM of a 60,000 genes × 900 samples matrix (DESIGN.md: seconds, not minutes).
#[divan::bench(sample_count = 5)]
fn log2_cpm_60k_by_900(bencher: Bencher) {
    let (genes, samples) = (60_000usize, 900usize);
    let columns: Vec<Vec<f64>> =
        (0..samples).map(|j| (0..genes).map(|i| ((i * 2_654_435_761 + j * 40_503) % 1_000) as f64).collect()).collect();
    let m = FeatureMatrix::new(
        (0..genes).map(|i| format!("g{i}")).collect(),
        (0..samples).map(|j| format!("s{j}")).collect(),
        columns,
    );
    bencher.bench(|| cpm::log2_cpm(&m, 2.0));
}
