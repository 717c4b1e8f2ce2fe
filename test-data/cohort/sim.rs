//! Simulation pieces shared by the fixture generator (`generate.rs`) and the benchmark BAM
//! generator (`benches/make_bench_bam.rs`): a seeded RNG, transcripts as merged exon blocks,
//! read placement with spliced CIGARs, and a fixed pseudo-genome for read sequences.
#![allow(dead_code)]

use std::fmt::Write as _;

use harmonomics::annotation::FeatureSet;

/// hg38 chromosome lengths (UCSC), for the @SQ lines.
pub const HG38: [(&str, u64); 23] = [
    ("chr1", 248_956_422),
    ("chr2", 242_193_529),
    ("chr3", 198_295_559),
    ("chr4", 190_214_555),
    ("chr5", 181_538_259),
    ("chr6", 170_805_979),
    ("chr7", 159_345_973),
    ("chr8", 145_138_636),
    ("chr9", 138_394_717),
    ("chr10", 133_797_422),
    ("chr11", 135_086_622),
    ("chr12", 133_275_309),
    ("chr13", 114_364_328),
    ("chr14", 107_043_718),
    ("chr15", 101_991_189),
    ("chr16", 90_338_345),
    ("chr17", 83_257_441),
    ("chr18", 80_373_285),
    ("chr19", 58_617_616),
    ("chr20", 64_444_167),
    ("chr21", 46_709_983),
    ("chr22", 50_818_468),
    ("chrX", 156_040_895),
];

/// SplitMix64: tiny, fast and fully determined by its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// Marsaglia–Tsang gamma(shape, 1), shape ≥ 1.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
    /// Exact Poisson: inversion on pieces of mean ≤ 20.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        let pieces = (lambda / 20.0).ceil().max(1.0) as u64;
        let l = lambda / pieces as f64;
        (0..pieces)
            .map(|_| {
                let (mut k, mut p, mut f) = (0u64, self.uniform(), (-l).exp());
                while p > f {
                    p -= f;
                    k += 1;
                    f *= l / k as f64;
                }
                k
            })
            .sum()
    }
    pub fn negative_binomial(&mut self, mean: f64, dispersion: f64) -> u64 {
        let shape = 1.0 / dispersion;
        let lambda = self.gamma(shape) * mean * dispersion;
        self.poisson(lambda)
    }
}

/// One gene's exonic union as sorted, merged 1-based inclusive blocks on one contig.
pub struct Transcript {
    /// Contig name.
    pub contig: String,
    /// Merged exon blocks, 1-based inclusive, sorted.
    pub blocks: Vec<(u64, u64)>,
}

impl Transcript {
    pub fn length(&self) -> u64 {
        self.blocks.iter().map(|(s, e)| e - s + 1).sum()
    }
    /// Introns (gaps between blocks) at least `min` long.
    pub fn introns(&self, min: u64) -> Vec<(u64, u64)> {
        self.blocks.windows(2).map(|w| (w[0].1 + 1, w[1].0 - 1)).filter(|(s, e)| e + 1 - s >= min).collect()
    }
    /// Genomic start and CIGAR of a read at transcript offset `offset` (0-based).
    pub fn place(&self, offset: u64, len: u64) -> (u64, String) {
        let mut remaining_skip = offset;
        let mut cigar = String::new();
        let mut start = 0;
        let mut left = len;
        let mut last_end: Option<u64> = None;
        for &(s, e) in &self.blocks {
            let block_len = e - s + 1;
            if remaining_skip >= block_len {
                remaining_skip -= block_len;
                continue;
            }
            let from = s + remaining_skip;
            remaining_skip = 0;
            let take = (e - from + 1).min(left);
            match last_end {
                None => start = from,
                Some(prev) => write!(cigar, "{}N", from - prev - 1).unwrap_or(()),
            }
            write!(cigar, "{take}M").unwrap_or(());
            left -= take;
            last_end = Some(from + take - 1);
            if left == 0 {
                break;
            }
        }
        (start, cigar)
    }
}

pub fn transcripts(features: &FeatureSet) -> Vec<Transcript> {
    features
        .genes
        .iter()
        .map(|g| {
            let mut spans: Vec<(u64, u64)> =
                g.exons.iter().map(|&e| &features.exons[e as usize]).map(|e| (e.start, e.end)).collect();
            spans.sort_unstable();
            let mut blocks: Vec<(u64, u64)> = Vec::new();
            for (s, e) in spans {
                match blocks.last_mut() {
                    Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                    _ => blocks.push((s, e)),
                }
            }
            let contig = features.contigs[features.exons[g.exons[0] as usize].contig as usize].clone();
            Transcript { contig, blocks }
        })
        .collect()
}

/// The reference base at a position: a fixed pseudo-genome, so overlapping reads agree.
pub fn base(contig: usize, pos: u64) -> u8 {
    b"ACGT"[(mix((contig as u64) << 40 ^ pos) & 3) as usize]
}

/// A CIGAR string's operations as (kind, length).
fn cigar_ops(cigar: &str) -> impl Iterator<Item = (char, u64)> + '_ {
    let mut n = 0u64;
    cigar.chars().filter_map(move |c| match c.to_digit(10) {
        Some(d) => {
            n = n * 10 + u64::from(d);
            None
        }
        None => Some((c, std::mem::take(&mut n))),
    })
}

pub fn sequence(contig: usize, start: u64, cigar: &str) -> String {
    let mut seq = String::new();
    let mut pos = start;
    for (op, n) in cigar_ops(cigar) {
        match op {
            'M' => {
                seq.extend((0..n).map(|i| base(contig, pos + i) as char));
                pos += n;
            }
            'N' | 'D' => pos += n,
            'S' | 'I' => seq.extend((0..n).map(|i| b"ACGT"[((pos + i) % 4) as usize] as char)),
            _ => {}
        }
    }
    seq
}

/// A fixed 64-bit hash, for choices that must not consume a seeded stream.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One person's alleles at the fixture's SNVs: `(contig, pos) → (REF, ALT, [haplotype 1, 2])`.
pub type Genotype<'a> = dyn Fn(usize, u64) -> Option<(u8, u8, [u8; 2])> + 'a;

/// Puts a person's alleles into a read's sequence (from [`sequence`]): the read comes from one
/// haplotype (`haplotype` 0 or 1). Returns the bases that now differ from the reference (NM).
pub fn carry_alleles(
    seq: &mut [u8],
    contig: usize,
    start: u64,
    cigar: &str,
    genotype: &Genotype<'_>,
    haplotype: usize,
) -> u32 {
    let (mut pos, mut offset, mut mismatches) = (start, 0usize, 0);
    for (op, n) in cigar_ops(cigar) {
        match op {
            'M' => {
                for i in 0..n {
                    if let Some((_, alt, h)) = genotype(contig, pos + i)
                        && h[haplotype] == 1
                    {
                        seq[offset + i as usize] = alt;
                        mismatches += 1;
                    }
                }
                pos += n;
                offset += n as usize;
            }
            'N' | 'D' => pos += n,
            'S' | 'I' => offset += n as usize,
            _ => {}
        }
    }
    mismatches
}
