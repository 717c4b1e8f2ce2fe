//! One alignment record, reduced to what counting needs, filled in place from BAM or SAM.
//!
//! The counter never sees noodles' record types: each input format fills the same reused
//! [`Alignment`] (no allocation per record once its buffers have grown), so the overlap and
//! pairing rules are written once.

use std::io;

use noodles::bam;
use noodles::sam::{self, alignment::record::cigar::op::Kind, alignment::record::data::field::Tag};

/// SAM flag bits used by the counting rules.
pub mod flag {
    /// Template has multiple segments (paired).
    pub const PAIRED: u16 = 0x1;
    /// Segment unmapped.
    pub const UNMAPPED: u16 = 0x4;
    /// Next segment (mate) unmapped.
    pub const MATE_UNMAPPED: u16 = 0x8;
    /// Sequence reverse complemented.
    pub const REVERSE: u16 = 0x10;
    /// Mate reverse complemented.
    pub const MATE_REVERSE: u16 = 0x20;
    /// First segment in the template.
    pub const FIRST: u16 = 0x40;
    /// Last segment in the template.
    pub const LAST: u16 = 0x80;
    /// Secondary alignment.
    pub const SECONDARY: u16 = 0x100;
    /// PCR or optical duplicate.
    pub const DUPLICATE: u16 = 0x400;
}

/// The fields of one alignment that featureCounts' rules look at.
#[derive(Debug, Default)]
pub struct Alignment {
    /// SAM flags.
    pub flags: u16,
    /// Reference sequence index in the header, when mapped.
    pub ref_id: Option<usize>,
    /// Mate's reference sequence index.
    pub mate_ref_id: Option<usize>,
    /// 1-based alignment start (0 when absent; unmapped mates are often placed at their mate's).
    pub pos: i64,
    /// 1-based mate alignment start (0 when absent).
    pub mate_pos: i64,
    /// MAPQ (255 when unavailable, as in the file).
    pub mapq: u8,
    /// NH tag (number of reported alignments), 1 when absent.
    pub nh: i64,
    /// HI tag (hit index), 0 when absent; pairs mates of multi-mapping reads.
    pub hi: i64,
    /// Read name (filled only when pairing needs it).
    pub name: Vec<u8>,
    /// TLEN (the observed template length, signed as in the file).
    pub tlen: i64,
    /// The CIGAR has an `N` (a split, exon-spanning alignment).
    pub junction: bool,
    /// Aligned reference blocks, 0-based half-open: featureCounts' CIGAR sections (`M`/`=`/`X`
    /// runs; `I`, `D` and `N` end a section), at most `--maxMOp` of them, empty ones left out.
    pub blocks: Vec<(u64, u64)>,
    /// Exon–exon junctions for `-J` (filled only with [`Layout::splices`]): per `N`, the last
    /// reference base before it and the first after it, 1-based; as in featureCounts, only an `N`
    /// whose following section is within `--maxMOp`.
    pub splices: Vec<(u64, u64)>,
    /// The record's number in its file (1-based; set by the one-pass reader for `-R SAM/BAM`).
    pub record: u64,
    /// RG tag value (filled only with [`Layout::read_group`]; empty when absent).
    pub read_group: Vec<u8>,
    /// The read's bases as featureCounts measures a fragment (`--fracOverlap`, `--nonOverlap`):
    /// filled only when [`Layout::intervals`] asks for them.
    pub intervals: Vec<Interval>,
}

/// By hand so that `clone_from` reuses the buffers (derived `clone_from` allocates anew): the mate
/// buffer copies every waiting mate into a recycled alignment.
impl Clone for Alignment {
    fn clone(&self) -> Self {
        let mut a = Alignment::default();
        a.clone_from(self);
        a
    }

