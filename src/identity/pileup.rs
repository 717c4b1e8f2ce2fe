//! REF and ALT bases at the panel's sites in one coordinate-sorted alignment file (BAM or SAM),
//! streamed: memory is the panel, not the file.
//!
//! A base counts when its read is primary, mapped, not a duplicate or QC failure, at or above
//! `min_mapq`, and the base at or above `min_base_quality`. Spliced reads (`N`) count only where
//! they align. The second read of a pair does not count where it overlaps its mate's first
//! `read length` bases (one fragment is one observation). Bisulfite reads (Bismark's `XG` tag)
//! are read as Bis-SNP reads them: on the C→T strand (`XG:Z:CT`) a T may be a converted C, so a
//! T is evidence only when one of REF/ALT is T or C and the other neither; a C/T site says nothing
//! there. The G→A strand is the mirror image.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use noodles::sam::alignment::RecordBuf;
use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::sam::alignment::record::data::field::{Tag, Value};
use noodles::{bam, bgzf, sam};

use super::InputError;
use super::panel::Panel;
use crate::error::Location;
use crate::io::open::{AlignmentFile, RecordGuard, SniffError, sniff_alignments};

const XG: Tag = Tag::new(b'X', b'G');

/// Bases seen at one site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlleleCounts {
    /// Reads showing REF.
    pub reference: u32,
    /// Reads showing ALT.
    pub alternate: u32,
}

impl AlleleCounts {
    /// Reads that said something.
    pub fn depth(&self) -> u32 {
        self.reference + self.alternate
    }
}

/// What happened to the file's records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PileupStats {
    /// Records read.
    pub records: u64,
    /// Records whose bases could count (after the read filters).
    pub used: u64,
    /// Bases at a site that counted.
    pub bases: u64,
    /// Bases at a site that were neither REF nor ALT (errors, a third allele).
    pub other_bases: u64,
    /// Bases at a site that a bisulfite conversion makes ambiguous.
    pub bisulfite_ambiguous: u64,
    /// Bases at a site below `min_base_quality`.
    pub low_quality: u64,
    /// Bisulfite reads (with an `XG` tag).
    pub bisulfite_reads: u64,
}

/// Read and base filters.
#[derive(Clone, Copy, Debug)]
pub struct PileupOptions {
    /// Minimum MAPQ.
    pub min_mapq: u8,
    /// Minimum base quality.
    pub min_base_quality: u8,
}

/// The strand a bisulfite read was converted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conversion {
    None,
    /// C→T (Bismark `XG:Z:CT`): a T may have been a C.
    CT,
    /// G→A (`XG:Z:GA`): an A may have been a G.
    GA,
}

/// Which allele a read base supports, if any.
fn allele(base: u8, reference: u8, alternate: u8, conversion: Conversion) -> Result<bool, Ambiguity> {
    let base = base.to_ascii_uppercase();
    // Under conversion, `from` may read as `to`: a `to` is evidence only when exactly one allele
    // could have produced it, and then it is that allele.
    let (from, to) = match conversion {
        Conversion::None => (0, 0),
        Conversion::CT => (b'C', b'T'),
        Conversion::GA => (b'G', b'A'),
    };
    if conversion != Conversion::None && base == to {
        let r = reference == from || reference == to;
        let a = alternate == from || alternate == to;
        return match (r, a) {
            (true, false) => Ok(false),
            (false, true) => Ok(true),
            (true, true) => Err(Ambiguity::Conversion),
            (false, false) => Err(Ambiguity::Other),
        };
    }
    if base == reference {
        Ok(false)
    } else if base == alternate {
        Ok(true)
    } else {
        Err(Ambiguity::Other)
    }
}

enum Ambiguity {
    Conversion,
    Other,
}

