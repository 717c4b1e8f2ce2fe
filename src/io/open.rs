//! Opening inputs whatever their compression: sniff gzip/BGZF by magic bytes, never by extension.

use super::read_up_to;
use std::io::{self, BufRead, BufReader, Read};

/// Wraps `reader` in a gzip decoder when it starts with the gzip magic (BGZF is gzip too).
pub fn decompress<R: Read + 'static>(reader: R) -> io::Result<Box<dyn Read>> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf()?;
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// What an alignment file is, by its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlignmentFile {
    /// BGZF-compressed BAM (EOF marker checked).
    Bam,
    /// CRAM.
    Cram,
    /// BGZF-compressed SAM.
    BgzfSam,
    /// Plain gzip-compressed SAM.
    GzipSam,
    /// Uncompressed SAM.
    Sam,
}

/// Why [`sniff_alignments`] could not tell (the messages follow the file's name).
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// Reading failed.
    #[error(transparent)]
    Io(io::Error),
    /// BGZF without its end-of-file marker: the file was cut short.
    #[error("truncated BAM: the BGZF end-of-file marker is missing (was the file completely written?)")]
    Truncated,
    /// Neither BAM, CRAM nor SAM.
    #[error(
        "not a BAM, CRAM or SAM file (expected BGZF-compressed BAM, CRAM, or SAM text starting with '@' or a record)"
    )]
    Unknown,
    /// A 0-byte file: a failed copy or an aligner that died, never an empty library (a BAM with
    /// no reads still has its header and end-of-file marker).
    #[error("empty file (0 bytes): not a BAM, CRAM or SAM file (was it completely written?)")]
    Empty,
    /// A pipe, a process substitution or a device: the file is read twice (sniffed, then decoded).
    #[error(
        "not a regular file (a pipe or process substitution?): alignments are read from a file on disk; \
         write the stream to a file first (e.g. `samtools view -b -o reads.bam ...`)"
    )]
    NotAFile,
}

/// BGZF's 28-byte end-of-file marker (SAM spec §4.1.2).
const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// Tells BAM, CRAM and (compressed) SAM apart by magic bytes; a BGZF file must end with the EOF
/// marker, so a BAM cut short by a failed copy is refused up front rather than half-counted.
pub fn sniff_alignments(path: &std::path::Path) -> Result<AlignmentFile, SniffError> {
    use std::io::{Seek, SeekFrom};
    // Before opening: opening a FIFO for reading blocks until something writes to it.
    if !std::fs::metadata(path).map_err(SniffError::Io)?.is_file() {
        return Err(SniffError::NotAFile);
    }
    let mut file = std::fs::File::open(path).map_err(SniffError::Io)?;
    let mut head = [0u8; 18];
    let got = read_up_to(&mut file, &mut head).map_err(SniffError::Io)?;
    let gzip = got >= 2 && head[..2] == [0x1f, 0x8b];
    // BGZF = gzip with an extra field whose first subfield is `BC` (SAM spec §4.1).
    let bgzf = gzip && got >= 14 && head[3] & 4 != 0 && head[12..14] == *b"BC";
    if got >= 4 && head[..4] == *b"CRAM" {
        Ok(AlignmentFile::Cram)
    } else if bgzf {
        let len = file.metadata().map_err(SniffError::Io)?.len();
        if len < BGZF_EOF.len() as u64 {
            return Err(SniffError::Truncated);
        }
        file.seek(SeekFrom::End(-(BGZF_EOF.len() as i64))).map_err(SniffError::Io)?;
        let mut tail = [0u8; 28];
        file.read_exact(&mut tail).map_err(SniffError::Io)?;
        if tail != BGZF_EOF {
            return Err(SniffError::Truncated);
        }
        let mut magic = [0u8; 4];
        let mut probe = noodles::bgzf::io::Reader::new(std::fs::File::open(path).map_err(SniffError::Io)?);
        let n = read_up_to(&mut probe, &mut magic).map_err(SniffError::Io)?;
        Ok(if n == 4 && magic == *b"BAM\x01" { AlignmentFile::Bam } else { AlignmentFile::BgzfSam })
    } else if gzip {
        Ok(AlignmentFile::GzipSam)
    } else if got == 0 {
        Err(SniffError::Empty)
    } else if head[0] == b'@' || head[..got].iter().all(|b| b.is_ascii_graphic() || *b == b'\t') {
        Ok(AlignmentFile::Sam)
    } else {
        Err(SniffError::Unknown)
    }
}

/// A SAM header line that noodles refuses: its 1-based line and why.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SamHeaderError {
    /// 1-based line.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// Reads a SAM text header line by line (noodles' own reader says what is wrong but not where),