    fn clone_from(&mut self, source: &Self) {
        let Alignment {
            flags,
            ref_id,
            mate_ref_id,
            pos,
            mate_pos,
            mapq,
            nh,
            hi,
            name,
            tlen,
            junction,
            blocks,
            splices,
            record,
            read_group,
            intervals,
        } = source;
        (self.flags, self.ref_id, self.mate_ref_id, self.pos, self.mate_pos) =
            (*flags, *ref_id, *mate_ref_id, *pos, *mate_pos);
        (self.mapq, self.nh, self.hi, self.tlen, self.junction) = (*mapq, *nh, *hi, *tlen, *junction);
        self.record = *record;
        self.name.clone_from(name);
        self.blocks.clone_from(blocks);
        self.splices.clone_from(splices);
        self.read_group.clone_from(read_group);
        self.intervals.clone_from(intervals);
    }
}

/// What to decode from each record, fixed for a run.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Decode what mate pairing needs (name, HI, mate fields).
    pub pairing: bool,
    /// featureCounts' `--maxMOp`: CIGAR sections beyond it are not used.
    pub max_sections: usize,
    /// Fill [`Alignment::intervals`].
    pub intervals: bool,
    /// Fill [`Alignment::read_group`] (`--byReadGroup`).
    pub read_group: bool,
    /// Fill [`Alignment::splices`] (`-J`).
    pub splices: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Self { pairing: false, max_sections: 10, intervals: false, read_group: false, splices: false }
    }
}

/// Most insertions featureCounts records per section.
const MAX_INSERTIONS: usize = 8;

/// One CIGAR section as featureCounts measures read length: its reference span, widened by
/// soft clips at the read's ends, and the insertions that close it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interval {
    /// 1-based start (0 when a left clip reaches past the contig start).
    pub start: u64,
    /// Reference length, clips included.
    pub len: u64,
    insertions: usize,
    insertion_pos: [u64; MAX_INSERTIONS],
    insertion_len: [u64; MAX_INSERTIONS],
}

impl Interval {
    fn insertion_total(&self) -> u64 {
        self.insertion_len[..self.insertions].iter().sum()
    }

    /// Drops the first `n` insertions.
    fn drop_insertions(&mut self, n: usize) {
        let kept = self.insertions.min(MAX_INSERTIONS).saturating_sub(n);
        self.insertion_pos.copy_within(n..n + kept, 0);
        self.insertion_len.copy_within(n..n + kept, 0);
        self.insertions = kept;
    }
}

impl Alignment {
    /// Whether a flag bit is set.
    #[inline]
    pub fn has(&self, bit: u16) -> bool {
        self.flags & bit != 0
    }

    /// Fills from a lazily decoded BAM record.
    ///
    /// `layout.pairing` also decodes what mate pairing needs (name, HI, mate fields);
    /// single-end counting skips it.
    pub fn fill_bam(&mut self, record: &bam::Record, layout: Layout) -> io::Result<()> {
        self.flags = u16::from(record.flags());
        self.mapq = record.mapping_quality().map_or(255, u8::from);
        self.ref_id = record.reference_sequence_id().transpose()?;
        // NH and HI in one pass over the tags (aligners write them first), stopping once known.
        (self.nh, self.hi) = (1, 0);
        self.read_group.clear();
        let (mut nh, mut hi, mut rg) = (false, !layout.pairing, !layout.read_group);
        for field in record.data().iter() {
            let (tag, value) = field?;
            if tag == Tag::READ_GROUP && !rg {
                if let sam::alignment::record::data::field::Value::String(v) = value {
                    self.read_group.extend_from_slice(v);
                }
                rg = true;
            }
            // The first of a repeated tag counts, as noodles' `get` reads it.
            if tag == Tag::ALIGNMENT_HIT_COUNT && !nh {
                self.nh = value.as_int().unwrap_or(1);
                nh = true;
            } else if tag == Tag::HIT_INDEX && !hi {
                self.hi = value.as_int().unwrap_or(0);
                hi = true;
            }
            if nh && hi && rg {
                break;
            }
        }
        self.tlen = i64::from(record.template_length());
        if layout.pairing {
            self.mate_ref_id = record.mate_reference_sequence_id().transpose()?;
            self.set_name(record.name().map(|n| n.as_ref()));
            self.mate_pos = record.mate_alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        }
        self.pos = record.alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        let ops = record.cigar();
        let query = self.fill_blocks(layout, ops.iter().map(|op| op.map(|op| (op.kind(), op.len() as u64))))?;
        check_query_length(query, record.sequence().len(), None)
    }

