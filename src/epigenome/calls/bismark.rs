//! Bismark's `XM` methylation-call string: one character per read base, in SEQ order.
//!
//! `Z`/`z` methylated/unmethylated C in CpG context, `X`/`x` CHG, `H`/`h` CHH, `U`/`u` unknown
//! context, `.` not a C. With `XG:Z:CT` the read is on the top strand and a call at reference
//! base `r` is the CpG at `r`; with `XG:Z:GA` the called C is on the bottom strand, i.e. the G of
//! the forward-strand CpG starting one base to the left.

use super::{Call, CallStats, Filter};

/// Appends the CpG calls of one read and counts its non-CpG calls into `stats`.
pub fn calls(
    xm: &[u8],
    top: bool,
    ref_pos: &[Option<u64>],
    filter: &Filter<'_>,
    stats: &mut CallStats,
    calls: &mut Vec<Call>,
) -> Result<(), String> {
    if xm.len() != ref_pos.len() {
        return Err(format!("XM has {} characters but the read has {} bases", xm.len(), ref_pos.len()));
    }
    for (i, &c) in xm.iter().enumerate() {
        // Most of the string is `.` (not a C): skip it without touching anything else.
        if c == b'.' {
            continue;
        }
        let methylated = match c {
            b'U' | b'u' => continue,
            b'Z' => true,
            b'z' => false,
            b'X' | b'H' | b'x' | b'h' => {
                if ref_pos[i].is_some() && filter.keep(i, stats) {
                    if c.is_ascii_uppercase() {
                        stats.non_cpg_methylated += 1;
                    } else {
                        stats.non_cpg_unmethylated += 1;
                    }
                }
                continue;
            }
            other => {
                return Err(format!("XM character {:?} at read base {} is not one of .ZzXxHhUu", other as char, i + 1));
            }
        };
        // Calls in soft clips or insertions have no reference position.
        let Some(r) = ref_pos[i] else { continue };
        let pos = if top { r + 1 } else { r };
        if pos == 0 || !filter.keep(i, stats) {
            continue;
        }
        calls.push(Call { pos, methylated });
    }
    Ok(())
}
