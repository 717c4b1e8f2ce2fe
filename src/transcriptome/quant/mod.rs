//! Alignments → reads (or fragments) per gene, with featureCounts' semantics and defaults.
//!
//! The record loop streams: one reused record per format, one reused [`record::Alignment`], reused
//! hit buffers, so nothing is allocated per record once buffers have grown. Every alignment
//! record (or fragment, with `--paired --count-pairs`) gets exactly one [`Category`], checked in
//! featureCounts' order (unmapped, singleton, MAPQ, fragment length, chimera, duplicate,
//! multi-mapping, secondary, split, then the overlap vote in [`assign`]), so the summary matches
//! featureCounts' `.summary` row for row. Read extension and `--read2pos` reshape a read's blocks
//! just before its overlaps are looked up. Input is BAM, CRAM (with `--reference`), SAM, or SAM
//! compressed with gzip or bgzip (sniffed from the bytes, never the extension).

pub mod annotated;
pub mod assign;
pub mod featurecounts;
pub mod junction;
pub mod outcome;
pub mod pairing;
mod parallel;
pub mod record;

use crate::io::open::RecordGuard;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use noodles::{bam, bgzf, cram, fasta, sam};
use serde::{Deserialize, Serialize};

pub use assign::Assigner;
pub use outcome::{Category, Summary};
use record::{Alignment, Interval, Layout, flag};

use crate::annotation::{FeatureIndex, FeatureSet, OverlapQuery};

/// featureCounts' `-s`: which strand a read must be on to count for a feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Strandedness {
    /// `-s 0`: either strand.
    #[default]
    Unstranded,
    /// `-s 1`: the read's (fragment's) strand equals the feature's.
    Forward,
    /// `-s 2`: the read's (fragment's) strand is opposite to the feature's.
    Reverse,
}

impl TryFrom<u8> for Strandedness {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(Strandedness::Unstranded),
            1 => Ok(Strandedness::Forward),
            2 => Ok(Strandedness::Reverse),
            other => Err(format!("strandedness must be 0, 1 or 2, found {other}")),
        }
    }
}

impl From<Strandedness> for u8 {
    fn from(s: Strandedness) -> u8 {
        match s {
            Strandedness::Unstranded => 0,
            Strandedness::Forward => 1,
            Strandedness::Reverse => 2,
        }
    }
}

/// featureCounts' fixed-point count unit: one read is 65536 (`NH_FRACTION_INT`).
pub const UNIT: u32 = 65536;

/// Counting options: one field per featureCounts flag, with featureCounts' defaults.
///
/// Options added after the first release are left out of the serialised form while they hold
/// their default, so recorded parameters (and `--resume`'s comparison) stay as they were.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantOptions {
    /// `-s`.
    pub strandedness: Strandedness,
    /// `-p`: the library is paired-end (required when records carry the paired flag).
    pub paired: bool,
    /// `--countReadPairs`: count fragments instead of reads (needs `paired`).
    pub count_pairs: bool,
    /// `-B`: only count fragments with both ends aligned.
    pub require_both_aligned: bool,
    /// `-C`: do not count chimeric fragments (mates on different contigs or the same strand).
    pub no_chimeric: bool,
    /// `-Q`: minimum mapping quality (default 0; a fragment needs one end at or above it).
    pub min_mapq: u8,
    /// `-M`: count multi-mapping alignments (NH > 1).
    pub multi_mapping: bool,
    /// `--fraction`: each multi-mapping alignment counts 1/NH (and 1/k among k genes with `-O`).
    pub fraction: bool,
    /// `--primary`: skip secondary alignments (flag 0x100).
    pub primary_only: bool,
    /// `--ignoreDup`: skip alignments flagged as duplicates.
    pub ignore_duplicates: bool,
    /// `-O`: count a read for every gene it overlaps (at the top score).
    pub allow_multi_overlap: bool,
    /// `--largestOverlap`: assign to the gene with the most overlapping bases.
    pub largest_overlap: bool,
    /// `--minOverlap`: minimum overlapping bases (default 1).
    pub min_overlap: u32,
    /// `--fracOverlap`: minimum fraction of the read's (fragment's) bases that overlap.
    #[serde(skip_serializing_if = "is_zero")]
    pub frac_overlap: f32,
    /// `--fracOverlapFeature`: minimum fraction of a feature's bases the read overlaps.
    #[serde(skip_serializing_if = "is_zero")]
    pub frac_overlap_feature: f32,
    /// `--nonOverlap`: most read (fragment) bases allowed outside the feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_overlap: Option<u32>,
    /// `--nonOverlapFeature`: most feature bases allowed outside the read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_overlap_feature: Option<u32>,
    /// `-f`: count features (annotation rows) instead of meta-features (genes).
    #[serde(skip_serializing_if = "is_false")]
    pub feature_level: bool,
    /// `--readExtension5`: extend each read this many bases upstream of its 5' end.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub read_extension5: u32,
    /// `--readExtension3`: extend each read this many bases downstream of its 3' end.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub read_extension3: u32,
    /// `--read2pos`: reduce each read to its 5' (5) or 3' (3) most base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read2pos: Option<u8>,
    /// `--splitOnly`: count only split alignments (an `N` in the CIGAR).
    #[serde(skip_serializing_if = "is_false")]
    pub split_only: bool,
    /// `--nonSplitOnly`: count only alignments without an `N`.
    #[serde(skip_serializing_if = "is_false")]
    pub non_split_only: bool,
    /// `-P`: fragments must have a template length (|TLEN|) within `-d`..`-D`.
    #[serde(skip_serializing_if = "is_false")]
    pub check_fragment_length: bool,
    /// `-d`: shortest template length with `-P` (50).
    #[serde(skip_serializing_if = "is_default_min_fragment")]
    pub min_fragment_length: u32,
    /// `-D`: longest template length with `-P` (600).
    #[serde(skip_serializing_if = "is_default_max_fragment")]
    pub max_fragment_length: u32,
    /// `--maxMOp`: CIGAR sections beyond this many are not used (10).
    #[serde(skip_serializing_if = "is_default_max_m_op")]
    pub max_m_op: u32,
    /// `-L`: long reads, every CIGAR section used (`max_m_op` ignored); single-end only.
    #[serde(skip_serializing_if = "is_false")]
    pub long_reads: bool,
    /// `--byReadGroup`: a column per read group (`@RG`, in header order); records without an RG
    /// tag, or with one the header does not list, are not counted.
    #[serde(skip_serializing_if = "is_false")]
    pub by_read_group: bool,
    /// `-J`: also count the reads supporting each exon–exon junction (written as `.jcounts`).
    #[serde(skip_serializing_if = "is_false")]
    pub count_junctions: bool,
    /// `--tmpDir`: where waiting mates are set aside (`$TMPDIR` when absent). Not a counting
    /// option: left out of the recorded parameters.
    #[serde(skip)]
    pub tmp_dir: Option<PathBuf>,
    /// `-A`: chromosome alias file (`annotation name,alignment name` per line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chromosome_aliases: Option<PathBuf>,
    /// Reference FASTA (with its `.fai`) for CRAM input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<PathBuf>,
}

