//! `harmonomics quant rna`, `quant methylation` and `quant genotypes`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::choice::choice;

use crate::annotation::{AnnotationFormat, AnnotationSpec};
use crate::transcriptome::quant::annotated::ReportFormat;
use crate::transcriptome::quant::{QuantOptions, Strandedness};

/// Per-sample quantification.
#[derive(Debug, Subcommand)]
pub enum QuantCommand {
    /// Count reads per gene in one BAM (featureCounts semantics and defaults).
    Rna(Box<RnaArgs>),
    /// Methylated/unmethylated calls per CpG from one BAM (Bismark XM or MM/ML tags) or table.
    Methylation(MethylationArgs),
    /// Dosages, variant QC and sample QC from one VCF/BCF (plink2 --freq --hardy --missing figures).
    Genotypes(GenotypesArgs),
    /// A cohort's samples as `run` quantifies them, one job per sample (the scatter step).
    Sample(super::step::SampleArgs),
}

/// Arguments of `quant genotypes`.
#[derive(Debug, Args)]
pub struct GenotypesArgs {
    /// VCF or BCF, plain, gzip or BGZF (told apart by the bytes); sorted; biallelic records are
    /// read (split multiallelic ones with `bcftools norm -m -any`).
    #[arg(long, visible_alias = "input", value_name = "FILE", help_heading = "Input")]
    pub vcf: PathBuf,
    /// Matrix values: `auto` takes DS (or GP) where a record has it, else GT; `gt` takes GT always.
    #[arg(long, default_value = "auto", value_parser = choice::<crate::genome::tables::DosageSource>(), help_heading = "Input")]
    pub dosage: crate::genome::tables::DosageSource,
    /// Output directory: raw.parquet (variants × samples, 0–2 ALT dosage), features.parquet
    /// (variants with call rate, ALT frequency, MAF, HWE p, imputation R²), qc.parquet (per sample).
    #[arg(long, short = 'o', value_name = "DIR", help_heading = "Output")]
    pub out_dir: PathBuf,
    /// Also write ancestry.parquet: principal components of the common autosomal SNVs after
    /// plink's --indep-pairwise 50 5 0.2 (plink2's --pca).
    #[arg(long, help_heading = "Output")]
    pub pca: bool,
}

impl GenotypesArgs {
    /// The library job.
    pub fn into_job(self) -> crate::jobs::quant_genotypes::QuantGenotypesJob {
        crate::jobs::quant_genotypes::QuantGenotypesJob {
            input: self.vcf,
            dosage: self.dosage,
            out_dir: self.out_dir,
            pca: self.pca,
        }
    }
}

/// Arguments of `quant methylation`; filters default to MethylDackel's.
#[derive(Debug, Args)]
pub struct MethylationArgs {
    /// Coordinate-sorted BAM/SAM with Bismark XM/XG or MM/ML tags; a Bismark .cov/CpG_report,
    /// MethylDackel bedGraph or modkit bedMethyl is imported instead (format sniffed).
    #[arg(long, visible_alias = "input", value_name = "FILE", help_heading = "Input")]
    pub bam: PathBuf,
    /// Sample name recorded in the output's metadata (default: the file name's stem).
    #[arg(long, value_name = "NAME", help_heading = "Input")]
    pub sample: Option<String>,
    /// Minimum mapping quality (MethylDackel -q).
    #[arg(long, default_value_t = 10, value_name = "N", help_heading = "Filtering")]
    pub min_mapq: u8,
    /// Minimum base quality of the called base (MethylDackel -p).
    #[arg(long, default_value_t = 5, value_name = "N", help_heading = "Filtering")]
    pub min_base_quality: u8,
    /// Ignore calls from the first N bases of each read (M-bias trimming; sequencing orientation).
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = "Filtering")]
    pub ignore_first: usize,
    /// Ignore calls from the last N bases of each read.
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = "Filtering")]
    pub ignore_last: usize,
    /// Count reads flagged as duplicates.
    #[arg(long, help_heading = "Filtering")]
    pub keep_duplicates: bool,
    /// MM/ML: call 5mC at P(5mC) >= this, unmethylated at P(canonical) >= this, else no call.
    #[arg(long, default_value_t = 0.66, value_name = "P", help_heading = "Filtering")]
    pub mod_threshold: f64,
    /// Per-sample Parquet output (chrom, pos, methylated, unmethylated).
    #[arg(long, short = 'o', value_name = "FILE.parquet", help_heading = "Output")]
    pub out: PathBuf,
    /// Also write a MethylDackel-style merged-CpG bedGraph (0-based, 2 bp per CpG).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub bedgraph: Option<PathBuf>,
}

