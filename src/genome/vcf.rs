//! Biallelic variants from VCF or BCF (plain, gzip or BGZF; told apart by their bytes, never by
//! the name), one record at a time so memory follows the sample count, not the file.
//!
//! What is kept: one ALT allele (SNV or indel). Multiallelic records are skipped and counted (split
//! them first with `bcftools norm -m -any`, as plink2 and most association tools expect), so are
//! records without a usable ALT (`.`, symbolic `<DEL>`, `*`). Half-calls (`0/.`) are read as missing,
//! plink2's `--vcf-half-call missing`; haploid calls (male chrX, chrY) stay haploid.

use super::InputError;
use crate::error::Location;
use noodles::vcf::variant::record::info::field::Value as InfoValue;
use noodles::vcf::variant::record::samples::series::Value as SampleValue;
use noodles::vcf::variant::record::samples::series::value::Array;
use noodles::vcf::variant::record::{AlternateBases as _, Ids as _, Info as _, ReferenceBases as _, Samples as _};
use noodles::{bcf, vcf};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One sample's genotype at a biallelic site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// No call (`./.`, `.`, a half-call, or no GT field).
    Missing,
    /// Two alleles; the number of ALT copies (0, 1, 2).
    Diploid(u8),
    /// One allele (male chrX outside the PARs, chrY, mtDNA); the number of ALT copies (0, 1).
    Haploid(u8),
}

impl Call {
    /// ALT copies on the 0–2 dosage scale (a haploid ALT counts 2, as plink2 codes haploid calls).
    pub fn dosage(self) -> Option<f64> {
        match self {
            Call::Missing => None,
            Call::Diploid(n) => Some(f64::from(n)),
            Call::Haploid(n) => Some(2.0 * f64::from(n)),
        }
    }
}

/// One biallelic variant with every sample's call.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// 1-based number of the record in the file (for messages).
    pub record: u64,
    /// Contig as the file names it.
    pub chrom: String,
    /// 1-based position.
    pub position: usize,
    /// The first ID, when the record has one.
    pub id: Option<String>,
    /// REF bases.
    pub reference: String,
    /// The ALT allele.
    pub alternate: String,
    /// Imputation quality from INFO (`R2` minimac, `DR2` Beagle, `RSQ` MaCH/1000 Genomes, `INFO`
    /// IMPUTE), the first present.
    pub imputation_r2: Option<f64>,
    /// Each sample's call, in the header's sample order.
    pub calls: Vec<Call>,
    /// Each sample's expected ALT dosage (0–2) from `DS`, or from `GP` (P(het) + 2·P(hom ALT)),
    /// when the record has either.
    pub dosages: Option<Vec<Option<f64>>>,
}

impl Variant {
    /// Whether REF and ALT are single bases (an SNV, the only kind with a Ti/Tv class).
    pub fn is_snv(&self) -> bool {
        self.reference.len() == 1 && self.alternate.len() == 1
    }

    /// Whether a SNV is a transition (A↔G, C↔T); `None` for anything else.
    pub fn is_transition(&self) -> Option<bool> {
        if !self.is_snv() {
            return None;
        }
        let (r, a) =
            (self.reference.as_bytes()[0].to_ascii_uppercase(), self.alternate.as_bytes()[0].to_ascii_uppercase());
        let purine = |b: u8| matches!(b, b'A' | b'G');
        let pyrimidine = |b: u8| matches!(b, b'C' | b'T');
        if !(purine(r) || pyrimidine(r)) || !(purine(a) || pyrimidine(a)) || r == a {
            return None;
        }
        Some(purine(r) == purine(a))
    }
}

/// Records read but not kept, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// More than one ALT allele.
    pub multiallelic: u64,
    /// No usable ALT (`.`, symbolic, `*`).
    pub no_alternate: u64,
    /// Half-calls read as missing (a count of genotypes, not records).
    pub half_calls: u64,
}