/// Counts REF/ALT at every panel site in `path`; `counts[i]` belongs to `panel.sites[i]`.
pub fn count(
    path: &Path,
    panel: &Panel,
    options: &PileupOptions,
) -> Result<(Vec<AlleleCounts>, PileupStats), InputError> {
    let io_error = |source| InputError::Io { location: Location::file(path), source };
    let malformed = |message: String| InputError::Malformed { location: Location::file(path), message };
    let kind = sniff_alignments(path).map_err(|e| match e {
        SniffError::Io(source) => io_error(source),
        other => malformed(other.to_string()),
    })?;
    let file = File::open(path).map_err(io_error)?;
    let mut counter = Counter::new(path, panel, options);
    match kind {
        AlignmentFile::Cram => {
            return Err(malformed("CRAM is not read for identity checks; convert with `samtools view -b`".into()));
        }
        AlignmentFile::Bam => {
            let mut reader = bam::io::Reader::from(RecordGuard::new(bgzf::io::Reader::new(file)));
            let header = reader.read_header().map_err(io_error)?;
            reader.get_mut().records_follow();
            let mut record = bam::Record::default();
            loop {
                let read = reader.read_record(&mut record).map_err(|e| counter.record_error(None, e))?;
                if read == 0 {
                    break;
                }
                counter.step(&header, &record)?;
            }
        }
        AlignmentFile::BgzfSam => counter.sam(BufReader::new(bgzf::io::Reader::new(file)))?,
        AlignmentFile::GzipSam => counter.sam(BufReader::new(flate2::read::MultiGzDecoder::new(file)))?,
        AlignmentFile::Sam => counter.sam(BufReader::new(file))?,
    }
    Ok((counter.counts, counter.stats))
}

struct Counter<'a> {
    path: &'a Path,
    panel: &'a Panel,
    options: &'a PileupOptions,
    counts: Vec<AlleleCounts>,
    stats: PileupStats,
    /// (reference id, the sites on it) of the contig being read.
    contig: Option<(usize, std::ops::Range<usize>)>,
    /// The first site of the contig at or after the last read's start.
    cursor: usize,
    last: Option<(usize, u64)>,
    blocks: Vec<(u64, u64, usize)>,
}

impl<'a> Counter<'a> {
    fn new(path: &'a Path, panel: &'a Panel, options: &'a PileupOptions) -> Self {
        Self {
            path,
            panel,
            options,
            counts: vec![AlleleCounts::default(); panel.sites.len()],
            stats: PileupStats::default(),
            contig: None,
            cursor: 0,
            last: None,
            blocks: Vec::new(),
        }
    }

    fn record_error(&self, name: Option<&[u8]>, e: io::Error) -> InputError {
        let name = name.map_or_else(|| "?".into(), |n| String::from_utf8_lossy(n).into_owned());
        InputError::Malformed {
            location: Location::file(self.path),
            message: format!("record {} ({name}): {e}", self.stats.records + 1),
        }
    }

    fn sam<R: BufRead + Read>(&mut self, mut inner: R) -> Result<(), InputError> {
        let io_error = |source| InputError::Io { location: Location::file(self.path), source };
        let (header, _) =
            crate::io::open::read_sam_header(&mut inner).map_err(io_error)?.map_err(|e| InputError::Malformed {
                location: Location::line(self.path, e.line),
                message: format!("SAM header: {}", e.message),
            })?;
        let mut reader = sam::io::Reader::new(inner);
        let mut record = RecordBuf::default();
        loop {
            let read = reader.read_record_buf(&header, &mut record).map_err(|e| self.record_error(None, e))?;
            if read == 0 {
                return Ok(());
            }
            self.step(&header, &record)?;
        }
    }

