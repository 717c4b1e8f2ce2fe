//! `harmonomics import`.

use std::path::PathBuf;

use clap::Args;

use super::choice::choice;

use crate::transcriptome::import::Tool;
use crate::transcriptome::import::tximport::CountsFromAbundance;

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool.
    #[arg(value_parser = choice::<Tool>())]
    pub tool: Tool,
    /// Input files (one per sample, except a multi-sample featureCounts table).
    #[arg(long = "input", short = 'i', value_name = "FILE", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Sample names, in the order of --input (default: each file's parent folder or name).
    #[arg(long = "sample", value_name = "NAME")]
    pub samples: Vec<String>,
    /// Transcript-to-gene map for Salmon/kallisto: a GTF/GFF or a `transcript<TAB>gene` table.
    #[arg(long, value_name = "FILE")]
    pub tx2gene: Option<PathBuf>,
    /// tximport's countsFromAbundance.
    #[arg(long, value_parser = choice::<CountsFromAbundance>(), default_value_t = CountsFromAbundance::No)]
    pub counts_from_abundance: CountsFromAbundance,
    /// STAR column: 0 unstranded, 1 forward, 2 reverse.
    #[arg(long, short = 's', default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub strandedness: u8,
    /// Output directory: raw.parquet (counts), lengths.parquet (gene lengths, when the tool
    /// reports them) and qc.parquet (the tool's own non-gene rows).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
}

impl ImportArgs {
    /// The library job.
    pub fn into_job(self) -> crate::jobs::import::ImportJob {
        crate::jobs::import::ImportJob {
            tool: self.tool,
            inputs: self.inputs,
            samples: self.samples,
            tx2gene: self.tx2gene,
            counts_from_abundance: self.counts_from_abundance,
            strandedness: self.strandedness.try_into().unwrap_or_default(),
            out: self.out,
        }
    }
}
