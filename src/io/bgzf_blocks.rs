//! BGZF read as runs of whole blocks that workers inflate and parse on their own.
//!
//! A multithreaded BGZF reader (noodles', htslib's) still hands every decompressed byte to one
//! consumer, which then parses every record alone: that consumer is the ceiling on many cores.
//! Here the file is cut into chunks of whole BGZF blocks (cheap: a block's length is in its
//! header), each worker inflates one chunk and walks its BAM records itself; only the few bytes
//! of the record that straddles two chunks travel from one worker to the next ([`Frame`]).

use super::read_up_to;
use std::fs::File;
use std::io::{self, BufReader, Read};

/// Largest BGZF block (header + deflate data + trailer), SAM spec §4.1.
const MAX_BLOCK: usize = 1 << 16;
const HEADER: usize = 18;
const TRAILER: usize = 8;

/// Hands out consecutive runs of whole BGZF blocks, read from one file position onwards.
pub struct BlockSource {
    reader: BufReader<File>,
    /// Compressed offset of the next block.
    offset: u64,
    next: usize,
    done: bool,
}

/// Whole BGZF blocks as they are on disk, and where reading them stopped short.
#[derive(Default)]
pub struct RawChunk {
    /// The chunk's number, from 0 in file order.
    pub index: usize,
    /// Compressed file offset of its first block.
    pub offset: u64,
    /// The blocks, back to back.
    pub bytes: Vec<u8>,
    /// A malformed or cut-off block after the whole ones: nothing follows this chunk.
    pub error: Option<io::Error>,
}

impl BlockSource {
    /// Reads blocks from compressed offset `offset` of `file` (positioned anywhere).
    pub fn new(mut file: File, offset: u64) -> io::Result<Self> {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self { reader: BufReader::with_capacity(1 << 20, file), offset, next: 0, done: false })
    }

    /// How many chunks were handed out (after the last one: the number of chunks in the file).
    pub fn chunks(&self) -> usize {
        self.next
    }

    /// The next run of up to `blocks` blocks into `chunk` (its buffer reused); `false` once the
    /// file is exhausted or a previous chunk ended with an error.
    pub fn next_chunk(&mut self, blocks: usize, chunk: &mut RawChunk) -> bool {
        if self.done {
            return false;
        }
        chunk.index = self.next;
        chunk.offset = self.offset;
        chunk.bytes.clear();
        chunk.error = None;
        self.next += 1;
        for _ in 0..blocks {
            let start = chunk.bytes.len();
            chunk.bytes.resize(start + HEADER, 0);
            match read_up_to(&mut self.reader, &mut chunk.bytes[start..]) {
                Ok(0) => {
                    chunk.bytes.truncate(start);
                    self.done = true;
                    break;
                }
                Ok(n) if n < HEADER => {
                    chunk.bytes.truncate(start);
                    chunk.error = Some(bad(self.offset, "the file ends inside a BGZF block header"));
                    self.done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    chunk.bytes.truncate(start);
                    chunk.error = Some(e);
                    self.done = true;
                    break;
                }
            }
            let header: &[u8; HEADER] = chunk.bytes[start..].try_into().unwrap_or(&[0; HEADER]);
            if !is_bgzf_header(header) {
                chunk.bytes.truncate(start);
                chunk.error = Some(bad(self.offset, "invalid BGZF block header"));
                self.done = true;
                break;
            }
            let size = usize::from(u16::from_le_bytes([header[16], header[17]])) + 1;
            if size < HEADER + TRAILER {
                chunk.bytes.truncate(start);
                chunk.error = Some(bad(self.offset, "invalid BGZF block size"));
                self.done = true;
                break;
            }
            chunk.bytes.resize(start + size, 0);
            if let Err(e) = self.reader.read_exact(&mut chunk.bytes[start + HEADER..]) {
                chunk.bytes.truncate(start);
                chunk.error = Some(if e.kind() == io::ErrorKind::UnexpectedEof {
                    bad(self.offset, "the file ends inside a BGZF block")
                } else {
                    e
                });
                self.done = true;
                break;
            }
            self.offset += size as u64;
        }
        true
    }
}

fn bad(offset: u64, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what} (BGZF block at byte {offset})"))
}

/// gzip magic, deflate, FEXTRA, and the `BC` subfield of length 2 (SAM spec §4.1).
fn is_bgzf_header(h: &[u8; HEADER]) -> bool {
    h[0..4] == [0x1f, 0x8b, 0x08, 0x04] && h[10..12] == [6, 0] && h[12..14] == *b"BC" && h[14..16] == [2, 0]
}

/// Inflates `chunk`'s blocks into the front of `out`, checking each block's CRC32 and size;
/// returns how many bytes of `out` they fill, and the first failure (with the bytes of the
/// blocks before it). A chunk whose reading already failed returns that error after its whole
/// blocks. `out` only grows: it is reused from chunk to chunk without being cleared or zeroed.
pub fn inflate(
    chunk: &mut RawChunk,
    inflater: &mut libdeflater::Decompressor,
    out: &mut Vec<u8>,
) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    let mut at = 0;
    let mut offset = chunk.offset;
    while at < chunk.bytes.len() {
        let size = usize::from(u16::from_le_bytes([chunk.bytes[at + 16], chunk.bytes[at + 17]])) + 1;
        let block = &chunk.bytes[at..at + size];
        let trailer = &block[size - TRAILER..];
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
        if isize > MAX_BLOCK {
            return (filled, Some(bad(offset, "invalid BGZF ISIZE")));
        }
        if out.len() < filled + isize {
            out.resize(filled + isize, 0);
        }
        let target = &mut out[filled..filled + isize];
        match inflater.deflate_decompress(&block[HEADER..size - TRAILER], target) {
            Ok(n) if n == isize => {}
            Ok(_) => return (filled, Some(bad(offset, "BGZF block inflates to a size other than its ISIZE"))),
            Err(e) => return (filled, Some(bad(offset, &format!("BGZF block does not inflate ({e})")))),
        }
        if libdeflater::crc32(target) != crc {
            return (filled, Some(bad(offset, "block data checksum mismatch")));
        }
        filled += isize;
        at += size;
        offset += size as u64;
    }
    (filled, chunk.error.take())
}

