//! Methylated and unmethylated calls per CpG from coordinate-sorted alignments, streaming.
//!
//! Two sources of calls, chosen per record:
//! - Bismark bisulfite alignments: the `XM` methylation-call string (`Z`/`z` = methylated or
//!   unmethylated C in CpG context; `X x H h` = CHG/CHH, used for the conversion rate) with `XG`
//!   giving the genome strand (`CT` = top, `GA` = bottom);
//! - modified-base alignments: `MM`/`ML` tags (5mC, code `m`), with the CpG context read from the
//!   read itself (a C followed by a G on consecutive reference bases).
//!
//! Filters follow MethylDackel's defaults: MAPQ ≥ 10, base quality ≥ 5, and secondary,
//! supplementary, QC-failed and duplicate records skipped. Where both mates of a pair cover a
//! CpG it is counted once, from read 1 (Bismark's `--no_overlap`). Calls are accumulated in a
//! window that is flushed as the sorted input moves on, so memory holds the finished sites and
//! the reads of one insert, never the BAM.

pub mod bismark;
pub mod modbam;
pub mod record;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::num::NonZeroUsize;
use std::path::Path;

use noodles::sam::alignment::RecordBuf;
use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::{bam, bgzf, sam};
use serde::{Deserialize, Serialize};

use super::EpigenomeError;
use super::sites::{ChromCalls, SampleCalls, Site, chrom_cmp};
use crate::io::open::{AlignmentFile, RecordGuard, SniffError, sniff_alignments};
use record::View;

/// `[epigenome.quant]` / `quant methylation` flags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallOptions {
    /// Minimum mapping quality (MethylDackel `-q`, default 10).
    pub min_mapq: u8,
    /// Minimum base quality of the called base (MethylDackel `-p`, default 5).
    pub min_base_quality: u8,
    /// Ignore calls from the first N bases of each read, in sequencing orientation (M-bias).
    pub ignore_first: usize,
    /// Ignore calls from the last N bases of each read, in sequencing orientation (M-bias).
    pub ignore_last: usize,
    /// Count reads flagged as duplicates (skipped by default).
    pub keep_duplicates: bool,
    /// `MM`/`ML`: a C is called 5mC when P(5mC) ≥ this, unmethylated when P(canonical) ≥ this,
    /// and not called otherwise (modbam2bed's rule; default 0.66).
    pub mod_threshold: f64,
}

impl Default for CallOptions {
    fn default() -> Self {
        Self {
            min_mapq: 10,
            min_base_quality: 5,
            ignore_first: 0,
            ignore_last: 0,
            keep_duplicates: false,
            mod_threshold: 0.66,
        }
    }
}

/// What happened to the records of one file, and the non-CpG calls behind the conversion rate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallStats {
    /// Records read.
    pub records: u64,
    /// Unmapped records.
    pub unmapped: u64,
    /// Secondary or supplementary alignments.
    pub not_primary: u64,
    /// QC-failed records.
    pub qc_fail: u64,
    /// Duplicates (skipped unless `keep_duplicates`).
    pub duplicate: u64,
    /// Below `min_mapq`.
    pub low_mapq: u64,
    /// Mapped records with neither `XM` nor `MM`/`ML`.
    pub no_tags: u64,
    /// Records that gave calls.
    pub used: u64,
    /// CpG calls: methylated.
    pub cpg_methylated: u64,
    /// CpG calls: unmethylated.
    pub cpg_unmethylated: u64,
    /// Non-CpG (CHG, CHH) calls read as methylated (bisulfite only).
    pub non_cpg_methylated: u64,
    /// Non-CpG calls read as unmethylated, i.e. converted.
    pub non_cpg_unmethylated: u64,
    /// Calls dropped for base quality.
    pub low_base_quality: u64,
    /// Calls dropped by `ignore_first`/`ignore_last`.
    pub trimmed: u64,
    /// Calls from read 2 at CpGs read 1 of the same pair already called.
    pub overlap: u64,
    /// `MM`/`ML` calls with no class reaching `mod_threshold`.
    pub ambiguous: u64,
}

