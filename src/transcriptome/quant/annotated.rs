//! featureCounts' `-R SAM` and `-R BAM`: the input's alignments again, each with its assignment
//! as tags: `XS:Z` the status, and for an assigned read (fragment) `XN:i` the number of targets
//! and `XT:Z` the targets, comma-separated.
//!
//! Written in a second pass over the input: the counting pass records each record's outcome by
//! its number (4 bytes a record), so counting itself stays as it is. A record featureCounts does
//! not report (with `--byReadGroup`, one without a listed read group) is left out, as there. An
//! aligner's own `XS` tag (HISAT2's and STAR's strand, `XS:A`) is replaced: featureCounts adds a
//! second `XS`, which the SAM specification does not allow.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::Path;

use noodles::sam::alignment::io::Write as _;
use noodles::sam::alignment::record::data::field::Tag;
use noodles::sam::alignment::record_buf::data::field::Value;
use noodles::{bam, bgzf, cram, fasta, sam};

use crate::io::open::AlignmentFile;

/// featureCounts' `-R` formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// A line per record (fragment): name, status, target count, targets.
    #[default]
    Core,
    /// The alignments as SAM, with their assignment as tags.
    Sam,
    /// The alignments as BAM, with their assignment as tags.
    Bam,
}

impl ReportFormat {
    /// As `-R` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Core => "CORE",
            ReportFormat::Sam => "SAM",
            ReportFormat::Bam => "BAM",
        }
    }

    /// Reads `-R`'s value.
    pub fn parse(value: &str) -> Option<Self> {
        [ReportFormat::Core, ReportFormat::Sam, ReportFormat::Bam].into_iter().find(|f| f.name() == value)
    }

    /// What featureCounts adds after `<input file name>.featureCounts`.
    pub fn suffix(self) -> &'static str {
        match self {
            ReportFormat::Core => "",
            ReportFormat::Sam => ".sam",
            ReportFormat::Bam => ".bam",
        }
    }
}

/// One outcome: the status and, when assigned, the number of targets and their names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Outcome {
    status: &'static str,
    targets: Option<(usize, String)>,
}

/// Each record's outcome, by its number in the file.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Record number - 1 → outcome id + 1 (0: not reported).
    by_record: Vec<u32>,
    kinds: Vec<Outcome>,
    lookup: HashMap<Outcome, u32>,
}

impl Outcomes {
    /// Records the outcome of record `record` (1-based; 0 is ignored).
    pub fn set(&mut self, record: u64, status: &'static str, targets: Option<(usize, String)>) {
        let Some(at) = (record as usize).checked_sub(1) else { return };
        let outcome = Outcome { status, targets };
        let id = match self.lookup.get(&outcome) {
            Some(&id) => id,
            None => {
                self.kinds.push(outcome.clone());
                let id = self.kinds.len() as u32;
                self.lookup.insert(outcome, id);
                id
            }
        };
        if self.by_record.len() <= at {
            self.by_record.resize(at + 1, 0);
        }
        self.by_record[at] = id;
    }

    fn get(&self, record: u64) -> Option<&Outcome> {
        let id = *self.by_record.get((record as usize).checked_sub(1)?)?;
        self.kinds.get((id as usize).checked_sub(1)?)
    }
}

/// Writes `input`'s alignments with their outcomes as tags to `out`, in the input's order.
pub fn write_annotated(
    input: &Path,
    kind: AlignmentFile,
    reference: Option<&Path>,
    format: ReportFormat,
    outcomes: &Outcomes,
    out: &mut (dyn Write + Send),
) -> io::Result<()> {
    let mut sink = Sink::new(format, out);
    let file = File::open(input)?;
    match kind {
        AlignmentFile::Bam => {
            let mut reader = bam::io::Reader::new(file);
            let header = reader.read_header()?;
            sink.header(&header)?;
            for (n, record) in reader.records().enumerate() {
                let record = record?;
                if let Some(o) = outcomes.get(n as u64 + 1) {
                    let buf = sam::alignment::RecordBuf::try_from_alignment_record(&header, &record)?;
                    sink.record(&header, buf, o)?;
                }
            }
        }
        AlignmentFile::Sam | AlignmentFile::GzipSam | AlignmentFile::BgzfSam => {
            let inner: Box<dyn io::BufRead> = match kind {
                AlignmentFile::Sam => Box::new(BufReader::new(file)),
                AlignmentFile::GzipSam => Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file))),
                _ => Box::new(BufReader::new(bgzf::io::Reader::new(file))),
            };
            let mut inner = inner;
            let (header, _) = crate::io::open::read_sam_header(&mut inner)?
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("line {}: {}", e.line, e.message)))?;
            sink.header(&header)?;
            let mut reader = sam::io::Reader::new(inner);
            for (n, record) in reader.record_bufs(&header).enumerate() {
                let buf = record?;
                if let Some(o) = outcomes.get(n as u64 + 1) {
                    sink.record(&header, buf, o)?;
                }
            }
        }
        AlignmentFile::Cram => {
            let mut builder = cram::io::reader::Builder::default();
            if let Some(fasta_path) = reference {
                let indexed = fasta::io::indexed_reader::Builder::default().build_from_path(fasta_path)?;
                let repository = fasta::Repository::new(fasta::repository::adapters::IndexedReader::new(indexed));
                builder = builder.set_reference_sequence_repository(repository);
            }
            let mut reader = builder.build_from_path(input)?;
            let header = reader.read_header()?;
            sink.header(&header)?;
            for (n, record) in reader.records(&header).enumerate() {
                let buf = record?;
                if let Some(o) = outcomes.get(n as u64 + 1) {
                    sink.record(&header, buf, o)?;
                }
            }
        }
    }
    sink.finish()
}

/// The SAM or BAM writer.
enum Sink<'a> {
    Sam(sam::io::Writer<&'a mut (dyn Write + Send)>),
    Bam(bam::io::Writer<bgzf::io::Writer<&'a mut (dyn Write + Send)>>),
}

impl<'a> Sink<'a> {
    fn new(format: ReportFormat, out: &'a mut (dyn Write + Send)) -> Self {
        match format {
            ReportFormat::Bam => Sink::Bam(bam::io::Writer::new(out)),
            _ => Sink::Sam(sam::io::Writer::new(out)),
        }
    }

    fn header(&mut self, header: &sam::Header) -> io::Result<()> {
        match self {
            Sink::Sam(w) => w.write_header(header),
            Sink::Bam(w) => w.write_header(header),
        }
    }

    fn record(&mut self, header: &sam::Header, mut buf: sam::alignment::RecordBuf, o: &Outcome) -> io::Result<()> {
        let data = buf.data_mut();
        data.insert(Tag::new(b'X', b'S'), Value::String(o.status.into()));
        if let Some((n, targets)) = &o.targets {
            data.insert(Tag::new(b'X', b'N'), Value::Int32(*n as i32));
            data.insert(Tag::new(b'X', b'T'), Value::String(targets.as_str().into()));
        }
        match self {
            Sink::Sam(w) => w.write_alignment_record(header, &buf),
            Sink::Bam(w) => w.write_alignment_record(header, &buf),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Sam(mut w) => w.get_mut().flush(),
            Sink::Bam(w) => {
                let mut inner = w.into_inner();
                inner.try_finish()?;
                inner.flush()
            }
        }
    }
}