    /// Fills from a lazily parsed SAM record.
    pub fn fill_sam(&mut self, record: &sam::Record, header: &sam::Header, layout: Layout) -> io::Result<()> {
        self.flags = u16::from(record.flags()?);
        self.mapq = match record.mapping_quality() {
            Some(q) => u8::from(q?),
            None => 255,
        };
        self.ref_id = record.reference_sequence_id(header).transpose()?;
        self.mate_ref_id = record.mate_reference_sequence_id(header).transpose()?;
        let data = record.data();
        self.nh = match data.get(&Tag::ALIGNMENT_HIT_COUNT) {
            Some(v) => v?.as_int().unwrap_or(1),
            None => 1,
        };
        self.hi = match data.get(&Tag::HIT_INDEX) {
            Some(v) => v?.as_int().unwrap_or(0),
            None => 0,
        };
        self.read_group.clear();
        if layout.read_group
            && let Some(sam::alignment::record::data::field::Value::String(v)) =
                data.get(&Tag::READ_GROUP).transpose()?
        {
            self.read_group.extend_from_slice(v);
        }
        if layout.pairing {
            self.set_name(record.name().map(|n| n.as_ref()));
        }
        self.pos = record.alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        self.mate_pos = record.mate_alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        self.tlen = i64::from(record.template_length()?);
        let cigar = record.cigar();
        let query = self.fill_blocks(
            layout,
            cigar.iter().map(|op| op.map(|op| (op.kind(), op.len() as u64)).map_err(|e| invalid(&e.to_string()))),
        )?;
        check_query_length(query, record.sequence().len(), Some(record.quality_scores().len()))
    }
}

impl Alignment {
    /// Fills from an eagerly decoded record (what noodles' CRAM reader yields).
    pub fn fill_record_buf(&mut self, record: &sam::alignment::RecordBuf, layout: Layout) -> io::Result<()> {
        self.flags = u16::from(record.flags());
        self.mapq = record.mapping_quality().map_or(255, u8::from);
        self.ref_id = record.reference_sequence_id();
        self.mate_ref_id = record.mate_reference_sequence_id();
        let int = |tag: &Tag, default: i64| record.data().get(tag).and_then(|v| v.as_int()).unwrap_or(default);
        self.nh = int(&Tag::ALIGNMENT_HIT_COUNT, 1);
        self.hi = int(&Tag::HIT_INDEX, 0);
        self.read_group.clear();
        if layout.read_group
            && let Some(sam::alignment::record_buf::data::field::Value::String(v)) = record.data().get(&Tag::READ_GROUP)
        {
            self.read_group.extend_from_slice(v);
        }
        if layout.pairing {
            self.set_name(record.name().map(|n| n.as_ref()));
        }
        self.pos = record.alignment_start().map_or(0, |p| p.get() as i64);
        self.mate_pos = record.mate_alignment_start().map_or(0, |p| p.get() as i64);
        self.tlen = i64::from(record.template_length());
        let query =
            self.fill_blocks(layout, record.cigar().as_ref().iter().map(|op| Ok((op.kind(), op.len() as u64))))?;
        check_query_length(query, record.sequence().len(), Some(record.quality_scores().len()))
    }

    fn set_name(&mut self, name: Option<&[u8]>) {
        self.name.clear();
        self.name.extend_from_slice(name.unwrap_or(b"*"));
    }

