//! One alignment reduced to what methylation calling reads, filled in place from a lazily decoded
//! BAM record (no allocation per record once the buffers have grown) or from a SAM `RecordBuf`.

use std::io;

use noodles::bam;
use noodles::sam::alignment::RecordBuf;
use noodles::sam::alignment::record::Flags;
use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::sam::alignment::record::data::field::{Tag, Value as LazyValue, value::Array as LazyArray};
use noodles::sam::alignment::record_buf::data::field::{Value, value::Array};

const XM: Tag = Tag::new(b'X', b'M');
const XG: Tag = Tag::new(b'X', b'G');
const MM: [Tag; 2] = [Tag::new(b'M', b'M'), Tag::new(b'M', b'm')];
const ML: [Tag; 2] = [Tag::new(b'M', b'L'), Tag::new(b'M', b'l')];

/// The fields of one alignment that the caller uses.
#[derive(Debug, Default)]
pub struct View {
    /// SAM flags.
    pub flags: Flags,
    /// Reference index.
    pub ref_id: Option<usize>,
    /// 1-based alignment start.
    pub start: Option<u64>,
    /// MAPQ (255 when missing).
    pub mapq: u8,
    /// Mate reference index.
    pub mate_ref_id: Option<usize>,
    /// Mate 1-based start.
    pub mate_start: Option<u64>,
    /// Read name.
    pub name: Vec<u8>,
    /// CIGAR operations.
    pub cigar: Vec<(Kind, usize)>,
    /// Sequence length.
    pub seq_len: usize,
    /// Sequence (filled only for MM/ML reads).
    pub seq: Vec<u8>,
    /// Base qualities (empty when absent).
    pub quals: Vec<u8>,
    /// `XM` string, when present.
    pub xm: Option<Vec<u8>>,
    /// `XG` string, when present.
    pub xg: Option<Vec<u8>>,
    /// `MM`, when present.
    pub mm: Option<Vec<u8>>,
    /// `ML` (empty when absent).
    pub ml: Vec<u8>,
    /// A tag of the wrong type, reported by the caller with the record's name.
    pub tag_error: Option<String>,
}

fn set(dst: &mut Option<Vec<u8>>, src: &[u8]) {
    let v = dst.get_or_insert_with(Vec::new);
    v.clear();
    v.extend_from_slice(src);
}

impl View {
    fn reset_tags(&mut self) {
        self.xm = None;
        self.xg = None;
        self.mm = None;
        self.ml.clear();
        self.tag_error = None;
        self.seq.clear();
    }

    /// Fills from a lazily decoded BAM record.
    pub fn fill_bam(&mut self, r: &bam::Record) -> io::Result<()> {
        self.flags = r.flags();
        self.ref_id = r.reference_sequence_id().transpose()?;
        self.start = r.alignment_start().transpose()?.map(|p| p.get() as u64);
        self.mapq = r.mapping_quality().map_or(255, u8::from);
        self.mate_ref_id = r.mate_reference_sequence_id().transpose()?;
        self.mate_start = r.mate_alignment_start().transpose()?.map(|p| p.get() as u64);
        self.name.clear();
        self.name.extend_from_slice(r.name().map(|n| n.as_ref()).unwrap_or(b"*"));
        self.cigar.clear();
        for op in r.cigar().iter() {
            let op = op?;
            self.cigar.push((op.kind(), op.len()));
        }
        self.seq_len = r.sequence().len();
        self.quals.clear();
        self.quals.extend_from_slice(r.quality_scores().as_ref());
        self.reset_tags();
        let data = r.data();
        if let Some(v) = data.get(&XM) {
            match v? {
                LazyValue::String(s) => set(&mut self.xm, s),
                _ => self.tag_error = Some("XM is not a string".into()),
            }
            if let Some(v) = data.get(&XG) {
                match v? {
                    LazyValue::String(s) => set(&mut self.xg, s),
                    _ => self.tag_error = Some("XG is not a string".into()),
                }
            }
            return Ok(());
        }
        if let Some(v) = MM.iter().find_map(|t| data.get(t)) {
            match v? {
                LazyValue::String(s) => set(&mut self.mm, s),
                _ => self.tag_error = Some("MM is not a string".into()),
            }
            if let Some(v) = ML.iter().find_map(|t| data.get(t)) {
                match v? {
                    LazyValue::Array(LazyArray::UInt8(values)) => {
                        for p in values.iter() {
                            self.ml.push(p?);
                        }
                    }
                    _ => self.tag_error = Some("ML is not an array of uint8".into()),
                }
            }
            self.seq.extend(r.sequence().iter());
        }
        Ok(())
    }

    /// Fills from an eagerly decoded record (SAM input).
    pub fn fill_buf(&mut self, r: &RecordBuf) {
        self.flags = r.flags();
        self.ref_id = r.reference_sequence_id();
        self.start = r.alignment_start().map(|p| p.get() as u64);
        self.mapq = r.mapping_quality().map_or(255, u8::from);
        self.mate_ref_id = r.mate_reference_sequence_id();
        self.mate_start = r.mate_alignment_start().map(|p| p.get() as u64);
        self.name.clear();
        self.name.extend_from_slice(r.name().map(|n| n.as_ref()).unwrap_or(b"*"));
        self.cigar.clear();
        self.cigar.extend(r.cigar().as_ref().iter().map(|op| (op.kind(), op.len())));
        self.seq_len = r.sequence().len();
        self.quals.clear();
        self.quals.extend_from_slice(r.quality_scores().as_ref());
        self.reset_tags();
        let data = r.data();
        if let Some(v) = data.get(&XM) {
            match v {
                Value::String(s) => set(&mut self.xm, s),
                _ => self.tag_error = Some("XM is not a string".into()),
            }
            match data.get(&XG) {
                Some(Value::String(s)) => set(&mut self.xg, s),
                Some(_) => self.tag_error = Some("XG is not a string".into()),
                None => {}
            }
            return;
        }
        if let Some(v) = MM.iter().find_map(|t| data.get(t)) {
            match v {
                Value::String(s) => set(&mut self.mm, s),
                _ => self.tag_error = Some("MM is not a string".into()),
            }
            match ML.iter().find_map(|t| data.get(t)) {
                Some(Value::Array(Array::UInt8(v))) => self.ml.extend_from_slice(v),
                Some(_) => self.tag_error = Some("ML is not an array of uint8".into()),
                None => {}
            }
            self.seq.extend_from_slice(r.sequence().as_ref());
        }
    }
}