impl CallStats {
    /// Bisulfite conversion rate: converted non-CpG Cs over all non-CpG Cs (`None` without them).
    pub fn conversion_rate(&self) -> Option<f64> {
        let total = self.non_cpg_methylated + self.non_cpg_unmethylated;
        (total > 0).then(|| self.non_cpg_unmethylated as f64 / total as f64)
    }
}

/// One call: 1-based forward-strand CpG position and whether it read as methylated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// CpG position (1-based C on the forward strand).
    pub pos: u64,
    /// Methylated?
    pub methylated: bool,
}

/// Scratch space reused across records.
#[derive(Default)]
struct Scratch {
    calls: Vec<Call>,
    ref_pos: Vec<Option<u64>>,
    sequenced: Vec<u8>,
    mods: Vec<Option<Option<(u8, u16)>>>,
    entries: Vec<modbam::ModEntry>,
    c_positions: Vec<usize>,
}

/// A read waiting for its mate so that their overlap is counted once.
struct Pending {
    first: bool,
    min_pos: u64,
    mate_pos: u64,
    calls: Vec<Call>,
}

struct Caller<'a> {
    path: &'a Path,
    options: &'a CallOptions,
    stats: CallStats,
    finished: Vec<ChromCalls>,
    /// Calls per position from `window_start` on (dense: one slot per reference base).
    window: std::collections::VecDeque<(u64, u64)>,
    window_start: u64,
    current: Option<(usize, ChromCalls)>,
    pending: HashMap<Vec<u8>, Pending>,
    pending_min: BTreeMap<u64, usize>,
    /// (mate position, name) of pending reads: a mate not seen by its position never will be.
    pending_mates: std::collections::BTreeSet<(u64, Vec<u8>)>,
    last: Option<(usize, u64)>,
    scratch: Scratch,
}

/// Calls methylation per CpG in one BAM/SAM file (CRAM is refused: give a BAM).
///
/// `workers` > 1 decompresses BGZF on that many threads; records are processed in file order.
pub fn call(path: &Path, options: &CallOptions, workers: usize) -> Result<(SampleCalls, CallStats), EpigenomeError> {
    if !(0.5..=1.0).contains(&options.mod_threshold) {
        return Err(EpigenomeError::File {
            path: path.to_path_buf(),
            message: format!("mod_threshold must lie in [0.5, 1], got {}", options.mod_threshold),
        });
    }
    let io_err = |source| EpigenomeError::Io { path: path.to_path_buf(), source };
    let file_err = |message: &str| EpigenomeError::File { path: path.to_path_buf(), message: message.into() };
    let kind = sniff_alignments(path).map_err(|e| match e {
        SniffError::Io(source) => io_err(source),
        other => file_err(&other.to_string()),
    })?;
    let file = File::open(path).map_err(io_err)?;
    let caller = Caller::new(path, options);
    match kind {
        AlignmentFile::Cram => Err(file_err("CRAM input is not supported for methylation calls; convert to BAM")),
        AlignmentFile::Bam => match NonZeroUsize::new(workers).filter(|w| w.get() > 1) {
            Some(w) => caller.run_bam(bam::io::Reader::from(RecordGuard::new(
                bgzf::io::MultithreadedReader::with_worker_count(w, file),
            ))),
            None => caller.run_bam(bam::io::Reader::from(RecordGuard::new(bgzf::io::Reader::new(file)))),
        },
        AlignmentFile::BgzfSam => caller.run_sam(BufReader::new(bgzf::io::Reader::new(file))),
        AlignmentFile::GzipSam => caller.run_sam(BufReader::new(flate2::read::MultiGzDecoder::new(file))),
        AlignmentFile::Sam => caller.run_sam(BufReader::new(file)),
    }
}

