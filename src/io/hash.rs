//! Streaming BLAKE3 of input and output files for the manifest's provenance record.

use std::fs::File;
use std::io;
use std::path::Path;

/// Bytes read per step. Each step is hashed with BLAKE3's rayon tree mode, so one large file (a
/// gigabyte matrix at the end of a run, when nothing else is left to hash) uses every core; a
/// plain `io::copy` hashed it 8 KiB at a time on one.
const STEP: usize = 1 << 20;

/// Size in bytes and BLAKE3 hex digest of a file, read in a stream.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut buf = vec![0u8; (len as usize).clamp(1, STEP)];
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = super::read_up_to(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update_rayon(&buf[..n]);
    }
    Ok((size, hasher.finalize().to_hex().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stepped, tree-mode hash is BLAKE3's hash of the whole file, at sizes below, at and
    /// across the step.
    #[test]
    fn stepped_hash_is_the_whole_file_hash() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 1, 1023, 1024, STEP - 1, STEP, STEP + 1, 3 * STEP + 12_345] {
            let data: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &data).unwrap();
            let (size, hex) = hash_file(&path).unwrap();
            assert_eq!(size, len as u64);
            assert_eq!(hex, blake3::hash(&data).to_hex().to_string(), "length {len}");
        }
    }
}