    /// Aligned blocks (and intervals) from the CIGAR, once flags and position are set (none
    /// when unmapped). Returns the read bases the CIGAR covers (`None` when unmapped or without
    /// a CIGAR).
    fn fill_blocks(
        &mut self,
        layout: Layout,
        ops: impl Iterator<Item = io::Result<(Kind, u64)>>,
    ) -> io::Result<Option<u64>> {
        self.blocks.clear();
        self.splices.clear();
        self.intervals.clear();
        self.junction = false;
        if self.has(flag::UNMAPPED) {
            return Ok(None);
        }
        if self.pos == 0 {
            return Err(invalid("mapped record without a position"));
        }
        let intervals = layout.intervals.then_some(&mut self.intervals);
        let splices = layout.splices.then_some(&mut self.splices);
        let walked = walk_cigar(&mut self.blocks, intervals, splices, layout.max_sections, self.pos as u64, ops)?;
        self.junction = walked.junction;
        Ok(walked.query)
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// The checks samtools makes before it counts a record (htslib's `sam_parse1`): a CIGAR must
/// cover as many read bases as SEQ has, and QUAL, when given, must be as long as SEQ. `query`
/// is what the CIGAR covers (`None`: unmapped or no CIGAR); SEQ `*` has length 0 and is not
/// checked, nor is QUAL `*` (length 0, or `None` where the format cannot tell).
fn check_query_length(query: Option<u64>, sequence: usize, quality: Option<usize>) -> io::Result<()> {
    if let Some(query) = query.filter(|_| sequence > 0)
        && query != sequence as u64
    {
        return Err(invalid(&format!("the CIGAR covers {query} read bases but SEQ has {sequence}")));
    }
    if let Some(quality) = quality.filter(|&q| q > 0 && sequence > 0)
        && quality != sequence
    {
        return Err(invalid(&format!("QUAL has {quality} values but SEQ has {sequence} bases")));
    }
    Ok(())
}

/// What one CIGAR walk found besides the blocks.
struct Walked {
    /// Read bases the CIGAR covers (`None` without operations).
    query: Option<u64>,
    /// An `N` was seen.
    junction: bool,
}

/// Turns CIGAR operations into aligned reference blocks, as featureCounts' `parse_bin` does.
///
/// featureCounts counts only bases aligned with `M`, `=` or `X`: a deletion (`D`) is skipped like
/// an intron (`N`), so a feature lying entirely inside a deletion is not hit and deleted bases do
/// not count towards `--min-overlap` (verified against featureCounts 2.0.3). Every `I`, `D` and
/// `N` closes a section, and only the first `max_sections` sections (`--maxMOp`, 10 by default)
/// are used: the rest of a longer CIGAR hits nothing. The intervals, when asked for, measure the
/// read as `--fracOverlap` does: each section's reference span plus the insertion closing it,
/// the first widened by a left soft clip and the last by a right one. The splices, when asked
/// for, are the junctions `-J` counts: an `N` gives one only when the section after it is also
/// within `max_sections` (featureCounts 2.0.3 pairs consecutive sections; a trailing `N` gives none).
fn walk_cigar(
    blocks: &mut Vec<(u64, u64)>,
    mut intervals: Option<&mut Vec<Interval>>,
    mut splices: Option<&mut Vec<(u64, u64)>>,
    max_sections: usize,
    start: u64,
    ops: impl Iterator<Item = io::Result<(Kind, u64)>>,
) -> io::Result<Walked> {
    let (mut chro, mut section_start, mut section_len) = (start, start, 0u64);
    let (mut sections, mut read_cursor, mut right_clip) = (0usize, 0u64, 0u64);
    let mut current = Interval { start, ..Interval::default() };
    let (mut query, mut any, mut junction) = (0u64, false, false);
    // The junction an `N` opened, kept once the section after it is recorded.
    let mut pending: Option<(u64, u64)> = None;
    for op in ops {
        let (kind, len) = op?;
        any = true;
        if matches!(kind, Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch | Kind::Insertion | Kind::SoftClip)
        {
            query += len;
        }
        match kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                chro += len;
                read_cursor += len;
                section_len += len;
            }
            Kind::Insertion | Kind::Deletion | Kind::Skip => {
                junction |= kind == Kind::Skip;
                if kind == Kind::Insertion && current.insertions < MAX_INSERTIONS {
                    current.insertion_pos[current.insertions] = chro;
                    current.insertion_len[current.insertions] = len;
                    current.insertions += 1;
                }
                if sections < max_sections {
                    if section_len > 0 {
                        blocks.push((section_start - 1, section_start - 1 + section_len));
                    }
                    sections += 1;
                    if let Some(intervals) = intervals.as_deref_mut() {
                        current.len = chro - current.start;
                        intervals.push(current);
                    }
                    if let Some(splices) = splices.as_deref_mut() {
                        splices.extend(pending.take());
                        if kind == Kind::Skip {
                            pending = Some((chro - 1, chro + len));
                        }
                    }
                } else {
                    pending = None;
                }
                if kind == Kind::Insertion {
                    read_cursor += len;
                } else {
                    chro += len;
                }
                if sections < max_sections {
                    current = Interval { start: chro, ..Interval::default() };
                }
                section_start = chro;
                section_len = 0;
            }
            Kind::SoftClip => {
                if read_cursor == 0 {
                    read_cursor += len;
                    current.start = current.start.saturating_sub(len);
                } else {
                    right_clip = len;
                }
            }
            Kind::HardClip | Kind::Pad => {}
        }
    }
    if section_len > 0 && sections < max_sections {
        blocks.push((section_start - 1, section_start - 1 + section_len));
        if let Some(splices) = splices {
            splices.extend(pending);
        }
        if let Some(intervals) = intervals {
            current.len = chro - current.start + right_clip;
            intervals.push(current);
        }
    }
    Ok(Walked { query: any.then_some(query), junction })
}

