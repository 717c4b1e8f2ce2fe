//! The cohort-wide methylation matrices, built by a merge of the per-sample files in blocks of
//! CpGs (rows) across every sample: memory holds a block, a few thousand decoded sites per sample
//! file and the regions the merge is inside, nothing that grows with the number of CpGs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use super::EpigenomeError;
use super::normalise::{NormaliseOptions, is_sex_chromosome};
use rayon::prelude::*;

use super::regions::{RegionAccumulator, RegionSet, Segment};
use super::sites::{SampleReader, chrom_cmp, split_key};
use crate::io::OutputError;
use crate::io::parquet::{
    MatrixGroups, MatrixStream, Metadata, MetadataFor, ParquetStream, ROW_GROUP_ROWS, row_group_runs, write_batch,
};
use crate::parallel::CollectInOrder;

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
    /// The region sets' files, three per set (beta, coverage, features).
    pub region_files: Vec<PathBuf>,
}

/// The output files of [`assemble`], relative to the layer directory.
pub const CPG_FILES: [&str; 5] =
    ["features.parquet", "raw.parquet", "raw.methylated.parquet", "normalised.parquet", "normalised.mvalue.parquet"];

/// Streams the per-sample files into the cohort matrices under `dir`:
/// `raw.parquet` (coverage), `raw.methylated.parquet`, `features.parquet` (every CpG, with how
/// many samples cover it and whether it was kept), `normalised.parquet` (beta) and
/// `normalised.mvalue.parquet` (kept CpGs only), and each region set's matrices
/// ([`RegionFiles`]). `block_rows` sets the rows merged at a time (default: about 8 MB of calls,
/// whatever the number of samples); the bytes written do not depend on it.
pub fn assemble(
    sample_ids: &[String],
    paths: &[PathBuf],
    dir: &Path,
    options: &NormaliseOptions,
    regions: Vec<RegionSet>,
    metadata: &MetadataFor<'_>,
    block_rows: Option<usize>,
) -> Result<Assembled, AssembleError> {
    let block_rows = block_rows.unwrap_or_else(|| ((8usize << 20) / (16 * sample_ids.len().max(1))).max(64)).max(1);
    // Each open reads a file's footer: in parallel, the first error in sample order reported.
    let mut readers = paths.par_iter().map(|p| SampleReader::open(p)).collect_in_order()?;
    let mut chroms: Vec<String> = readers.iter().flat_map(|r| r.chroms.iter().cloned()).collect();
    chroms.sort_by(|a, b| chrom_cmp(a, b));
    chroms.dedup();
    for r in &mut readers {
        let ranks = r.chroms.iter().map(|c| chroms.binary_search_by(|x| chrom_cmp(x, c)).unwrap_or(0)).collect();
        r.set_ranks(ranks);
    }

    let params = serde_json::to_string(options).unwrap_or_default();
    let group = (BUFFERED_CELLS / sample_ids.len().max(1)).clamp(256, ROW_GROUP_ROWS);
    let mut matrices = CpgMatrices::create(dir, sample_ids, options, metadata, &params, group)?;
    let mut features = FeatureStream::create(&dir.join(CPG_FILES[0]), &metadata(&[]))?;
    let mut region_outs: Vec<RegionFiles> = regions
        .into_iter()
        .map(|set| RegionFiles::create(dir, set, sample_ids, options, metadata))
        .collect::<Result<_, _>>()?;

    // The merge (reading every sample file in site order, decoding them in parallel) runs on its
    // own thread and hands blocks of rows to this one, which writes the four matrices, the
    // features and the region sets concurrently: each output still receives its rows in site
    // order, so its bytes do not depend on the threads, and memory holds two blocks whatever the
    // number of CpGs.
    let (send, receive) = std::sync::mpsc::sync_channel::<Block>(2);
    let chroms_ref = &chroms;
    let (merged, written) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || merge(readers, chroms_ref, options, block_rows, send));
        let mut write_block = |block: &Block| -> Result<(), OutputError> {
            let (matrices_written, rest) = rayon::join(
                || matrices.add(block),
                || {
                    for r in 0..block.ids.len() {
                        let (rank, pos) = split_key(block.keys[r]);
                        features.push(
                            &block.ids[r],
                            &chroms_ref[rank],
                            pos,
                            block.covered[r],
                            block.passing[r],
                            block.keep[r],
                        )?;
                    }
                    region_outs.iter_mut().try_for_each(|out| out.add(block, chroms_ref))
                },
            );
            matrices_written?;
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
    matrices.finish()?;
    features.finish()?;
    let mut region_files = Vec::new();
    for out in region_outs {
        region_files.extend(out.finish()?);
    }
    Ok(Assembled { sites, kept, sex_dropped, qc, region_files })
}