impl<'a> Caller<'a> {
    fn new(path: &'a Path, options: &'a CallOptions) -> Self {
        Self {
            path,
            options,
            stats: CallStats::default(),
            finished: Vec::new(),
            window: std::collections::VecDeque::new(),
            window_start: 0,
            current: None,
            pending: HashMap::new(),
            pending_min: BTreeMap::new(),
            pending_mates: std::collections::BTreeSet::new(),
            last: None,
            scratch: Scratch::default(),
        }
    }

    fn run_bam<R: Read>(
        mut self,
        mut reader: bam::io::Reader<RecordGuard<R>>,
    ) -> Result<(SampleCalls, CallStats), EpigenomeError> {
        let header = reader.read_header().map_err(|source| EpigenomeError::Io { path: self.path.into(), source })?;
        reader.get_mut().records_follow();
        let mut record = bam::Record::default();
        let mut view = View::default();
        loop {
            let n = self.stats.records + 1;
            let read = reader.read_record(&mut record).map_err(|e| self.record_err(n, None, e))?;
            if read == 0 {
                break;
            }
            view.fill_bam(&record).map_err(|e| self.record_err(n, record.name().map(|n| n.as_ref()), e))?;
            self.step(&header, &view)?;
        }
        self.finish()
    }

    fn run_sam<R: BufRead>(mut self, mut inner: R) -> Result<(SampleCalls, CallStats), EpigenomeError> {
        let (header, _) = crate::io::open::read_sam_header(&mut inner)
            .map_err(|source| EpigenomeError::Io { path: self.path.into(), source })?
            .map_err(|e| EpigenomeError::Line {
                path: self.path.into(),
                line: e.line,
                message: format!("SAM header: {}", e.message),
            })?;
        let mut reader = sam::io::Reader::new(inner);
        let mut record = RecordBuf::default();
        let mut view = View::default();
        loop {
            let n = self.stats.records + 1;
            let read = reader.read_record_buf(&header, &mut record).map_err(|e| self.record_err(n, None, e))?;
            if read == 0 {
                break;
            }
            view.fill_buf(&record);
            self.step(&header, &view)?;
        }
        self.finish()
    }

    fn record_err(&self, record: u64, name: Option<&[u8]>, e: io::Error) -> EpigenomeError {
        EpigenomeError::Record {
            path: self.path.to_path_buf(),
            record,
            name: name.map_or_else(|| "?".into(), |n| String::from_utf8_lossy(n).into_owned()),
            message: e.to_string(),
        }
    }

    fn bad(&self, record: &View, message: String) -> EpigenomeError {
        self.record_err(self.stats.records, Some(&record.name), io::Error::new(io::ErrorKind::InvalidData, message))
    }

