//! `MM`/`ML` base-modification tags (SAM tags specification §1.7): which bases of the read, in
//! the orientation it was sequenced, carry a modification, and with what probability.

/// How unlisted bases of a modification entry are to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipMode {
    /// `.` or no mode: bases skipped by the deltas are confidently unmodified.
    Implicit,
    /// `?`: skipped bases were not examined (no call).
    Explicit,
}

/// One `MM` entry, e.g. `C+mh?,2,0,1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModEntry {
    /// The unmodified base (`A C G T U N`).
    pub base: u8,
    /// `true` for `+` (same strand as the read), `false` for `-`.
    pub same_strand: bool,
    /// Modification codes: single letters, or the digits of one ChEBI number.
    pub codes: Vec<u8>,
    /// Whether `codes` is a ChEBI number (one code) rather than letters (one code each).
    pub chebi: bool,
    /// Skip mode.
    pub mode: SkipMode,
    /// Offsets (in occurrences of `base` in the sequenced read) of the listed bases, made absolute.
    pub positions: Vec<usize>,
    /// First index into `ML` of this entry's probabilities (`codes.len()` per position).
    pub ml_offset: usize,
}

impl ModEntry {
    /// Number of codes (probabilities per listed base).
    pub fn code_count(&self) -> usize {
        if self.chebi { 1 } else { self.codes.len() }
    }

    /// Index of 5mC (`m`) among the codes.
    pub fn m_index(&self) -> Option<usize> {
        if self.chebi { None } else { self.codes.iter().position(|&c| c == b'm') }
    }
}

/// Parses an `MM` string; `ml_len` checks that `ML` holds a probability per code and position.
pub fn parse(mm: &[u8], ml_len: usize) -> Result<Vec<ModEntry>, String> {
    let mut entries = Vec::new();
    parse_into(mm, ml_len, &mut entries)?;
    Ok(entries)
}

/// [`parse`] into `entries`, reusing their buffers (no allocation per read once grown).
pub fn parse_into(mm: &[u8], ml_len: usize, entries: &mut Vec<ModEntry>) -> Result<(), String> {
    let text = std::str::from_utf8(mm).map_err(|_| "MM is not ASCII".to_string())?;
    let mut used = 0;
    let mut ml_offset = 0;
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let mut fields = part.split(',');
        let head = fields.next().unwrap_or_default().as_bytes();
        if head.len() < 3 {
            return Err(format!("MM entry {part:?}: expected <base><strand><codes>[.?]"));
        }
        let base = head[0].to_ascii_uppercase();
        if !b"ACGTUN".contains(&base) {
            return Err(format!("MM entry {part:?}: base {:?} is not one of ACGTUN", head[0] as char));
        }
        let same_strand = match head[1] {
            b'+' => true,
            b'-' => false,
            other => return Err(format!("MM entry {part:?}: strand {:?} is not + or -", other as char)),
        };
        let (codes_text, mode) = match head[head.len() - 1] {
            b'?' => (&head[2..head.len() - 1], SkipMode::Explicit),
            b'.' => (&head[2..head.len() - 1], SkipMode::Implicit),
            _ => (&head[2..], SkipMode::Implicit),
        };
        let chebi = if codes_text.is_empty() {
            return Err(format!("MM entry {part:?}: no modification code"));
        } else if codes_text.iter().all(u8::is_ascii_digit) {
            true
        } else if codes_text.iter().all(u8::is_ascii_alphabetic) {
            false
        } else {
            return Err(format!("MM entry {part:?}: codes must be letters or one ChEBI number"));
        };
        if used == entries.len() {
            entries.push(ModEntry {
                base,
                same_strand,
                codes: Vec::new(),
                chebi,
                mode,
                positions: Vec::new(),
                ml_offset,
            });
        }
        let e = &mut entries[used];
        used += 1;
        (e.base, e.same_strand, e.chebi, e.mode, e.ml_offset) = (base, same_strand, chebi, mode, ml_offset);
        e.codes.clear();
        e.codes.extend_from_slice(codes_text);
        e.positions.clear();
        let mut next = 0usize;
        for delta in fields {
            let d: usize = delta
                .trim()
                .parse()
                .map_err(|_| format!("MM entry {part:?}: delta {delta:?} is not a whole number"))?;
            let at = next + d;
            e.positions.push(at);
            next = at + 1;
        }
        ml_offset += e.positions.len() * e.code_count();
    }
    entries.truncate(used);
    // htslib reads ML values past those MM lists as padding; too few is an error.
    if ml_offset > ml_len {
        return Err(format!("MM lists {ml_offset} modification probabilities but ML holds {ml_len}"));
    }
    Ok(())
}

