//! Genetic ancestry covariates: principal components of common, LD-pruned autosomal SNVs, the
//! covariates association and expression models adjust for.
//!
//! Pruning is plink's `--indep-pairwise 50 5 0.2` as plink 1.07 defines it. Windows of 50
//! variants step by 5 within a chromosome. In each window, a pair whose r² exceeds 0.2 loses its
//! variant with the lower MAF (the later one on a tie). r² is the squared Pearson correlation of
//! the dosages over samples called at both. It streams: a variant is final once the window has
//! passed it, so memory is one window plus an n × n matrix.
//!
//! The PCA is plink2's `--pca`: each kept variant standardised as (g − 2p)/√(2p(1−p)), with p its
//! ALT frequency. Each entry of the genomic relationship matrix is the mean of the products over
//! the variants both samples have called (plink2 divides by that count, not by every variant).
//! Its leading eigenvectors, unit length, each with the sign that makes
//! its largest component positive, are the components.

use std::collections::VecDeque;

/// What the pruning and PCA use.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AncestryOptions {
    /// Variants per window.
    pub window: usize,
    /// Variants the window moves by.
    pub step: usize,
    /// A pair above this r² loses a variant.
    pub max_r2: f64,
    /// Variants with a rarer minor allele are left out.
    pub min_maf: f64,
    /// Components computed (fewer when there are fewer samples).
    pub components: usize,
}

impl Default for AncestryOptions {
    fn default() -> Self {
        Self { window: 50, step: 5, max_r2: 0.2, min_maf: 0.05, components: 10 }
    }
}

struct Candidate {
    id: String,
    /// Its place in the stream (r² between two candidates is cached by the distance).
    seq: u64,
    dosages: Vec<Option<f64>>,
    /// Centred dosages when no call is missing (the fast r² path), else empty.
    centred: Vec<f64>,
    /// Σ of the squared centred dosages (with `centred`).
    sum_squares: f64,
    maf: f64,
    kept: bool,
    /// r² with the candidates 1, 2, … places later, once computed (overlapping windows ask again).
    r2_later: Vec<Option<f64>>,
}

/// Variants standardised for the relationship matrix, by sample: flushed every [`BLOCK`].
const BLOCK: usize = 256;

/// Streaming LD pruning into a genomic relationship matrix.
pub struct Ancestry {
    options: AncestryOptions,
    chrom: Option<String>,
    window: VecDeque<Candidate>,
    next_seq: u64,
    /// The upper triangle (b ≥ a) of Σ x_a x_b over the variants both samples called.
    grm: Vec<f64>,
    /// Variants called in both samples of each pair (the GRM's denominators), upper triangle.
    called: Vec<u32>,
    /// The block being filled: per sample, its standardised values (0 where missing).
    block: Vec<Vec<f64>>,
    /// Per sample, its missing calls in the block.
    block_missing: Vec<u32>,
    /// Per sample, a bit per block variant: called (only read when some call is missing).
    block_called: Vec<[u64; BLOCK / 64]>,
    block_len: usize,
    samples: usize,
    variants: Vec<String>,
    /// Variants offered (common autosomal SNVs).
    pub offered: u64,
    /// Variants kept after pruning (the PCA's).
    pub kept: u64,
}

/// The components.
#[derive(Clone, Debug, PartialEq)]
pub struct Components {
    /// Eigenvalues of the relationship matrix, descending.
    pub eigenvalues: Vec<f64>,
    /// `scores[sample][k]`: component k of each sample (unit eigenvector entries).
    pub scores: Vec<Vec<f64>>,
    /// Variants offered and kept.
    pub offered: u64,
    /// Variants after pruning.
    pub kept: u64,
    /// The ids of the variants the components were computed from, in file order.
    pub variants: Vec<String>,
}

/// Σ x·y in eight fixed lanes (vectorisable; the same bits at any thread count).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for k in 0..8 {
            lanes[k] += a[k] * b[k];
        }
    }
    let tail: f64 = xr.iter().zip(yr).map(|(a, b)| a * b).sum();
    lanes.iter().sum::<f64>() + tail
}

/// r² over the samples called at both (pairwise-complete Pearson correlation, squared).
fn r2(a: &Candidate, b: &Candidate) -> f64 {
    if !a.centred.is_empty() && !b.centred.is_empty() {
        if a.sum_squares <= 0.0 || b.sum_squares <= 0.0 {
            return 0.0;
        }
        let cov = dot(&a.centred, &b.centred);
        return cov * cov / (a.sum_squares * b.sum_squares);
    }
    let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in a.dosages.iter().zip(&b.dosages) {
        if let (Some(x), Some(y)) = (x, y) {
            n += 1.0;
            sa += x;
            sb += y;
            saa += x * x;
            sbb += y * y;
            sab += x * y;
        }
    }
    if n < 2.0 {
        return 0.0;
    }
    let cov = sab - sa * sb / n;
    let (va, vb) = (saa - sa * sa / n, sbb - sb * sb / n);
    if va <= 0.0 || vb <= 0.0 { 0.0 } else { cov * cov / (va * vb) }
}

