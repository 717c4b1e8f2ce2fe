//! The cohort-wide methylation matrices, built by a k-way merge of the per-sample files: one CpG
//! (row) at a time across every sample, so memory holds one row per sample file, the region sums
//! and nothing that grows with the number of CpGs (unless the caller asks for the CpG matrix).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use super::EpigenomeError;
use super::normalise::{NormaliseOptions, is_sex_chromosome};
use super::regions::{RegionAccumulator, RegionSet};
use super::sites::{SampleReader, Site, chrom_cmp};
use crate::io::OutputError;
use crate::io::parquet::{
    MatrixStream, Metadata, MetadataFor, ParquetStream, ROW_GROUP_ROWS, write_batch, write_matrix,
};
use crate::matrix::FeatureMatrix;

/// Why the cohort matrices could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A per-sample file could not be read.
    #[error(transparent)]
    Input(#[from] EpigenomeError),
    /// An output could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Per-sample QC gathered during the merge.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleQc {
    /// CpGs with at least one call.
    pub sites_covered: u64,
    /// CpGs reaching `min_coverage`.
    pub sites_min_coverage: u64,
    /// Calls over all CpGs.
    pub calls: u64,
    /// Methylated calls over all CpGs.
    pub methylated: u64,
}

impl SampleQc {
    /// Mean calls per covered CpG.
    pub fn mean_depth(&self) -> Option<f64> {
        (self.sites_covered > 0).then(|| self.calls as f64 / self.sites_covered as f64)
    }

    /// Methylated share of all CpG calls.
    pub fn global_methylation(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.methylated as f64 / self.calls as f64)
    }
}

/// What the merge produced besides its files.
#[derive(Debug)]
pub struct Assembled {
    /// CpGs seen in any sample.
    pub sites: u64,
    /// CpGs kept after the coverage and sample-fraction filters.
    pub kept: u64,
    /// CpGs left out of the normalised matrices for lying on chrX/chrY.
    pub sex_dropped: u64,
    /// Per-sample QC, in sample order.
    pub qc: Vec<SampleQc>,
    /// Region sums, one per configured set.
    pub regions: Vec<RegionAccumulator>,
}

/// The output files of [`assemble`], relative to the layer directory.
pub const CPG_FILES: [&str; 5] =
    ["features.parquet", "raw.parquet", "raw.methylated.parquet", "normalised.parquet", "normalised.mvalue.parquet"];

