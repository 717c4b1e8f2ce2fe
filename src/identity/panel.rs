//! The sites an identity check looks at: common biallelic autosomal SNVs from a VCF/BCF, with the
//! genotype of every sample in the file when it has any (the cohort's genome layer).
//!
//! Sex chromosomes and mtDNA are left out: a man and a woman differ there whoever they are, so
//! those sites would mix sex into identity. Contig names are matched with and without `chr`
//! (`chr1` in the VCF finds `1` in a BAM), as the other layers reconcile them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::InputError;
use crate::genome::qc::{SexContig, VariantCounts, sex_chromosome};
use crate::genome::vcf::{Call, VariantReader};

/// A genotype that is not known.
pub const MISSING: u8 = u8::MAX;

/// One site: a biallelic SNV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// Contig as the VCF names it.
    pub chrom: String,
    /// 1-based position.
    pub position: u64,
    /// REF base (upper case).
    pub reference: u8,
    /// ALT base (upper case).
    pub alternate: u8,
}

impl Site {
    /// `chrom:pos:ref:alt`, as `genome/features.parquet` names variants.
    pub fn id(&self) -> String {
        format!("{}:{}:{}:{}", self.chrom, self.position, self.reference as char, self.alternate as char)
    }
}

/// Records of the sites file that are not sites, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PanelSkipped {
    /// Indels and other non-SNVs.
    pub not_snv: u64,
    /// On chrX, chrY or mtDNA.
    pub sex_or_mitochondrial: u64,
    /// Below `min_maf` or `min_call_rate` among the file's genotypes.
    pub rare_or_poorly_called: u64,
    /// A second record at a position already taken.
    pub duplicate_position: u64,
    /// Left out to keep at most `max_sites` (evenly, in genome order).
    pub thinned: u64,
}

/// The sites, sorted by contig (file order) and position, with the file's genotypes.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// The VCF/BCF read.
    pub path: PathBuf,
    /// The sites.
    pub sites: Vec<Site>,
    /// ALT frequency among the file's called genotypes, per site (`None` without genotypes).
    pub alt_frequency: Vec<Option<f64>>,
    /// The file's sample names.
    pub samples: Vec<String>,
    /// Per sample, the ALT count (0–2) at each site, [`MISSING`] when not called.
    pub genotypes: Vec<Vec<u8>>,
    /// Records not taken.
    pub skipped: PanelSkipped,
    /// Per contig key (see [`contig_key`]): the range of `sites` on it.
    contigs: HashMap<String, std::ops::Range<usize>>,
}

/// What a panel keeps.
#[derive(Clone, Copy, Debug)]
pub struct PanelFilter {
    /// Minor allele frequency among the file's genotypes (ignored without genotypes).
    pub min_maf: f64,
    /// Share of the file's samples called (ignored without genotypes).
    pub min_call_rate: f64,
    /// At most this many sites.
    pub max_sites: usize,
}

/// The name a contig is matched by: without `chr`, upper case (`chr1`, `1`, `Chr1` are one).
pub fn contig_key(name: &str) -> String {
    let bare = name.strip_prefix("chr").or_else(|| name.strip_prefix("Chr")).unwrap_or(name);
    bare.to_ascii_uppercase()
}

fn is_mitochondrial(chrom: &str) -> bool {
    matches!(contig_key(chrom).as_str(), "M" | "MT")
}

