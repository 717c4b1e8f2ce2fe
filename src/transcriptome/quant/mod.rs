//! BAM → reads per gene, with featureCounts' semantics and defaults.
//!
//! The record loop streams: one reused lazy `bam::Record`, one reused hit buffer, no allocation
//! per record. Each alignment record gets exactly one [`Category`], checked in featureCounts'
//! order (unmapped, MAPQ, duplicate, multi-mapping, secondary, then overlap), so the summary
//! matches featureCounts' `.summary` row for row.
//!
//! This is the single-end counting core (paired-end reads are counted per mate, as featureCounts
//! does without `-p`); fragment counting, fractional counts and SAM/CRAM input come with the
//! featureCounts-parity issue.

pub mod assign;
pub mod featurecounts;
pub mod outcome;

use std::fs::File;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use noodles::sam::alignment::record::data::field::Tag;
use noodles::{bam, bgzf};
use serde::{Deserialize, Serialize};

pub use assign::Assigner;
pub use outcome::{Category, Summary};

use crate::annotation::{FeatureIndex, FeatureSet};

/// featureCounts' `-s`: which strand a read must be on to count for a feature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Strandedness {
    /// `-s 0`: either strand.
    #[default]
    Unstranded,
    /// `-s 1`: the read's strand equals the feature's.
    Forward,
    /// `-s 2`: the read's strand is opposite to the feature's.
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

/// Counting options: one field per featureCounts flag, with featureCounts' defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantOptions {
    /// `-s`.
    pub strandedness: Strandedness,
    /// `-Q`: minimum mapping quality (default 0).
    pub min_mapq: u8,
    /// `-M`: count multi-mapping alignments (NH > 1).
    pub multi_mapping: bool,
    /// `--primary`: count primary alignments only.
    pub primary_only: bool,
    /// `--ignoreDup`: skip alignments flagged as duplicates.
    pub ignore_duplicates: bool,
    /// `-O`: count a read for every gene it overlaps.
    pub allow_multi_overlap: bool,
}

/// What featureCounts' `is_multi_mapping_allowed` becomes for these options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MultiMode {
    /// NH > 1 → Unassigned_MultiMapping.
    None,
    /// `-M`: every alignment counts.
    All,
    /// `-M --primary`: NH > 1 allowed, secondary alignments → Unassigned_Secondary.
    PrimaryOnly,
}

impl QuantOptions {
    /// featureCounts lets `--primary` matter only together with `-M`: without `-M`, NH > 1
    /// alignments (secondary ones included) are already Unassigned_MultiMapping.
    fn multi_mode(&self) -> MultiMode {
        match (self.multi_mapping, self.primary_only) {
            (false, _) => MultiMode::None,
            (true, false) => MultiMode::All,
            (true, true) => MultiMode::PrimaryOnly,
        }
    }
}

/// Counts for one sample, in feature order, and its outcome tally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleCounts {
    /// Reads assigned to each gene, in [`FeatureSet::genes`] order.
    pub counts: Vec<u64>,
    /// Outcome of every alignment record.
    pub summary: Summary,
}

/// Errors while counting one BAM.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// Opening or reading failed outside a record.
    #[error("{}: {source}", path.display())]
    Io {
        /// The BAM.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The input is not BAM.
    #[error("{}: not a BAM file (no BGZF/gzip magic); SAM and CRAM input are not supported yet", path.display())]
    NotBam {
        /// The file.
        path: PathBuf,
    },
    /// One record could not be decoded.
    #[error("{}: alignment record {record}: {source}", path.display())]
    Record {
        /// The BAM.
        path: PathBuf,
        /// 1-based record ordinal.
        record: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No BAM reference name matches an annotation contig.
    #[error(
        "{}: none of the BAM's reference names match the annotation's contigs, so no read can be assigned.\n  \
         BAM: {bam}\n  annotation: {annotation}\n  (is it `chr1` on one side and `1` on the other?)",
        path.display()
    )]
    ContigMismatch {
        /// The BAM.
        path: PathBuf,
        /// A few BAM reference names.
        bam: String,
        /// A few annotation contig names.
        annotation: String,
    },
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