/// Per-base 5mC probabilities (ML byte, 0–255) on the sequenced read, for the C bases the
/// entries cover. `sequenced` is the read as sequenced (reverse-complemented back when the
/// alignment is on the reverse strand). Returns, per position of `sequenced`:
/// `None` = no call, `Some(None)` = confidently unmodified (implicit skip),
/// `Some(Some((p_m, p_other)))` = probabilities of 5mC and of other modifications of that C.
pub fn cytosine_calls(
    entries: &[ModEntry],
    ml: &[u8],
    sequenced: &[u8],
    c_positions: &mut Vec<usize>,
    out: &mut Vec<Option<Option<(u8, u16)>>>,
) -> Result<(), String> {
    out.clear();
    out.resize(sequenced.len(), None);
    c_positions.clear();
    c_positions.extend(sequenced.iter().enumerate().filter(|(_, b)| b.eq_ignore_ascii_case(&b'C')).map(|(i, _)| i));
    for e in entries.iter().filter(|e| e.base == b'C' && e.same_strand) {
        let m_index = e.m_index();
        let n = e.code_count();
        if let Some(&last) = e.positions.last()
            && last >= c_positions.len()
        {
            return Err(format!(
                "MM C+{} lists C number {} but the read has {} C bases",
                String::from_utf8_lossy(&e.codes),
                last + 1,
                c_positions.len()
            ));
        }
        if e.mode == SkipMode::Implicit {
            for &i in c_positions.iter() {
                out[i].get_or_insert(None);
            }
        }
        for (k, &nth) in e.positions.iter().enumerate() {
            let i = c_positions[nth];
            let probs = &ml[e.ml_offset + k * n..e.ml_offset + (k + 1) * n];
            let slot = out[i].get_or_insert(None).get_or_insert((0, 0));
            for (code, &p) in probs.iter().enumerate() {
                if Some(code) == m_index {
                    slot.0 = slot.0.max(p);
                } else {
                    slot.1 += u16::from(p);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        let e = parse(b"C+m,2,2,1,4,1;C+76792,6,7;N+n,15;", 9).expect("parse");
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].positions, [2, 5, 7, 12, 14]);
        assert_eq!((e[1].codes.as_slice(), e[1].chebi), (&b"76792"[..], true));
        assert_eq!((e[1].ml_offset, e[2].ml_offset), (5, 7));
        let e = parse(b"C+mh?,2,0,0,0,0;", 10).expect("parse");
        assert_eq!(
            (e[0].mode, e[0].code_count(), e[0].positions.clone()),
            (SkipMode::Explicit, 2, vec![2, 3, 4, 5, 6])
        );
        let e = parse(b"G-m,0,0,4,3;", 4).expect("minus strand");
        assert!(!e[0].same_strand);
    }

    #[test]
    fn malformed_tags_are_refused() {
        assert!(parse(b"C+m,2,x;", 2).expect_err("delta").contains("\"x\""));
        assert!(parse(b"C*m,2;", 1).expect_err("strand").contains("strand"));
        assert!(parse(b"C+m,2,2;", 1).expect_err("ML length").contains("ML holds 1"));
        let e = parse(b"C+m,5;", 1).expect("parse");
        let mut out = Vec::new();
        assert!(
            cytosine_calls(&e, &[200], b"ACCA", &mut Vec::new(), &mut out)
                .expect_err("past the end")
                .contains("2 C bases")
        );
    }

    #[test]
    fn implicit_and_explicit_skips() {
        // Read with C at 1, 2, 5; the entry lists the second C.
        let seq = b"ACCATCA";
        let mut out = Vec::new();
        cytosine_calls(&parse(b"C+m,1;", 1).expect("parse"), &[230], seq, &mut Vec::new(), &mut out).expect("implicit");
        assert_eq!(out[1], Some(None));
        assert_eq!(out[2], Some(Some((230, 0))));
        assert_eq!(out[5], Some(None));
        assert_eq!(out[0], None);
        cytosine_calls(&parse(b"C+m?,1;", 1).expect("parse"), &[230], seq, &mut Vec::new(), &mut out)
            .expect("explicit");
        assert_eq!((out[1], out[2], out[5]), (None, Some(Some((230, 0))), None));
    }
}
