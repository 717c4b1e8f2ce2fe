//! Streaming BLAKE3 of input files for the manifest's provenance record.

use std::fs::File;
use std::io;
use std::path::Path;

/// Size in bytes and BLAKE3 hex digest of a file, read in a stream.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let size = io::copy(&mut file, &mut hasher)?;
    Ok((size, hasher.finalize().to_hex().to_string()))
}