impl Ancestry {
    /// An empty accumulator for `samples` samples.
    pub fn new(samples: usize, options: AncestryOptions) -> Self {
        Self {
            options,
            chrom: None,
            window: VecDeque::new(),
            next_seq: 0,
            grm: vec![0.0; samples * samples],
            called: vec![0; samples * samples],
            block: vec![Vec::with_capacity(BLOCK); samples],
            block_missing: vec![0; samples],
            block_called: vec![[0; BLOCK / 64]; samples],
            block_len: 0,
            samples,
            variants: Vec::new(),
            offered: 0,
            kept: 0,
        }
    }

    /// Offers one variant (in file order): kept for pruning when it is a common autosomal SNV.
    pub fn push(&mut self, id: &str, chrom: &str, is_snv: bool, dosages: &[Option<f64>]) {
        if !is_snv || super::qc::sex_chromosome(chrom) != super::qc::SexContig::Other {
            return;
        }
        let (sum, n) = dosages.iter().flatten().fold((0.0, 0usize), |(s, n), d| (s + d, n + 1));
        if n == 0 {
            return;
        }
        let p = sum / (2.0 * n as f64);
        let maf = p.min(1.0 - p);
        if maf < self.options.min_maf {
            return;
        }
        if self.chrom.as_deref() != Some(chrom) {
            self.drain();
            self.chrom = Some(chrom.to_string());
        }
        self.offered += 1;
        let (centred, sum_squares) = if n == dosages.len() {
            let mean = sum / n as f64;
            let c: Vec<f64> = dosages.iter().map(|d| d.unwrap_or(mean) - mean).collect();
            let ss = c.iter().map(|x| x * x).sum();
            (c, ss)
        } else {
            (Vec::new(), 0.0)
        };
        self.window.push_back(Candidate {
            id: id.to_string(),
            seq: self.next_seq,
            dosages: dosages.to_vec(),
            centred,
            sum_squares,
            maf,
            kept: true,
            r2_later: Vec::new(),
        });
        self.next_seq += 1;
        if self.window.len() == self.options.window {
            self.prune_window();
            self.advance();
        }
    }

    /// One window's pass: every pair still kept and in LD loses its lower-MAF variant.
    fn prune_window(&mut self) {
        let n = self.window.len().min(self.options.window);
        for i in 0..n {
            if !self.window[i].kept {
                continue;
            }
            for j in i + 1..n {
                if !self.window[j].kept {
                    continue;
                }
                let offset = (self.window[j].seq - self.window[i].seq) as usize - 1;
                let cached = self.window[i].r2_later.get(offset).copied().flatten();
                let r = match cached {
                    Some(r) => r,
                    None => {
                        let r = r2(&self.window[i], &self.window[j]);
                        let later = &mut self.window[i].r2_later;
                        if later.len() <= offset {
                            later.resize(offset + 1, None);
                        }
                        later[offset] = Some(r);
                        r
                    }
                };
                if r > self.options.max_r2 {
                    if self.window[i].maf < self.window[j].maf {
                        self.window[i].kept = false;
                        break;
                    }
                    self.window[j].kept = false;
                }
            }
        }
    }

    /// Moves the window by `step`: the variants it leaves are final.
    fn advance(&mut self) {
        for _ in 0..self.options.step.min(self.window.len()) {
            if let Some(c) = self.window.pop_front()
                && c.kept
                && self.add(&c.dosages)
            {
                self.variants.push(c.id);
            }
        }
    }

    /// The end of a chromosome: the remaining (shorter) windows, then everything is final.
    fn drain(&mut self) {
        while !self.window.is_empty() {
            self.prune_window();
            self.advance();
        }
    }

    /// Adds a kept variant to the block (flushed into the matrix when full).
    fn add(&mut self, dosages: &[Option<f64>]) -> bool {
        let (sum, n) = dosages.iter().flatten().fold((0.0, 0usize), |(s, n), d| (s + d, n + 1));
        let p = sum / (2.0 * n as f64);
        let sd = (2.0 * p * (1.0 - p)).sqrt();
        if sd.is_nan() || sd <= 0.0 {
            return false;
        }
        for (s, d) in dosages.iter().enumerate() {
            self.block[s].push(d.map_or(0.0, |g| (g - 2.0 * p) / sd));
            if d.is_some() {
                self.block_called[s][self.block_len / 64] |= 1 << (self.block_len % 64);
            }
            self.block_missing[s] += u32::from(d.is_none());
        }
        self.block_len += 1;
        self.kept += 1;
        if self.block_len == BLOCK {
            self.flush();
        }
        true
    }