impl Default for QuantOptions {
    fn default() -> Self {
        Self {
            strandedness: Strandedness::Unstranded,
            paired: false,
            count_pairs: false,
            require_both_aligned: false,
            no_chimeric: false,
            min_mapq: 0,
            multi_mapping: false,
            fraction: false,
            primary_only: false,
            ignore_duplicates: false,
            allow_multi_overlap: false,
            largest_overlap: false,
            min_overlap: 1,
            frac_overlap: 0.0,
            frac_overlap_feature: 0.0,
            non_overlap: None,
            non_overlap_feature: None,
            feature_level: false,
            read_extension5: 0,
            read_extension3: 0,
            read2pos: None,
            split_only: false,
            non_split_only: false,
            check_fragment_length: false,
            min_fragment_length: 50,
            max_fragment_length: 600,
            max_m_op: 10,
            long_reads: false,
            by_read_group: false,
            count_junctions: false,
            tmp_dir: None,
            chromosome_aliases: None,
            reference: None,
        }
    }
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}
fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}
fn is_default_min_fragment(v: &u32) -> bool {
    *v == 50
}
fn is_default_max_fragment(v: &u32) -> bool {
    *v == 600
}
fn is_default_max_m_op(v: &u32) -> bool {
    *v == 10
}

impl QuantOptions {
    /// Whether counts can be fractional (and are written as Float64).
    pub fn fractional(&self) -> bool {
        self.fraction
    }

    /// Checks combinations featureCounts rejects.
    pub fn validate(&self) -> Result<(), String> {
        if self.count_pairs && !self.paired {
            return Err("--count-pairs needs --paired (featureCounts: --countReadPairs needs -p)".into());
        }
        if (self.require_both_aligned || self.no_chimeric || self.check_fragment_length) && !self.count_pairs {
            return Err("--require-both-aligned, --no-chimeric and --check-fragment-length apply to fragments: \
                        add --paired --count-pairs"
                .into());
        }
        if self.check_fragment_length && !self.require_both_aligned {
            return Err("--check-fragment-length (-P) needs --require-both-aligned (-B), as in featureCounts".into());
        }
        for (name, v) in [("--fracOverlap", self.frac_overlap), ("--fracOverlapFeature", self.frac_overlap_feature)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be within [0, 1], found {v}"));
            }
        }
        if self.split_only && self.non_split_only {
            return Err("--splitOnly and --nonSplitOnly exclude each other".into());
        }
        if let Some(p) = self.read2pos.filter(|p| !matches!(p, 3 | 5)) {
            return Err(format!("--read2pos must be 5 or 3, found {p}"));
        }
        if self.long_reads && self.paired {
            return Err("--long-reads (-L) counts single-end reads only; featureCounts refuses -L with -p too \
                        (\"long read assignment can only be done on single-end mode\")"
                .into());
        }
        if self.max_m_op == 0 {
            return Err("--maxMOp must be at least 1".into());
        }
        if self.check_fragment_length && self.min_fragment_length > self.max_fragment_length {
            return Err(format!(
                "-d {} is above -D {}: no fragment length would pass",
                self.min_fragment_length, self.max_fragment_length
            ));
        }
        Ok(())
    }

    /// Whether overlap lengths decide anything (featureCounts' `need_calculate_overlap_len`).
    pub fn needs_overlap_lengths(&self) -> bool {
        self.largest_overlap
            || self.min_overlap > 1
            || self.frac_overlap > 0.0
            || self.frac_overlap_feature > 0.0
            || self.non_overlap.is_some()
            || self.non_overlap_feature.is_some()
    }

    /// Whether the fragment's length is needed (`--fracOverlap`, `--nonOverlap`).
    pub fn needs_fragment_length(&self) -> bool {
        self.frac_overlap > 0.0 || self.non_overlap.is_some()
    }

    /// The weight of one alignment of a read reported `nh` times, in featureCounts' fixed-point
    /// units of 1/65536 ([`UNIT`]): 65536/NH rounded down with `--fraction`, except with
    /// `--primary`, where featureCounts counts each alignment whole. Counts summed from such
    /// weights are exact in `f64` and equal featureCounts' to the last bit.
    pub fn weight(&self, nh: i64) -> u32 {
        if self.fraction && !self.primary_only { UNIT / nh.clamp(1, i64::from(UNIT)) as u32 } else { UNIT }
    }
}

/// How many reads looked sense or antisense to the genes they overlap (strand ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StrandStats {
    /// Reads or fragments on the same strand as every gene they overlap.
    pub sense: u64,
    /// Reads or fragments on the opposite strand of every gene they overlap.
    pub antisense: u64,
}

impl StrandStats {
    /// Fraction of informative reads that are sense (`None` without any).
    pub fn sense_fraction(&self) -> Option<f64> {
        let n = self.sense + self.antisense;
        (n > 0).then(|| self.sense as f64 / n as f64)
    }

    /// The strandedness the data look like, with RSeQC / nf-core's thresholds: more than 80% one
    /// way is stranded, within 10 points of 50/50 is unstranded, anything else is undetermined.
    pub fn inferred(&self) -> Option<Strandedness> {
        let f = self.sense_fraction()?;
        if f > 0.8 {
            Some(Strandedness::Forward)
        } else if f < 0.2 {
            Some(Strandedness::Reverse)
        } else if (f - 0.5).abs() < 0.1 {
            Some(Strandedness::Unstranded)
        } else {
            None
        }
    }

