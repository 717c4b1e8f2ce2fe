//! Block-parallel BAM counting: every worker inflates a run of BGZF blocks, decodes its records
//! and assigns them, into its own tallies, summed at the end.
//!
//! Counts are sums of featureCounts' fixed-point weights, so they do not depend on which worker
//! counted what: the result is byte-identical to the one-thread pass whatever the thread count.
//! The one cross-record state is the mate buffer of `--count-pairs`. On a coordinate-sorted file
//! a worker pairs a record locally only when both positions in its mate key lie after its chunk's
//! first record: no earlier chunk can then hold a record of that key (every record of a key sits
//! at one of the key's two positions). Every other paired record is set aside and passed, chunk
//! by chunk in file order, through one file-wide mate buffer, which then holds the state the
//! one-thread pass would. A file that turns out not to be sorted is counted again by that pass.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use noodles::sam::header::record::value::map::header::tag::SORT_ORDER;
use noodles::{bam, bgzf, sam};

use super::pairing::{MateBuffer, SortPos, mate_pos, own_pos};
use super::record::Alignment;
use super::{Counter, Engine, QuantError, RecordPosition, SampleCounts};
use crate::annotation::{FeatureIndex, FeatureSet, OverlapQuery};
use crate::io::bgzf_blocks::{self, BlockSource, Frame, RawChunk};
use crate::io::open::check_block_size;
use crate::transcriptome::quant::QuantOptions;

/// BGZF blocks per chunk: ~1 MB inflated (~4,000 short-read records), small enough to stay in a
/// core's L2 cache between inflating it and walking its records (a chain from chunk to chunk).
pub const CHUNK_BLOCKS: usize = 16;

/// Most `--count-pairs` mates waiting in memory before they go to disk (~300 bytes each).
pub const MATE_CAP: usize = 200_000;

/// Releases every waiting worker if this one panics, so a bug ends the run instead of hanging it.
struct PanicGuard<'s>(&'s Shared);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail(
                0,
                Failure::Error(QuantError::Io {
                    path: std::path::PathBuf::new(),
                    source: io::Error::other("a counting thread panicked"),
                }),
            );
        }
    }
}

/// Why a chunk stopped the file.
enum Failure {
    Error(QuantError),
    /// `--count-pairs` met records out of coordinate order: count the file in one pass.
    Unsorted,
}

/// The workers' meeting points.
struct Shared {
    source: Mutex<BlockSource>,
    /// Frames published for the chunks that wait on them, by chunk number.
    frames: Mutex<HashMap<usize, Frame>>,
    framed: Condvar,
    /// The file-wide mate buffer and whose turn it is to use it.
    merge: Mutex<Merge>,
    merged: Condvar,
    /// The lowest chunk that failed (usize::MAX: none), and why.
    failed_at: AtomicUsize,
    failure: Mutex<Option<(usize, Failure)>>,
    /// Where the file-wide mate buffer spills (`--tmpDir` or `$TMPDIR`).
    spill_dir: std::path::PathBuf,
}

struct Merge {
    turn: usize,
    mates: MateBuffer,
    /// The last record position of the chunks merged so far.
    last: Option<SortPos>,
}

impl Shared {
    fn fail(&self, chunk: usize, why: Failure) {
        let mut f = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if f.as_ref().is_none_or(|(c, _)| chunk < *c) {
            *f = Some((chunk, why));
            self.failed_at.store(chunk, Ordering::SeqCst);
        }
        drop(f);
        // Wake every waiter so the ones after the failed chunk can leave.
        let _g = self.frames.lock().unwrap_or_else(PoisonError::into_inner);
        self.framed.notify_all();
        drop(_g);
        let _g = self.merge.lock().unwrap_or_else(PoisonError::into_inner);
        self.merged.notify_all();
    }

    fn stopped_before(&self, chunk: usize) -> bool {
        self.failed_at.load(Ordering::SeqCst) < chunk
    }