/// What one chunk passes to the next: the start of a record that continues there, and how many
/// records began before it (so every worker names records by their number in the file).
#[derive(Clone, Debug, Default)]
pub struct Frame {
    /// The bytes of the straddling record read so far (its block_size first); empty at a boundary.
    pub carry: Vec<u8>,
    /// Records that started in earlier chunks (the straddling one included).
    pub records_before: u64,
}

/// The BAM records of one inflated chunk, found by walking block_size fields.
#[derive(Debug, Default)]
pub struct Walk {
    /// The straddling record completed from the previous chunk's carry, if it ends here.
    pub first: Option<Vec<u8>>,
    /// Byte range of the records that lie wholly in this chunk.
    pub whole: std::ops::Range<usize>,
    /// How many records lie wholly in this chunk.
    pub count: u64,
    /// For the next chunk.
    pub next: Frame,
    /// A block_size no record can have: the error, and the record's number in the file.
    pub error: Option<(u64, io::Error)>,
}

/// Walks `data` (one chunk inflated) given the previous chunk's `frame`. `valid` checks a
/// block_size (the same check as the sequential reader's, for the same message).
pub fn walk(data: &[u8], frame: Frame, valid: impl Fn(usize) -> Result<(), io::Error>) -> Walk {
    let mut w = Walk { next: Frame { carry: Vec::new(), records_before: frame.records_before }, ..Walk::default() };
    let mut at = 0;
    let mut carry = frame.carry;
    if !carry.is_empty() {
        let number = frame.records_before;
        if carry.len() < 4 {
            let take = (4 - carry.len()).min(data.len());
            carry.extend_from_slice(&data[..take]);
            at = take;
        }
        if carry.len() >= 4 {
            let size = u32::from_le_bytes([carry[0], carry[1], carry[2], carry[3]]) as usize;
            if let Err(e) = valid(size) {
                w.error = Some((number, e));
                return w;
            }
            let take = (size + 4 - carry.len()).min(data.len() - at);
            carry.extend_from_slice(&data[at..at + take]);
            at += take;
            if carry.len() == size + 4 {
                w.first = Some(carry);
            } else {
                w.next.carry = carry;
                w.whole = at..at;
                return w;
            }
        } else {
            w.next.carry = carry;
            w.whole = at..at;
            return w;
        }
    }
    let start = at;
    while data.len() - at >= 4 {
        let size = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        if let Err(e) = valid(size) {
            w.error = Some((w.next.records_before + w.count + 1, e));
            break;
        }
        if data.len() - at - 4 < size {
            break;
        }
        at += 4 + size;
        w.count += 1;
    }
    w.whole = start..at;
    w.next.records_before += w.count;
    if w.error.is_none() {
        w.next.carry = data[at..].to_vec();
        if !w.next.carry.is_empty() {
            // The straddling record is numbered now, so the next chunk names it correctly.
            w.next.records_before += 1;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &s) in sizes.iter().enumerate() {
            out.extend_from_slice(&(s as u32).to_le_bytes());
            out.extend(std::iter::repeat_n(i as u8, s));
        }
        out
    }

    #[test]
    fn records_split_anywhere_across_chunks_are_found_once_each_and_numbered_in_file_order() {
        let sizes = [40, 3, 200, 33, 1, 90, 7, 64];
        let data = records(&sizes);
        for cut in [1usize, 2, 3, 5, 17, 64, data.len()] {
            let mut frame = Frame::default();
            let mut seen: Vec<Vec<u8>> = Vec::new();
            let mut numbers = Vec::new();
            for piece in data.chunks(cut) {
                let before = frame.records_before;
                let w = walk(piece, frame, |_| Ok(()));
                assert!(w.error.is_none());
                if let Some(first) = w.first {
                    seen.push(first);
                    numbers.push(before);
                }
                let mut at = w.whole.start;
                for k in 1..=w.count {
                    let s = u32::from_le_bytes(piece[at..at + 4].try_into().expect("4")) as usize;
                    seen.push(piece[at..at + 4 + s].to_vec());
                    numbers.push(before + k);
                    at += 4 + s;
                }
                assert_eq!(at, w.whole.end);
                frame = w.next;
            }
            assert_eq!(numbers, (1..=sizes.len() as u64).collect::<Vec<_>>(), "cut {cut}");
            assert!(frame.carry.is_empty(), "cut {cut}");
            assert_eq!(frame.records_before, sizes.len() as u64, "cut {cut}");
            assert_eq!(seen.concat(), data, "cut {cut}");
        }
    }

    #[test]
    fn a_bad_block_size_is_reported_with_the_number_of_its_record() {
        let data = records(&[10, 20, 30]);
        let w = walk(&data, Frame::default(), |s| {
            if s == 20 { Err(io::Error::new(io::ErrorKind::InvalidData, "bad")) } else { Ok(()) }
        });
        assert_eq!(w.count, 1);
        assert_eq!(w.error.map(|(n, _)| n), Some(2));
    }
}