impl Panel {
    /// Reads the sites of `path`.
    pub fn read(path: &Path, filter: &PanelFilter) -> Result<Self, InputError> {
        let mut reader = VariantReader::open(path)?;
        let samples = reader.samples();
        let mut panel = Panel { path: path.to_path_buf(), samples, ..Panel::default() };
        let mut genotypes: Vec<Vec<u8>> = vec![Vec::new(); panel.samples.len()];
        let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut positions: Vec<(usize, u64, usize)> = Vec::new();
        while let Some(v) = reader.next_variant()? {
            if !v.is_snv() {
                panel.skipped.not_snv += 1;
                continue;
            }
            if sex_chromosome(&v.chrom) != SexContig::Other || is_mitochondrial(&v.chrom) {
                panel.skipped.sex_or_mitochondrial += 1;
                continue;
            }
            let counts = VariantCounts::of(&v.calls);
            if !v.calls.is_empty() {
                let called = f64::from(counts.called()) / v.calls.len() as f64;
                let maf = counts.maf().unwrap_or(0.0);
                if called < filter.min_call_rate || maf < filter.min_maf {
                    panel.skipped.rare_or_poorly_called += 1;
                    continue;
                }
            }
            let key = contig_key(&v.chrom);
            let contig = match seen.get(&key) {
                Some(&(c, _)) => c,
                None => {
                    order.push(key.clone());
                    seen.insert(key.clone(), (order.len() - 1, 0));
                    order.len() - 1
                }
            };
            let position = v.position as u64;
            positions.push((contig, position, panel.sites.len()));
            panel.sites.push(Site {
                chrom: v.chrom.clone(),
                position,
                reference: v.reference.as_bytes()[0].to_ascii_uppercase(),
                alternate: v.alternate.as_bytes()[0].to_ascii_uppercase(),
            });
            panel.alt_frequency.push(counts.alt_frequency());
            for (g, call) in genotypes.iter_mut().zip(&v.calls) {
                g.push(match call {
                    Call::Diploid(n) => *n,
                    Call::Haploid(_) | Call::Missing => MISSING,
                });
            }
        }
        // Genome order (contigs as first seen, then position); one site per position.
        positions.sort_unstable();
        let mut keep: Vec<usize> = Vec::with_capacity(positions.len());
        for w in 0..positions.len() {
            if w > 0 && positions[w].0 == positions[w - 1].0 && positions[w].1 == positions[w - 1].1 {
                panel.skipped.duplicate_position += 1;
                continue;
            }
            keep.push(positions[w].2);
        }
        if keep.len() > filter.max_sites {
            let n = keep.len();
            let thinned: Vec<usize> = (0..filter.max_sites).map(|k| keep[k * n / filter.max_sites]).collect();
            panel.skipped.thinned = (n - thinned.len()) as u64;
            keep = thinned;
        }
        panel.sites = keep.iter().map(|&i| panel.sites[i].clone()).collect();
        panel.alt_frequency = keep.iter().map(|&i| panel.alt_frequency[i]).collect();
        panel.genotypes = genotypes.iter().map(|g| keep.iter().map(|&i| g[i]).collect()).collect();
        let mut start = 0;
        for i in 1..=panel.sites.len() {
            if i == panel.sites.len() || contig_key(&panel.sites[i].chrom) != contig_key(&panel.sites[start].chrom) {
                panel.contigs.insert(contig_key(&panel.sites[start].chrom), start..i);
                start = i;
            }
        }
        Ok(panel)
    }

    /// The sites on a contig (any naming), as a range of [`Self::sites`].
    pub fn on_contig(&self, name: &str) -> std::ops::Range<usize> {
        self.contigs.get(&contig_key(name)).cloned().unwrap_or(0..0)
    }

    /// The column of the file's sample named `name`.
    pub fn sample_index(&self, name: &str) -> Option<usize> {
        self.samples.iter().position(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contig_names_match_with_and_without_chr() {
        assert_eq!(contig_key("chr1"), contig_key("1"));
        assert_eq!(contig_key("Chr2"), "2");
        assert_eq!(contig_key("chrM"), contig_key("M"));
        assert!(is_mitochondrial("MT") && is_mitochondrial("chrM") && !is_mitochondrial("chr1"));
    }

    #[test]
    fn reads_common_autosomal_snvs_in_genome_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.vcf");
        std::fs::write(
            &path,
            "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##contig=<ID=chr2>\n##contig=<ID=chrX>\n\
             ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n\
             #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\n\
             chr1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\n\
             chr1\t90\t.\tC\tT\t.\t.\t.\tGT\t0/0\t0/1\n\
             chr1\t90\t.\tC\tA\t.\t.\t.\tGT\t0/0\t0/1\n\
             chr1\t150\t.\tAT\tA\t.\t.\t.\tGT\t0/1\t0/0\n\
             chr2\t5\t.\tG\tA\t.\t.\t.\tGT\t0/0\t0/0\n\
             chr2\t7\t.\tG\tC\t.\t.\t.\tGT\t./.\t0/1\n\
             chrX\t9\t.\tG\tA\t.\t.\t.\tGT\t0/1\t1\n",
        )
        .unwrap();
        let filter = PanelFilter { min_maf: 0.01, min_call_rate: 0.0, max_sites: 100 };
        let panel = Panel::read(&path, &filter).unwrap();
        let ids: Vec<String> = panel.sites.iter().map(Site::id).collect();
        assert_eq!(ids, ["chr1:90:C:T", "chr1:100:A:G", "chr2:7:G:C"]);
        assert_eq!(panel.genotypes, vec![vec![0, 1, MISSING], vec![1, 2, 1]]);
        assert_eq!(panel.alt_frequency[1], Some(0.75));
        assert_eq!(panel.on_contig("1"), 0..2);
        assert_eq!(panel.on_contig("chr2"), 2..3);
        assert_eq!(panel.on_contig("chr3"), 0..0);
        let s = panel.skipped;
        assert_eq!((s.not_snv, s.sex_or_mitochondrial, s.rare_or_poorly_called, s.duplicate_position), (1, 1, 1, 1));
        let thin = Panel::read(&path, &PanelFilter { max_sites: 2, ..filter }).unwrap();
        assert_eq!(thin.sites.len(), 2);
        assert_eq!(thin.skipped.thinned, 1);
    }
}
