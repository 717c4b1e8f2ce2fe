//! Mates for fragment counting (`--paired --count-pairs`), whatever the sort order.
//!
//! Mates are matched by read name, HI tag and both mates' reference and position (as each
//! record states them; featureCounts too treats mates whose records disagree as two fragments), so mates far apart in a
//! coordinate-sorted file, name-sorted input and multi-mapping pairs all pair up without
//! re-sorting anything on disk. A mate waits in memory only until its partner arrives;
//! buffers are recycled, so steady state allocates nothing per record.

use std::collections::HashMap;

use super::record::{Alignment, flag};

/// Read name, HI, then the first and second mate's (reference, position).
type Key = (Vec<u8>, i64, [i64; 4]);

/// Mates seen whose partner has not arrived yet.
#[derive(Default)]
pub struct MateBuffer {
    pending: HashMap<Key, Alignment>,
    pool: Vec<Alignment>,
    key: Key,
}

impl MateBuffer {
    /// Offers a record: returns its waiting mate if there is one (to be given back with
    /// [`MateBuffer::recycle`]), else keeps a copy of it and returns `None`. A second record with
    /// the same key and the same mate number pushes the first one out as a lone end
    /// (returned in `evicted`).
    pub fn offer(&mut self, a: &Alignment, evicted: &mut Vec<Alignment>) -> Option<Alignment> {
        let first = !a.has(flag::LAST) || a.has(flag::FIRST);
        let own = [a.ref_id.map_or(-1, |r| r as i64), a.pos];
        let mate = [a.mate_ref_id.map_or(-1, |r| r as i64), a.mate_pos];
        let (e1, e2) = if first { (own, mate) } else { (mate, own) };
        self.key.0.clear();
        self.key.0.extend_from_slice(&a.name);
        self.key.1 = a.hi;
        self.key.2 = [e1[0], e1[1], e2[0], e2[1]];
        if let Some(waiting) = self.pending.remove(&self.key) {
            if waiting.has(flag::FIRST) != a.has(flag::FIRST) {
                return Some(waiting);
            }
            evicted.push(waiting);
        }
        let mut copy = self.pool.pop().unwrap_or_default();
        copy.clone_from(a);
        self.pending.insert(self.key.clone(), copy);
        None
    }

    /// Returns a buffer for reuse.
    pub fn recycle(&mut self, a: Alignment) {
        self.pool.push(a);
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
                self.pool.push(old);
            }
        }
    }

    /// Every mate still waiting at the end of the input, in a deterministic order.
    pub fn drain_sorted(&mut self) -> Vec<Alignment> {
        let mut rest: Vec<(Key, Alignment)> = self.pending.drain().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        rest.into_iter().map(|(_, a)| a).collect()
    }
}