    /// A warning when the data contradict the declared strandedness.
    pub fn check(&self, declared: Strandedness) -> Option<String> {
        let f = self.sense_fraction()?;
        let inferred = self.inferred();
        if inferred == Some(declared) || self.sense + self.antisense < 100 {
            return None;
        }
        let looks = match inferred {
            Some(Strandedness::Forward) => "forward-stranded (-s 1)",
            Some(Strandedness::Reverse) => "reverse-stranded (-s 2)",
            Some(Strandedness::Unstranded) => "unstranded (-s 0)",
            None => "of undetermined strandedness",
        };
        Some(format!(
            "declared strandedness {} but {:.1}% of {} informative reads are sense to their gene: the library looks {looks}",
            u8::from(declared),
            100.0 * f,
            self.sense + self.antisense
        ))
    }
}

/// Counts for one sample, in feature order, its outcome tally and strand statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleCounts {
    /// Reads (or fragments) assigned to each gene, in [`FeatureSet::genes`] order; whole numbers
    /// unless `fractional`.
    pub counts: Vec<f64>,
    /// Whether counts may be fractional (`--fraction`).
    pub fractional: bool,
    /// Outcome of every alignment record or fragment.
    pub summary: Summary,
    /// Sense/antisense tally for the strandedness check.
    pub strand: StrandStats,
    /// With `--byReadGroup`: each header read group's counts and summary, in header order
    /// (`counts` and `summary` above are then their sums).
    pub read_groups: Vec<ReadGroupCounts>,
    /// With `-J`: reads supporting each junction.
    pub junctions: Option<junction::Junctions>,
}

/// One read group's share of a file (`--byReadGroup`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReadGroupCounts {
    /// The `@RG` ID.
    pub id: String,
    /// Per gene (feature), as [`SampleCounts::counts`].
    pub counts: Vec<f64>,
    /// Outcome of its records (fragments).
    pub summary: Summary,
    /// With `-J`: its reads supporting each junction.
    pub junctions: Option<junction::Junctions>,
}

impl SampleCounts {
    /// Integer counts (exact: they are sums of ones).
    pub fn integer_counts(&self) -> Vec<u64> {
        self.counts.iter().map(|&c| c as u64).collect()
    }
}

