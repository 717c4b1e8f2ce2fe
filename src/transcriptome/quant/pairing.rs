//! Mates for fragment counting (`--paired --count-pairs`), whatever the sort order.
//!
//! Mates are matched by read name, HI tag and both mates' reference and position (as each
//! record states them; featureCounts too treats mates whose records disagree as two fragments), so mates far apart in a
//! coordinate-sorted file, name-sorted input and multi-mapping pairs all pair up without
//! re-sorting anything on disk. A mate waits in memory only until its partner arrives;
//! buffers are recycled, so steady state allocates nothing per record.

// Mates are boxed so that they move between the map, the pools and the spill queue as pointers.
#![allow(clippy::vec_box)]

use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use super::record::{Alignment, flag};

/// Read name, HI, then the first and second mate's (reference, position).
type Key = (Vec<u8>, i64, [i64; 4]);

/// A place in coordinate order: unplaced records (no reference) sort last, as samtools puts them.
pub type SortPos = (usize, i64);

/// Where a record sits in a coordinate-sorted file.
pub fn own_pos(a: &Alignment) -> SortPos {
    (a.ref_id.unwrap_or(usize::MAX), a.pos)
}

/// Where the record says its mate sits.
pub fn mate_pos(a: &Alignment) -> SortPos {
    (a.mate_ref_id.unwrap_or(usize::MAX), a.mate_pos)
}

fn key_of(a: &Alignment, key: &mut Key) {
    let first = !a.has(flag::LAST) || a.has(flag::FIRST);
    let own = [a.ref_id.map_or(-1, |r| r as i64), a.pos];
    let mate = [a.mate_ref_id.map_or(-1, |r| r as i64), a.mate_pos];
    let (e1, e2) = if first { (own, mate) } else { (mate, own) };
    key.0.clear();
    key.0.extend_from_slice(&a.name);
    key.1 = a.hi;
    key.2 = [e1[0], e1[1], e2[0], e2[1]];
}

/// Most spare buffers a mate buffer keeps.
const POOL: usize = 4096;

/// Mates seen whose partner has not arrived yet.
#[derive(Default)]
pub struct MateBuffer {
    pending: HashMap<Key, Box<Alignment>, foldhash::fast::FixedState>,
    /// Boxed: a mate moves in and out of the map as a pointer, not as 150 bytes.
    pool: Vec<Box<Alignment>>,
    /// Key buffers of removed entries, reused for new ones (no allocation per mate).
    names: Vec<Vec<u8>>,
    key: Key,
    spill: Option<Spill>,
}

/// Mates set aside on disk once too many wait, so memory stays bounded on a coordinate-sorted
/// file however deep it is (mates spanning long introns wait while the reads of the whole
/// intron stream by). A key whose state went to disk keeps going there: every later record of
/// it is appended to disk too, and at the end each key's records are replayed in arrival order.
/// On a coordinate-sorted file a key can only have state on disk if one of its two positions
/// lies at or before the last spill, so the test needs no memory per spilled key.
struct Spill {
    /// Most mates waiting in memory, and most records queued for disk, before a spill.
    cap: usize,
    /// The position of the last record handed over before the last spill.
    upto: Option<SortPos>,
    /// Records of keys on disk, in arrival order, not yet written.
    routed: Vec<Box<Alignment>>,
    /// Runs on disk, in time order, each sorted by key (stably: arrival order within a key).
    runs: Vec<File>,
    /// Where the runs go.
    dir: PathBuf,
}

impl MateBuffer {
    /// A buffer that spills to temporary files in `dir` beyond `cap` waiting mates; only for
    /// records handed over in coordinate order, with [`MateBuffer::spill_if_full`] called between
    /// them.
    pub fn spilling(cap: usize, dir: PathBuf) -> Self {
        let spill = Spill { cap, upto: None, routed: Vec::new(), runs: Vec::new(), dir };
        Self { spill: Some(spill), ..Self::default() }
    }

    /// Whether `a` belongs to a key whose state may be on disk (then it must go there too).
    pub fn goes_to_disk(&mut self, a: &Alignment) -> bool {
        let Some(upto) = self.spill.as_ref().and_then(|s| s.upto) else { return false };
        if own_pos(a).min(mate_pos(a)) > upto {
            return false;
        }
        key_of(a, &mut self.key);
        !self.pending.contains_key(&self.key)
    }

    /// Queues `a` for disk (see [`MateBuffer::goes_to_disk`]).
    pub fn to_disk(&mut self, a: &Alignment) -> io::Result<()> {
        let Some(spill) = self.spill.as_mut() else { return Ok(()) };
        let mut copy = self.pool.pop().unwrap_or_default();
        (*copy).clone_from(a);
        spill.routed.push(copy);
        if spill.routed.len() >= spill.cap {
            let mut routed = std::mem::take(&mut spill.routed);
            write_run(&mut routed, &mut spill.runs, &spill.dir)?;
            self.keep(routed);
        }
        Ok(())
    }

    /// Writes every waiting mate to disk if more than the cap wait; `upto` is the position of
    /// the last record handed over so far.
    pub fn spill_if_full(&mut self, upto: Option<SortPos>) -> io::Result<()> {
        let Some(spill) = self.spill.as_mut() else { return Ok(()) };
        if self.pending.len() < spill.cap {
            return Ok(());
        }
        let mut waiting: Vec<Box<Alignment>> = self.pending.drain().map(|(_, a)| a).collect();
        write_run(&mut waiting, &mut spill.runs, &spill.dir)?;
        spill.upto = upto.max(spill.upto);
        self.keep(waiting);
        Ok(())
    }