/// Streams the per-sample files into the cohort matrices under `dir`:
/// `raw.parquet` (coverage), `raw.methylated.parquet`, `features.parquet` (every CpG, with how
/// many samples cover it and whether it was kept), `normalised.parquet` (beta) and
/// `normalised.mvalue.parquet` (kept CpGs only).
pub fn assemble(
    sample_ids: &[String],
    paths: &[PathBuf],
    dir: &Path,
    options: &NormaliseOptions,
    regions: Vec<RegionSet>,
    metadata: &MetadataFor<'_>,
) -> Result<Assembled, AssembleError> {
    let n = sample_ids.len();
    let readers: Vec<SampleReader> = paths.iter().map(|p| SampleReader::open(p)).collect::<Result<_, _>>()?;
    let mut chroms: Vec<String> = readers.iter().flat_map(|r| r.chroms.iter().cloned()).collect();
    chroms.sort_by(|a, b| chrom_cmp(a, b));
    chroms.dedup();
    let ranks: Vec<Vec<usize>> = readers
        .iter()
        .map(|r| r.chroms.iter().map(|c| chroms.binary_search_by(|x| chrom_cmp(x, c)).unwrap_or(0)).collect())
        .collect();

    let params = serde_json::to_string(options).unwrap_or_default();
    let mut coverage_out =
        MatrixStream::<u64>::create(&dir.join(CPG_FILES[1]), sample_ids, &metadata(&[("values", "coverage".into())]))?;
    let mut methylated_out = MatrixStream::<u64>::create(
        &dir.join(CPG_FILES[2]),
        sample_ids,
        &metadata(&[("values", "methylated calls".into())]),
    )?;
    let mut beta_out = MatrixStream::<Option<f64>>::create(
        &dir.join(CPG_FILES[3]),
        sample_ids,
        &metadata(&[("method", "beta".into()), ("params", params.clone())]),
    )?;
    let mut m_out = MatrixStream::<Option<f64>>::create(
        &dir.join(CPG_FILES[4]),
        sample_ids,
        &metadata(&[("method", "mvalue".into()), ("params", params)]),
    )?;
    let mut features = FeatureStream::create(&dir.join(CPG_FILES[0]), &metadata(&[]))?;
    let mut accumulators: Vec<RegionAccumulator> = regions.into_iter().map(|s| RegionAccumulator::new(s, n)).collect();

    // The merge (reading every sample file in site order) runs on its own thread and hands
    // blocks of rows to this one, which writes the four matrices, the features and the region
    // sums concurrently: each output still receives its rows in site order, so its bytes do not
    // depend on the threads, and memory holds two blocks whatever the number of CpGs.
    let block_rows = ((8usize << 20) / (16 * n.max(1))).max(64);
    let (send, receive) = std::sync::mpsc::sync_channel::<Block>(2);
    let chroms_ref = &chroms;
    let (merged, written) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || merge(readers, &ranks, chroms_ref, paths, options, block_rows, send));
        let mut write_block = |block: &Block| -> Result<(), OutputError> {
            let ((cov, meth), (normalised, rest)) = rayon::join(
                || {
                    rayon::join(
                        || push_rows(&mut coverage_out, block, n, |(_, c)| c),
                        || push_rows(&mut methylated_out, block, n, |(m, _)| m),
                    )
                },
                || {
                    rayon::join(
                        || push_normalised(&mut beta_out, &mut m_out, block, n, options),
                        || {
                            for r in 0..block.ids.len() {
                                let chrom = &chroms_ref[block.chrom[r]];
                                features.push(
                                    &block.ids[r],
                                    chrom,
                                    block.pos[r],
                                    block.covered[r],
                                    block.passing[r],
                                    block.keep[r],
                                )?;
                                if !block.sex[r] {
                                    for acc in &mut accumulators {
                                        acc.add(chrom, block.pos[r], &block.calls[r * n..(r + 1) * n]);
                                    }
                                }
                            }
                            Ok(())
                        },
                    )
                },
            );
            cov?;
            meth?;
            normalised?;
            rest
        };
        let mut written = Ok(());
        for block in receive.iter() {
            written = write_block(&block);
            if written.is_err() {
                break;
            }
        }
        // Dropping the receiver stops a merge whose blocks can no longer be written.
        drop(receive);
        let merged = producer.join().unwrap_or_else(|_| {
            Err(EpigenomeError::File { path: dir.to_path_buf(), message: "the merge thread panicked".into() })
        });
        (merged, written)
    });
    let Merged { qc, sites, kept, sex_dropped } = merged?;
    written?;
    coverage_out.finish()?;
    methylated_out.finish()?;
    beta_out.finish()?;
    m_out.finish()?;
    features.finish()?;
    Ok(Assembled { sites, kept, sex_dropped, qc, regions: accumulators })
}

/// Rows of the merge on their way to the writers: per row its id, chromosome (rank), position,
/// the filters' verdicts, and every sample's (methylated, coverage), row-major.
struct Block {
    ids: Vec<String>,
    chrom: Vec<usize>,
    pos: Vec<u64>,
    covered: Vec<u64>,
    passing: Vec<u64>,
    keep: Vec<bool>,
    sex: Vec<bool>,
    calls: Vec<(u64, u64)>,
}

impl Block {
    fn with_capacity(rows: usize, n: usize) -> Self {
        Self {
            ids: Vec::with_capacity(rows),
            chrom: Vec::with_capacity(rows),
            pos: Vec::with_capacity(rows),
            covered: Vec::with_capacity(rows),
            passing: Vec::with_capacity(rows),
            keep: Vec::with_capacity(rows),
            sex: Vec::with_capacity(rows),
            calls: Vec::with_capacity(rows * n),
        }
    }
}

/// What the merge counted.
struct Merged {
    qc: Vec<SampleQc>,
    sites: u64,
    kept: u64,
    sex_dropped: u64,
}

