//! Transcript-level quantifications (Salmon `quant.sf`, kallisto `abundance.tsv`) summarised to
//! genes as tximport does (`summarizeToGene`, `countsFromAbundance`):
//!
//! - gene counts = Σ transcript counts; gene TPM = Σ transcript TPM;
//! - gene length = Σ TPM·length / Σ TPM (abundance-weighted mean of effective lengths); where a
//!   gene has no abundance in a sample, the geometric mean of its lengths in the other samples,
//!   or, when it has none anywhere, the plain mean of its transcripts' lengths;
//! - `scaled_tpm`: counts = gene TPM scaled to each sample's total count;
//!   `length_scaled_tpm`: counts = gene TPM × the gene's mean length over samples, scaled the same.
//!
//! Transcript ids are matched with their version suffix (`.3`) and anything after `|` ignored,
//! as tximport's `ignoreTxVersion`/`ignoreAfterBar`. Transcripts missing from the map are
//! dropped with a warning; none matching at all is an error with examples, as tximport's.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::tables::bad;
use super::{ImportError, ImportedSample};

crate::choice::named_enum! {
    /// tximport's `countsFromAbundance`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum CountsFromAbundance {
        /// Summed estimated counts.
        No = "no",
        /// Gene TPM scaled to the library size.
        ScaledTpm = "scaled-tpm",
        /// Gene TPM × average gene length, scaled to the library size.
        LengthScaledTpm = "length-scaled-tpm",
    }
    default No
}

/// One sample's transcript-level quantification.
#[derive(Clone, Debug, PartialEq)]
pub struct TxQuant {
    /// Sample name.
    pub sample: String,
    /// Transcript ids.
    pub ids: Vec<String>,
    /// Effective lengths.
    pub lengths: Vec<f64>,
    /// Estimated counts.
    pub counts: Vec<f64>,
    /// TPM.
    pub tpm: Vec<f64>,
}

/// The quantifier that wrote a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxTool {
    /// `Name Length EffectiveLength TPM NumReads`.
    Salmon,
    /// `target_id length eff_length est_counts tpm`.
    Kallisto,
}

/// Reads one transcript-level file.
pub fn read(path: &Path, tool: TxTool, sample: &str) -> Result<TxQuant, ImportError> {
    let io_err = |source| ImportError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut lines = BufReader::new(crate::io::open::decompress(file).map_err(io_err)?).lines();
    let header = lines.next().ok_or_else(|| bad(path, 1, "empty file"))?.map_err(io_err)?;
    let header: Vec<&str> = header.split('\t').collect();
    let (names, id_col) = match tool {
        TxTool::Salmon => (["EffectiveLength", "NumReads", "TPM"], "Name"),
        TxTool::Kallisto => (["eff_length", "est_counts", "tpm"], "target_id"),
    };
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            bad(
                path,
                1,
                format!(
                    "missing column {name:?}; expected the header {}",
                    match tool {
                        TxTool::Salmon => "Name Length EffectiveLength TPM NumReads (Salmon quant.sf)",
                        TxTool::Kallisto => "target_id length eff_length est_counts tpm (kallisto abundance.tsv)",
                    }
                ),
            )
        })
    };
    let (id, len, cnt, tpm) = (col(id_col)?, col(names[0])?, col(names[1])?, col(names[2])?);
    let mut q = TxQuant {
        sample: sample.to_string(),
        ids: Vec::new(),
        lengths: Vec::new(),
        counts: Vec::new(),
        tpm: Vec::new(),
    };
    let mut row_lines = Vec::new();
    for (k, line) in lines.enumerate() {
        let n = k as u64 + 2;
        let line = line.map_err(io_err)?;
        if line.trim().is_empty() {
            continue;
        }
        row_lines.push(n);
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != header.len() {
            return Err(bad(path, n, format!("expected {} fields, found {}", header.len(), f.len())));
        }
        let num =
            |i: usize, what: &str| super::tables::count_value(f[i]).map_err(|e| bad(path, n, format!("{what}: {e}")));
        q.ids.push(f[id].to_string());
        q.lengths.push(num(len, names[0])?);
        q.counts.push(num(cnt, names[1])?);
        q.tpm.push(num(tpm, names[2])?);
    }
    // A transcript twice would be summed into its gene twice.
    super::tables::unique_rows(path, "transcript", &q.ids, &row_lines)?;
    Ok(q)
}