/// Counts the reads of one BAM against `features`, streaming.
///
/// `workers` > 1 decompresses BGZF blocks on that many threads (noodles' multithreaded reader);
/// records are still assigned in file order, so the result never depends on it.
pub fn quantify_bam(
    path: &Path,
    features: &FeatureSet,
    index: &FeatureIndex,
    options: &QuantOptions,
    workers: usize,
) -> Result<SampleCounts, QuantError> {
    let io_err = |source| QuantError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 2];
    let got = io::Read::read(&mut file, &mut magic).map_err(io_err)?;
    if got < 2 || magic != [0x1f, 0x8b] {
        return Err(QuantError::NotBam { path: path.to_path_buf() });
    }
    let file = File::open(path).map_err(io_err)?;
    match NonZeroUsize::new(workers).filter(|w| w.get() > 1) {
        Some(w) => count(
            path,
            bam::io::Reader::from(bgzf::io::MultithreadedReader::with_worker_count(w, file)),
            features,
            index,
            options,
        ),
        None => count(path, bam::io::Reader::new(file), features, index, options),
    }
}

fn count<R: io::Read>(
    path: &Path,
    mut reader: bam::io::Reader<R>,
    features: &FeatureSet,
    index: &FeatureIndex,
    options: &QuantOptions,
) -> Result<SampleCounts, QuantError> {
    let io_err = |source| QuantError::Io { path: path.to_path_buf(), source };
    let header = reader.read_header().map_err(io_err)?;
    let contigs: Vec<Option<u32>> =
        header.reference_sequences().keys().map(|name| features.contig(&String::from_utf8_lossy(name))).collect();

    let mode = options.multi_mode();
    let mut assigner = Assigner::new(features, index.querier(), options);
    let mut counts = vec![0u64; features.genes.len()];
    let mut summary = Summary::default();
    let mut record = bam::Record::default();
    let mut n: u64 = 0;
    loop {
        let read = reader.read_record(&mut record).map_err(|source| QuantError::Record {
            path: path.to_path_buf(),
            record: n + 1,
            source,
        })?;
        if read == 0 {
            break;
        }
        n += 1;
        let rec_err = |source| QuantError::Record { path: path.to_path_buf(), record: n, source };
        let flags = record.flags();
        if flags.is_unmapped() {
            summary.add(Category::Unmapped);
            continue;
        }
        let mapq = record.mapping_quality().map_or(255, u8::from);
        if mapq < options.min_mapq {
            summary.add(Category::MappingQuality);
            continue;
        }
        if options.ignore_duplicates && flags.is_duplicate() {
            summary.add(Category::Duplicate);
            continue;
        }
        let nh = match record.data().get(&Tag::ALIGNMENT_HIT_COUNT) {
            Some(value) => value.map_err(rec_err)?.as_int().unwrap_or(1),
            None => 1,
        };
        if nh > 1 && mode == MultiMode::None {
            summary.add(Category::MultiMapping);
            continue;
        }
        if flags.is_secondary() && mode == MultiMode::PrimaryOnly {
            summary.add(Category::Secondary);
            continue;
        }
        let contig = match record.reference_sequence_id() {
            Some(id) => contigs.get(id.map_err(rec_err)?).copied().flatten(),
            None => {
                return Err(rec_err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "mapped record without a reference sequence",
                )));
            }
        };
        let Some(contig) = contig else {
            summary.add(Category::NoFeatures);
            continue;
        };
        let start = match record.alignment_start() {
            Some(p) => p.map_err(rec_err)?.get() as u64,
            None => {
                return Err(rec_err(io::Error::new(io::ErrorKind::InvalidData, "mapped record without a position")));
            }
        };
        let category = assigner
            .assign(contig, start, record.cigar().iter(), flags.is_reverse_complemented(), &mut counts)
            .map_err(rec_err)?;
        summary.add(category);
    }

    let mapped = summary.total() - summary.get(Category::Unmapped);
    if mapped > 0 && !contigs.iter().any(Option::is_some) {
        return Err(QuantError::ContigMismatch {
            path: path.to_path_buf(),
            bam: first_names(
                header.reference_sequences().keys().map(|k| std::str::from_utf8(k).unwrap_or("<non-UTF-8>")),
            ),
            annotation: first_names(features.contigs.iter().map(String::as_str)),
        });
    }
    Ok(SampleCounts { counts, summary })
}