/// Errors while counting one alignment file.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// Opening or reading failed outside a record.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The input is not an alignment file that can be read: unknown, empty, truncated, a pipe.
    #[error("{}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a separate cause: it says what is wrong with this file).
        reason: crate::io::open::SniffError,
    },
    /// A SAM header line is malformed.
    #[error("{}:{line}: SAM header: {message}", path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// One record could not be decoded.
    #[error("{}: {}", path.display(), where_.describe())]
    Record {
        /// The file.
        path: PathBuf,
        /// Which record.
        where_: RecordPosition,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Paired-end records in a run not declared paired (featureCounts refuses this too).
    #[error(
        "{}: {}: paired-end reads found but the library was not declared paired-end; \
         use --paired (with --count-pairs to count fragments), or `paired = true` in [transcriptome.quant]",
        path.display(), where_.describe()
    )]
    UnexpectedPaired {
        /// The file.
        path: PathBuf,
        /// The first paired record.
        where_: RecordPosition,
    },
    /// Setting waiting mates aside on disk failed.
    #[error(
        "{}: cannot set waiting mates aside in the temporary directory {} (give --tmpDir, or set TMPDIR, \
         to a writable disk with space)",
        path.display(), dir.display()
    )]
    Spill {
        /// The alignment file being counted.
        path: PathBuf,
        /// The temporary directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No reference name matches an annotation contig.
    #[error(
        "{}: none of the alignment file's reference names match the annotation's contigs, so no read can be assigned.\n  \
         BAM: {bam}\n  annotation: {annotation}\n  (is it `chr1` on one side and `1` on the other with other differences too?)",
        path.display()
    )]
    ContigMismatch {
        /// The file.
        path: PathBuf,
        /// A few reference names of the file.
        bam: String,
        /// A few annotation contig names.
        annotation: String,
    },
    /// The genome FASTA for junction strands (`-G`) cannot be read.
    #[error("{}: cannot read the genome FASTA (-G): {source}", path.display())]
    Genome {
        /// The FASTA.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The CRAM reference cannot be used.
    #[error("{}: cannot use as CRAM reference: {message}", path.display())]
    Reference {
        /// The FASTA.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Invalid option combination.
    #[error("{0}")]
    Options(String),
    /// The per-read report (`-R CORE`) could not be written.
    #[error("{}: cannot write the per-read report", path.display())]
    Details {
        /// The alignment file being reported.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The chromosome alias file (`-A`) has a bad line.
    #[error("{}:{line}: chromosome alias file: {message}", path.display())]
    Aliases {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Where a bad record is: its ordinal, and for SAM its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordPosition {
    /// 1-based record ordinal.
    pub record: u64,
    /// 1-based line, for SAM.
    pub line: Option<u64>,
}

impl RecordPosition {
    fn describe(&self) -> String {
        match self.line {
            Some(line) => format!("line {line} (record {})", self.record),
            None => format!("alignment record {}", self.record),
        }
    }
}

fn first_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let shown: Vec<&str> = names.iter().take(6).copied().collect();
    if names.len() > shown.len() {
        format!("{}, … ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

/// The annotation contig for each reference of the file, looked up as featureCounts does: the
/// name itself, then its `-A` alias, then without a `chr` prefix, then (names of at most two
/// characters) with `chr` added.
fn map_contigs(header: &sam::Header, features: &FeatureSet, aliases: &HashMap<String, String>) -> Vec<Option<u32>> {
    header
        .reference_sequences()
        .keys()
        .map(|name| {
            let name = String::from_utf8_lossy(name);
            features
                .contig(&name)
                .or_else(|| aliases.get(name.as_ref()).and_then(|a| features.contig(a)))
                .or_else(|| name.strip_prefix("chr").and_then(|n| features.contig(n)))
                .or_else(|| (name.len() <= 2).then(|| features.contig(&format!("chr{name}"))).flatten())
        })
        .collect()
}

/// Reads a featureCounts `-A` file: `annotation name,alignment name` per line, no header; blank
/// lines and `#` comments are skipped. Returns alignment name → annotation name.
pub fn read_aliases(path: &Path) -> Result<HashMap<String, String>, QuantError> {
    let bad = |line: usize, message: String| QuantError::Aliases { path: path.to_path_buf(), line, message };
    let text = std::fs::read(path).map_err(|source| QuantError::Io { path: path.to_path_buf(), source })?;
    let text = String::from_utf8(text).map_err(|_| bad(0, "not UTF-8 text".into()))?;
    let mut aliases = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [annotation, alignment] = fields[..] else {
            return Err(bad(
                i + 1,
                format!("expected `annotation name,alignment name` (two comma-separated names), found {line:?}"),
            ));
        };
        if annotation.is_empty() || alignment.is_empty() {
            return Err(bad(i + 1, format!("an empty chromosome name in {line:?}")));
        }
        if let Some(previous) = aliases.insert(alignment.to_string(), annotation.to_string())
            && previous != annotation
        {
            return Err(bad(i + 1, format!("{alignment:?} is an alias of both {previous:?} and {annotation:?}")));
        }
    }
    Ok(aliases)
}

/// Counts the reads of one BAM or SAM file against `features`, streaming.
///
/// `workers` > 1 counts a BAM on that many threads, each inflating, decoding and assigning its
/// own run of BGZF blocks (see `parallel`); the result never depends on the thread count. SAM,
/// CRAM, `-R CORE` and `--count-pairs` on a BAM not sorted by coordinate read records in one
/// pass (BGZF still inflated on `workers` threads).
pub fn quantify(
    path: &Path,
    features: &FeatureSet,
    index: &FeatureIndex,
    options: &QuantOptions,
    workers: usize,
) -> Result<SampleCounts, QuantError> {
    quantify_with_details(path, features, index, options, workers, None)
}

/// Where featureCounts' per-read report (`-R`) goes, and in which format.
pub struct Report<'a> {
    /// `CORE`, `SAM` or `BAM`.
    pub format: annotated::ReportFormat,
    /// The report file, opened.
    pub out: &'a mut (dyn Write + Send),
}

/// [`quantify`], also writing featureCounts' per-read report (`-R`) to `report`. `CORE`: one line
/// per alignment record (per fragment with `--count-pairs`), `name<TAB>status<TAB>n<TAB>targets`
/// with featureCounts' status names, `n` the number of targets (0 for Unassigned_Unmapped and
/// Unassigned_Singleton, -1 for the other unassigned) and the targets comma-separated in the
/// order their features were first hit (`NA` when none). Lines come in the order records are
/// decided; a fragment's when its second mate is read. `SAM`/`BAM`: the input's records with
/// their outcome as tags ([`annotated`]), in the input's order.
pub fn quantify_with_details<'a>(
    path: &'a Path,
    features: &'a FeatureSet,
    index: &'a FeatureIndex,
    options: &'a QuantOptions,
    workers: usize,
    report: Option<Report<'a>>,
) -> Result<SampleCounts, QuantError> {
    use crate::io::open::{AlignmentFile, SniffError, sniff_alignments};
    options.validate().map_err(QuantError::Options)?;
    let io_err = |source| QuantError::Io { path: path.to_path_buf(), source };
    let kind = sniff_alignments(path).map_err(|e| match e {
        SniffError::Io(source) => io_err(source),
        reason => QuantError::Unreadable { path: path.to_path_buf(), reason },
    })?;
    let aliases = match &options.chromosome_aliases {
        Some(file) => read_aliases(file)?,
        None => HashMap::new(),
    };
    if kind == AlignmentFile::Bam && report.is_none() {
        let sizes = (
            test_size("HARMONOMICS_CHUNK_BLOCKS").unwrap_or(parallel::CHUNK_BLOCKS),
            test_size("HARMONOMICS_MATE_CAP").unwrap_or(parallel::MATE_CAP),
        );
        if let Some(counts) = parallel::count_bam(path, features, index, options, &aliases, workers, sizes)? {
            return Ok(counts);
        }
    }
    let mut counter = Counter::new(path, features, index, options, aliases);
    let mut outcomes = annotated::Outcomes::default();
    let mut tagged = None;
    match report {
        Some(Report { format: annotated::ReportFormat::Core, out }) => counter.details = Some(out),
        Some(Report { format, out }) => {
            counter.outcomes = Some(&mut outcomes);
            tagged = Some((format, out));
        }
        None => {}
    }
    let file = File::open(path).map_err(io_err)?;
    let counts = match kind {
        AlignmentFile::Cram => counter.run_cram(options.reference.as_deref()),
        AlignmentFile::Bam => match NonZeroUsize::new(workers).filter(|w| w.get() > 1) {
            Some(w) => counter.run_bam(bam::io::Reader::from(RecordGuard::new(
                bgzf::io::MultithreadedReader::with_worker_count(w, file),
            ))),
            None => counter.run_bam(bam::io::Reader::from(RecordGuard::new(bgzf::io::Reader::new(file)))),
        },
        AlignmentFile::BgzfSam => counter.run_sam(BufReader::new(bgzf::io::Reader::new(file))),
        AlignmentFile::GzipSam => counter.run_sam(BufReader::new(flate2::read::MultiGzDecoder::new(file))),
        AlignmentFile::Sam => counter.run_sam(BufReader::new(file)),
    }?;
    if let Some((format, out)) = tagged {
        annotated::write_annotated(path, kind, options.reference.as_deref(), format, &outcomes, out)
            .map_err(|source| QuantError::Details { path: path.to_path_buf(), source })?;
    }
    Ok(counts)
}

/// `HARMONOMICS_CHUNK_BLOCKS` (BGZF blocks per parallel chunk) and `HARMONOMICS_MATE_CAP` (mates
/// waiting in memory before they go to disk), for tests that want records straddling many chunk
/// borders and mates spilled on a small file (not tuning knobs: the defaults suit any BAM).
fn test_size(variable: &str) -> Option<usize> {
    std::env::var(variable).ok()?.parse().ok().filter(|&n| n > 0)
}

/// The per-file counting state.
struct Counter<'a> {
    /// `-A`: alignment name → annotation name.
    aliases: HashMap<String, String>,
    /// The per-read report (`-R CORE`), and the first error writing it.
    details: Option<&'a mut (dyn Write + Send)>,
    details_error: Option<io::Error>,
    /// `-R SAM/BAM`: each record's outcome, for the second pass.
    outcomes: Option<&'a mut annotated::Outcomes>,
    path: &'a Path,
    features: &'a FeatureSet,
    index: &'a FeatureIndex,
    options: &'a QuantOptions,
    counts: Vec<f64>,
    summary: Summary,
    strand: StrandStats,
    /// `--byReadGroup`: the read group of the record being decided, and each group's tallies.
    group: Option<usize>,
    groups: Vec<(Vec<f64>, Summary)>,
    /// `-J`: the file's junction tally (each read group's with `--byReadGroup`).
    junctions: junction::JunctionTally,
    group_junctions: Vec<junction::JunctionTally>,
}

impl<'a> Counter<'a> {
    fn new(
        path: &'a Path,
        features: &'a FeatureSet,
        index: &'a FeatureIndex,
        options: &'a QuantOptions,
        aliases: HashMap<String, String>,
    ) -> Self {
        Self {
            aliases,
            details: None,
            details_error: None,
            outcomes: None,
            path,
            features,
            index,
            options,
            counts: vec![0.0; if options.feature_level { features.exons.len() } else { features.genes.len() }],
            summary: Summary::default(),
            strand: StrandStats::default(),
            group: None,
            groups: Vec::new(),
            junctions: junction::JunctionTally::default(),
            group_junctions: Vec::new(),
        }
    }

    /// Where the record being decided adds its weight: its read group's counts, or the file's.
    fn counts_mut(&mut self) -> &mut [f64] {
        let Some(g) = self.group else { return &mut self.counts };
        self.ensure_groups(g + 1);
        &mut self.groups[g].0
    }

    /// Makes room for at least `n` read groups' tallies.
    fn ensure_groups(&mut self, n: usize) {
        if self.groups.len() < n {
            let features = self.counts.len();
            self.groups.resize_with(n, || (vec![0.0; features], Summary::default()));
        }
        if self.options.count_junctions && self.group_junctions.len() < n {
            self.group_junctions.resize_with(n, Default::default);
        }
    }

    /// `-J`: counts the junctions of a read's (fragment's) ends, once it has passed the filters.
    fn add_junctions(&mut self, ends: [Option<&Alignment>; 2]) {
        if !self.options.count_junctions {
            return;
        }
        let ends = ends.map(|a| a.and_then(|a| Some((a.ref_id?, &a.splices[..]))));
        match self.group {
            Some(g) => {
                self.ensure_groups(g + 1);
                self.group_junctions[g].add(ends);
            }
            None => self.junctions.add(ends),
        }
    }

    /// Adds another worker's tallies for the same file.
    fn absorb(&mut self, part: &Counter<'_>) {
        add_into(&mut self.counts, &part.counts);
        self.summary.merge(&part.summary);
        self.strand.sense += part.strand.sense;
        self.strand.antisense += part.strand.antisense;
        self.ensure_groups(part.groups.len());
        for ((counts, summary), (c, s)) in self.groups.iter_mut().zip(&part.groups) {
            add_into(counts, c);
            summary.merge(s);
        }
        self.junctions.absorb(&part.junctions);
        for (mine, theirs) in self.group_junctions.iter_mut().zip(&part.group_junctions) {
            mine.absorb(theirs);
        }
    }

    /// Tallies one record's (fragment's) outcome and, with `-R`, reports it; `records` are the
    /// numbers of its records in the file (0: none).
    fn note(&mut self, category: Category, name: &[u8], winners: &[u32], records: [u64; 2]) {
        self.summary.add(category);
        if let Some(g) = self.group {
            self.ensure_groups(g + 1);
            self.groups[g].1.add(category);
        }
        let (features, options) = (self.features, self.options);
        let status =
            if category == Category::NonSplit && options.non_split_only { "Unassigned_Split" } else { category.name() };
        // A target as the reports name it: -f reports the feature's gene, as featureCounts does.
        let target = |k: u32| {
            let gene = if options.feature_level { features.exons[k as usize].gene } else { k };
            features.genes[gene as usize].id.as_str()
        };
        if let Some(outcomes) = self.outcomes.as_deref_mut() {
            let targets = (category == Category::Assigned).then(|| {
                let ids: Vec<&str> = winners.iter().map(|&k| target(k)).collect();
                (winners.len(), ids.join(","))
            });
            for r in records {
                outcomes.set(r, status, targets.clone());
            }
        }
        let Some(w) = self.details.as_deref_mut() else { return };
        if self.details_error.is_some() {
            return;
        }
        let mut line = || -> io::Result<()> {
            w.write_all(name)?;
            write!(w, "\t{status}\t")?;
            match category {
                Category::Assigned => {
                    write!(w, "{}\t", winners.len())?;
                    for (i, &k) in winners.iter().enumerate() {
                        if i > 0 {
                            w.write_all(b",")?;
                        }
                        w.write_all(target(k).as_bytes())?;
                    }
                }
                Category::Unmapped | Category::Singleton => w.write_all(b"0\tNA")?,
                _ => w.write_all(b"-1\tNA")?,
            }
            w.write_all(b"\n")
        };
        if let Err(e) = line() {
            self.details_error = Some(e);
        }
    }

    /// Whether a per-read report is written (which needs the records' names).
    fn reports(&self) -> bool {
        self.details.is_some() || self.outcomes.is_some()
    }

    fn record_err(&self, record: u64, line: Option<u64>) -> impl FnOnce(io::Error) -> QuantError + '_ {
        move |source| QuantError::Record {
            path: self.path.to_path_buf(),
            where_: RecordPosition { record, line },
            source,
        }
    }

    fn run_bam<R: Read>(mut self, mut reader: bam::io::Reader<RecordGuard<R>>) -> Result<SampleCounts, QuantError> {
        let header = reader.read_header().map_err(|source| QuantError::Io { path: self.path.to_path_buf(), source })?;
        reader.get_mut().records_follow();
        let mut record = bam::Record::default();
        let mut engine = Engine::new(&header, self.features, self.index, self.options, &self.aliases, self.reports());
        let mut n = 0u64;
        loop {
            let read = reader.read_record(&mut record).map_err(self.record_err(n + 1, None))?;
            if read == 0 {
                break;
            }
            n += 1;
            engine.alignment.fill_bam(&record, engine.layout).map_err(self.record_err(n, None))?;
            engine.alignment.record = n;
            engine.step(&mut self, RecordPosition { record: n, line: None })?;
        }
        engine.finish(&mut self);
        self.done(&header, &engine.contigs)
    }

    fn run_sam<R: BufRead>(mut self, mut inner: R) -> Result<SampleCounts, QuantError> {
        let io_err = |source| QuantError::Io { path: self.path.to_path_buf(), source };
        let (header, header_lines) = crate::io::open::read_sam_header(&mut inner)
            .map_err(io_err)?
            .map_err(|e| QuantError::Header { path: self.path.to_path_buf(), line: e.line, message: e.message })?;
        let mut reader = sam::io::Reader::new(inner);
        let mut record = sam::Record::default();
        let mut engine = Engine::new(&header, self.features, self.index, self.options, &self.aliases, self.reports());
        let mut n = 0u64;
        loop {
            let line = Some(header_lines + n + 1);
            let read = reader.read_record(&mut record).map_err(self.record_err(n + 1, line))?;
            if read == 0 {
                break;
            }
            n += 1;
            engine.alignment.fill_sam(&record, &header, engine.layout).map_err(self.record_err(n, line))?;
            engine.alignment.record = n;
            engine.step(&mut self, RecordPosition { record: n, line })?;
        }
        engine.finish(&mut self);
        self.done(&header, &engine.contigs)
    }

    fn run_cram(mut self, reference: Option<&Path>) -> Result<SampleCounts, QuantError> {
        let io_err = |source| QuantError::Io { path: self.path.to_path_buf(), source };
        let mut builder = cram::io::reader::Builder::default();
        if let Some(fasta_path) = reference {
            let fai = PathBuf::from(format!("{}.fai", fasta_path.display()));
            if !fai.exists() {
                return Err(QuantError::Reference {
                    path: fasta_path.to_path_buf(),
                    message: format!("{} is missing; index the FASTA with `samtools faidx`", fai.display()),
                });
            }
            let indexed = fasta::io::indexed_reader::Builder::default()
                .build_from_path(fasta_path)
                .map_err(|e| QuantError::Reference { path: fasta_path.to_path_buf(), message: e.to_string() })?;
            let repository = fasta::Repository::new(fasta::repository::adapters::IndexedReader::new(indexed));
            builder = builder.set_reference_sequence_repository(repository);
        }
        let mut reader = builder.build_from_path(self.path).map_err(io_err)?;
        let header = reader.read_header().map_err(io_err)?;
        let mut engine = Engine::new(&header, self.features, self.index, self.options, &self.aliases, self.reports());
        let mut n = 0u64;
        for record in reader.records(&header) {
            n += 1;
            let record = record.map_err(|e| {
                let hint = if reference.is_none() { " (CRAM usually needs --reference FASTA)" } else { "" };
                self.record_err(n, None)(io::Error::new(e.kind(), format!("{e}{hint}")))
            })?;
            engine.alignment.fill_record_buf(&record, engine.layout).map_err(self.record_err(n, None))?;
            engine.alignment.record = n;
            engine.step(&mut self, RecordPosition { record: n, line: None })?;
        }
        engine.finish(&mut self);
        self.done(&header, &engine.contigs)
    }

    /// The file's counts, once every record is decided; `contigs` is the engine's reference →
    /// annotation contig map.
    fn done(mut self, header: &sam::Header, contigs: &[Option<u32>]) -> Result<SampleCounts, QuantError> {
        if let Some(source) = self.details_error.take() {
            return Err(QuantError::Details { path: self.path.to_path_buf(), source });
        }
        if let Some(w) = self.details.as_deref_mut() {
            w.flush().map_err(|source| QuantError::Details { path: self.path.to_path_buf(), source })?;
        }
        let mapped = self.summary.total() - self.summary.get(Category::Unmapped);
        if mapped > 0 && !contigs.iter().any(Option::is_some) {
            return Err(QuantError::ContigMismatch {
                path: self.path.to_path_buf(),
                bam: first_names(
                    header.reference_sequences().keys().map(|k| std::str::from_utf8(k).unwrap_or("<non-UTF-8>")),
                ),
                annotation: first_names(self.features.contigs.iter().map(String::as_str)),
            });
        }
        let mut read_groups = Vec::new();
        let names: Vec<String> = if self.options.count_junctions {
            header.reference_sequences().keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect()
        } else {
            Vec::new()
        };
        if self.options.by_read_group {
            self.ensure_groups(header.read_groups().len());
            let tallies = std::mem::take(&mut self.group_junctions);
            for (i, (id, (counts, summary))) in
                header.read_groups().keys().zip(std::mem::take(&mut self.groups)).enumerate()
            {
                add_into(&mut self.counts, &counts);
                let id = String::from_utf8_lossy(id).into_owned();
                let junctions = tallies.get(i).map(|t| {
                    self.junctions.absorb(t);
                    t.named(&names)
                });
                read_groups.push(ReadGroupCounts { id, counts, summary, junctions });
            }
        }
        let junctions = self.options.count_junctions.then(|| self.junctions.named(&names));
        Ok(SampleCounts {
            counts: self.counts,
            fractional: self.options.fractional(),
            summary: self.summary,
            strand: self.strand,
            read_groups,
            junctions,
        })
    }
}

/// Adds `part` to `total` element by element (tallies of one file from several workers or groups:
/// sums of fixed-point weights, exact in any order).
fn add_into(total: &mut [f64], part: &[f64]) {
    for (a, b) in total.iter_mut().zip(part) {
        *a += b;
    }
}

/// The record-at-a-time state machine shared by every input format.
struct Engine<'a, Q> {
    contigs: Vec<Option<u32>>,
    /// Each reference's length (`@SQ LN`), which read extension stops at.
    lengths: Vec<u64>,
    assigner: Assigner<'a, Q>,
    alignment: Alignment,
    layout: Layout,
    mates: pairing::MateBuffer,
    #[allow(clippy::vec_box)] // the mate buffer's boxed mates, handed back to it
    evicted: Vec<Box<Alignment>>,
    shaped: Vec<(u64, u64)>,
    scratch: (Vec<Interval>, Vec<Interval>),
    /// `--byReadGroup`: each `@RG` ID's place in the header.
    read_groups: HashMap<Vec<u8>, usize>,
}