/// A fragment's length as featureCounts measures it for `--fracOverlap` and `--nonOverlap`
/// (its `calc_total_frag_len`): each read's intervals and insertions; for two reads on one
/// contig, the bases both cover once, and an insertion inside that shared stretch only when
/// both reads have it at the same place with the same length.
pub fn fragment_length(
    first: (&[Interval], Option<usize>),
    second: (&[Interval], Option<usize>),
    scratch: &mut (Vec<Interval>, Vec<Interval>),
) -> u64 {
    let one = |iv: &[Interval]| iv.iter().map(|i| i.len + i.insertion_total()).sum::<u64>();
    match (first.0.is_empty(), second.0.is_empty()) {
        (true, true) => return 0,
        (true, false) => return one(second.0),
        (false, true) => return one(first.0),
        _ if first.1 != second.1 => return one(first.0) + one(second.0),
        _ => {}
    }
    let (a, b) = scratch;
    a.clear();
    a.extend_from_slice(first.0);
    b.clear();
    b.extend_from_slice(second.0);
    let (mut i, mut j, mut total) = (0, 0, 0u64);
    // The insertions of `x` before `from`, counted; they stay unless one at or after `from` exists.
    let leading = |x: &mut Interval, from: u64| -> u64 {
        let n = x.insertions.min(MAX_INSERTIONS);
        match (0..n).find(|&k| x.insertion_pos[k] >= from) {
            Some(k) => {
                let sum = x.insertion_len[..k].iter().sum();
                if k > 0 {
                    x.drop_insertions(k);
                }
                sum
            }
            None => x.insertion_len[..n].iter().sum(),
        }
    };
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() {
            let (s1, e1) = (a[i].start, a[i].start + a[i].len);
            let (s2, e2) = (b[j].start, b[j].start + b[j].len);
            if (s1 <= s2 && e1 > s2) || (s2 <= s1 && e2 > s1) {
                let (os, oe) = (s1.max(s2), e1.min(e2));
                if s1 > s2 {
                    total += os - s2 + leading(&mut b[j], os);
                } else if s1 < s2 {
                    total += os - s1 + leading(&mut a[i], os);
                }
                total += oe - os;
                let (mut ia, mut ib) = (0, 0);
                loop {
                    if ia >= a[i].insertions || ib >= b[j].insertions {
                        if ia > 0 {
                            a[i].drop_insertions(ia);
                        }
                        if ib > 0 {
                            b[j].drop_insertions(ib);
                        }
                        break;
                    }
                    let (pa, pb) = (a[i].insertion_pos[ia], b[j].insertion_pos[ib]);
                    if pa > pb {
                        ib += 1;
                    } else if pa < pb {
                        ia += 1;
                    } else {
                        if a[i].insertion_len[ia] == b[j].insertion_len[ib] {
                            total += a[i].insertion_len[ia];
                        }
                        ia += 1;
                        ib += 1;
                    }
                }
                if e1 > e2 {
                    a[i].len -= oe - a[i].start;
                    a[i].start = oe;
                    j += 1;
                } else if e1 < e2 {
                    b[j].len -= oe - b[j].start;
                    b[j].start = oe;
                    i += 1;
                } else {
                    i += 1;
                    j += 1;
                }
            } else if s1 > s2 {
                total += b[j].len + b[j].insertion_total();
                j += 1;
            } else {
                total += a[i].len + a[i].insertion_total();
                i += 1;
            }
        } else if i < a.len() {
            total += a[i].len + a[i].insertion_total();
            i += 1;
        } else {
            total += b[j].len + b[j].insertion_total();
            j += 1;
        }
    }
    total
}