fn clean(id: &str) -> &str {
    let id = id.split('|').next().unwrap_or(id);
    match id.rsplit_once('.') {
        Some((base, version)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => id,
    }
}

/// Transcript → gene map from a two-column TSV/CSV (`transcript gene`, header optional) or a
/// GTF/GFF (`transcript_id` → `gene_id` of every record that has both).
pub fn read_tx2gene(path: &Path) -> Result<HashMap<String, String>, ImportError> {
    let io_err = |source| ImportError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    // transcript → (gene, line that gave it): a transcript given two genes is an error, as
    // tximport would put its reads in whichever gene came first.
    let mut map: HashMap<String, (String, u64)> = HashMap::new();
    let mut add = |transcript: &str, gene: String, line: u64| -> Result<(), ImportError> {
        match map.get(transcript) {
            Some((known, _)) if *known == gene => Ok(()),
            Some((known, first)) => Err(bad(
                path,
                line,
                format!("transcript {transcript:?} is mapped to gene {gene:?} here and to {known:?} on line {first}"),
            )),
            None => {
                map.insert(transcript.to_string(), (gene, line));
                Ok(())
            }
        }
    };
    for (k, line) in BufReader::new(crate::io::open::decompress(file).map_err(io_err)?).lines().enumerate() {
        let line = line.map_err(io_err)?;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 9 {
            let attr = |key: &str| {
                f[8].split(';').map(str::trim).find_map(|a| {
                    let (k, v) = a.split_once([' ', '='])?;
                    (k == key).then(|| v.trim().trim_matches('"').to_string())
                })
            };
            if let (Some(t), Some(g)) = (attr("transcript_id"), attr("gene_id")) {
                add(clean(&t), g, k as u64 + 1)?;
            }
            continue;
        }
        let f: Vec<&str> = if f.len() >= 2 { f } else { line.split(',').collect() };
        if f.len() < 2 {
            return Err(bad(path, k as u64 + 1, "expected `transcript<TAB>gene` or a GTF line"));
        }
        if k == 0 && f[0].eq_ignore_ascii_case("transcript_id") || f[0].eq_ignore_ascii_case("tx") {
            continue;
        }
        add(clean(f[0]), f[1].trim().to_string(), k as u64 + 1)?;
    }
    Ok(map.into_iter().map(|(t, (g, _))| (t, g)).collect())
}

/// Gene-level summary of several samples (genes sorted by id, as tximport's `rowsum`).
pub fn summarise(
    samples: &[(TxQuant, &Path)],
    tx2gene: &HashMap<String, String>,
    mode: CountsFromAbundance,
    warnings: &mut Vec<String>,
) -> Result<Vec<ImportedSample>, ImportError> {
    let mut genes: BTreeMap<String, usize> = BTreeMap::new();
    let mut assignments: Vec<Vec<Option<String>>> = Vec::new();
    for (q, path) in samples {
        if let Some((first, first_path)) = samples.first()
            && q.ids != first.ids
        {
            return Err(bad(
                path,
                1,
                format!(
                    "its transcripts differ from those of {} (quantify every sample against one index)",
                    first_path.display()
                ),
            ));
        }
        let a: Vec<Option<String>> = q.ids.iter().map(|t| tx2gene.get(clean(t)).cloned()).collect();
        let missing = a.iter().filter(|g| g.is_none()).count();
        if missing == q.ids.len() && !q.ids.is_empty() {
            let mut map_ids: Vec<&String> = tx2gene.keys().collect();
            map_ids.sort();
            return Err(ImportError::NoTranscriptMatches {
                path: path.to_path_buf(),
                n: q.ids.len(),
                examples: q.ids.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                map_examples: map_ids.iter().take(3).map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            });
        }
        if missing > 0 {
            let examples: Vec<&str> =
                q.ids.iter().zip(&a).filter(|(_, g)| g.is_none()).take(3).map(|(t, _)| t.as_str()).collect();
            warnings.push(format!(
                "{}: {missing} transcripts missing from the transcript-to-gene map were dropped (e.g. {})",
                path.display(),
                examples.join(", ")
            ));
        }
        for g in a.iter().flatten() {
            let next = genes.len();
            genes.entry(g.clone()).or_insert(next);
        }
        assignments.push(a);
    }
    let order: Vec<String> = genes.keys().cloned().collect();
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let n = order.len();
    let m = samples.len();
    let mut counts = vec![vec![0.0; n]; m];
    let mut tpm = vec![vec![0.0; n]; m];
    let mut weighted = vec![vec![0.0; n]; m];
    // Plain mean over transcripts of their mean length over samples (tximport's aveLengthSampGene).
    let mut tx_len_sum: HashMap<&str, (f64, usize)> = HashMap::new();
    for (j, ((q, _), a)) in samples.iter().zip(&assignments).enumerate() {
        for (t, g) in a.iter().enumerate() {
            let Some(g) = g else { continue };
            let i = index[g.as_str()];
            counts[j][i] += q.counts[t];
            tpm[j][i] += q.tpm[t];
            weighted[j][i] += q.tpm[t] * q.lengths[t];
        }
    }
    // Per transcript mean length over samples, then per gene mean over its transcripts.
    if let Some(a) = assignments.first() {
        for (t, g) in a.iter().enumerate() {
            let Some(g) = g else { continue };
            let mean: f64 = samples.iter().map(|(q, _)| q.lengths[t]).sum::<f64>() / m as f64;
            let e = tx_len_sum.entry(g.as_str()).or_insert((0.0, 0));
            e.0 += mean;
            e.1 += 1;
        }
    }
    let mut lengths: Vec<Vec<f64>> = (0..m).map(|j| (0..n).map(|i| weighted[j][i] / tpm[j][i]).collect()).collect();
    for i in 0..n {
        let present: Vec<f64> = (0..m).map(|j| lengths[j][i]).filter(|l| !l.is_nan()).collect();
        if present.len() == m {
            continue;
        }
        let fill = if present.is_empty() {
            let (sum, k) = tx_len_sum[order[i].as_str()];
            sum / k as f64
        } else {
            crate::stats::geometric_mean(&present)
        };
        for row in lengths.iter_mut() {
            if row[i].is_nan() {
                row[i] = fill;
            }
        }
    }
    if mode != CountsFromAbundance::No {
        let mean_len: Vec<f64> = (0..n).map(|i| (0..m).map(|j| lengths[j][i]).sum::<f64>() / m as f64).collect();
        for j in 0..m {
            let total: f64 = counts[j].iter().sum();
            let raw: Vec<f64> = match mode {
                CountsFromAbundance::ScaledTpm => tpm[j].clone(),
                _ => (0..n).map(|i| tpm[j][i] * mean_len[i]).collect(),
            };
            let raw_total: f64 = raw.iter().sum();
            counts[j] = raw.iter().map(|v| if raw_total > 0.0 { v * total / raw_total } else { 0.0 }).collect();
        }
    }
    Ok(samples
        .iter()
        .enumerate()
        .map(|(j, (q, _))| ImportedSample {
            sample: q.sample.clone(),
            feature_ids: order.clone(),
            counts: counts[j].clone(),
            lengths: Some(lengths[j].clone()),
            qc: Vec::new(),
        })
        .collect())
}
