//! Other quantifiers' outputs as gene counts: featureCounts and htseq-count tables, STAR's
//! `ReadsPerGene.out.tab`, and transcript-level Salmon `quant.sf` / kallisto `abundance.tsv`
//! summarised to genes as tximport does.

pub mod tables;
pub mod tximport;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Location;

/// Errors reading another tool's output.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Unreadable file.
    #[error("{}: cannot read", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Malformed content.
    #[error("{location}: {message}")]
    Malformed {
        /// File and line.
        location: Location,
        /// What was expected.
        message: String,
    },
    /// Salmon or kallisto outputs without a transcript-to-gene map (a usage error).
    #[error(
        "salmon and kallisto imports need a transcript-to-gene map: --tx2gene, or `tx2gene` in \
         [transcriptome.import], or a GTF/GFF [annotation]"
    )]
    NoTranscriptMap,
    /// Transcript ids that match no transcript of the tx2gene map.
    #[error(
        "none of the {n} transcripts of {} are in the transcript-to-gene map (e.g. {examples}; the map has e.g. {map_examples}); \
         versions (`.1`) are reconciled, so the ids must differ otherwise"
    , path.display())]
    NoTranscriptMatches {
        /// The quantification file.
        path: PathBuf,
        /// How many transcripts it has.
        n: usize,
        /// A few of its ids.
        examples: String,
        /// A few ids of the map.
        map_examples: String,
    },
}

crate::choice::named_enum! {
    /// Which tool wrote the files.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Tool {
        /// Salmon `quant.sf` (transcripts; summarised to genes).
        Salmon = "salmon",
        /// kallisto `abundance.tsv` (transcripts; summarised to genes).
        Kallisto = "kallisto",
        /// featureCounts table (one or many samples; `.summary` beside it goes to QC).
        Featurecounts = "featurecounts",
        /// htseq-count output (`__` rows go to QC).
        Htseq = "htseq",
        /// STAR `ReadsPerGene.out.tab` (column chosen by --strandedness).
        Star = "star",
    }
}

/// `[transcriptome.import]`: how imported quantifications become gene counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportOptions {
    /// Transcript-to-gene map for Salmon/kallisto (default: the `[annotation]` GTF/GFF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx2gene: Option<PathBuf>,
    /// tximport's countsFromAbundance.
    pub counts_from_abundance: tximport::CountsFromAbundance,
}

/// Which tool wrote a file, from its first bytes and line; `None` for alignments
/// (BAM, CRAM, SAM).
pub fn detect(path: &std::path::Path) -> std::io::Result<Option<Tool>> {
    use std::io::{BufRead, Read};
    let mut head = [0u8; 18];
    let mut file = std::fs::File::open(path)?;
    let n = file.read(&mut head)?;
    if n >= 4 && &head[..4] == b"CRAM" {
        return Ok(None);
    }
    let bgzf = n >= 14 && head[..2] == [0x1f, 0x8b] && head[3] & 4 != 0 && head[12..14] == *b"BC";
    if bgzf {
        let mut magic = [0u8; 4];
        let mut probe = noodles::bgzf::io::Reader::new(std::fs::File::open(path)?);
        if probe.read(&mut magic)? == 4 && magic == *b"BAM\x01" {
            return Ok(None);
        }
    }
    let mut first = String::new();
    std::io::BufReader::new(crate::io::open::decompress(std::fs::File::open(path)?)?).read_line(&mut first)?;
    let first = first.trim_end();
    Ok(if first.starts_with('@') {
        None
    } else if first.starts_with("Name\tLength\tEffectiveLength") {
        Some(Tool::Salmon)
    } else if first.starts_with("target_id\tlength") {
        Some(Tool::Kallisto)
    } else if first.starts_with("# Program:featureCounts") || first.starts_with("Geneid\t") {
        Some(Tool::Featurecounts)
    } else if first.starts_with("N_unmapped\t") {
        Some(Tool::Star)
    } else if first.split('\t').count() == 2 {
        Some(Tool::Htseq)
    } else {
        None
    })
}

/// One imported sample: gene counts plus what the tool counted outside genes.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedSample {
    /// Sample name (the column header, or the file name).
    pub sample: String,
    /// Gene ids in file order.
    pub feature_ids: Vec<String>,
    /// Counts per gene.
    pub counts: Vec<f64>,
    /// Gene lengths (tximport's abundance-weighted mean), when the tool reports lengths.
    pub lengths: Option<Vec<f64>>,
    /// Non-gene rows (htseq-count's `__no_feature`, STAR's `N_unmapped`, ...), for QC.
    pub qc: Vec<(String, f64)>,
}

impl ImportedSample {
    /// An empty sample to fill row by row.
    pub fn new(sample: &str, with_lengths: bool) -> Self {
        Self {
            sample: sample.to_string(),
            feature_ids: Vec::new(),
            counts: Vec::new(),
            lengths: with_lengths.then(Vec::new),
            qc: Vec::new(),
        }
    }
}

/// Reads other tools' outputs as gene counts: `inputs` are (file, sample name) pairs.
pub fn read_all(
    tool: Tool,
    inputs: &[(PathBuf, String)],
    tx2gene: Option<&Path>,
    counts_from_abundance: tximport::CountsFromAbundance,
    strandedness: crate::transcriptome::quant::Strandedness,
    warnings: &mut Vec<String>,
) -> Result<Vec<ImportedSample>, ImportError> {
    Ok(match tool {
        Tool::Featurecounts => {
            let mut all = Vec::new();
            for (p, name) in inputs {
                let mut table = tables::featurecounts(p)?;
                // An empty name keeps the table's own column header.
                if table.len() == 1 && !name.is_empty() {
                    table[0].sample = name.clone();
                }
                all.extend(table);
            }
            all
        }
        Tool::Htseq => inputs.iter().map(|(p, n)| tables::htseq(p, n)).collect::<Result<_, _>>()?,
        Tool::Star => inputs.iter().map(|(p, n)| tables::star(p, n, strandedness)).collect::<Result<_, _>>()?,
        Tool::Salmon | Tool::Kallisto => {
            let kind = if tool == Tool::Salmon { tximport::TxTool::Salmon } else { tximport::TxTool::Kallisto };
            let Some(map_path) = tx2gene else {
                return Err(ImportError::NoTranscriptMap);
            };
            let map = tximport::read_tx2gene(map_path)?;
            let quants = inputs
                .iter()
                .map(|(p, n)| tximport::read(p, kind, n).map(|q| (q, p.as_path())))
                .collect::<Result<Vec<_>, _>>()?;
            tximport::summarise(&quants, &map, counts_from_abundance, warnings)?
        }
    })
}