    fn step(&mut self, header: &sam::Header, record: &View) -> Result<(), EpigenomeError> {
        self.stats.records += 1;
        let flags = record.flags;
        if flags.is_unmapped() {
            self.stats.unmapped += 1;
            return Ok(());
        }
        let (Some(ref_id), Some(start)) = (record.ref_id, record.start) else {
            return Err(self.bad(record, "mapped record without a reference or position".into()));
        };
        if let Some((last_ref, last_pos)) = self.last
            && (ref_id < last_ref || (ref_id == last_ref && start < last_pos))
        {
            return Err(self.bad(
                record,
                "alignments are not coordinate-sorted (sort with `samtools sort`); methylation calls stream by position"
                    .into(),
            ));
        }
        self.last = Some((ref_id, start));
        if self.current.as_ref().is_none_or(|(id, _)| *id != ref_id) {
            self.finish_chrom();
            let name = header
                .reference_sequences()
                .get_index(ref_id)
                .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
                .ok_or_else(|| self.bad(record, format!("reference index {ref_id} is not in the header")))?;
            self.current = Some((ref_id, ChromCalls { name, sites: Vec::new() }));
        }
        let skip = if flags.is_secondary() || flags.is_supplementary() {
            self.stats.not_primary += 1;
            return Ok(());
        } else if flags.is_qc_fail() {
            self.stats.qc_fail += 1;
            true
        } else if flags.is_duplicate() && !self.options.keep_duplicates {
            self.stats.duplicate += 1;
            true
        } else if record.mapq < self.options.min_mapq {
            self.stats.low_mapq += 1;
            true
        } else {
            false
        };
        if skip {
            // A filtered mate will not be merged: release its partner's calls as they are.
            if let Some(p) = self.take_pending(&record.name) {
                self.add_calls(&p.calls);
            }
            self.release_stale(start);
            self.flush(start.saturating_sub(1));
            return Ok(());
        }
        // Every call of this read lies at or after start - 1: flush first, so the dense window
        // never spans the gap to the previous read.
        self.release_stale(start);
        self.flush(start.saturating_sub(1));
        let mut calls = std::mem::take(&mut self.scratch.calls);
        calls.clear();
        let found = self.record_calls(record, start, &mut calls)?;
        if !found {
            self.stats.no_tags += 1;
        } else {
            self.stats.used += 1;
        }
        let paired = flags.is_segmented() && !flags.is_mate_unmapped() && record.mate_ref_id == Some(ref_id);
        if paired && let Some(mate) = self.take_pending(&record.name) {
            let (first, second) = if mate.first { (&mate.calls, &calls) } else { (&calls as &Vec<Call>, &mate.calls) };
            self.add_calls(first);
            let mut overlap = 0;
            for c in second {
                if first.iter().any(|f| f.pos == c.pos) {
                    overlap += 1;
                } else {
                    self.add_call(*c);
                }
            }
            self.stats.overlap += overlap;
        } else if paired
            && record.mate_start.is_some_and(|m| m >= start && m <= self.aligned_end())
            && !calls.is_empty()
        {
            // Only a mate that starts before this read ends can overlap it.
            let min_pos = calls.iter().map(|c| c.pos).min().unwrap_or(start);
            let mate_pos = record.mate_start.unwrap_or(start);
            *self.pending_min.entry(min_pos).or_default() += 1;
            self.pending_mates.insert((mate_pos, record.name.clone()));
            let first = flags.is_first_segment();
            self.pending.insert(record.name.clone(), Pending { first, min_pos, mate_pos, calls: calls.clone() });
        } else {
            self.add_calls(&calls);
        }
        self.scratch.calls = calls;
        Ok(())
    }

    /// 1-based last reference base of the record whose `ref_pos` was filled last.
    fn aligned_end(&self) -> u64 {
        self.scratch.ref_pos.iter().rev().find_map(|r| *r).map_or(0, |r| r + 1)
    }

