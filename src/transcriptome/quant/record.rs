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
#[derive(Clone, Debug, Default)]
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
    /// Aligned reference blocks, 0-based half-open: `M`/`=`/`X` runs; `N` and `D` split them.
    pub blocks: Vec<(u64, u64)>,
}

impl Alignment {
    /// Whether a flag bit is set.
    #[inline]
    pub fn has(&self, bit: u16) -> bool {
        self.flags & bit != 0
    }

    /// Fills from a lazily decoded BAM record.
    ///
    /// `pairing` also decodes what mate pairing needs (name, HI, mate fields); single-end
    /// counting skips it.
    pub fn fill_bam(&mut self, record: &bam::Record, pairing: bool) -> io::Result<()> {
        self.flags = u16::from(record.flags());
        self.mapq = record.mapping_quality().map_or(255, u8::from);
        self.ref_id = record.reference_sequence_id().transpose()?;
        let data = record.data();
        self.nh = match data.get(&Tag::ALIGNMENT_HIT_COUNT) {
            Some(v) => v?.as_int().unwrap_or(1),
            None => 1,
        };
        if pairing {
            self.mate_ref_id = record.mate_reference_sequence_id().transpose()?;
            self.hi = match data.get(&Tag::HIT_INDEX) {
                Some(v) => v?.as_int().unwrap_or(0),
                None => 0,
            };
            self.set_name(record.name().map(|n| n.as_ref()));
            self.mate_pos = record.mate_alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        }
        self.pos = record.alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        let ops = record.cigar();
        let query = self.fill_blocks(ops.iter().map(|op| op.map(|op| (op.kind(), op.len() as u64))))?;
        check_query_length(query, record.sequence().len(), None)
    }

    /// Fills from a lazily parsed SAM record.
    pub fn fill_sam(&mut self, record: &sam::Record, header: &sam::Header, pairing: bool) -> io::Result<()> {
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
        if pairing {
            self.set_name(record.name().map(|n| n.as_ref()));
        }
        self.pos = record.alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        self.mate_pos = record.mate_alignment_start().transpose()?.map_or(0, |p| p.get() as i64);
        let cigar = record.cigar();
        let query = self.fill_blocks(
            cigar.iter().map(|op| op.map(|op| (op.kind(), op.len() as u64)).map_err(|e| invalid(&e.to_string()))),
        )?;
        check_query_length(query, record.sequence().len(), Some(record.quality_scores().len()))
    }
}

impl Alignment {
    /// Fills from an eagerly decoded record (what noodles' CRAM reader yields).
    pub fn fill_record_buf(&mut self, record: &sam::alignment::RecordBuf, pairing: bool) -> io::Result<()> {
        self.flags = u16::from(record.flags());
        self.mapq = record.mapping_quality().map_or(255, u8::from);
        self.ref_id = record.reference_sequence_id();
        self.mate_ref_id = record.mate_reference_sequence_id();
        let int = |tag: &Tag, default: i64| record.data().get(tag).and_then(|v| v.as_int()).unwrap_or(default);
        self.nh = int(&Tag::ALIGNMENT_HIT_COUNT, 1);
        self.hi = int(&Tag::HIT_INDEX, 0);
        if pairing {
            self.set_name(record.name().map(|n| n.as_ref()));
        }
        self.pos = record.alignment_start().map_or(0, |p| p.get() as i64);
        self.mate_pos = record.mate_alignment_start().map_or(0, |p| p.get() as i64);
        let query = self.fill_blocks(record.cigar().as_ref().iter().map(|op| Ok((op.kind(), op.len() as u64))))?;
        check_query_length(query, record.sequence().len(), Some(record.quality_scores().len()))
    }

    fn set_name(&mut self, name: Option<&[u8]>) {
        self.name.clear();
        self.name.extend_from_slice(name.unwrap_or(b"*"));
    }

    /// Aligned blocks from the CIGAR, once flags and position are set (none when unmapped).
    /// Returns the read bases the CIGAR covers (`None` when unmapped or without a CIGAR).
    fn fill_blocks(&mut self, ops: impl Iterator<Item = io::Result<(Kind, u64)>>) -> io::Result<Option<u64>> {
        self.blocks.clear();
        if self.has(flag::UNMAPPED) {
            return Ok(None);
        }
        if self.pos == 0 {
            return Err(invalid("mapped record without a position"));
        }
        push_blocks(&mut self.blocks, self.pos as u64, ops)
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

/// Turns CIGAR operations into aligned reference blocks.
///
/// featureCounts counts only bases aligned with `M`, `=` or `X`: a deletion (`D`) is skipped like
/// an intron (`N`), so a feature lying entirely inside a deletion is not hit and deleted bases do
/// not count towards `--min-overlap` (verified against featureCounts 2.0.3). Clips and insertions
/// cover no reference.
fn push_blocks(
    blocks: &mut Vec<(u64, u64)>,
    start: u64,
    ops: impl Iterator<Item = io::Result<(Kind, u64)>>,
) -> io::Result<Option<u64>> {
    let mut pos = start - 1;
    let mut block_start = pos;
    let (mut query, mut any) = (0u64, false);
    for op in ops {
        let (kind, len) = op?;
        any = true;
        if matches!(kind, Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch | Kind::Insertion | Kind::SoftClip)
        {
            query += len;
        }
        match kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => pos += len,
            Kind::Skip | Kind::Deletion => {
                if pos > block_start {
                    blocks.push((block_start, pos));
                }
                pos += len;
                block_start = pos;
            }
            Kind::Insertion | Kind::SoftClip | Kind::HardClip | Kind::Pad => {}
        }
    }
    if pos > block_start {
        blocks.push((block_start, pos));
    }
    Ok(any.then_some(query))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(start: u64, ops: &[(Kind, u64)]) -> Vec<(u64, u64)> {
        let mut b = Vec::new();
        push_blocks(&mut b, start, ops.iter().map(|&o| Ok(o))).expect("blocks");
        b
    }

    #[test]
    fn introns_and_deletions_split_blocks_clips_and_insertions_do_not() {
        use Kind::*;
        assert_eq!(blocks(100, &[(Match, 10)]), vec![(99, 109)]);
        assert_eq!(blocks(100, &[(SoftClip, 5), (Match, 10), (HardClip, 3)]), vec![(99, 109)]);
        assert_eq!(blocks(100, &[(Match, 5), (Skip, 100), (Match, 5)]), vec![(99, 104), (204, 209)]);
        assert_eq!(blocks(100, &[(Match, 5), (Deletion, 2), (Match, 5)]), vec![(99, 104), (106, 111)]);
        assert_eq!(blocks(100, &[(Match, 5), (Insertion, 2), (Match, 5)]), vec![(99, 109)]);
        assert_eq!(blocks(100, &[(SequenceMatch, 3), (SequenceMismatch, 1), (SequenceMatch, 3)]), vec![(99, 106)]);
    }
}
