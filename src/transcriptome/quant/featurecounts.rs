//! featureCounts' own output layouts, so MultiQC and existing R scripts read ours unchanged.
//!
//! The counts table: a `# Program:...; Command:...` line, then `Geneid Chr Start End Strand
//! Length <sample>...` with per-exon `;`-joined Chr/Start/End/Strand in annotation order. The
//! summary: `Status <sample>...` then one row per category in featureCounts' order.

use std::io::{self, Write};

use super::{Category, SampleCounts};
use crate::annotation::FeatureSet;

/// Writes the counts table for one or more samples (columns named by `sample_names`): a row per
/// gene, or with `feature_level` (`-f`) a row per feature. `extra_names` (`--extraAttributes`)
/// add a column each after `Length`: the feature's value, or a gene's features' values joined
/// by `;` in the order its exons are listed, `NA` where a row has none.
pub fn write_table<W: Write>(
    w: &mut W,
    command: &str,
    features: &FeatureSet,
    feature_level: bool,
    extra_names: &[String],
    sample_names: &[&str],
    samples: &[&SampleCounts],
) -> io::Result<()> {
    writeln!(w, "# Program:harmonomics v{}; Command:{command}", env!("CARGO_PKG_VERSION"))?;
    write!(w, "Geneid\tChr\tStart\tEnd\tStrand\tLength")?;
    for name in extra_names {
        write!(w, "\t{name}")?;
    }
    for name in sample_names {
        write!(w, "\t{name}")?;
    }
    writeln!(w)?;
    if feature_level {
        // -f: one row per annotation row, in annotation order, named by its gene.
        for (i, e) in features.exons.iter().enumerate() {
            write!(
                w,
                "{}\t{}\t{}\t{}\t{}\t{}",
                features.genes[e.gene as usize].id,
                features.contigs[e.contig as usize],
                e.start,
                e.end,
                e.strand.as_char(),
                e.end + 1 - e.start
            )?;
            for k in 0..extra_names.len() {
                write!(w, "\t{}", extra_value(features, k, i))?;
            }
            for s in samples {
                write!(w, "\t{}", Count(s.counts[i]))?;
            }
            writeln!(w)?;
        }
        return Ok(());
    }
    for (i, gene) in features.genes.iter().enumerate() {
        // featureCounts lists a gene's exons sorted by position.
        let mut order: Vec<usize> = gene.exons.iter().map(|&e| e as usize).collect();
        order.sort_by_key(|&e| (features.exons[e].contig, features.exons[e].start, features.exons[e].end));
        let exons: Vec<_> = order.iter().map(|&e| &features.exons[e]).collect();
        let join =
            |f: &dyn Fn(&crate::annotation::Exon) -> String| exons.iter().map(|e| f(e)).collect::<Vec<_>>().join(";");
        write!(
            w,
            "{}\t{}\t{}\t{}\t{}\t{}",
            gene.id,
            join(&|e| features.contigs[e.contig as usize].clone()),
            join(&|e| e.start.to_string()),
            join(&|e| e.end.to_string()),
            join(&|e| e.strand.as_char().to_string()),
            features.gene_length(i)
        )?;
        for k in 0..extra_names.len() {
            // featureCounts writes a value shared by all of a gene's rows once (NA included).
            let values: Vec<&str> = order.iter().map(|&e| extra_value(features, k, e)).collect();
            let text = if values.iter().all(|v| *v == values[0]) { values[0].to_string() } else { values.join(";") };
            write!(w, "\t{text}")?;
        }
        for s in samples {
            write!(w, "\t{}", Count(s.counts[i]))?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// The `k`th extra attribute of exon `e`, `NA` where it has none.
fn extra_value(features: &FeatureSet, k: usize, e: usize) -> &str {
    features.extra.get(e).and_then(|v| v.get(k)).and_then(|v| v.as_deref()).unwrap_or("NA")
}

/// featureCounts' number format: whole numbers plain, fractions with two decimals.
struct Count(f64);

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.fract() == 0.0 { write!(f, "{}", self.0 as u64) } else { write!(f, "{:.2}", self.0) }
    }
}

/// Writes the `.summary` table. With `--nonSplitOnly` featureCounts names the split-alignment
/// row `Unassigned_Split` (`non_split_only`).
pub fn write_summary<W: Write>(
    w: &mut W,
    sample_names: &[&str],
    samples: &[&SampleCounts],
    non_split_only: bool,
) -> io::Result<()> {
    write!(w, "Status")?;
    for name in sample_names {
        write!(w, "\t{name}")?;
    }
    writeln!(w)?;
    for category in Category::ALL {
        let name = if non_split_only && category == Category::NonSplit { "Unassigned_Split" } else { category.name() };
        write!(w, "{name}")?;
        for s in samples {
            write!(w, "\t{}", s.summary.get(category))?;
        }
        writeln!(w)?;
    }
    Ok(())
}