impl<'a> Engine<'a, ()> {
    #[allow(clippy::new_ret_no_self)]
    fn new(
        header: &sam::Header,
        features: &'a FeatureSet,
        index: &'a FeatureIndex,
        options: &QuantOptions,
        aliases: &HashMap<String, String>,
        names: bool,
    ) -> Engine<'a, impl OverlapQuery + 'a> {
        Engine {
            contigs: map_contigs(header, features, aliases),
            lengths: header.reference_sequences().values().map(|r| r.length().get() as u64).collect(),
            assigner: Assigner::new(features, index.querier(), options),
            alignment: Alignment::default(),
            layout: Layout {
                pairing: options.count_pairs || names,
                max_sections: if options.long_reads { usize::MAX } else { options.max_m_op as usize },
                intervals: options.needs_fragment_length(),
                read_group: options.by_read_group,
                splices: options.count_junctions,
            },
            mates: pairing::MateBuffer::default(),
            evicted: Vec::new(),
            shaped: Vec::new(),
            scratch: Default::default(),
            read_groups: header.read_groups().keys().enumerate().map(|(i, id)| (id.to_vec(), i)).collect(),
        }
    }
}

impl<'a, Q: OverlapQuery> Engine<'a, Q> {
    fn step(&mut self, c: &mut Counter<'_>, at: RecordPosition) -> Result<(), QuantError> {
        self.check(c, at)?;
        self.count(c);
        Ok(())
    }

