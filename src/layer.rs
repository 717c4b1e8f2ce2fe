//! The omics layers: the one noun every wing (cohort, engine, outputs, batch correction) shares,
//! so it lives on the lowest floor and is imported downwards by all of them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An omics layer; each has its own readers, normalisation and output folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// RNA-seq: reads per gene.
    Transcriptome,
    /// DNA methylation: methylated/unmethylated calls per CpG.
    Epigenome,
    /// LC-MS: intensity per feature.
    Metabolome,
    /// Germline genotypes: ALT dosage per variant, one sample per patient (time-invariant).
    Genome,
    /// 16S amplicon or shotgun profiles: reads per taxon.
    Microbiome,
}

impl Layer {
    /// Every layer, in output order.
    pub const ALL: [Layer; 5] =
        [Layer::Transcriptome, Layer::Epigenome, Layer::Metabolome, Layer::Genome, Layer::Microbiome];

    /// The layer's name as used in files, folders and the samplesheet.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Transcriptome => "transcriptome",
            Layer::Epigenome => "epigenome",
            Layer::Metabolome => "metabolome",
            Layer::Genome => "genome",
            Layer::Microbiome => "microbiome",
        }
    }

    /// Parses a samplesheet `layer` value (case-insensitive).
    pub fn parse(text: &str) -> Option<Layer> {
        let text = text.trim();
        Layer::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(text))
    }

    /// Whether this version can quantify the layer.
    pub fn is_supported(self) -> bool {
        matches!(self, Layer::Transcriptome | Layer::Epigenome | Layer::Metabolome | Layer::Genome | Layer::Microbiome)
    }

    /// Whether the layer is measured once per patient rather than at each timepoint (the germline
    /// genome): its samples may have no timepoint, and it has no change from baseline.
    pub fn is_time_invariant(self) -> bool {
        self == Layer::Genome
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