    /// The record's CpG calls into `calls`; `false` when it has no methylation tags.
    fn record_calls(&mut self, record: &View, start: u64, calls: &mut Vec<Call>) -> Result<bool, EpigenomeError> {
        if let Some(e) = &record.tag_error {
            return Err(self.bad(record, e.clone()));
        }
        let reverse = record.flags.is_reverse_complemented();
        fill_ref_pos(&mut self.scratch.ref_pos, start, record.cigar.iter().copied());
        if self.scratch.ref_pos.len() != record.seq_len && record.seq_len > 0 {
            return Err(self.bad(
                record,
                format!("CIGAR covers {} read bases but SEQ has {}", self.scratch.ref_pos.len(), record.seq_len),
            ));
        }
        let filter = Filter::new(self.options, &record.quals, record.seq_len, reverse);
        if let Some(xm) = &record.xm {
            let top = match record.xg.as_deref() {
                Some(b"CT") => true,
                Some(b"GA") => false,
                Some(_) => return Err(self.bad(record, "XG must be CT or GA".into())),
                None => return Err(self.bad(record, "XM without XG: cannot tell the genome strand".into())),
            };
            bismark::calls(xm, top, &self.scratch.ref_pos, &filter, &mut self.stats, calls)
                .map_err(|m| self.bad(record, m))?;
            return Ok(true);
        }
        let Some(mm) = &record.mm else { return Ok(false) };
        let (seq, ml) = (&record.seq, &record.ml);
        let mut entries = std::mem::take(&mut self.scratch.entries);
        let parsed = modbam::parse_into(mm, ml.len(), &mut entries);
        if let Err(m) = parsed {
            return Err(self.bad(record, m));
        }
        self.scratch.sequenced.clear();
        if reverse {
            self.scratch.sequenced.extend(seq.iter().rev().map(|b| complement(*b)));
        } else {
            self.scratch.sequenced.extend_from_slice(seq);
        }
        let decoded = modbam::cytosine_calls(
            &entries,
            ml,
            &self.scratch.sequenced,
            &mut self.scratch.c_positions,
            &mut self.scratch.mods,
        );
        self.scratch.entries = entries;
        decoded.map_err(|m| self.bad(record, m))?;
        let threshold = self.options.mod_threshold;
        let ref_pos = &self.scratch.ref_pos;
        for (o, call) in self.scratch.mods.iter().enumerate() {
            let Some(call) = call else { continue };
            // The CpG's C and G as stored in SEQ (forward-strand order).
            let i = if reverse { seq.len() - 1 - o } else { o };
            let (c, g) = if reverse { (i.wrapping_sub(1), i) } else { (i, i + 1) };
            if c >= seq.len()
                || g >= seq.len()
                || !seq[c].eq_ignore_ascii_case(&b'C')
                || !seq[g].eq_ignore_ascii_case(&b'G')
            {
                continue;
            }
            let (Some(rc), Some(rg)) = (ref_pos[c], ref_pos[g]) else { continue };
            if rg != rc + 1 || !filter.keep(i, &mut self.stats) {
                continue;
            }
            let methylated = match call {
                None => false,
                Some((m, other)) => {
                    let p_m = (f64::from(*m) + 0.5) / 256.0;
                    let p_other = if *other == 0 { 0.0 } else { (f64::from(*other) + 0.5) / 256.0 };
                    if p_m >= threshold {
                        true
                    } else if 1.0 - p_m - p_other >= threshold {
                        false
                    } else {
                        self.stats.ambiguous += 1;
                        continue;
                    }
                }
            };
            calls.push(Call { pos: rc + 1, methylated });
        }
        Ok(true)
    }

    /// Takes a pending read out of the bookkeeping.
    fn take_pending(&mut self, name: &[u8]) -> Option<Pending> {
        let p = self.pending.remove(name)?;
        self.pending_mates.remove(&(p.mate_pos, name.to_vec()));
        self.unpend(p.min_pos);
        Some(p)
    }

    /// Counts, unmerged, the pending reads whose mate should have appeared before `start`.
    fn release_stale(&mut self, start: u64) {
        while let Some((mate_pos, _)) = self.pending_mates.first()
            && *mate_pos < start
        {
            let Some((_, name)) = self.pending_mates.pop_first() else { break };
            if let Some(p) = self.pending.remove(&name) {
                self.unpend(p.min_pos);
                self.add_calls(&p.calls);
            }
        }
    }

    fn unpend(&mut self, min_pos: u64) {
        if let Some(n) = self.pending_min.get_mut(&min_pos) {
            *n -= 1;
            if *n == 0 {
                self.pending_min.remove(&min_pos);
            }
        }
    }

    fn add_calls(&mut self, calls: &[Call]) {
        for c in calls {
            self.add_call(*c);
        }
    }

    fn add_call(&mut self, c: Call) {
        if self.window.is_empty() {
            self.window_start = c.pos;
        }
        while c.pos < self.window_start {
            self.window.push_front((0, 0));
            self.window_start -= 1;
        }
        let k = (c.pos - self.window_start) as usize;
        if k >= self.window.len() {
            self.window.resize(k + 1, (0, 0));
        }
        let e = &mut self.window[k];
        if c.methylated {
            e.0 += 1;
            self.stats.cpg_methylated += 1;
        } else {
            e.1 += 1;
            self.stats.cpg_unmethylated += 1;
        }
    }