/// Spill files: an alignment as raw little-endian fields, for mates set aside on disk.
impl Alignment {
    /// Writes every field, for [`Alignment::read_from`].
    pub fn write_to(&self, w: &mut impl io::Write) -> io::Result<()> {
        let id = |r: Option<usize>| r.map_or(-1, |r| r as i64);
        w.write_all(&self.flags.to_le_bytes())?;
        w.write_all(&[self.mapq, u8::from(self.junction)])?;
        for v in [
            id(self.ref_id),
            id(self.mate_ref_id),
            self.pos,
            self.mate_pos,
            self.nh,
            self.hi,
            self.tlen,
            self.record as i64,
        ] {
            w.write_all(&v.to_le_bytes())?;
        }
        let lengths =
            [self.name.len(), self.blocks.len(), self.intervals.len(), self.read_group.len(), self.splices.len()];
        for n in lengths {
            w.write_all(&(n as u64).to_le_bytes())?;
        }
        w.write_all(&self.name)?;
        w.write_all(&self.read_group)?;
        for &(s, e) in self.blocks.iter().chain(&self.splices) {
            w.write_all(&s.to_le_bytes())?;
            w.write_all(&e.to_le_bytes())?;
        }
        for i in &self.intervals {
            for v in [i.start, i.len, i.insertions as u64] {
                w.write_all(&v.to_le_bytes())?;
            }
            for v in i.insertion_pos.iter().chain(&i.insertion_len) {
                w.write_all(&v.to_le_bytes())?;
            }
        }
        Ok(())
    }