enum Inner {
    Text(vcf::io::Reader<BufReader<Box<dyn Read>>>, vcf::Record),
    Binary(bcf::io::Reader<BufReader<Box<dyn Read>>>, bcf::Record),
}

/// A VCF or BCF file opened for reading biallelic variants in file order.
pub struct VariantReader {
    path: PathBuf,
    header: vcf::Header,
    inner: Inner,
    records: u64,
    skipped: Skipped,
}

impl VariantReader {
    /// Opens `path` and reads its header; BCF by its magic bytes, VCF otherwise.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let io_error = |source| InputError::Io { location: Location::file(path), source };
        let file = std::fs::File::open(path).map_err(io_error)?;
        let mut reader = BufReader::new(crate::io::open::decompress(file).map_err(io_error)?);
        let head = reader.fill_buf().map_err(io_error)?;
        let inner = if head.starts_with(b"BCF") {
            let mut bcf = bcf::io::Reader::from(reader);
            let header = bcf.read_header().map_err(io_error)?;
            (header, Inner::Binary(bcf, bcf::Record::default()))
        } else if head.starts_with(b"##fileformat=VCF") {
            let mut text = vcf::io::Reader::new(reader);
            let header = text.read_header().map_err(io_error)?;
            (header, Inner::Text(text, vcf::Record::default()))
        } else {
            return Err(InputError::Malformed {
                location: Location::line(path, 1),
                message: "not VCF or BCF: a VCF starts with `##fileformat=VCF`, a BCF with `BCF` (after decompression)"
                    .into(),
            });
        };
        Ok(Self { path: path.to_path_buf(), header: inner.0, inner: inner.1, records: 0, skipped: Skipped::default() })
    }

    /// The file's sample names, in column order.
    pub fn samples(&self) -> Vec<String> {
        self.header.sample_names().iter().cloned().collect()
    }

    /// The header (contigs, INFO/FORMAT definitions).
    pub fn header(&self) -> &vcf::Header {
        &self.header
    }

    /// Records read but not returned so far.
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }

    /// Records read so far, kept or not.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The next biallelic variant, or `None` at the end of the file.
    pub fn next_variant(&mut self) -> Result<Option<Variant>, InputError> {
        loop {
            let read = match &mut self.inner {
                Inner::Text(reader, record) => reader.read_record(record),
                Inner::Binary(reader, record) => reader.read_record(record),
            };
            let read =
                read.map_err(|source| self.error(format!("record {} cannot be read: {source}", self.records + 1)))?;
            if read == 0 {
                return Ok(None);
            }
            self.records += 1;
            let (record, text): (&dyn vcf::variant::Record, _) = match &self.inner {
                Inner::Text(_, record) => (record, Some(record)),
                Inner::Binary(_, record) => (record, None),
            };
            match decode(record, text, &self.header, &mut self.skipped) {
                Ok(Some(mut variant)) => {
                    variant.record = self.records;
                    return Ok(Some(variant));
                }
                Ok(None) => continue,
                Err(e) => return Err(self.error(format!("record {}: {e}", self.records))),
            }
        }
    }

    fn error(&self, message: String) -> InputError {
        InputError::Malformed { location: Location::file(&self.path), message }
    }
}