/// Rows of the merge on their way to the writers: per row its key ([`site_key`]), id and the
/// filters' verdicts, and every sample's calls column by column (`rows` values per sample).
struct Block {
    keys: Vec<u64>,
    ids: Vec<String>,
    covered: Vec<u64>,
    passing: Vec<u64>,
    keep: Vec<bool>,
    sex: Vec<bool>,
    methylated: Vec<u64>,
    coverage: Vec<u64>,
}

/// What the merge counted.
struct Merged {
    qc: Vec<SampleQc>,
    sites: u64,
    kept: u64,
    sex_dropped: u64,
}

/// The `limit` smallest keys of the union of sorted runs of unique keys, into `out`.
///
/// The samples of a cohort share most of their sites, so the runs are merged in pairs, level by
/// level, dropping repeats as they meet: each level is about half the one before, and the whole
/// costs about twice the keys read (a sort of the concatenation costs log2(runs) times that).
/// Keys above the smallest `limit`-th key of a full run cannot be among the `limit` smallest
/// and are left out from the start.
fn sorted_union(runs: &[&[u64]], limit: usize, out: &mut Vec<u64>, scratch: &mut Vec<u64>) {
    let bound = runs.iter().filter(|r| r.len() >= limit && limit > 0).map(|r| r[limit - 1]).min();
    let cut = |r: &[u64]| -> usize { bound.map_or(r.len(), |b| r.partition_point(|&k| k <= b)) };
    // Level 0: the runs themselves (cut), merged in pairs into `out`.
    let mut ends: Vec<usize> = Vec::with_capacity(runs.len().div_ceil(2));
    out.clear();
    for pair in runs.chunks(2) {
        let a = &pair[0][..cut(pair[0])];
        let b = pair.get(1).map_or(&[][..], |r| &r[..cut(r)]);
        merge_unique(a, b, out);
        ends.push(out.len());
    }
    // Further levels between `out` and `scratch` until one run is left.
    while ends.len() > 1 {
        scratch.clear();
        let mut next = Vec::with_capacity(ends.len().div_ceil(2));
        let mut start = 0;
        for pair in ends.chunks(2) {
            let a = &out[start..pair[0]];
            let b = pair.get(1).map_or(&[][..], |&end| &out[pair[0]..end]);
            merge_unique(a, b, scratch);
            next.push(scratch.len());
            start = *pair.last().unwrap_or(&start);
        }
        std::mem::swap(out, scratch);
        ends = next;
    }
    out.truncate(limit);
}