    fn frame(&self, chunk: usize) -> Option<Frame> {
        let mut frames = self.frames.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(f) = frames.remove(&chunk) {
                return Some(f);
            }
            if self.stopped_before(chunk) {
                return None;
            }
            frames = self.framed.wait(frames).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn publish(&self, chunk: usize, frame: Frame) {
        self.frames.lock().unwrap_or_else(PoisonError::into_inner).insert(chunk, frame);
        self.framed.notify_all();
    }
}

/// Counts a BAM on `workers` threads (≥ 2). `Ok(None)` when the file must be counted in one
/// pass instead: `--count-pairs` on a file not (or not really) sorted by coordinate.
#[allow(clippy::too_many_arguments)]
pub(super) fn count_bam(
    path: &Path,
    features: &FeatureSet,
    index: &FeatureIndex,
    options: &QuantOptions,
    aliases: &HashMap<String, String>,
    workers: usize,
    (chunk_blocks, mate_cap): (usize, usize),
) -> Result<Option<SampleCounts>, QuantError> {
    let io_err = |source| QuantError::Io { path: path.to_path_buf(), source };
    let mut reader = bam::io::Reader::from(bgzf::io::Reader::new(File::open(path).map_err(io_err)?));
    let header = reader.read_header().map_err(io_err)?;
    if options.count_pairs && !coordinate_sorted(&header) {
        return Ok(None);
    }
    let start = reader.get_ref().virtual_position();
    // Where waiting mates are set aside; also named by the error when that fails.
    let spill_dir = options.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let source = BlockSource::new(File::open(path).map_err(io_err)?, start.compressed()).map_err(io_err)?;
    let shared = Shared {
        source: Mutex::new(source),
        frames: Mutex::new(HashMap::from([(0, Frame::default())])),
        framed: Condvar::new(),
        merge: Mutex::new(Merge { turn: 0, mates: MateBuffer::spilling(mate_cap, spill_dir.clone()), last: None }),
        merged: Condvar::new(),
        failed_at: AtomicUsize::new(usize::MAX),
        failure: Mutex::new(None),
        spill_dir: spill_dir.clone(),
    };
    let skip = usize::from(start.uncompressed());
    let workers = workers.max(1);
    let parts: Vec<Counter<'_>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let _guard = PanicGuard(&shared);
                    let mut counter = Counter::new(path, features, index, options, aliases.clone());
                    work(&shared, &mut counter, &header, chunk_blocks, skip);
                    counter
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    if parts.len() != workers {
        return Err(io_err(io::Error::other("a counting thread panicked")));
    }
    if let Some((_, why)) = shared.failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return match why {
            Failure::Error(e) => Err(e),
            Failure::Unsorted => Ok(None),
        };
    }
    let source = shared.source.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut frames = shared.frames.into_inner().unwrap_or_else(PoisonError::into_inner);
    let last = frames.remove(&source.chunks()).unwrap_or_default();
    if !last.carry.is_empty() {
        return Err(QuantError::Record {
            path: path.to_path_buf(),
            where_: RecordPosition { record: last.records_before, line: None },
            source: io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends inside this record"),
        });
    }
    let mut merge = shared.merge.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut counter = Counter::new(path, features, index, options, aliases.clone());
    let mut engine = Engine::new(&header, features, index, options, aliases, false);
    let spill_err = |source| QuantError::Spill { path: path.to_path_buf(), dir: spill_dir.clone(), source };
    // Lone mates: those still waiting in memory, then each key that went to disk, replayed.
    let replay = merge.mates.spilled().map_err(spill_err)?;
    std::mem::swap(&mut engine.mates, &mut merge.mates);
    engine.finish(&mut counter);
    if let Some(mut replay) = replay {
        let mut records = Vec::new();
        while replay.next_key(&mut records).map_err(spill_err)? {
            for a in &mut records {
                std::mem::swap(&mut engine.alignment, a);
                engine.count(&mut counter);
            }
            engine.finish(&mut counter);
        }
    }
    for part in &parts {
        counter.absorb(part);
    }
    counter.done(&header, &engine.contigs).map(Some)
}

fn coordinate_sorted(header: &sam::Header) -> bool {
    header.header().and_then(|h| h.other_fields().get(&SORT_ORDER)).is_some_and(|v| v.as_slice() == b"coordinate")
}

