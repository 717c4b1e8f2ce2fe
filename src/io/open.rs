//! Opening inputs whatever their compression: sniff gzip/BGZF by magic bytes, never by extension.

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