/// One record as a [`Variant`]; `None` (counted in `skipped`) when it is not biallelic. `text`
/// is the same record when it is VCF text, whose GT column is read straight from the line.
fn decode(
    record: &dyn vcf::variant::Record,
    text: Option<&vcf::Record>,
    header: &vcf::Header,
    skipped: &mut Skipped,
) -> io::Result<Option<Variant>> {
    let chrom = record.reference_sequence_name(header)?.to_string();
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidData, message);
    let position = match record.variant_start().transpose().map_err(|e| invalid(format!("{chrom}: POS: {e}")))? {
        Some(p) => usize::from(p),
        None => return Err(invalid(format!("{chrom}: missing position"))),
    };
    let at = |message: String| invalid(format!("{chrom}:{position}: {message}"));
    let alternate_bases = record.alternate_bases();
    let alternates: Vec<&str> = alternate_bases.iter().collect::<io::Result<_>>()?;
    if alternates.len() > 1 {
        skipped.multiallelic += 1;
        return Ok(None);
    }
    let Some(alternate) = alternates.first().copied() else {
        skipped.no_alternate += 1;
        return Ok(None);
    };
    if alternate.starts_with('<') || alternate == "*" || alternate.contains(['[', ']']) {
        skipped.no_alternate += 1;
        return Ok(None);
    }
    let reference: String = record.reference_bases().iter().map(|b| b.map(char::from)).collect::<io::Result<_>>()?;
    let id = record.ids().iter().next().map(str::to_string);
    let info = record.info();
    let mut imputation_r2 = None;
    for key in ["R2", "DR2", "RSQ", "INFO"] {
        if let Some(value) = info.get(header, key) {
            imputation_r2 = match value.map_err(|e| at(format!("INFO {key}: {e}")))? {
                Some(InfoValue::Float(v)) => Some(f64::from(v)),
                Some(InfoValue::Integer(v)) => Some(f64::from(v)),
                Some(InfoValue::Array(noodles::vcf::variant::record::info::field::value::Array::Float(values))) => {
                    values
                        .iter()
                        .next()
                        .transpose()
                        .map_err(|e| at(format!("INFO {key}: {e}")))?
                        .flatten()
                        .map(f64::from)
                }
                _ => None,
            };
            break;
        }
    }

    let samples = record.samples()?;
    // The header's count: a text record's `len()` would split the whole sample text once more.
    let n = header.sample_names().len();
    let mut calls = vec![Call::Missing; n];
    let fast = match text {
        Some(record) => text_genotypes(record, &mut calls, skipped).map_err(at)?,
        None => false,
    };
    if fast {
        // GT read from the line.
    } else if let Some(series) = samples.select(header, "GT") {
        let series = series?;
        for (i, value) in series.iter(header).enumerate().take(n) {
            calls[i] = match value.map_err(|e| at(format!("GT of sample {}: {e}", i + 1)))? {
                None => Call::Missing,
                Some(SampleValue::Genotype(genotype)) => {
                    let mut alleles = Vec::with_capacity(2);
                    for allele in genotype.iter() {
                        alleles.push(allele.map_err(|e| at(format!("GT of sample {}: {e}", i + 1)))?.0);
                    }
                    call_of(&alleles, skipped).map_err(|m| at(format!("GT of sample {}: {m}", i + 1)))?
                }
                Some(SampleValue::String(text)) => {
                    text_call(&text, skipped).map_err(|m| at(format!("GT of sample {}: {m}", i + 1)))?
                }
                Some(other) => return Err(at(format!("GT of sample {}: {other:?} is not a genotype", i + 1))),
            };
        }
    }

    let dosages = match samples.select(header, "DS") {
        Some(series) => {
            let series = series?;
            let mut dosages = vec![None; n];
            for (i, value) in series.iter(header).enumerate().take(n) {
                dosages[i] = first_float(value.map_err(|e| at(format!("DS of sample {}: {e}", i + 1)))?)
                    .map_err(|e| at(format!("DS of sample {}: {e}", i + 1)))?;
            }
            Some(dosages)
        }
        None => match samples.select(header, "GP") {
            Some(series) => {
                let series = series?;
                let mut dosages = vec![None; n];
                for (i, value) in series.iter(header).enumerate().take(n) {
                    dosages[i] = match value.map_err(|e| at(format!("GP of sample {}: {e}", i + 1)))? {
                        Some(SampleValue::Array(Array::Float(values))) => {
                            let p: Vec<Option<f32>> = values.iter().collect::<io::Result<_>>()?;
                            match p.as_slice() {
                                [Some(_), Some(het), Some(hom)] => Some(f64::from(*het) + 2.0 * f64::from(*hom)),
                                [Some(_), Some(alt)] => Some(2.0 * f64::from(*alt)),
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                }
                Some(dosages)
            }
            None => None,
        },
    };
    if let Some(bad) = dosages.iter().flatten().flatten().find(|d| !(0.0..=2.0).contains(*d)) {
        return Err(at(format!("dosage {bad} is outside 0–2")));
    }
    Ok(Some(Variant {
        record: 0,
        chrom,
        position,
        id,
        reference,
        alternate: alternate.to_string(),
        imputation_r2,
        calls,
        dosages,
    }))
}

/// The GT of every sample of a VCF text record, read from the line when GT is the first FORMAT
/// key (the VCF specification puts it there): the generic series API boxes every genotype, which
/// made GT decoding 15× slower than plink2. Returns `false` (nothing read) when the record has no
/// GT first, for the generic path.
fn text_genotypes(record: &vcf::Record, calls: &mut [Call], skipped: &mut Skipped) -> Result<bool, String> {
    let samples = record.samples();
    if samples.keys().iter().next() != Some("GT") {
        return Ok(false);
    }
    let mut seen = 0;
    for (i, sample) in samples.iter().enumerate() {
        let Some(slot) = calls.get_mut(i) else {
            return Err(format!("more sample columns than the header's {}", calls.len()));
        };
        let field = sample.as_ref();
        let gt = field.split_once(':').map_or(field, |(gt, _)| gt);
        *slot = text_call(gt, skipped).map_err(|m| format!("GT of sample {}: {m}", i + 1))?;
        seen = i + 1;
    }
    if seen != calls.len() {
        return Err(format!("{seen} sample columns where the header has {}", calls.len()));
    }
    Ok(true)
}

/// One GT text as a [`Call`]: the one-digit forms (`0/1`, `1|1`, `./.`, `0`, `.`) directly,
/// anything else through [`call_of`].
fn text_call(gt: &str, skipped: &mut Skipped) -> Result<Call, String> {
    let allele = |b: u8| match b {
        b'.' => Some(None),
        b'0'..=b'9' => Some(Some(usize::from(b - b'0'))),
        _ => None,
    };
    let alleles: Vec<Option<usize>> = match gt.as_bytes() {
        [] => return Ok(Call::Missing),
        [a] => match allele(*a) {
            Some(a) => return call_of(&[a], skipped),
            None => return Err(format!("{gt:?} is not a genotype")),
        },
        [a, b'/' | b'|', b] => match (allele(*a), allele(*b)) {
            (Some(a), Some(b)) => return call_of(&[a, b], skipped),
            _ => return Err(format!("{gt:?} is not a genotype")),
        },
        _ => gt
            .split(['/', '|'])
            .map(|a| if a == "." { Ok(None) } else { a.parse().map(Some) })
            .collect::<Result<_, _>>()
            .map_err(|_| format!("{gt:?} is not a genotype"))?,
    };
    call_of(&alleles, skipped)
}

/// A sample value's first float (`DS` is `Number=A`: one value per ALT, so one here).
fn first_float(value: Option<SampleValue<'_>>) -> io::Result<Option<f64>> {
    Ok(match value {
        Some(SampleValue::Float(v)) => Some(f64::from(v)),
        Some(SampleValue::Integer(v)) => Some(f64::from(v)),
        Some(SampleValue::Array(Array::Float(values))) => values.iter().next().transpose()?.flatten().map(f64::from),
        _ => None,
    })
}

/// A GT's allele indices as a [`Call`]: half-calls are missing (counted), ploidy above 2 is refused.
fn call_of(alleles: &[Option<usize>], skipped: &mut Skipped) -> Result<Call, String> {
    let alt = |a: usize| -> Result<u8, String> {
        match a {
            0 => Ok(0),
            1 => Ok(1),
            _ => Err(format!("allele index {a} on a record with one ALT")),
        }
    };
    match alleles {
        [None] | [None, None] => Ok(Call::Missing),
        [Some(a)] => Ok(Call::Haploid(alt(*a)?)),
        [Some(a), Some(b)] => Ok(Call::Diploid(alt(*a)? + alt(*b)?)),
        [_, _] => {
            skipped.half_calls += 1;
            Ok(Call::Missing)
        }
        [] => Ok(Call::Missing),
        _ => Err(format!("ploidy {} (only haploid and diploid calls are read)", alleles.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const HEADER: &str = "##fileformat=VCFv4.3\n##contig=<ID=chr1>\n##contig=<ID=chrX>\n\
##INFO=<ID=R2,Number=1,Type=Float,Description=\"r2\">\n\
##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"Dosage\">\n\
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\tP3\n";

    #[test]
    fn reads_calls_dosages_and_skips_what_is_not_biallelic() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{HEADER}chr1\t100\trs1\tA\tG\t.\tPASS\tR2=0.9\tGT:DS\t0/0:0.1\t0|1:1.0\t1/1:1.9\n\
chr1\t200\t.\tC\tT,G\t.\tPASS\t.\tGT\t0/1\t1/2\t0/0\n\
chr1\t300\t.\tC\t.\t.\tPASS\t.\tGT\t0/0\t0/0\t0/0\n\
chr1\t400\t.\tCT\tC\t.\tPASS\t.\tGT\t./.\t0/.\t1/1\n\
chrX\t500\t.\tG\tA\t.\tPASS\t.\tGT\t1\t0\t0/1\n"
        );
        let path = write(dir.path(), "a.vcf", &text);
        let mut reader = VariantReader::open(&path).unwrap();
        assert_eq!(reader.samples(), ["P1", "P2", "P3"]);
        let v = reader.next_variant().unwrap().unwrap();
        assert_eq!((v.chrom.as_str(), v.position, v.id.as_deref()), ("chr1", 100, Some("rs1")));
        assert_eq!(v.calls, [Call::Diploid(0), Call::Diploid(1), Call::Diploid(2)]);
        assert_eq!(v.dosages, Some(vec![Some(0.1f32 as f64), Some(1.0), Some(1.9f32 as f64)]));
        assert_eq!(v.imputation_r2, Some(0.9f32 as f64));
        assert_eq!(v.is_transition(), Some(true));
        let v = reader.next_variant().unwrap().unwrap();
        assert_eq!((v.position, v.reference.as_str(), v.alternate.as_str()), (400, "CT", "C"));
        assert_eq!(v.calls, [Call::Missing, Call::Missing, Call::Diploid(2)]);
        assert_eq!(v.is_transition(), None);
        let v = reader.next_variant().unwrap().unwrap();
        assert_eq!(v.calls, [Call::Haploid(1), Call::Haploid(0), Call::Diploid(1)]);
        assert_eq!(v.calls[0].dosage(), Some(2.0));
        assert!(reader.next_variant().unwrap().is_none());
        assert_eq!(reader.skipped(), Skipped { multiallelic: 1, no_alternate: 1, half_calls: 1 });
        assert_eq!(reader.records(), 5);
    }

    #[test]
    fn bad_input_names_the_file_and_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "b.vcf",
            &format!("{HEADER}chr1\t100\t.\tA\tG\t.\tPASS\t.\tGT:DS\t0/0:3.5\t0/1:1\t1/1:2\n"),
        );
        let e = VariantReader::open(&path).unwrap().next_variant().unwrap_err().to_string();
        assert!(
            e.contains("b.vcf") && e.contains("record 1") && e.contains("chr1:100") && e.contains("outside 0–2"),
            "{e}"
        );
        let path =
            write(dir.path(), "c.vcf", &format!("{HEADER}chr1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/0/1\t0/1\t1/1\n"));
        let e = VariantReader::open(&path).unwrap().next_variant().unwrap_err().to_string();
        assert!(e.contains("ploidy 3"), "{e}");
        let path = write(dir.path(), "d.txt", "sample\tvalue\n");
        let e = VariantReader::open(&path).err().unwrap().to_string();
        assert!(e.contains("d.txt:1") && e.contains("not VCF or BCF"), "{e}");
    }
}