/// One worker: claims chunks in file order until the file is done or a chunk before its own
/// has failed.
fn work(shared: &Shared, c: &mut Counter<'_>, header: &sam::Header, chunk_blocks: usize, skip: usize) {
    let mut engine = Engine::new(header, c.features, c.index, c.options, &c.aliases, false);
    let mut inflater = libdeflater::Decompressor::new();
    let (mut raw, mut data, mut record) = (RawChunk::default(), Vec::new(), bam::Record::default());
    let mut deferred: Vec<Alignment> = Vec::new();
    let mut pool: Vec<Alignment> = Vec::new();
    loop {
        if !shared.source.lock().unwrap_or_else(PoisonError::into_inner).next_chunk(chunk_blocks, &mut raw) {
            return;
        }
        let chunk = raw.index;
        if shared.stopped_before(chunk) {
            return;
        }
        let (filled, broken) = bgzf_blocks::inflate(&mut raw, &mut inflater, &mut data);
        let body = &data[if chunk == 0 { skip.min(filled) } else { 0 }..filled];
        let Some(frame) = shared.frame(chunk) else { return };
        // The straddling record is number `before`, the k-th whole one `before + k`.
        let before = frame.records_before;
        let walk = bgzf_blocks::walk(body, frame, check_block_size);
        if walk.error.is_none() && broken.is_none() {
            shared.publish(chunk + 1, walk.next.clone());
        }
        let mut first_pos: Option<SortPos> = None;
        let mut last_pos: Option<SortPos> = None;
        let mut failed = false;
        let mut wholes = bam::io::Reader::from(&body[walk.whole.clone()]);
        let straddling = u64::from(walk.first.is_some());
        for n in (before + 1 - straddling)..=(before + walk.count) {
            let read = match &walk.first {
                Some(bytes) if n == before => bam::io::Reader::from(&bytes[..]).read_record(&mut record),
                _ => wholes.read_record(&mut record),
            };
            let decoded = read.and_then(|_| engine.alignment.fill_bam(&record, engine.layout));
            if let Err(e) = decoded {
                shared.fail(chunk, Failure::Error(c.record_err(n, None)(e)));
                failed = true;
                break;
            }
            if let Err(e) = engine.check(c, RecordPosition { record: n, line: None }) {
                shared.fail(chunk, Failure::Error(e));
                failed = true;
                break;
            }
            if !c.options.count_pairs {
                engine.count(c);
                continue;
            }
            let here = own_pos(&engine.alignment);
            if last_pos.is_some_and(|p| here < p) {
                shared.fail(chunk, Failure::Unsorted);
                failed = true;
                break;
            }
            last_pos = Some(here);
            let from = *first_pos.get_or_insert(here);
            let a = &engine.alignment;
            if !engine.pairs(c) || (own_pos(a) > from && mate_pos(a) > from) {
                engine.count(c);
            } else {
                let mut copy = pool.pop().unwrap_or_default();
                copy.clone_from(a);
                deferred.push(copy);
            }
        }
        if failed {
            return;
        }
        if let Some((n, e)) = walk.error {
            shared.fail(chunk, Failure::Error(c.record_err(n, None)(e)));
            return;
        }
        if let Some(e) = broken {
            // The first record not wholly in the blocks that inflated.
            let n = walk.next.records_before + u64::from(walk.next.carry.is_empty());
            shared.fail(chunk, Failure::Error(c.record_err(n, None)(e)));
            return;
        }
        if c.options.count_pairs && !merge(shared, c, &mut engine, chunk, (first_pos, last_pos), &mut deferred) {
            return;
        }
        pool.append(&mut deferred);
    }
}

/// Waits for this chunk's turn at the file-wide mate buffer, then passes the set-aside records
/// through it and hands over the mates still waiting in the worker's own buffer; counts the
/// fragments that completed once the turn has passed on. `false` when an earlier chunk failed or
/// the file is not sorted after all.
fn merge(
    shared: &Shared,
    c: &mut Counter<'_>,
    engine: &mut Engine<'_, impl OverlapQuery>,
    chunk: usize,
    (first, last): (Option<SortPos>, Option<SortPos>),
    deferred: &mut [Alignment],
) -> bool {
    let mut m = shared.merge.lock().unwrap_or_else(PoisonError::into_inner);
    while m.turn != chunk {
        if shared.stopped_before(chunk) {
            return false;
        }
        m = shared.merged.wait(m).unwrap_or_else(PoisonError::into_inner);
    }
    if let (Some(before), Some(first)) = (m.last, first)
        && first < before
    {
        drop(m);
        shared.fail(chunk, Failure::Unsorted);
        return false;
    }
    // Only the pairing happens in turn; the fragments it completes are counted after.
    engine.mates.share_spares(&mut m.mates);
    let (mut pairs, mut lone) = (Vec::new(), Vec::new());
    let mut spilled = Ok(());
    for (i, a) in deferred.iter().enumerate() {
        if m.mates.goes_to_disk(a) {
            spilled = spilled.and_then(|()| m.mates.to_disk(a));
        } else if let Some(waiting) = m.mates.offer(a, &mut lone) {
            pairs.push((waiting, i));
        }
    }
    m.mates.absorb(&mut engine.mates);
    m.last = last.or(m.last);
    let upto = m.last;
    let spilled = spilled.and_then(|()| m.mates.spill_if_full(upto));
    if let Err(source) = spilled {
        drop(m);
        let dir = shared.spill_dir.clone();
        shared.fail(chunk, Failure::Error(QuantError::Spill { path: c.path.to_path_buf(), dir, source }));
        return false;
    }
    m.turn += 1;
    drop(m);
    shared.merged.notify_all();
    for (waiting, i) in pairs {
        engine.decide_pair(c, &waiting, &deferred[i]);
        engine.mates.recycle(waiting);
    }
    for end in lone {
        engine.decide_lone(c, &end);
        engine.mates.recycle(end);
    }
    true
}
