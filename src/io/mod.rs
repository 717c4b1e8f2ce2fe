//! Format-agnostic plumbing shared by every layer: atomic writes and input hashing.

pub mod atomic;
pub mod bgzf_blocks;
pub mod hash;
pub mod open;
pub mod parquet;
pub mod time;
pub mod wide;

use std::io::{self, Read};
use std::path::PathBuf;

/// Reads until `buf` is full or the input ends (retrying interrupted reads); the bytes read.
/// `Read::read_exact` cannot say how much a short input held.
pub(crate) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A failure to write one output file.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write output", path.display())]
pub struct OutputError {
    /// The output that was being written.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}