    /// Moves every site before `limit` (and before any pending read's calls) out of the window.
    fn flush(&mut self, limit: u64) {
        let limit = self.pending_min.keys().next().map_or(limit, |p| limit.min(*p));
        let Some((_, chrom)) = self.current.as_mut() else { return };
        while self.window_start < limit
            && let Some((m, u)) = self.window.pop_front()
        {
            if m + u > 0 {
                chrom.sites.push(Site { pos: self.window_start, methylated: m, unmethylated: u });
            }
            self.window_start += 1;
        }
    }

    fn finish_chrom(&mut self) {
        // In name order, so the result never depends on hash order (counts add up the same anyway).
        let mut pending: Vec<(Vec<u8>, Pending)> = self.pending.drain().collect();
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        self.pending_min.clear();
        self.pending_mates.clear();
        for (_, p) in pending {
            self.add_calls(&p.calls);
        }
        self.flush(u64::MAX);
        if let Some((_, chrom)) = self.current.take()
            && !chrom.sites.is_empty()
        {
            self.finished.push(chrom);
        }
    }

    fn finish(mut self) -> Result<(SampleCalls, CallStats), EpigenomeError> {
        self.finish_chrom();
        let mapped = self.stats.records - self.stats.unmapped;
        if mapped > 0 && self.stats.used == 0 && self.stats.no_tags > 0 {
            return Err(EpigenomeError::File {
                path: self.path.to_path_buf(),
                message: "no record carries XM (Bismark) or MM/ML (base modification) tags".into(),
            });
        }
        let mut chroms = self.finished;
        chroms.sort_by(|a, b| chrom_cmp(&a.name, &b.name));
        Ok((SampleCalls { chroms }, self.stats))
    }
}

/// Base-quality and M-bias filters for one read.
pub struct Filter<'a> {
    quals: &'a [u8],
    min_quality: u8,
    /// SEQ indices kept by `ignore_first`/`ignore_last` (which count in sequencing orientation).
    kept: std::ops::Range<usize>,
}

impl<'a> Filter<'a> {
    /// The filters of a read of `len` bases, reverse-complemented in SEQ when `reverse`.
    pub fn new(options: &CallOptions, quals: &'a [u8], len: usize, reverse: bool) -> Self {
        let (head, tail) = if reverse {
            (options.ignore_last, options.ignore_first)
        } else {
            (options.ignore_first, options.ignore_last)
        };
        Self { quals, min_quality: options.min_base_quality, kept: head..len.saturating_sub(tail) }
    }

    /// Whether the call at SEQ index `i` survives; counts why not.
    #[inline]
    pub fn keep(&self, i: usize, stats: &mut CallStats) -> bool {
        if !self.kept.contains(&i) {
            stats.trimmed += 1;
            return false;
        }
        // An absent quality string (`*`) is all 0xFF in BAM and empty in noodles: no filter.
        if let Some(&q) = self.quals.get(i)
            && q != 0xFF
            && q < self.min_quality
        {
            stats.low_base_quality += 1;
            return false;
        }
        true
    }
}

/// For each read base, the 0-based reference position it is aligned to (`None` in insertions and
/// soft clips).
fn fill_ref_pos(out: &mut Vec<Option<u64>>, start: u64, ops: impl Iterator<Item = (Kind, usize)>) {
    out.clear();
    let mut r = start - 1;
    for (kind, len) in ops {
        match kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                out.extend((0..len as u64).map(|k| Some(r + k)));
                r += len as u64;
            }
            Kind::Insertion | Kind::SoftClip => out.extend(std::iter::repeat_n(None, len)),
            Kind::Deletion | Kind::Skip => r += len as u64,
            Kind::HardClip | Kind::Pad => {}
        }
    }
}

fn complement(b: u8) -> u8 {
    match b {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        b'T' => b'A',
        b'a' => b't',
        b'c' => b'g',
        b'g' => b'c',
        b't' => b'a',
        other => other,
    }
}