    /// Refuses a record no file should hold (checked before it is counted or set aside).
    fn check(&self, c: &Counter<'_>, at: RecordPosition) -> Result<(), QuantError> {
        let a = &self.alignment;
        // samtools refuses such a record; counting it would move its read to NoFeatures silently.
        let refs = self.contigs.len();
        for (what, id) in [("reference sequence id", a.ref_id), ("mate reference sequence id", a.mate_ref_id)] {
            if let Some(id) = id.filter(|&id| id >= refs) {
                let message = format!("{what} {id} is beyond the header's {refs} @SQ lines (ids count from 0)");
                return Err(QuantError::Record {
                    path: c.path.to_path_buf(),
                    where_: at,
                    source: io::Error::new(io::ErrorKind::InvalidData, message),
                });
            }
        }
        if a.has(flag::PAIRED) && !c.options.paired {
            return Err(QuantError::UnexpectedPaired { path: c.path.to_path_buf(), where_: at });
        }
        Ok(())
    }

    /// Whether the record is counted as one end of a fragment, through the mate buffer.
    fn pairs(&self, c: &Counter<'_>) -> bool {
        c.options.count_pairs && self.alignment.has(flag::PAIRED)
    }

    /// Counts the checked record: alone, or once its mate is there (or known to be missing).
    fn count(&mut self, c: &mut Counter<'_>) {
        if !self.pairs(c) {
            if !self.route(c, &self.alignment.read_group) {
                return;
            }
            let category = self.single(c);
            c.note(category, &self.alignment.name, self.assigner.winners(), [self.alignment.record, 0]);
            return;
        }
        if let Some(mate) = self.mates.offer(&self.alignment, &mut self.evicted) {
            // Lent out while `fragment` borrows the engine; its buffers come back with it.
            let current = std::mem::take(&mut self.alignment);
            self.decide_pair(c, &mate, &current);
            self.alignment = current;
            self.mates.recycle(mate);
        }
        for lone in std::mem::take(&mut self.evicted) {
            self.decide_lone(c, &lone);
            self.mates.recycle(lone);
        }
    }