impl MethylationArgs {
    /// The library job.
    pub fn into_job(self, threads: usize) -> crate::jobs::quant_methylation::QuantMethylationJob {
        let sample = self.sample.unwrap_or_else(|| {
            let name = self.bam.file_name().and_then(|n| n.to_str()).unwrap_or("sample");
            name.split('.').next().unwrap_or(name).to_string()
        });
        crate::jobs::quant_methylation::QuantMethylationJob {
            options: crate::epigenome::calls::CallOptions {
                min_mapq: self.min_mapq,
                min_base_quality: self.min_base_quality,
                ignore_first: self.ignore_first,
                ignore_last: self.ignore_last,
                keep_duplicates: self.keep_duplicates,
                mod_threshold: self.mod_threshold,
            },
            input: self.bam,
            sample,
            out: self.out,
            bedgraph: self.bedgraph,
            threads,
        }
    }
}

/// Arguments of `quant rna`; the flags mean what featureCounts' flags mean.
#[derive(Debug, Args)]
pub struct RnaArgs {
    /// Alignments: BAM, CRAM or SAM, coordinate- or name-sorted (format sniffed from the bytes).
    /// Repeat it, or list the files after the options as featureCounts takes them: one table
    /// with a column per file, counted side by side.
    #[arg(long, value_name = "FILE", required_unless_present = "alignments", help_heading = "Input")]
    pub bam: Vec<PathBuf>,
    /// Alignment files, as featureCounts takes them (`... -a genes.gtf -o out.parquet *.bam`).
    #[arg(value_name = "ALIGNMENTS", help_heading = "Input")]
    pub alignments: Vec<PathBuf>,
    /// Reference FASTA (indexed with samtools faidx) for CRAM input. `-R CORE`, `-R SAM` and
    /// `-R BAM` are featureCounts' -R: the per-read report (--read-details); both may be given.
    #[arg(long, short = 'R', value_name = "FASTA", value_parser = reference_or_report, action = clap::ArgAction::Append, help_heading = "Input")]
    pub reference: Vec<PathBuf>,
    /// Annotation (featureCounts -a).
    #[arg(long, short = 'a', value_name = "FILE", help_heading = "Input")]
    pub annotation: PathBuf,
    /// Annotation format (featureCounts -F; GFF3 is also read). Default: told from the content
    /// (featureCounts assumes GTF).
    #[arg(long, short = 'F', value_parser = choice::<AnnotationFormat>(), ignore_case = true, help_heading = "Input")]
    pub format: Option<AnnotationFormat>,
    /// GTF/GFF feature type to count (featureCounts -t).
    #[arg(long, short = 't', default_value = "exon", value_name = "TYPE", help_heading = "Input")]
    pub feature_type: String,
    /// GTF/GFF attribute naming the gene (featureCounts -g).
    #[arg(long, short = 'g', default_value = "gene_id", value_name = "NAME", help_heading = "Input")]
    pub attribute: String,
    /// GTF/GFF attributes to carry into the counts table, comma-separated (featureCounts
    /// --extraAttributes).
    #[arg(
        long,
        visible_alias = "extraAttributes",
        value_delimiter = ',',
        value_name = "NAMES",
        help_heading = "Input"
    )]
    pub extra_attributes: Vec<String>,
    /// Chromosome alias file: `annotation name,alignment name` per line, no header (featureCounts
    /// -A); `chr1` and `1` match each other without one.
    #[arg(long, short = 'A', value_name = "FILE", help_heading = "Input")]
    pub chromosome_aliases: Option<PathBuf>,
    /// 0 unstranded, 1 stranded, 2 reversely stranded (featureCounts -s).
    #[arg(long, short = 's', default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2), help_heading = "Counting")]
    pub strandedness: u8,
    /// Paired-end library (featureCounts -p); alone, each mate is counted as a read.
    #[arg(long, short = 'p', help_heading = "Counting")]
    pub paired: bool,
    /// Count fragments instead of reads (featureCounts --countReadPairs; needs --paired).
    #[arg(long, visible_alias = "countReadPairs", requires = "paired", help_heading = "Counting")]
    pub count_pairs: bool,
    /// Only count fragments with both ends aligned (featureCounts -B).
    #[arg(long, short = 'B', requires = "count_pairs", help_heading = "Counting")]
    pub require_both_aligned: bool,
    /// Do not count chimeric fragments (featureCounts -C).
    #[arg(long, short = 'C', requires = "count_pairs", help_heading = "Counting")]
    pub no_chimeric: bool,
    /// Count multi-mapping alignments, NH > 1 (featureCounts -M).
    #[arg(long, short = 'M', help_heading = "Counting")]
    pub multi_mapping: bool,
    /// Fractional counts: 1/NH for multi-mapping reads, 1/k among k genes with -O (featureCounts --fraction).
    #[arg(long, help_heading = "Counting")]
    pub fraction: bool,
    /// Count a read for every gene it overlaps (featureCounts -O).
    #[arg(long, short = 'O', help_heading = "Counting")]
    pub allow_multi_overlap: bool,
    /// Assign to the gene with the most overlapping bases (featureCounts --largestOverlap).
    #[arg(long, visible_alias = "largestOverlap", help_heading = "Counting")]
    pub largest_overlap: bool,
    /// Minimum number of overlapping bases (featureCounts --minOverlap).
    #[arg(long, visible_alias = "minOverlap", default_value_t = 1, value_name = "N", help_heading = "Counting")]
    pub min_overlap: u32,
    /// Minimum fraction of the read's (fragment's) bases overlapping the gene, in [0, 1]
    /// (featureCounts --fracOverlap; soft clips and insertions count towards the read).
    #[arg(long, visible_alias = "fracOverlap", default_value_t = 0.0, value_name = "F", help_heading = "Counting")]
    pub frac_overlap: f32,
    /// Minimum fraction of a feature's bases the read overlaps, in [0, 1] (featureCounts
    /// --fracOverlapFeature).
    #[arg(
        long,
        visible_alias = "fracOverlapFeature",
        default_value_t = 0.0,
        value_name = "F",
        help_heading = "Counting"
    )]
    pub frac_overlap_feature: f32,
    /// Most read (fragment) bases allowed outside the gene (featureCounts --nonOverlap).
    #[arg(long, visible_alias = "nonOverlap", value_name = "N", help_heading = "Counting")]
    pub non_overlap: Option<u32>,
    /// Most feature bases allowed outside the read (featureCounts --nonOverlapFeature).
    #[arg(long, visible_alias = "nonOverlapFeature", value_name = "N", help_heading = "Counting")]
    pub non_overlap_feature: Option<u32>,
    /// Count features (annotation rows, e.g. exons) instead of genes (featureCounts -f).
    #[arg(long, short = 'f', help_heading = "Counting")]
    pub feature_level: bool,
    /// Extend reads upstream of their 5' end by N bases (featureCounts --readExtension5).
    #[arg(long, visible_alias = "readExtension5", default_value_t = 0, value_name = "N", help_heading = "Counting")]
    pub read_extension5: u32,
    /// Extend reads downstream of their 3' end by N bases (featureCounts --readExtension3).
    #[arg(long, visible_alias = "readExtension3", default_value_t = 0, value_name = "N", help_heading = "Counting")]
    pub read_extension3: u32,
    /// Reduce each read to its 5' (5) or 3' (3) most base (featureCounts --read2pos).
    #[arg(long, value_parser = ["5", "3"], value_name = "5|3", help_heading = "Counting")]
    pub read2pos: Option<String>,
    /// CIGAR sections (split at I, D and N) used per read; the rest hit nothing (featureCounts
    /// --maxMOp).
    #[arg(long, visible_alias = "maxMOp", default_value_t = 10, value_name = "N", help_heading = "Counting")]
    pub max_m_op: u32,
    /// Long reads (Nanopore, PacBio): every CIGAR section counts, whatever --maxMOp says;
    /// single-end only (featureCounts -L).
    #[arg(long, short = 'L', help_heading = "Counting")]
    pub long_reads: bool,
    /// A column per read group (`@RG` lines, in header order), named `FILE:ID`; records without
    /// an RG tag the header lists are not counted (featureCounts --byReadGroup).
    #[arg(long, visible_alias = "byReadGroup", help_heading = "Counting")]
    pub by_read_group: bool,
    /// Check the template length of fragments against -d and -D (featureCounts -P; as there,
    /// it needs -B).
    #[arg(long, short = 'P', requires_all = ["count_pairs", "require_both_aligned"], help_heading = "Counting")]
    pub check_fragment_length: bool,
    /// Shortest template length with -P (featureCounts -d).
    #[arg(long, short = 'd', default_value_t = 50, value_name = "N", help_heading = "Counting")]
    pub min_fragment_length: u32,
    /// Longest template length with -P (featureCounts -D).
    #[arg(long, short = 'D', default_value_t = 600, value_name = "N", help_heading = "Counting")]
    pub max_fragment_length: u32,
    /// Minimum mapping quality (featureCounts -Q).
    #[arg(long, short = 'Q', default_value_t = 0, value_name = "N", help_heading = "Filtering")]
    pub min_mapq: u8,
    /// Count primary alignments only (featureCounts --primary).
    #[arg(long, visible_alias = "primary", help_heading = "Filtering")]
    pub primary_only: bool,
    /// Skip reads flagged as duplicates (featureCounts --ignoreDup).
    #[arg(long, visible_alias = "ignoreDup", help_heading = "Filtering")]
    pub ignore_duplicates: bool,
    /// Count only split alignments, with an N in the CIGAR (featureCounts --splitOnly).
    #[arg(long, visible_alias = "splitOnly", conflicts_with = "non_split_only", help_heading = "Filtering")]
    pub split_only: bool,
    /// Count only alignments without an N in the CIGAR (featureCounts --nonSplitOnly).
    #[arg(long, visible_alias = "nonSplitOnly", help_heading = "Filtering")]
    pub non_split_only: bool,
    /// Count the reads supporting each exon–exon junction (an `N` in the CIGAR), written as
    /// featureCounts' `.jcounts` (featureCounts -J).
    #[arg(short = 'J', long = "junctions", help_heading = "Counting")]
    pub junctions: bool,
    /// Genome FASTA (plain or gzipped) telling each junction's strand from its GT…AG / CT…AC
    /// intron ends (featureCounts -G; needs -J).
    #[arg(short = 'G', long = "genome", value_name = "FASTA", requires = "junctions", help_heading = "Input")]
    pub genome: Option<PathBuf>,
    /// Accepted for featureCounts scripts and ignored: mates pair up in any order here, so
    /// nothing is sorted (featureCounts --donotsort).
    #[arg(long = "donotsort", hide_short_help = true, help_heading = "featureCounts compatibility")]
    pub donotsort: bool,
    /// Where --count-pairs sets waiting mates aside when too many wait (featureCounts --tmpDir;
    /// default $TMPDIR).
    #[arg(long = "tmpDir", value_name = "DIR", hide_short_help = true, help_heading = "featureCounts compatibility")]
    pub tmp_dir: Option<PathBuf>,
    /// Accepted for featureCounts scripts and ignored (featureCounts --verbose).
    #[arg(long = "verbose", hide_short_help = true, help_heading = "featureCounts compatibility")]
    pub verbose: bool,
    /// Parquet output: feature_id and count for one file; feature_id and a column per file for
    /// several.
    #[arg(long, short = 'o', value_name = "FILE.parquet", help_heading = "Output")]
    pub out: PathBuf,
    /// Also write featureCounts' own counts table here.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub featurecounts_tsv: Option<PathBuf>,
    /// Write featureCounts' per-read report beside the output (featureCounts -R): CORE, each
    /// record's (fragment's) status and targets in <input file name>.featureCounts; SAM or BAM,
    /// the alignments with XS:Z (status), XN:i and XT:Z (targets) tags in
    /// <input file name>.featureCounts.sam (.bam).
    #[arg(long, value_parser = ["CORE", "SAM", "BAM"], value_name = "CORE|SAM|BAM", help_heading = "Output")]
    pub read_details: Option<String>,
    /// Directory for the per-read reports (featureCounts --Rpath; default: the output's).
    #[arg(long = "Rpath", value_name = "DIR", help_heading = "Output")]
    pub rpath: Option<PathBuf>,
    /// With -J, write the junction counts here (default: FILE.jcounts beside --featurecounts-tsv,
    /// else OUT.jcounts beside the Parquet output, as featureCounts names it after -o).
    #[arg(long, value_name = "FILE", requires = "junctions", help_heading = "Output")]
    pub jcounts: Option<PathBuf>,
    /// Also write featureCounts' .summary table here (default with --featurecounts-tsv: FILE.summary).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub summary: Option<PathBuf>,
}