/// Appends the sorted union of two sorted runs of unique keys to `out`.
fn merge_unique(a: &[u64], b: &[u64], out: &mut Vec<u64>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// The merge of the sample files in (chromosome rank, position) order, sent on in blocks of at
/// most `block_rows` rows. Each block's rows are the `block_rows` smallest keys among the next
/// `block_rows` keys of every file: a file's keys below that bound are all among its next
/// `block_rows`, so nothing is skipped, and the block never grows with the number of samples.
/// Files are decoded and their columns filled in parallel. Stops quietly when the writer has
/// gone (its error is the one reported).
fn merge(
    mut readers: Vec<SampleReader>,
    chroms: &[String],
    options: &NormaliseOptions,
    block_rows: usize,
    send: std::sync::mpsc::SyncSender<Block>,
) -> Result<Merged, EpigenomeError> {
    let n = readers.len();
    let min_samples = options.min_samples(n);
    let min_coverage = options.min_coverage.max(1);
    let mut qc = vec![SampleQc::default(); n];
    let (mut sites, mut kept, mut sex_dropped) = (0u64, 0u64, 0u64);
    let mut candidates = Vec::with_capacity(block_rows * 2);
    let mut halves: [(Vec<u64>, Vec<u64>); 2] = Default::default();
    loop {
        // The first failing file in sample order, whatever the threads.
        readers.par_iter_mut().map(|r| r.fill(block_rows)).collect_in_order()?;
        let runs: Vec<&[u64]> = readers.iter().map(|r| &r.pending()[..r.pending().len().min(block_rows)]).collect();
        // The union of each half of the files on its own thread, then of the two: the block's
        // keys are among the `block_rows` smallest of either half.
        let (left, right) = runs.split_at(runs.len() / 2);
        let [(a, a_scratch), (b, b_scratch)] = &mut halves;
        rayon::join(|| sorted_union(left, block_rows, a, a_scratch), || sorted_union(right, block_rows, b, b_scratch));
        candidates.clear();
        merge_unique(a, b, &mut candidates);
        candidates.truncate(block_rows);
        if candidates.is_empty() {
            break;
        }
        let rows = candidates.len();
        let bound = candidates[rows - 1];
        let mut methylated = vec![0u64; rows * n];
        let mut coverage = vec![0u64; rows * n];
        let keys = &candidates;
        methylated
            .par_chunks_mut(rows)
            .zip(coverage.par_chunks_mut(rows))
            .zip(readers.par_iter_mut())
            .zip(qc.par_iter_mut())
            .for_each(|(((m_col, c_col), reader), q)| {
                let (taken, m, u) = reader.take(bound);
                let mut row = 0;
                for ((&key, &m), &u) in taken.iter().zip(m).zip(u) {
                    // Every taken key is among the block's keys, which are sorted.
                    while keys[row] != key {
                        row += 1;
                    }
                    let c = m + u;
                    m_col[row] = m;
                    c_col[row] = c;
                    if c > 0 {
                        q.sites_covered += 1;
                        q.calls += c;
                        q.methylated += m;
                    }
                    if c >= min_coverage {
                        q.sites_min_coverage += 1;
                    }
                }
            });
        // Per row, the samples covered and passing: a pass over every cell, split by rows.
        let mut covered = vec![0u64; rows];
        let mut passing = vec![0u64; rows];
        const ROWS_PER_TASK: usize = 64;
        covered.par_chunks_mut(ROWS_PER_TASK).zip(passing.par_chunks_mut(ROWS_PER_TASK)).enumerate().for_each(
            |(k, (covered, passing))| {
                let first = k * ROWS_PER_TASK;
                for column in coverage.chunks(rows) {
                    let column = &column[first..first + covered.len()];
                    for ((cov, pass), &c) in covered.iter_mut().zip(passing.iter_mut()).zip(column) {
                        *cov += u64::from(c > 0);
                        *pass += u64::from(c >= min_coverage);
                    }
                }
            },
        );
        let mut block = Block {
            keys: candidates.clone(),
            ids: Vec::with_capacity(rows),
            covered,
            passing,
            keep: Vec::with_capacity(rows),
            sex: Vec::with_capacity(rows),
            methylated,
            coverage,
        };
        for r in 0..rows {
            let (rank, pos) = split_key(block.keys[r]);
            let chrom = &chroms[rank];
            let sex = options.drop_sex_chromosomes && is_sex_chromosome(chrom);
            let keep = block.passing[r] as usize >= min_samples && !sex;
            sex_dropped += u64::from(sex);
            kept += u64::from(keep);
            block.ids.push(format!("{chrom}:{pos}"));
            block.keep.push(keep);
            block.sex.push(sex);
        }
        sites += rows as u64;
        if send.send(block).is_err() {
            break;
        }
    }
    Ok(Merged { qc, sites, kept, sex_dropped })
}

/// Cells of the four CpG matrices buffered before a row group is written (8 bytes each: 256 MiB).
const BUFFERED_CELLS: usize = 32 << 20;

/// The four CpG matrices (coverage, methylated calls, beta and M-values of the kept CpGs),
/// written a row group at a time from one buffer of counts: per cell the methylated and total
/// calls as `u32` (8 bytes for four matrices; betas and M-values are made from them as a row
/// group is written). A row group so holds four times the rows it would if each matrix buffered
/// its own values in the same memory, and the merge writes a quarter of the column chunks: their
/// number, at a fixed memory, grows with the square of the samples, and each costs an encoder's
/// set-up (that made the merge 2.6× slower for 2.2× the samples).
struct CpgMatrices {
    coverage: MatrixGroups,
    methylated: MatrixGroups,
    beta: MatrixGroups,
    mvalue: MatrixGroups,
    /// Rows per row group of the coverage and methylated matrices; the beta and M-value row
    /// groups hold the kept rows among them.
    group: usize,
    ids: Vec<String>,
    keep: Vec<bool>,
    /// Per sample, per buffered row: (methylated, coverage).
    calls: Vec<Vec<(u32, u32)>>,
    options: NormaliseOptions,
}

impl CpgMatrices {
    fn create(
        dir: &Path,
        sample_ids: &[String],
        options: &NormaliseOptions,
        metadata: &MetadataFor<'_>,
        params: &str,
        group: usize,
    ) -> Result<Self, OutputError> {
        let matrix = |k: usize, data_type: DataType, extra: &[(&str, String)]| {
            MatrixGroups::create(&dir.join(CPG_FILES[k]), sample_ids, data_type, &metadata(extra))
        };
        let group = group.max(1);
        Ok(Self {
            coverage: matrix(1, DataType::UInt64, &[("values", "coverage".into())])?,
            methylated: matrix(2, DataType::UInt64, &[("values", "methylated calls".into())])?,
            beta: matrix(3, DataType::Float64, &[("method", "beta".into()), ("params", params.into())])?,
            mvalue: matrix(4, DataType::Float64, &[("method", "mvalue".into()), ("params", params.into())])?,
            group,
            ids: Vec::with_capacity(group),
            keep: Vec::with_capacity(group),
            calls: vec![Vec::new(); sample_ids.len()],
            options: options.clone(),
        })
    }

    /// Buffers a block's rows, writing each row group as it fills.
    fn add(&mut self, block: &Block) -> Result<(), OutputError> {
        let rows = block.ids.len();
        for (run, full) in row_group_runs(rows, self.ids.len(), self.group) {
            self.ids.extend_from_slice(&block.ids[run.clone()]);
            self.keep.extend_from_slice(&block.keep[run.clone()]);
            let group = self.group;
            self.calls.par_iter_mut().enumerate().for_each(|(j, column)| {
                let (m, c) = (&block.methylated[j * rows..(j + 1) * rows], &block.coverage[j * rows..(j + 1) * rows]);
                if column.capacity() == 0 {
                    column.reserve_exact(group);
                }
                // The sample readers refuse more than MAX_CALLS calls at a site.
                let count = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
                column.extend(run.clone().map(|r| (count(m[r]), count(c[r]))));
            });
            if full {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group of each matrix (the four side by side).
    fn flush(&mut self) -> Result<(), OutputError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let Self { coverage, methylated, beta, mvalue, ids, keep, calls, options, .. } = self;
        let kept: Vec<usize> = (0..ids.len()).filter(|&r| keep[r]).collect();
        let kept_ids: Vec<String> = kept.iter().map(|&r| ids[r].clone()).collect();
        let (buffered, options, kept) = (&*calls, &*options, &kept);
        let counts = |pick: fn(&(u32, u32)) -> u32| {
            move |j: usize| -> ArrayRef {
                Arc::new(UInt64Array::from_iter_values(buffered[j].iter().map(|p| u64::from(pick(p)))))
            }
        };
        let values = |value: fn(&NormaliseOptions, u64, u64) -> Option<f64>| {
            move |j: usize| -> ArrayRef {
                let column = &buffered[j];
                Arc::new(Float64Array::from_iter(
                    kept.iter().map(|&r| value(options, u64::from(column[r].0), u64::from(column[r].1))),
                ))
            }
        };
        let ((c, m), (b, v)) = rayon::join(
            || rayon::join(|| coverage.write(ids, &counts(|p| p.1)), || methylated.write(ids, &counts(|p| p.0))),
            || {
                rayon::join(
                    || beta.write(&kept_ids, &values(NormaliseOptions::beta)),
                    || mvalue.write(&kept_ids, &values(NormaliseOptions::m_value)),
                )
            },
        );
        c.and(m).and(b).and(v)?;
        ids.clear();
        keep.clear();
        calls.iter_mut().for_each(Vec::clear);
        Ok(())
    }

    fn finish(mut self) -> Result<(), OutputError> {
        self.flush()?;
        self.coverage.finish()?;
        self.methylated.finish()?;
        self.beta.finish()?;
        self.mvalue.finish()
    }
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

/// One region set's files, written as the merge passes its regions:
/// `regions/<name>.parquet` (beta; null below `min_coverage`), `regions/<name>.coverage.parquet`
/// and, at the end, `regions/<name>.features.parquet`.
struct RegionFiles {
    acc: RegionAccumulator,
    beta: MatrixStream<Option<f64>>,
    coverage: MatrixStream<u64>,
    features: PathBuf,
    features_metadata: Metadata,
    sites: Vec<u64>,
    options: NormaliseOptions,
}

impl RegionFiles {
    fn create(
        dir: &Path,
        set: RegionSet,
        sample_ids: &[String],
        options: &NormaliseOptions,
        metadata: &MetadataFor<'_>,
    ) -> Result<Self, OutputError> {
        let base = dir.join("regions");
        std::fs::create_dir_all(&base).map_err(|source| OutputError { path: base.clone(), source })?;
        let name = set.name.clone();
        let set_meta = |extra: &[(&str, String)]| {
            let mut all: Vec<(&str, String)> = vec![("region_set", name.clone())];
            all.extend(extra.iter().cloned());
            metadata(&all)
        };
        let beta = MatrixStream::create(
            &base.join(format!("{name}.parquet")),
            sample_ids,
            &set_meta(&[("method", "region beta = sum methylated / sum coverage".into())]),
        )?;
        let coverage = MatrixStream::create(
            &base.join(format!("{name}.coverage.parquet")),
            sample_ids,
            &set_meta(&[("values", "coverage".into())]),
        )?;
        let sites = Vec::with_capacity(set.regions.len());
        Ok(Self {
            acc: RegionAccumulator::new(set, sample_ids.len()),
            beta,
            coverage,
            features: base.join(format!("{name}.features.parquet")),
            features_metadata: set_meta(&[]),
            sites,
            options: options.clone(),
        })
    }

    /// Adds a block's rows, chromosome by chromosome (rows on dropped sex chromosomes count in
    /// no region), and writes the regions the merge has passed.
    fn add(&mut self, block: &Block, chroms: &[String]) -> Result<(), OutputError> {
        let rows = block.keys.len();
        let positions: Vec<u64> = block.keys.iter().map(|&k| split_key(k).1).collect();
        let mut first = 0;
        while first < rows {
            let rank = split_key(block.keys[first]).0;
            let end = first + block.keys[first..].partition_point(|&k| split_key(k).0 == rank);
            if !block.sex[first] {
                self.acc.add(&Segment {
                    chrom: &chroms[rank],
                    pos: &positions[first..end],
                    methylated: &block.methylated,
                    coverage: &block.coverage,
                    stride: rows,
                    first,
                });
            }
            first = end;
        }
        self.write_finished()
    }

    fn write_finished(&mut self) -> Result<(), OutputError> {
        let n = self.coverage.width();
        while let Some((r, sums)) = self.acc.finished() {
            let id = self.acc.set.regions[r].id.clone();
            self.sites.push(sums.sites);
            if sums.coverage.is_empty() {
                self.beta.push(id.clone(), &vec![None; n])?;
                self.coverage.push(id, &vec![0; n])?;
            } else {
                let beta: Vec<Option<f64>> =
                    sums.methylated.iter().zip(&sums.coverage).map(|(&m, &c)| self.options.beta(m, c)).collect();
                self.beta.push(id.clone(), &beta)?;
                self.coverage.push(id, &sums.coverage)?;
            }
        }
        Ok(())
    }

    /// Writes the remaining regions and the set's features table; returns the paths written.
    fn finish(mut self) -> Result<Vec<PathBuf>, OutputError> {
        self.acc.close();
        self.write_finished()?;
        let paths = vec![self.beta.path().to_path_buf(), self.coverage.path().to_path_buf(), self.features.clone()];
        self.beta.finish()?;
        self.coverage.finish()?;
        let regions = &self.acc.set.regions;
        let table = crate::io::parquet::batch(vec![
            ("feature_id", Arc::new(StringArray::from_iter_values(regions.iter().map(|r| r.id.as_str()))) as ArrayRef),
            ("name", Arc::new(StringArray::from(regions.iter().map(|r| r.name.clone()).collect::<Vec<_>>()))),
            ("chrom", Arc::new(StringArray::from_iter_values(regions.iter().map(|r| r.chrom.as_str())))),
            ("start", Arc::new(UInt64Array::from_iter_values(regions.iter().map(|r| r.start)))),
            ("end", Arc::new(UInt64Array::from_iter_values(regions.iter().map(|r| r.end)))),
            (
                "strand",
                Arc::new(StringArray::from(regions.iter().map(|r| r.strand.map(String::from)).collect::<Vec<_>>())),
            ),
            ("cpgs", Arc::new(UInt64Array::from(std::mem::take(&mut self.sites)))),
        ])
        .map_err(|e| OutputError { path: self.features.clone(), source: std::io::Error::other(e) })?;
        write_batch(&self.features, table, &self.features_metadata)?;
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epigenome::regions::Region;
    use crate::epigenome::sites::{SiteCollector, write_sample};

    /// The pairwise union equals sorting the concatenation, deduplicating and truncating, for
    /// runs that overlap a lot, a little or not at all, of any count and length.
    #[test]
    fn the_union_of_runs_is_the_sorted_unique_smallest_keys() {
        let mut state = 7u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        for case in 0..300 {
            let runs_n = (next() % 9) as usize;
            let spread = [4u64, 50, 10_000][case % 3];
            let runs: Vec<Vec<u64>> = (0..runs_n)
                .map(|_| {
                    let mut r: Vec<u64> = (0..next() % 40).map(|_| next() % spread).collect();
                    r.sort_unstable();
                    r.dedup();
                    r
                })
                .collect();
            let limit = (next() % 30) as usize;
            let slices: Vec<&[u64]> = runs.iter().map(|r| &r[..r.len().min(limit)]).collect();
            let mut expected: Vec<u64> = slices.concat();
            expected.sort_unstable();
            expected.dedup();
            expected.truncate(limit);
            sorted_union(&slices, limit, &mut out, &mut scratch);
            assert_eq!(out, expected, "case {case}: {runs:?} limit {limit}");
        }
    }

    /// Every output file of `dir`, relative path → bytes.
    fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        for entry in walk(dir) {
            let bytes = std::fs::read(&entry).expect("read");
            out.insert(entry.strip_prefix(dir).expect("prefix").to_path_buf(), bytes);
        }
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() { paths.extend(walk(&path)) } else { paths.push(path) }
        }
        paths
    }

    /// Row groups that end inside blocks and blocks that end inside row groups: every matrix
    /// holds each row's values, the beta and M-value matrices only the kept rows, whatever the
    /// split.
    #[test]
    fn cpg_matrices_hold_every_value_across_row_groups() {
        use crate::io::wide::read_wide_nan;
        let options = NormaliseOptions { min_coverage: 2, ..Default::default() };
        let samples: Vec<String> = (0..3).map(|j| format!("s{j}")).collect();
        let rows = 40usize;
        let id = |r: usize| format!("chr1:{}", 10 + r);
        let (m, c) = (|r: usize, j: usize| ((r * 3 + j) % 5) as u64, |r: usize, j: usize| ((r + 2 * j) % 7) as u64 + 4);
        let c = |r: usize, j: usize| if (r + j).is_multiple_of(6) { 1 } else { c(r, j) };
        let keep = |r: usize| r % 4 != 1;
        let dir = tempfile::tempdir().expect("tempdir");
        let metadata = |_: &[(&str, String)]| Vec::new();
        let mut matrices = CpgMatrices::create(dir.path(), &samples, &options, &metadata, "{}", 7).expect("create");
        let mut start = 0;
        for len in [3usize, 11, 1, 25] {
            let block_rows: Vec<usize> = (start..(start + len).min(rows)).collect();
            let n = block_rows.len();
            let column = |f: &dyn Fn(usize, usize) -> u64| -> Vec<u64> {
                (0..samples.len()).flat_map(|j| block_rows.iter().map(move |&r| f(r, j))).collect()
            };
            let block = Block {
                keys: block_rows.iter().map(|&r| r as u64).collect(),
                ids: block_rows.iter().map(|&r| id(r)).collect(),
                covered: vec![0; n],
                passing: vec![0; n],
                keep: block_rows.iter().map(|&r| keep(r)).collect(),
                sex: vec![false; n],
                methylated: column(&|r, j| m(r, j).min(c(r, j))),
                coverage: column(&c),
            };
            matrices.add(&block).expect("add");
            start += n;
        }
        matrices.finish().expect("finish");
        let read = |k: usize| read_wide_nan(&dir.path().join(CPG_FILES[k]), None).expect("read");
        let (coverage, methylated, beta, mvalue) = (read(1), read(2), read(3), read(4));
        assert_eq!(coverage.feature_ids, (0..rows).map(id).collect::<Vec<_>>());
        let kept: Vec<usize> = (0..rows).filter(|&r| keep(r)).collect();
        assert_eq!(beta.feature_ids, kept.iter().map(|&r| id(r)).collect::<Vec<_>>());
        assert_eq!(mvalue.feature_ids, beta.feature_ids);
        for j in 0..samples.len() {
            for r in 0..rows {
                assert_eq!(coverage.get(r, j).copied(), Some(c(r, j) as f64), "coverage {r} {j}");
                assert_eq!(methylated.get(r, j).copied(), Some(m(r, j).min(c(r, j)) as f64));
            }
            for (k, &r) in kept.iter().enumerate() {
                let (mr, cr) = (m(r, j).min(c(r, j)), c(r, j));
                let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
                assert_eq!(beta.get(k, j).copied().map(f64::to_bits), Some(nan(options.beta(mr, cr)).to_bits()));
                assert_eq!(mvalue.get(k, j).copied().map(f64::to_bits), Some(nan(options.m_value(mr, cr)).to_bits()));
            }
        }
        let groups = |k: usize| {
            let file = std::fs::File::open(dir.path().join(CPG_FILES[k])).expect("open");
            parquet::file::reader::FileReader::metadata(
                &parquet::file::reader::SerializedFileReader::new(file).expect("parquet"),
            )
            .num_row_groups()
        };
        assert_eq!((groups(1), groups(3)), (6, 6), "40 rows in groups of 7");
    }

    #[test]
    fn blocks_of_any_size_write_the_same_bytes() {
        // Seven samples over three chromosomes with partly shared, partly private sites (so blocks
        // end inside one file's run and not another's), regions that span many blocks, overlap,
        // and lie where no sample has a site.
        let input = tempfile::tempdir().expect("tempdir");
        let (mut ids, mut paths) = (Vec::new(), Vec::new());
        for j in 0..7u64 {
            let mut c = SiteCollector::default();
            for (chrom, sites) in [("chr1", 900u64), ("chr2", 300), ("chrX", 200)] {
                for k in 0..sites {
                    if (k * 7 + j * 3) % 5 != 0 {
                        c.add(chrom, 10 + k * 4 + (j % 2) * (k % 3), (k * j) % 9, (k + j) % 4);
                    }
                }
            }
            let path = input.path().join(format!("s{j}.parquet"));
            write_sample(&path, &c.finish(), &Vec::new()).expect("write");
            ids.push(format!("s{j}"));
            paths.push(path);
        }
        let region = |id: &str, chrom: &str, start: u64, end: u64| Region {
            id: id.into(),
            name: None,
            chrom: chrom.into(),
            start,
            end,
            strand: None,
        };
        let set = RegionSet {
            name: "r".into(),
            regions: vec![
                region("a", "chr1", 1, 3000),
                region("b", "chr1", 100, 140),
                region("c", "chr1", 2990, 9000),
                region("d", "chr1", 9000, 9100),
                region("e", "chr2", 50, 700),
                region("f", "chr3", 1, 100),
                region("g", "chrX", 1, 500),
            ],
        };
        let options = NormaliseOptions { min_coverage: 3, min_sample_fraction: 0.5, ..Default::default() };
        let metadata = |_: &[(&str, String)]| Vec::new();
        let run = |block_rows: usize| {
            let out = tempfile::tempdir().expect("tempdir");
            let a = assemble(&ids, &paths, out.path(), &options, vec![set.clone()], &metadata, Some(block_rows))
                .expect("assemble");
            (files(out.path()), a.sites, a.kept, a.qc)
        };
        let whole = run(100_000);
        assert!(whole.1 > 1000 && whole.2 > 0, "sites {} kept {}", whole.1, whole.2);
        for block_rows in [1, 7, 64, 333] {
            let blocks = run(block_rows);
            assert_eq!(blocks.0.keys().collect::<Vec<_>>(), whole.0.keys().collect::<Vec<_>>());
            for (name, bytes) in &blocks.0 {
                assert!(bytes == &whole.0[name], "{} differs with {block_rows}-row blocks", name.display());
            }
            assert_eq!((blocks.1, blocks.2, &blocks.3), (whole.1, whole.2, &whole.3));
        }
    }
}