    /// With `--byReadGroup`, points `c` at the record's read group; `false` when it has none
    /// the header lists (the record is then not counted, as in featureCounts).
    fn route(&self, c: &mut Counter<'_>, read_group: &[u8]) -> bool {
        if !c.options.by_read_group {
            return true;
        }
        c.group = self.read_groups.get(read_group).copied();
        c.group.is_some()
    }

    /// Counts a fragment whose two ends are here; `waiting` is the one that arrived first. Its
    /// read group is the first read's.
    fn decide_pair(&mut self, c: &mut Counter<'_>, waiting: &Alignment, later: &Alignment) {
        let (r1, r2) = if waiting.has(flag::FIRST) { (waiting, later) } else { (later, waiting) };
        if !self.route(c, &r1.read_group) {
            return;
        }
        let category = self.fragment(c, r1, Some(r2), !waiting.has(flag::FIRST));
        c.note(category, &r1.name, self.assigner.winners(), [r1.record, r2.record]);
    }

    /// Counts an end whose mate never came (or did not pair).
    fn decide_lone(&mut self, c: &mut Counter<'_>, lone: &Alignment) {
        if !self.route(c, &lone.read_group) {
            return;
        }
        let category = self.fragment(c, lone, None, true);
        c.note(category, &lone.name, self.assigner.winners(), [lone.record, 0]);
    }

    fn finish(&mut self, c: &mut Counter<'_>) {
        for lone in self.mates.drain_sorted() {
            self.decide_lone(c, &lone);
        }
    }

    /// featureCounts' single-end path (also `-p` without `--countReadPairs`, per record).
    fn single(&mut self, c: &mut Counter<'_>) -> Category {
        let a = &self.alignment;
        let o = c.options;
        if a.has(flag::UNMAPPED) {
            return Category::Unmapped;
        }
        if o.min_mapq > 0 && a.mapq < o.min_mapq {
            return Category::MappingQuality;
        }
        if o.ignore_duplicates && a.has(flag::DUPLICATE) {
            return Category::Duplicate;
        }
        if a.nh > 1 && !o.multi_mapping {
            return Category::MultiMapping;
        }
        if o.primary_only && a.has(flag::SECONDARY) {
            return Category::Secondary;
        }
        if (o.split_only && !a.junction) || (o.non_split_only && a.junction) {
            return Category::NonSplit;
        }
        c.add_junctions([Some(a), None]);
        self.assigner.clear();
        if let Some((r, contig)) = a.ref_id.and_then(|r| Some((r, self.contigs.get(r).copied().flatten()?))) {
            let blocks = shape(o, a, self.lengths[r], &mut self.shaped);
            self.assigner.add_end(1, contig, blocks, a.has(flag::REVERSE));
        }
        tally_orientation(&mut c.strand, self.assigner.orientation());
        let length = if self.layout.intervals {
            record::fragment_length((&a.intervals, a.ref_id), (&[], None), &mut self.scratch)
        } else {
            0
        };
        self.assigner.decide(o.weight(a.nh), length, c.counts_mut())
    }