    /// Reads what [`Alignment::write_to`] wrote into `self` (its buffers reused); `false` at the
    /// end of the file.
    pub fn read_from(&mut self, r: &mut impl io::Read) -> io::Result<bool> {
        let mut head = [0u8; 4];
        match r.read_exact(&mut head[..1]) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            other => other?,
        }
        r.read_exact(&mut head[1..])?;
        self.flags = u16::from_le_bytes([head[0], head[1]]);
        (self.mapq, self.junction) = (head[2], head[3] != 0);
        let mut u64s = [0u64; 13];
        for v in &mut u64s {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            *v = u64::from_le_bytes(b);
        }
        let id = |v: u64| usize::try_from(v as i64).ok();
        self.ref_id = id(u64s[0]);
        self.mate_ref_id = id(u64s[1]);
        [self.pos, self.mate_pos, self.nh, self.hi, self.tlen] =
            [u64s[2], u64s[3], u64s[4], u64s[5], u64s[6]].map(|v| v as i64);
        self.record = u64s[7];
        let [names, blocks, intervals, groups, splices] = [u64s[8], u64s[9], u64s[10], u64s[11], u64s[12]];
        self.name.resize(names as usize, 0);
        r.read_exact(&mut self.name)?;
        self.read_group.resize(groups as usize, 0);
        r.read_exact(&mut self.read_group)?;
        let mut word = || -> io::Result<u64> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            Ok(u64::from_le_bytes(b))
        };
        self.blocks.clear();
        for _ in 0..blocks {
            self.blocks.push((word()?, word()?));
        }
        self.splices.clear();
        for _ in 0..splices {
            self.splices.push((word()?, word()?));
        }
        self.intervals.clear();
        for _ in 0..intervals {
            let mut i = Interval { start: word()?, len: word()?, insertions: word()? as usize, ..Interval::default() };
            for v in i.insertion_pos.iter_mut() {
                *v = word()?;
            }
            for v in i.insertion_len.iter_mut() {
                *v = word()?;
            }
            self.intervals.push(i);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(start: u64, ops: &[(Kind, u64)]) -> Vec<(u64, u64)> {
        let mut b = Vec::new();
        walk_cigar(&mut b, None, None, 10, start, ops.iter().map(|&o| Ok(o))).expect("blocks");
        b
    }

    fn length(start: u64, ops: &[(Kind, u64)]) -> Vec<Interval> {
        let mut iv = Vec::new();
        walk_cigar(&mut Vec::new(), Some(&mut iv), None, 10, start, ops.iter().map(|&o| Ok(o))).expect("intervals");
        iv
    }

    #[test]
    fn introns_and_deletions_split_blocks_clips_and_insertions_do_not() {
        use Kind::*;
        assert_eq!(blocks(100, &[(Match, 10)]), vec![(99, 109)]);
        assert_eq!(blocks(100, &[(SoftClip, 5), (Match, 10), (HardClip, 3)]), vec![(99, 109)]);
        assert_eq!(blocks(100, &[(Match, 5), (Skip, 100), (Match, 5)]), vec![(99, 104), (204, 209)]);
        assert_eq!(blocks(100, &[(Match, 5), (Deletion, 2), (Match, 5)]), vec![(99, 104), (106, 111)]);
        assert_eq!(blocks(100, &[(Match, 5), (Insertion, 2), (Match, 5)]), vec![(99, 104), (104, 109)]);
        assert_eq!(blocks(100, &[(SequenceMatch, 3), (SequenceMismatch, 1), (SequenceMatch, 3)]), vec![(99, 106)]);
    }

    #[test]
    fn sections_beyond_max_m_op_are_dropped() {
        use Kind::*;
        let mut ops = Vec::new();
        for _ in 0..12 {
            ops.extend([(Match, 2), (Deletion, 1)]);
        }
        ops.push((Match, 2));
        let b = blocks(100, &ops);
        assert_eq!(b.len(), 10, "the first 10 sections only");
        assert_eq!(b[9], (99 + 27, 99 + 29));
    }

    fn splices(start: u64, ops: &[(Kind, u64)]) -> Vec<(u64, u64)> {
        let mut j = Vec::new();
        walk_cigar(&mut Vec::new(), None, Some(&mut j), 10, start, ops.iter().map(|&o| Ok(o))).expect("splices");
        j
    }

    /// The cases checked by hand against featureCounts 2.0.3's `.jcounts`.
    #[test]
    fn junctions_are_the_bases_around_each_n_whose_next_section_is_used() {
        use Kind::*;
        assert_eq!(splices(150, &[(Match, 51), (Skip, 99), (Match, 50)]), vec![(200, 300)]);
        assert_eq!(splices(150, &[(SoftClip, 10), (Match, 41), (Skip, 99), (Match, 50)]), vec![(190, 290)]);
        // A deletion or insertion right before the N: the base before the N is the left site.
        assert_eq!(splices(150, &[(Match, 10), (Deletion, 5), (Skip, 100), (Match, 10)]), vec![(164, 265)]);
        assert_eq!(splices(150, &[(Match, 10), (Insertion, 2), (Skip, 100), (Match, 10)]), vec![(159, 260)]);
        // Two Ns in a row are two junctions; a leading N is one; a trailing N is none.
        assert_eq!(splices(150, &[(Match, 10), (Skip, 100), (Skip, 50), (Match, 10)]), vec![(159, 260), (259, 310)]);
        assert_eq!(splices(150, &[(Skip, 100), (Match, 10)]), vec![(149, 250)]);
        assert!(splices(150, &[(Match, 10), (Skip, 100)]).is_empty());
        // The N after the 9th section is kept (its next section is the 10th), after the 10th not.
        let mut ops = Vec::new();
        for _ in 0..8 {
            ops.extend([(Match, 5), (Deletion, 1)]);
        }
        ops.extend([(Match, 5), (Skip, 100), (Match, 5)]);
        assert_eq!(splices(150, &ops), vec![(202, 303)]);
        ops.splice(0..0, [(Match, 5), (Deletion, 1)]);
        assert!(splices(150, &ops).is_empty());
    }

    #[test]
    fn fragment_length_counts_clips_and_insertions_and_shared_bases_once() {
        use Kind::*;
        let mut scratch = Default::default();
        let r = length(100, &[(SoftClip, 3), (Match, 10), (Insertion, 2), (Match, 5), (SoftClip, 4)]);
        assert_eq!(fragment_length((&r, Some(0)), (&[], None), &mut scratch), 3 + 10 + 2 + 5 + 4);
        // Mates overlapping by 5 bases: 20 + 20 - 5.
        let (m1, m2) = (length(100, &[(Match, 20)]), length(115, &[(Match, 20)]));
        assert_eq!(fragment_length((&m1, Some(0)), (&m2, Some(0)), &mut scratch), 35);
        // On different contigs the lengths add up.
        assert_eq!(fragment_length((&m1, Some(0)), (&m2, Some(1)), &mut scratch), 40);
        // A shared insertion is counted once, one that only one mate has is not counted there.
        let (i1, i2) = (length(100, &[(Match, 10), (Insertion, 3), (Match, 10)]), length(100, &[(Match, 20)]));
        assert_eq!(fragment_length((&i1, Some(0)), (&i1, Some(0)), &mut scratch), 23);
        assert_eq!(fragment_length((&i1, Some(0)), (&i2, Some(0)), &mut scratch), 20);
    }

    #[test]
    fn an_alignment_read_back_from_a_spill_file_is_the_one_written() {
        let mut a = Alignment {
            flags: 0x63,
            ref_id: Some(3),
            mate_ref_id: None,
            pos: 1234,
            mate_pos: -1,
            mapq: 60,
            nh: 2,
            hi: 1,
            name: b"read/1".to_vec(),
            read_group: b"lane2".to_vec(),
            record: 77,
            tlen: -300,
            junction: true,
            blocks: vec![(10, 20), (30, 45)],
            splices: vec![(20, 31)],
            intervals: vec![Interval { start: 9, len: 12, ..Interval::default() }],
        };
        a.intervals[0].insertions = 1;
        a.intervals[0].insertion_pos[0] = 15;
        a.intervals[0].insertion_len[0] = 2;
        let mut file = Vec::new();
        a.write_to(&mut file).expect("write");
        Alignment::default().write_to(&mut file).expect("write");
        let mut r = &file[..];
        let mut b = Alignment::default();
        assert!(b.read_from(&mut r).expect("read"));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(b.read_from(&mut r).expect("read"));
        assert_eq!(format!("{:?}", Alignment::default()), format!("{b:?}"));
        assert!(!b.read_from(&mut r).expect("end"));
    }
}