    fn step(&mut self, header: &sam::Header, record: &dyn sam::alignment::Record) -> Result<(), InputError> {
        let name = record.name().map(|n| n.to_vec());
        let err = |s: &Self, e: io::Error| s.record_error(name.as_deref(), e);
        self.stats.records += 1;
        let flags = record.flags().map_err(|e| err(self, e))?;
        if flags.is_unmapped() {
            return Ok(());
        }
        let (Some(ref_id), Some(start)) = (
            record.reference_sequence_id(header).transpose().map_err(|e| err(self, e))?,
            record.alignment_start().transpose().map_err(|e| err(self, e))?,
        ) else {
            return Ok(());
        };
        let start = start.get() as u64;
        if let Some(last) = self.last
            && (ref_id, start) < last
        {
            return Err(err(
                self,
                io::Error::other(
                    "alignments are not coordinate-sorted (sort with `samtools sort`); identity checks stream by position",
                ),
            ));
        }
        self.last = Some((ref_id, start));
        if self.contig.as_ref().is_none_or(|(id, _)| *id != ref_id) {
            let name = header
                .reference_sequences()
                .get_index(ref_id)
                .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
                .ok_or_else(|| err(self, io::Error::other(format!("reference index {ref_id} is not in the header"))))?;
            let range = self.panel.on_contig(&name);
            self.cursor = range.start;
            self.contig = Some((ref_id, range));
        }
        let Some((_, range)) = &self.contig else { return Ok(()) };
        let end = range.end;
        let panel = self.panel;
        let sites = &panel.sites;
        while self.cursor < end && sites[self.cursor].position < start {
            self.cursor += 1;
        }
        if self.cursor >= end
            || flags.is_secondary()
            || flags.is_supplementary()
            || flags.is_duplicate()
            || flags.is_qc_fail()
        {
            return Ok(());
        }
        let mapq = record.mapping_quality().transpose().map_err(|e| err(self, e))?.map_or(255, u8::from);
        if mapq < self.options.min_mapq {
            return Ok(());
        }
        // Aligned blocks: (reference start, reference end, read offset).
        self.blocks.clear();
        let (mut pos, mut offset) = (start, 0usize);
        for op in record.cigar().iter() {
            let op = op.map_err(|e| err(self, e))?;
            let len = op.len();
            match op.kind() {
                Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                    self.blocks.push((pos, pos + len as u64 - 1, offset));
                    pos += len as u64;
                    offset += len;
                }
                Kind::Insertion | Kind::SoftClip => offset += len,
                Kind::Deletion | Kind::Skip => pos += len as u64,
                Kind::HardClip | Kind::Pad => {}
            }
        }
        if sites[self.cursor].position >= pos {
            return Ok(());
        }
        self.stats.used += 1;
        let conversion = match record.data().get(&XG).transpose().map_err(|e| err(self, e))? {
            Some(Value::String(s)) if <[u8] as AsRef<[u8]>>::as_ref(s) == b"CT" => Conversion::CT,
            Some(Value::String(s)) if <[u8] as AsRef<[u8]>>::as_ref(s) == b"GA" => Conversion::GA,
            _ => Conversion::None,
        };
        if conversion != Conversion::None {
            self.stats.bisulfite_reads += 1;
        }
        // A second mate does not count over its first mate's first bases.
        let mate_span = if flags.is_segmented() && flags.is_last_segment() && !flags.is_mate_unmapped() {
            let mate_ref = record.mate_reference_sequence_id(header).transpose().map_err(|e| err(self, e))?;
            let mate_start = record.mate_alignment_start().transpose().map_err(|e| err(self, e))?;
            match (mate_ref, mate_start) {
                (Some(m), Some(s)) if m == ref_id => {
                    let s = s.get() as u64;
                    Some((s, s + record.sequence().len() as u64 - 1))
                }
                _ => None,
            }
        } else {
            None
        };
        let sequence = record.sequence();
        let qualities: Vec<u8> = record.quality_scores().iter().collect::<io::Result<_>>().map_err(|e| err(self, e))?;
        let mut i = self.cursor;
        for &(block_start, block_end, read_offset) in &self.blocks {
            while i < end && sites[i].position < block_start {
                i += 1;
            }
            while i < end && sites[i].position <= block_end {
                let site = &sites[i];
                let k = read_offset + (site.position - block_start) as usize;
                i += 1;
                if mate_span.is_some_and(|(s, e)| (s..=e).contains(&site.position)) {
                    continue;
                }
                let Some(base) = sequence.get(k) else { continue };
                if qualities.get(k).is_some_and(|&q| q != 0xFF && q < self.options.min_base_quality) {
                    self.stats.low_quality += 1;
                    continue;
                }
                match allele(base, site.reference, site.alternate, conversion) {
                    Ok(alt) => {
                        let c = &mut self.counts[i - 1];
                        if alt {
                            c.alternate += 1;
                        } else {
                            c.reference += 1;
                        }
                        self.stats.bases += 1;
                    }
                    Err(Ambiguity::Conversion) => self.stats.bisulfite_ambiguous += 1,
                    Err(Ambiguity::Other) => self.stats.other_bases += 1,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisulfite_conversion_hides_only_what_it_can_fake() {
        use Conversion::*;
        // C/T SNP on the C→T strand: a T could be a converted C.
        assert!(matches!(allele(b'T', b'C', b'T', CT), Err(Ambiguity::Conversion)));
        assert!(matches!(allele(b'C', b'C', b'T', CT), Ok(false)));
        // A/C SNP on the C→T strand: a T can only be a converted C (ALT).
        assert!(matches!(allele(b'T', b'A', b'C', CT), Ok(true)));
        assert!(matches!(allele(b'A', b'A', b'C', CT), Ok(false)));
        // G/A SNP on the G→A strand is blind; on the C→T strand it reads plainly.
        assert!(matches!(allele(b'A', b'G', b'A', GA), Err(Ambiguity::Conversion)));
        assert!(matches!(allele(b'A', b'G', b'A', CT), Ok(true)));
        assert!(matches!(allele(b'g', b'G', b'A', None), Ok(false)));
        assert!(matches!(allele(b'N', b'G', b'A', None), Err(Ambiguity::Other)));
    }
}