    /// Everything that went to disk, to replay key by key once the input is read.
    pub fn spilled(&mut self) -> io::Result<Option<Replay>> {
        let Some(mut spill) = self.spill.take() else { return Ok(None) };
        if !spill.routed.is_empty() {
            write_run(&mut spill.routed, &mut spill.runs, &spill.dir)?;
        }
        if spill.runs.is_empty() {
            return Ok(None);
        }
        Replay::new(spill.runs).map(Some)
    }

    /// Offers a record: returns its waiting mate if there is one (to be given back with
    /// [`MateBuffer::recycle`]), else keeps a copy of it and returns `None`. A second record with
    /// the same key and the same mate number pushes the first one out as a lone end
    /// (returned in `evicted`).
    pub fn offer(&mut self, a: &Alignment, evicted: &mut Vec<Box<Alignment>>) -> Option<Box<Alignment>> {
        key_of(a, &mut self.key);
        if let Some((key, waiting)) = self.pending.remove_entry(&self.key) {
            if self.names.len() < POOL {
                self.names.push(key.0);
            }
            if waiting.has(flag::FIRST) != a.has(flag::FIRST) {
                return Some(waiting);
            }
            evicted.push(waiting);
        }
        let mut copy = self.pool.pop().unwrap_or_default();
        (*copy).clone_from(a);
        let mut name = self.names.pop().unwrap_or_default();
        name.clone_from(&self.key.0);
        self.pending.insert((name, self.key.1, self.key.2), copy);
        None
    }

    /// Keeps buffers for reuse, up to [`POOL`]: mates flow from workers' buffers to the
    /// file-wide one, so an unbounded pool would grow with the file.
    fn keep(&mut self, buffers: impl IntoIterator<Item = Box<Alignment>>) {
        let room = POOL.saturating_sub(self.pool.len());
        self.pool.extend(buffers.into_iter().take(room));
    }

    /// Hands spare buffers to `other` (a worker's buffer, which makes the copies that end up
    /// here) up to its pool's limit.
    pub fn share_spares(&mut self, other: &mut MateBuffer) {
        let n = POOL.saturating_sub(other.pool.len()).min(self.pool.len());
        other.pool.extend(self.pool.drain(self.pool.len() - n..));
        let n = POOL.saturating_sub(other.names.len()).min(self.names.len());
        other.names.extend(self.names.drain(self.names.len() - n..));
    }

    /// Returns a buffer for reuse.
    pub fn recycle(&mut self, a: Box<Alignment>) {
        self.keep([a]);
    }

    /// Number of mates waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no mate is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes over every mate waiting in `other` (whose keys this buffer has never seen: a
    /// worker's local buffer handed to the file-wide one).
    pub fn absorb(&mut self, other: &mut MateBuffer) {
        for (key, a) in other.pending.drain() {
            if let Some(old) = self.pending.insert(key, a) {
                debug_assert!(false, "a key seen by two chunks was paired locally");
                self.keep([old]);
            }
        }
    }

    /// Every mate still waiting at the end of the input, in a deterministic order.
    pub fn drain_sorted(&mut self) -> Vec<Box<Alignment>> {
        let mut rest: Vec<(Key, Box<Alignment>)> = self.pending.drain().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        rest.into_iter().map(|(_, a)| a).collect()
    }
}

/// Sorts `records` stably by key and appends them to a new temporary file.
fn write_run(records: &mut Vec<Box<Alignment>>, runs: &mut Vec<File>, dir: &Path) -> io::Result<()> {
    let mut keyed: Vec<(Key, Box<Alignment>)> = records
        .drain(..)
        .map(|a| {
            let mut k = Key::default();
            key_of(&a, &mut k);
            (k, a)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(dir)?);
    for (_, a) in &keyed {
        a.write_to(&mut w)?;
    }
    let mut file = w.into_inner().map_err(|e| e.into_error())?;
    file.flush()?;
    file.rewind()?;
    runs.push(file);
    records.extend(keyed.into_iter().map(|(_, a)| a));
    Ok(())
}

/// The spilled records merged across runs, key by key, each key's records in arrival order.
pub struct Replay {
    readers: Vec<BufReader<File>>,
    heads: Vec<Option<(Key, Alignment)>>,
    heap: BinaryHeap<std::cmp::Reverse<(Key, usize)>>,
}

impl Replay {
    fn new(runs: Vec<File>) -> io::Result<Self> {
        let mut replay = Self {
            readers: runs.into_iter().map(|f| BufReader::with_capacity(1 << 16, f)).collect(),
            heads: Vec::new(),
            heap: BinaryHeap::new(),
        };
        replay.heads = (0..replay.readers.len()).map(|_| None).collect();
        for run in 0..replay.readers.len() {
            replay.advance(run)?;
        }
        Ok(replay)
    }

    fn advance(&mut self, run: usize) -> io::Result<()> {
        let mut a = Alignment::default();
        if a.read_from(&mut self.readers[run])? {
            let mut k = Key::default();
            key_of(&a, &mut k);
            self.heap.push(std::cmp::Reverse((k.clone(), run)));
            self.heads[run] = Some((k, a));
        }
        Ok(())
    }

    /// The next key's records in arrival order (into `out`, cleared first); `false` when done.
    pub fn next_key(&mut self, out: &mut Vec<Alignment>) -> io::Result<bool> {
        out.clear();
        let Some(std::cmp::Reverse((key, _))) = self.heap.peek().cloned() else { return Ok(false) };
        while let Some(std::cmp::Reverse((k, run))) = self.heap.peek().cloned() {
            if k != key {
                break;
            }
            self.heap.pop();
            if let Some((_, a)) = self.heads[run].take() {
                out.push(a);
            }
            self.advance(run)?;
        }
        Ok(true)
    }
}
