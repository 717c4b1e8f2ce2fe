//! The single-input subcommands: each file holds one command's job (what the CLI resolved) and
//! the function that runs it on one file or table, outside a cohort. They call the same domain
//! code as the cohort run, so a value computed alone equals the value `run` computes.

pub mod correct;
pub mod import;
pub mod normalise_metabolome;
pub mod normalise_transcriptome;
pub mod quant_genotypes;
pub mod quant_methylation;
pub mod quant_rna;

use crate::io::parquet::Metadata;
use crate::layer::Layer;

/// The Parquet key-value metadata of a job's outputs: version, layer, then `harmonomics.<key>`
/// for each extra pair.
fn metadata(layer: Layer, extra: &[(&str, String)]) -> Metadata {
    let mut kv = vec![
        ("harmonomics.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("harmonomics.layer".to_string(), layer.as_str().to_string()),
    ];
    kv.extend(extra.iter().map(|(k, v)| (format!("harmonomics.{k}"), v.clone())));
    kv
}