/// The k-way merge of the sample files in (chromosome rank, position) order, sent on in blocks
/// of `block_rows`. Stops quietly when the writer has gone (its error is the one reported).
fn merge(
    mut readers: Vec<SampleReader>,
    ranks: &[Vec<usize>],
    chroms: &[String],
    paths: &[PathBuf],
    options: &NormaliseOptions,
    block_rows: usize,
    send: std::sync::mpsc::SyncSender<Block>,
) -> Result<Merged, EpigenomeError> {
    let n = readers.len();
    let mut heap: BinaryHeap<Reverse<(usize, u64, usize)>> = BinaryHeap::new();
    let mut current: Vec<Site> = vec![Site::default(); n];
    let advance = |j: usize,
                   readers: &mut [SampleReader],
                   current: &mut [Site],
                   heap: &mut BinaryHeap<Reverse<(usize, u64, usize)>>,
                   last: Option<(usize, u64)>|
     -> Result<(), EpigenomeError> {
        if let Some((k, site)) = readers[j].next_site()? {
            let key = (ranks[j][k], site.pos);
            if last.is_some_and(|l| key <= l) {
                return Err(EpigenomeError::File {
                    path: paths[j].clone(),
                    message: format!("sites out of order at {}:{}", chroms[key.0], site.pos),
                });
            }
            current[j] = site;
            heap.push(Reverse((key.0, key.1, j)));
        }
        Ok(())
    };
    for j in 0..n {
        advance(j, &mut readers, &mut current, &mut heap, None)?;
    }
    let min_samples = options.min_samples(n);
    let mut qc = vec![SampleQc::default(); n];
    let (mut sites, mut kept, mut sex_dropped) = (0u64, 0u64, 0u64);
    let mut block = Block::with_capacity(block_rows, n);
    while let Some(Reverse((rank, pos, _))) = heap.peek().copied() {
        let start = block.calls.len();
        block.calls.resize(start + n, (0, 0));
        while let Some(Reverse((r, p, j))) = heap.peek().copied() {
            if (r, p) != (rank, pos) {
                break;
            }
            heap.pop();
            block.calls[start + j] = (current[j].methylated, current[j].coverage());
            advance(j, &mut readers, &mut current, &mut heap, Some((r, p)))?;
        }
        sites += 1;
        let chrom = &chroms[rank];
        let mut covered = 0u64;
        let mut passing = 0usize;
        for (j, &(m, c)) in block.calls[start..].iter().enumerate() {
            if c > 0 {
                covered += 1;
                qc[j].sites_covered += 1;
                qc[j].calls += c;
                qc[j].methylated += m;
            }
            if c >= options.min_coverage.max(1) {
                passing += 1;
                qc[j].sites_min_coverage += 1;
            }
        }
        let sex = options.drop_sex_chromosomes && is_sex_chromosome(chrom);
        sex_dropped += u64::from(sex);
        let keep = passing >= min_samples && !sex;
        kept += u64::from(keep);
        block.ids.push(format!("{chrom}:{pos}"));
        block.chrom.push(rank);
        block.pos.push(pos);
        block.covered.push(covered);
        block.passing.push(passing as u64);
        block.keep.push(keep);
        block.sex.push(sex);
        if block.ids.len() == block_rows {
            let full = std::mem::replace(&mut block, Block::with_capacity(block_rows, n));
            if send.send(full).is_err() {
                break;
            }
        }
    }
    if !block.ids.is_empty() {
        let _ = send.send(block);
    }
    Ok(Merged { qc, sites, kept, sex_dropped })
}

/// One value per sample of every row of `block` into `out`.
fn push_rows(
    out: &mut MatrixStream<u64>,
    block: &Block,
    n: usize,
    value: impl Fn((u64, u64)) -> u64,
) -> Result<(), OutputError> {
    let mut row = vec![0u64; n];
    for (r, id) in block.ids.iter().enumerate() {
        for (v, &calls) in row.iter_mut().zip(&block.calls[r * n..(r + 1) * n]) {
            *v = value(calls);
        }
        out.push(id.clone(), &row)?;
    }
    Ok(())
}

/// Beta and M-values of the kept rows of `block`.
fn push_normalised(
    beta_out: &mut MatrixStream<Option<f64>>,
    m_out: &mut MatrixStream<Option<f64>>,
    block: &Block,
    n: usize,
    options: &NormaliseOptions,
) -> Result<(), OutputError> {
    let (mut beta_row, mut mv_row) = (vec![None; n], vec![None; n]);
    for (r, id) in block.ids.iter().enumerate().filter(|(r, _)| block.keep[*r]) {
        for (j, &(m, c)) in block.calls[r * n..(r + 1) * n].iter().enumerate() {
            beta_row[j] = options.beta(m, c);
            mv_row[j] = options.m_value(m, c);
        }
        beta_out.push(id.clone(), &beta_row)?;
        m_out.push(id.clone(), &mv_row)?;
    }
    Ok(())
}

/// `features.parquet` rows, streamed.
struct FeatureStream {
    stream: ParquetStream,
    ids: Vec<String>,
    chroms: Vec<String>,
    pos: Vec<u64>,
    covered: Vec<u64>,
    passing: Vec<u64>,
    kept: Vec<bool>,
}