    /// featureCounts' fragment path (`-p --countReadPairs`), checks in its order. The fragment
    /// is unmapped when the first end says both ends are; `-B` wants both ends aligned. Then per
    /// end (first, then second): MAPQ (at the second end: the better of the two must pass),
    /// template length and chimera (at the first end, unless half-mapped), duplicate,
    /// multi-mapping, secondary, split, and the hits of the mapped ends; then the vote. A lone
    /// end (its mate never appeared, or did not pair: featureCounts pairs by name and HI, so
    /// STAR's `HI:i:0` unmapped mates stay alone) is the first end, its mate absent.
    fn fragment(
        &mut self,
        c: &mut Counter<'_>,
        first: &Alignment,
        second: Option<&Alignment>,
        later_is_first: bool,
    ) -> Category {
        let o = c.options;
        let half_mapped = first.has(flag::UNMAPPED) || first.has(flag::MATE_UNMAPPED);
        if first.has(flag::UNMAPPED) && first.has(flag::MATE_UNMAPPED) {
            return Category::Unmapped;
        }
        if o.require_both_aligned && half_mapped {
            return Category::Singleton;
        }
        self.assigner.clear();
        let mut max_nh = 1i64;
        let mut unsplit = 0;
        let mut counted: [Option<&Alignment>; 2] = [None, None];
        for (i, end) in [Some(first), second].into_iter().enumerate() {
            if i == 1 && o.min_mapq > 0 && first.mapq.max(end.map_or(0, |a| a.mapq)) < o.min_mapq {
                return Category::MappingQuality;
            }
            let Some(a) = end else { continue };
            if i == 0 && (o.no_chimeric || o.check_fragment_length) && !half_mapped {
                let proper = a.ref_id == a.mate_ref_id && a.has(flag::REVERSE) != a.has(flag::MATE_REVERSE);
                if proper {
                    let tlen = a.tlen.unsigned_abs();
                    let (lo, hi) = (u64::from(o.min_fragment_length), u64::from(o.max_fragment_length));
                    if o.check_fragment_length && (tlen < lo || tlen > hi) {
                        return Category::FragmentLength;
                    }
                } else if o.no_chimeric {
                    return Category::Chimera;
                }
            }
            if o.ignore_duplicates && a.has(flag::DUPLICATE) {
                return Category::Duplicate;
            }
            if a.has(flag::UNMAPPED) {
                continue;
            }
            if a.nh > 1 && !o.multi_mapping {
                return Category::MultiMapping;
            }
            max_nh = max_nh.max(a.nh);
            if o.primary_only && a.has(flag::SECONDARY) {
                return Category::Secondary;
            }
            // --splitOnly drops the fragment when its second mapped end is unsplit too (so a
            // fragment with one mapped end counts whatever it is, as in featureCounts 2.0.3).
            if o.split_only && !a.junction {
                unsplit += 1;
                if unsplit == 2 {
                    return Category::NonSplit;
                }
            }
            if o.non_split_only && a.junction {
                return Category::NonSplit;
            }
            counted[i] = Some(a);
        }
        c.add_junctions(counted);
        // featureCounts looks up the later record of a pair first (its pairer passes the waiting
        // mate second), which orders -R CORE's targets.
        let order = if later_is_first { [0, 1] } else { [1, 0] };
        for i in order {
            let Some(a) = counted[i] else { continue };
            // The fragment's strand is the first read's; a second read's is flipped.
            let negative = if a.has(flag::LAST) { !a.has(flag::REVERSE) } else { a.has(flag::REVERSE) };
            if let Some((r, contig)) = a.ref_id.and_then(|r| Some((r, self.contigs.get(r).copied().flatten()?))) {
                let blocks = shape(o, a, self.lengths[r], &mut self.shaped);
                self.assigner.add_end(if i == 0 { 1 } else { 2 }, contig, blocks, negative);
            }
        }
        tally_orientation(&mut c.strand, self.assigner.orientation());
        let length = if self.layout.intervals {
            let second = second.map_or((&[][..], None), |s| (&s.intervals[..], s.ref_id));
            record::fragment_length((&first.intervals, first.ref_id), second, &mut self.scratch)
        } else {
            0
        };
        self.assigner.decide(o.weight(max_nh), length, c.counts_mut())
    }
}

/// One read's blocks as featureCounts counts them: `--readExtension5`/`3` widen the first or last
/// block (by the read's own strand; never past the contig's start or its `@SQ` length), then
/// `--read2pos` reduces the read to one base. Without those options, the blocks as aligned.
fn shape<'b>(o: &QuantOptions, a: &'b Alignment, contig_length: u64, out: &'b mut Vec<(u64, u64)>) -> &'b [(u64, u64)] {
    if (o.read_extension5 == 0 && o.read_extension3 == 0 && o.read2pos.is_none()) || a.blocks.is_empty() {
        return &a.blocks;
    }
    out.clear();
    out.extend_from_slice(&a.blocks);
    let negative = a.has(flag::REVERSE);
    let last = out.len() - 1;
    let pos = a.pos.max(1) as u64;
    let grow_left = |out: &mut Vec<(u64, u64)>, by: u64| out[0].0 -= if pos > by { by } else { pos - 1 };
    let grow_right =
        |out: &mut Vec<(u64, u64)>, by: u64| out[last].1 += by.min(contig_length.saturating_sub(out[last].1));
    for (by, upstream) in [(u64::from(o.read_extension5), true), (u64::from(o.read_extension3), false)] {
        if by > 0 {
            if upstream != negative {
                grow_left(out, by);
            } else {
                grow_right(out, by);
            }
        }
    }
    if let Some(end) = o.read2pos {
        let base = if (end == 5) != negative { out[0].0 } else { out[last].1 - 1 };
        out.clear();
        out.push((base, base + 1));
    }
    out
}

fn tally_orientation(stats: &mut StrandStats, orientation: Option<bool>) {
    match orientation {
        Some(true) => stats.sense += 1,
        Some(false) => stats.antisense += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_combinations_featurecounts_refuses_are_refused() {
        let ok = QuantOptions::default();
        assert!(ok.validate().is_ok());
        let pairs = QuantOptions { paired: true, count_pairs: true, ..QuantOptions::default() };
        let refused = [
            QuantOptions { check_fragment_length: true, ..pairs.clone() },
            QuantOptions { split_only: true, non_split_only: true, ..QuantOptions::default() },
            QuantOptions { frac_overlap: 1.5, ..QuantOptions::default() },
            QuantOptions { read2pos: Some(4), ..QuantOptions::default() },
            QuantOptions { max_m_op: 0, ..QuantOptions::default() },
            QuantOptions { long_reads: true, paired: true, ..QuantOptions::default() },
            QuantOptions {
                check_fragment_length: true,
                require_both_aligned: true,
                min_fragment_length: 700,
                ..pairs.clone()
            },
        ];
        for options in refused {
            assert!(options.validate().is_err(), "{options:?}");
        }
        // -d and -D only matter with -P.
        assert!(QuantOptions { min_fragment_length: 700, ..QuantOptions::default() }.validate().is_ok());
    }

    #[test]
    fn fractional_weights_are_featurecounts_fixed_point_units() {
        let o = QuantOptions { fraction: true, multi_mapping: true, ..QuantOptions::default() };
        assert_eq!(o.weight(1), UNIT);
        assert_eq!(o.weight(3), 21845);
        assert_eq!(QuantOptions { primary_only: true, ..o }.weight(3), UNIT);
    }
}
