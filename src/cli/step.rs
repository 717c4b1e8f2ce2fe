//! `harmonomics quant sample` and `harmonomics normalise layer`: `run`'s scatter and layer steps
//! as separate jobs for workflow managers (the gather is `harmonomics harmonise`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cohort::Layer;
use crate::pipeline::scatter::StepOptions;

/// A layer name on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LayerArg {
    /// RNA-seq.
    Transcriptome,
    /// DNA methylation.
    Epigenome,
    /// LC-MS.
    Metabolome,
    /// Germline genotypes (one VCF/BCF).
    Genome,
    /// Taxon profiles.
    Microbiome,
}

impl From<LayerArg> for Layer {
    fn from(l: LayerArg) -> Self {
        match l {
            LayerArg::Transcriptome => Layer::Transcriptome,
            LayerArg::Epigenome => Layer::Epigenome,
            LayerArg::Metabolome => Layer::Metabolome,
            LayerArg::Genome => Layer::Genome,
            LayerArg::Microbiome => Layer::Microbiome,
        }
    }
}

/// Arguments of `quant sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// cohort.toml (default: the bundled fixture, test-data/cohort/cohort.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The sample's layer.
    #[arg(long, value_enum)]
    pub layer: LayerArg,
    /// Samplesheet sample id (repeat for several; default: every sample of the layer).
    #[arg(long = "sample", short = 's', value_name = "ID")]
    pub samples: Vec<String>,
    /// The run's output directory: writes <DIR>/<layer>/samples/<id>.parquet.
    #[arg(long, short = 'o', value_name = "DIR", default_value = "harmonomics-out")]
    pub out: PathBuf,
}

/// Arguments of `normalise layer`.
#[derive(Debug, Args)]
pub struct LayerArgs {
    /// cohort.toml (default: the bundled fixture, test-data/cohort/cohort.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The layer to assemble and normalise.
    #[arg(long, value_enum)]
    pub layer: LayerArg,
    /// The run's output directory: reads <DIR>/<layer>/samples/, writes <DIR>/<layer>/.
    #[arg(long, short = 'o', value_name = "DIR", default_value = "harmonomics-out")]
    pub out: PathBuf,
}

impl SampleArgs {
    /// The library's options.
    pub fn into_options(self, threads: usize, quiet: bool) -> StepOptions {
        StepOptions {
            config: self.config.unwrap_or_else(super::run::default_config),
            out: self.out,
            layer: self.layer.into(),
            samples: self.samples,
            threads,
            quiet,
        }
    }
}

impl LayerArgs {
    /// The library's options.
    pub fn into_options(self, threads: usize, quiet: bool) -> StepOptions {
        StepOptions {
            config: self.config.unwrap_or_else(super::run::default_config),
            out: self.out,
            layer: self.layer.into(),
            samples: Vec::new(),
            threads,
            quiet,
        }
    }
}