/// leaving `reader` at the first record. Returns the header and its number of lines.
pub fn read_sam_header<R: BufRead>(reader: &mut R) -> io::Result<Result<(noodles::sam::Header, u64), SamHeaderError>> {
    let mut parser = noodles::sam::header::Parser::default();
    let mut line = Vec::new();
    let mut n = 0u64;
    while reader.fill_buf()?.first() == Some(&b'@') {
        line.clear();
        reader.read_until(b'\n', &mut line)?;
        n += 1;
        while let [rest @ .., b'\n' | b'\r'] = line.as_slice() {
            line.truncate(rest.len());
        }
        if let Err(e) = parser.parse_partial(&line) {
            // The cause chain says which field; noodles' top message alone is "invalid record".
            return Ok(Err(SamHeaderError { line: n, message: crate::error::chain(&e) }));
        }
    }
    Ok(Ok((parser.finish(), n)))
}

/// Largest BAM record accepted (block_size): far above the longest reads (a 4 Mb nanopore read
/// with qualities and MM/ML tags is ~20 MB).
pub const MAX_BAM_RECORD: usize = 256 << 20;

/// Smallest BAM record: its fixed fields (htslib's `bam_read1` refuses fewer).
const MIN_BAM_RECORD: usize = 32;

/// Refuses a BAM block_size no record can have, before anything that size is allocated.
pub fn check_block_size(n: usize) -> io::Result<()> {
    if (MIN_BAM_RECORD..=MAX_BAM_RECORD).contains(&n) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "block_size {n} is not a record's length (at least {MIN_BAM_RECORD} bytes, at most {} MiB): the file \
             is corrupt",
            MAX_BAM_RECORD >> 20
        ),
    ))
}

/// The decompressed BAM stream between noodles' record reader and the BGZF reader, checking each
/// record's block_size before noodles allocates and zeroes a buffer of that size: a corrupt
/// length would otherwise cost up to 4 GiB of memory (an out-of-memory kill on a cluster node,
/// not an error) before the read fails. Passes the header through untouched; call
/// [`RecordGuard::records_follow`] once it is read.
pub struct RecordGuard<R> {
    inner: R,
    framing: bool,
    /// Bytes of the current record body not yet read (counted once its block_size is handed over).
    remaining: usize,
    /// A validated block_size being handed to noodles, and how much of it is handed over.
    length: [u8; 4],
    length_len: usize,
    length_pos: usize,
}

impl<R: Read> RecordGuard<R> {
    /// Wraps a decompressed BAM stream positioned at its start.
    pub fn new(inner: R) -> Self {
        Self { inner, framing: false, remaining: 0, length: [0; 4], length_len: 0, length_pos: 0 }
    }

    /// From here on the stream is records (the header has been read).
    pub fn records_follow(&mut self) {
        self.framing = true;
    }
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.framing || buf.is_empty() {
            return self.inner.read(buf);
        }
        if self.length_pos == self.length_len && self.remaining == 0 {
            // A record boundary: take the next block_size whole before handing any of it out.
            let mut got = 0;
            while got < 4 {
                match self.inner.read(&mut self.length[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if got == 0 {
                return Ok(0);
            }
            (self.length_len, self.length_pos) = (got, 0);
            if got == 4 {
                let n = u32::from_le_bytes(self.length) as usize;
                check_block_size(n)?;
                self.remaining = n;
            }
        }
        if self.length_pos < self.length_len {
            let n = buf.len().min(self.length_len - self.length_pos);
            buf[..n].copy_from_slice(&self.length[self.length_pos..self.length_pos + n]);
            self.length_pos += n;
            return Ok(n);
        }
        let want = buf.len().min(self.remaining);
        let n = self.inner.read(&mut buf[..want])?;
        self.remaining -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_sam_header_line_is_named_and_the_reader_stops_at_the_first_record() {
        let text = b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100\n@SQ\tSN:chr2\n@CO\tx\nr1\t4\t*\t0\t0\t*\t*\t0\t0\t*\t*\n";
        let e = read_sam_header(&mut &text[..]).expect("io").expect_err("no LN");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("LN"), "{e}");
        let good = b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100\nr1\t4\t*\t0\t0\t*\t*\t0\t0\t*\t*\n";
        let mut reader = &good[..];
        let (header, lines) = read_sam_header(&mut reader).expect("io").expect("header");
        assert_eq!((header.reference_sequences().len(), lines), (1, 2));
        assert!(reader.starts_with(b"r1\t"));
    }
}