impl FeatureStream {
    fn create(path: &Path, metadata: &Metadata) -> Result<Self, OutputError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("feature_id", DataType::Utf8, false),
            Field::new("chrom", DataType::Utf8, false),
            Field::new("pos", DataType::UInt64, false),
            Field::new("samples_covered", DataType::UInt64, false),
            Field::new("samples_min_coverage", DataType::UInt64, false),
            Field::new("kept", DataType::Boolean, false),
        ]));
        Ok(Self {
            stream: ParquetStream::create(path, schema, metadata)?,
            ids: Vec::new(),
            chroms: Vec::new(),
            pos: Vec::new(),
            covered: Vec::new(),
            passing: Vec::new(),
            kept: Vec::new(),
        })
    }

    fn push(
        &mut self,
        id: &str,
        chrom: &str,
        pos: u64,
        covered: u64,
        passing: u64,
        kept: bool,
    ) -> Result<(), OutputError> {
        self.ids.push(id.to_string());
        self.chroms.push(chrom.to_string());
        self.pos.push(pos);
        self.covered.push(covered);
        self.passing.push(passing);
        self.kept.push(kept);
        if self.ids.len() == ROW_GROUP_ROWS { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(self.ids.drain(..))),
            Arc::new(StringArray::from_iter_values(self.chroms.drain(..))),
            Arc::new(UInt64Array::from_iter_values(self.pos.drain(..))),
            Arc::new(UInt64Array::from_iter_values(self.covered.drain(..))),
            Arc::new(UInt64Array::from_iter_values(self.passing.drain(..))),
            Arc::new(BooleanArray::from(std::mem::take(&mut self.kept))),
        ];
        let batch = RecordBatch::try_new(self.stream.schema(), columns)
            .map_err(|e| OutputError { path: PathBuf::from("features.parquet"), source: std::io::Error::other(e) })?;
        self.stream.write(&batch)
    }

    fn finish(mut self) -> Result<(), OutputError> {
        self.flush()?;
        self.stream.finish()
    }
}

/// Region matrices of one set: `regions/<name>.parquet` (beta; null below `min_coverage`),
/// `regions/<name>.coverage.parquet` and `regions/<name>.features.parquet`. Returns the paths
/// written.
pub fn write_regions(
    dir: &Path,
    acc: &RegionAccumulator,
    sample_ids: &[String],
    options: &NormaliseOptions,
    metadata: &MetadataFor<'_>,
) -> Result<Vec<PathBuf>, OutputError> {
    let n = sample_ids.len();
    let regions = &acc.set.regions;
    let ids: Vec<String> = regions.iter().map(|r| r.id.clone()).collect();
    let column = |j: usize| -> Vec<u64> { (0..regions.len()).map(|r| acc.coverage[r * n + j]).collect() };
    let coverage = FeatureMatrix::new(ids.clone(), sample_ids.to_vec(), (0..n).map(column).collect::<Vec<_>>());
    let beta = FeatureMatrix::new(
        ids.clone(),
        sample_ids.to_vec(),
        (0..n)
            .map(|j| {
                (0..regions.len()).map(|r| options.beta(acc.methylated[r * n + j], acc.coverage[r * n + j])).collect()
            })
            .collect(),
    );
    let base = dir.join("regions");
    std::fs::create_dir_all(&base).map_err(|source| OutputError { path: base.clone(), source })?;
    let name = &acc.set.name;
    let paths = [
        base.join(format!("{name}.parquet")),
        base.join(format!("{name}.coverage.parquet")),
        base.join(format!("{name}.features.parquet")),
    ];
    let set_meta = |extra: &[(&str, String)]| {
        let mut all: Vec<(&str, String)> = vec![("region_set", name.clone())];
        all.extend(extra.iter().cloned());
        metadata(&all)
    };
    write_matrix(&paths[0], &beta, &set_meta(&[("method", "region beta = sum methylated / sum coverage".into())]))?;
    write_matrix(&paths[1], &coverage, &set_meta(&[("values", "coverage".into())]))?;
    let table = crate::io::parquet::batch(vec![
        ("feature_id", Arc::new(StringArray::from(ids)) as ArrayRef),
        ("name", Arc::new(StringArray::from(regions.iter().map(|r| r.name.clone()).collect::<Vec<_>>()))),
        ("chrom", Arc::new(StringArray::from_iter_values(regions.iter().map(|r| r.chrom.as_str())))),
        ("start", Arc::new(UInt64Array::from_iter_values(regions.iter().map(|r| r.start)))),
        ("end", Arc::new(UInt64Array::from_iter_values(regions.iter().map(|r| r.end)))),
        ("strand", Arc::new(StringArray::from(regions.iter().map(|r| r.strand.map(String::from)).collect::<Vec<_>>()))),
        ("cpgs", Arc::new(UInt64Array::from(acc.sites.clone()))),
    ])
    .map_err(|e| OutputError { path: paths[2].clone(), source: std::io::Error::other(e) })?;
    write_batch(&paths[2], table, &set_meta(&[]))?;
    Ok(paths.to_vec())
}