impl RnaArgs {
    /// The library job (the only place that knows both clap and the pipeline).
    pub fn into_job(self, threads: usize, command: String) -> crate::jobs::quant_rna::QuantRnaJob {
        let format = self.report_format();
        let read_details = format.is_some().then(|| {
            self.rpath.clone().unwrap_or_else(|| match self.out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            })
        });
        let jcounts = self.junctions.then(|| {
            self.jcounts.clone().unwrap_or_else(|| {
                let base = self.featurecounts_tsv.as_ref().unwrap_or(&self.out);
                PathBuf::from(format!("{}.jcounts", base.display()))
            })
        });
        crate::jobs::quant_rna::QuantRnaJob {
            jcounts,
            genome: self.genome.clone(),
            read_details,
            read_details_format: format.unwrap_or_default(),
            options: self.quant_options(),
            annotation: self.annotation_spec(),
            bams: self.bam.into_iter().chain(self.alignments).collect(),
            out: self.out,
            featurecounts_tsv: self.featurecounts_tsv,
            summary: self.summary,
            threads,
            command,
        }
    }

    /// featureCounts' `-R CORE|SAM|BAM` (through `-R` or `--read-details`).
    fn report_format(&self) -> Option<ReportFormat> {
        let through_r = self.reference.iter().rev().find_map(|r| r.to_str().and_then(ReportFormat::parse));
        through_r.or_else(|| self.read_details.as_deref().and_then(ReportFormat::parse))
    }

    /// The annotation to read.
    pub fn annotation_spec(&self) -> AnnotationSpec {
        AnnotationSpec {
            path: self.annotation.clone(),
            format: self.format,
            feature_type: self.feature_type.clone(),
            attribute: self.attribute.clone(),
            extra_attributes: self.extra_attributes.clone(),
        }
    }

    /// The library's counting options.
    pub fn quant_options(&self) -> QuantOptions {
        QuantOptions {
            strandedness: Strandedness::try_from(self.strandedness).unwrap_or_default(),
            paired: self.paired,
            count_pairs: self.count_pairs,
            require_both_aligned: self.require_both_aligned,
            no_chimeric: self.no_chimeric,
            min_mapq: self.min_mapq,
            multi_mapping: self.multi_mapping,
            fraction: self.fraction,
            primary_only: self.primary_only,
            ignore_duplicates: self.ignore_duplicates,
            allow_multi_overlap: self.allow_multi_overlap,
            largest_overlap: self.largest_overlap,
            min_overlap: self.min_overlap,
            frac_overlap: self.frac_overlap,
            frac_overlap_feature: self.frac_overlap_feature,
            non_overlap: self.non_overlap,
            non_overlap_feature: self.non_overlap_feature,
            feature_level: self.feature_level,
            read_extension5: self.read_extension5,
            read_extension3: self.read_extension3,
            read2pos: self.read2pos.as_deref().and_then(|p| p.parse().ok()),
            split_only: self.split_only,
            non_split_only: self.non_split_only,
            check_fragment_length: self.check_fragment_length,
            min_fragment_length: self.min_fragment_length,
            max_fragment_length: self.max_fragment_length,
            max_m_op: self.max_m_op,
            long_reads: self.long_reads,
            by_read_group: self.by_read_group,
            count_junctions: self.junctions,
            tmp_dir: self.tmp_dir.clone(),
            chromosome_aliases: self.chromosome_aliases.clone(),
            // The last -R/--reference that is not a report format.
            reference: self
                .reference
                .iter()
                .rev()
                .find(|r| r.to_str().and_then(ReportFormat::parse).is_none())
                .cloned(),
        }
    }
}

/// `-R`: featureCounts' report format, or else a CRAM reference FASTA, which must exist (so a
/// mistyped format is not taken for a file name).
fn reference_or_report(value: &str) -> Result<PathBuf, String> {
    if ReportFormat::parse(value).is_some() || std::path::Path::new(value).exists() {
        Ok(PathBuf::from(value))
    } else {
        Err(format!(
            "{value:?} is neither a report format (CORE, SAM or BAM, as featureCounts' -R takes) nor an existing \
             reference FASTA (for CRAM)"
        ))
    }
}