    /// Adds the block's products to the matrix: rows in parallel, each cell summed in variant
    /// order, so the bits do not depend on the threads.
    fn flush(&mut self) {
        use rayon::prelude::*;
        let n = self.samples;
        let (block, missing, called, len) = (&self.block, &self.block_missing, &self.block_called, self.block_len);
        self.grm.par_chunks_mut(n).zip(self.called.par_chunks_mut(n)).enumerate().for_each(|(a, (row, count))| {
            for b in a..n {
                row[b] += dot(&block[a], &block[b]);
                count[b] += if missing[a] == 0 && missing[b] == 0 {
                    len as u32
                } else {
                    called[a].iter().zip(&called[b]).map(|(x, y)| (x & y).count_ones()).sum::<u32>()
                };
            }
        });
        for s in 0..n {
            self.block[s].clear();
            self.block_called[s] = [0; BLOCK / 64];
            self.block_missing[s] = 0;
        }
        self.block_len = 0;
    }

    /// The components; `None` without kept variants or with fewer than 2 samples.
    pub fn finish(mut self) -> Option<Components> {
        self.drain();
        self.flush();
        let n = self.samples;
        if self.kept == 0 || n < 2 {
            return None;
        }
        let cell = |a: usize, b: usize| {
            let k = a.min(b) * n + a.max(b);
            if self.called[k] == 0 { 0.0 } else { self.grm[k] / f64::from(self.called[k]) }
        };
        let grm: Vec<Vec<f64>> = (0..n).map(|a| (0..n).map(|b| cell(a, b)).collect()).collect();
        let (values, vectors) = crate::stats::linalg::symmetric_eigen(&grm);
        let k = self.options.components.min(n - 1);
        let vectors: Vec<Vec<f64>> = vectors
            .into_iter()
            .take(k)
            .map(|mut v| {
                let top = v.iter().copied().fold(0.0f64, |t, x| if x.abs() > t.abs() { x } else { t });
                if top < 0.0 {
                    v.iter_mut().for_each(|x| *x = -*x);
                }
                v
            })
            .collect();
        Some(Components {
            eigenvalues: values.into_iter().take(k).collect(),
            scores: (0..n).map(|s| vectors.iter().map(|v| v[s]).collect()).collect(),
            offered: self.offered,
            kept: self.kept,
            variants: self.variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_variants_lose_the_rarer_one_and_two_populations_split_on_pc1() {
        // Three identical variants (r² = 1) and two independent ones: one of the three survives.
        let mut a =
            Ancestry::new(4, AncestryOptions { window: 50, step: 5, max_r2: 0.2, min_maf: 0.05, components: 2 });
        let g = |v: [f64; 4]| v.map(Some).to_vec();
        a.push("a", "chr1", true, &g([0.0, 1.0, 2.0, 1.0]));
        a.push("b", "chr1", true, &g([0.0, 1.0, 2.0, 1.0]));
        a.push("c", "chr1", true, &g([0.0, 1.0, 2.0, 1.0]));
        a.push("d", "chr1", true, &g([1.0, 0.0, 1.0, 0.0]));
        a.push("x", "chrX", true, &g([2.0, 0.0, 1.0, 1.0]));
        a.push("i", "chr1", false, &g([2.0, 0.0, 1.0, 1.0]));
        a.push("m", "chr2", true, &g([0.0, 0.0, 0.0, 0.0]));
        let c = a.finish().expect("components");
        assert_eq!((c.offered, c.kept), (4, 2));
        // a, b, c tie on MAF: the later of each pair goes, so `a` stays; d is uncorrelated with a.
        assert_eq!(c.variants, ["a", "d"]);
        assert_eq!(c.scores.len(), 4);
        // Two groups of samples with opposite genotypes everywhere: PC1 separates them.
        let mut b = Ancestry::new(6, AncestryOptions { max_r2: 1.0, ..AncestryOptions::default() });
        for k in 0..40 {
            let (x, y) = if k % 2 == 0 { (0.0, 2.0) } else { (1.0, 0.0) };
            b.push(
                &k.to_string(),
                "chr3",
                true,
                &g([x, x, x, y]).into_iter().chain([Some(y), Some(y)]).collect::<Vec<_>>(),
            );
        }
        let c = b.finish().expect("components");
        let pc1: Vec<f64> = c.scores.iter().map(|s| s[0]).collect();
        assert!(pc1[..3].iter().all(|v| v.signum() == pc1[0].signum()));
        assert!(pc1[3..].iter().all(|v| v.signum() == -pc1[0].signum()), "{pc1:?}");
        assert!(c.eigenvalues[0] > c.eigenvalues[1]);
    }
}
