//! One VCF/BCF as the layer's tables, in one streaming pass: the dosage matrix (variants ×
//! samples), the variant table with its QC, and the per-sample QC counts. Memory follows one row
//! group of the matrix, not the file.

use super::InputError;
use super::qc::{self, SampleCounts, VariantCounts};
use super::vcf::{Skipped, Variant, VariantReader};
use crate::error::Location;
use crate::io::OutputError;
use crate::io::parquet::{MatrixStream, Metadata, ParquetStream};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use std::path::Path;
use std::sync::Arc;

crate::choice::named_enum! {
    /// Which genotype becomes the matrix value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum DosageSource {
        /// DS (or GP) where a record has it, the hard call otherwise: imputed data keep their uncertainty.
        Auto = "auto",
        /// The hard call (GT) always: 0, 1, 2 ALT copies.
        Gt = "gt",
    }
    default Auto
}

/// What a pass over one genotype file found.
#[derive(Clone, Debug, PartialEq)]
pub struct GenotypeSummary {
    /// The file's samples, in column order.
    pub samples: Vec<String>,
    /// Biallelic variants written.
    pub variants: u64,
    /// Records left out, and half-calls read as missing.
    pub skipped: Skipped,
    /// Variants whose matrix values came from `DS`/`GP`.
    pub dosage_variants: u64,
    /// Variants that passed the filter (all of them when none was asked for).
    pub kept: u64,
    /// Each sample's counts, in column order.
    pub sample_counts: Vec<SampleCounts>,
    /// Ancestry components of the kept variants, when asked for and computable.
    pub ancestry: Option<super::ancestry::Components>,
}

/// A pass over a genotype file failed.
#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    /// The genotype file.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An output.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The variant id in every table: `chrom:pos:ref:alt` (plink2's `@:#:$r:$a`), unique where the
/// file's own IDs often are not (`.`, or one rsID for several alleles).
pub fn variant_id(chrom: &str, position: usize, reference: &str, alternate: &str) -> String {
    format!("{chrom}:{position}:{reference}:{alternate}")
}

/// Rows of the variant table buffered before a batch is written.
const FEATURE_BATCH: usize = 65_536;

#[derive(Default)]
struct FeatureColumns {
    ids: Vec<String>,
    chrom: Vec<String>,
    position: Vec<u64>,
    rsid: Vec<Option<String>>,
    reference: Vec<String>,
    alternate: Vec<String>,
    called: Vec<u32>,
    missing_rate: Vec<Option<f64>>,
    alt_frequency: Vec<Option<f64>>,
    maf: Vec<Option<f64>>,
    hom_ref: Vec<u32>,
    het: Vec<u32>,
    hom_alt: Vec<u32>,
    hwe_p: Vec<Option<f64>>,
    imputation_r2: Vec<Option<f64>>,
    removed_by: Vec<Option<&'static str>>,
}

impl FeatureColumns {
    fn schema() -> SchemaRef {
        let f = |name: &str, t: DataType, nullable: bool| Field::new(name, t, nullable);
        Arc::new(Schema::new(vec![
            f("feature_id", DataType::Utf8, false),
            f("chrom", DataType::Utf8, false),
            f("position", DataType::UInt64, false),
            f("id", DataType::Utf8, true),
            f("ref", DataType::Utf8, false),
            f("alt", DataType::Utf8, false),
            f("called", DataType::UInt32, false),
            f("missing_rate", DataType::Float64, true),
            f("alt_frequency", DataType::Float64, true),
            f("maf", DataType::Float64, true),
            f("hom_ref", DataType::UInt32, false),
            f("het", DataType::UInt32, false),
            f("hom_alt", DataType::UInt32, false),
            f("hwe_p", DataType::Float64, true),
            f("imputation_r2", DataType::Float64, true),
            f("kept", DataType::Boolean, false),
            f("removed_by", DataType::Utf8, true),
        ]))
    }

    fn batch(&mut self, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
        let strings = |v: &mut Vec<String>| Arc::new(StringArray::from_iter_values(std::mem::take(v))) as ArrayRef;
        let floats = |v: &mut Vec<Option<f64>>| Arc::new(Float64Array::from(std::mem::take(v))) as ArrayRef;
        let counts = |v: &mut Vec<u32>| Arc::new(UInt32Array::from(std::mem::take(v))) as ArrayRef;
        let columns = vec![
            strings(&mut self.ids),
            strings(&mut self.chrom),
            Arc::new(UInt64Array::from(std::mem::take(&mut self.position))) as ArrayRef,
            Arc::new(StringArray::from(std::mem::take(&mut self.rsid))) as ArrayRef,
            strings(&mut self.reference),
            strings(&mut self.alternate),
            counts(&mut self.called),
            floats(&mut self.missing_rate),
            floats(&mut self.alt_frequency),
            floats(&mut self.maf),
            counts(&mut self.hom_ref),
            counts(&mut self.het),
            counts(&mut self.hom_alt),
            floats(&mut self.hwe_p),
            floats(&mut self.imputation_r2),
            Arc::new(BooleanArray::from_iter(self.removed_by.iter().map(|r| Some(r.is_none())))) as ArrayRef,
            Arc::new(StringArray::from(std::mem::take(&mut self.removed_by))) as ArrayRef,
        ];
        RecordBatch::try_new(schema.clone(), columns)
    }
}

/// Where a pass writes, and which of the file's samples it keeps.
pub struct TablesSpec<'a> {
    /// The file's sample columns to keep, by position, with their output names (all, under their
    /// own names, when `None`). QC and allele frequencies are computed over these samples only.
    pub columns: Option<&'a [(usize, String)]>,
    /// Where the matrix value comes from.
    pub dosage: DosageSource,
    /// Every variant's dosages.
    pub raw: &'a Path,
    /// The variant table.
    pub features: &'a Path,
    /// The dosages of the variants that pass the filter, when asked for.
    pub normalised: Option<(&'a Path, &'a super::qc::VariantFilter)>,
    /// Parquet key-value metadata of every table.
    pub metadata: &'a Metadata,
    /// LD pruning and PCA of the kept variants, when asked for.
    pub ancestry: Option<super::ancestry::AncestryOptions>,
}

/// Reads `vcf` once and writes the tables `spec` names. The file must be sorted (each contig in
/// one block, positions ascending within it), which is what makes duplicate variants detectable
/// in constant memory; a variant seen twice is an error.
pub fn write_tables(vcf: &Path, spec: &TablesSpec<'_>) -> Result<GenotypeSummary, TablesError> {
    let (raw, features, dosage, metadata) = (spec.raw, spec.features, spec.dosage, spec.metadata);
    let reader = VariantReader::open(vcf)?;
    let mut samples = reader.samples();
    let picked: Option<Vec<usize>> = spec.columns.map(|c| c.iter().map(|(i, _)| *i).collect());
    if let Some(columns) = spec.columns {
        if let Some((i, name)) = columns.iter().find(|(i, _)| *i >= samples.len()) {
            return Err(InputError::Malformed {
                location: Location::file(vcf),
                message: format!("no sample column {} for {name}: the file has {}", i + 1, samples.len()),
            }
            .into());
        }
        samples = columns.iter().map(|(_, n)| n.clone()).collect();
    }
    if samples.is_empty() {
        return Err(InputError::Malformed {
            location: Location::file(vcf),
            message: "no sample columns: a sites-only VCF has no genotypes".into(),
        }
        .into());
    }
    let mut matrix: MatrixStream<Option<f64>> = MatrixStream::create(raw, &samples, metadata)?;
    let mut kept: Option<(MatrixStream<Option<f64>>, &super::qc::VariantFilter)> = match spec.normalised {
        Some((path, filter)) => Some((MatrixStream::create(path, &samples, metadata)?, filter)),
        None => None,
    };
    let schema = FeatureColumns::schema();
    let mut table = ParquetStream::create(features, schema.clone(), metadata)?;
    let mut columns = FeatureColumns::default();
    let mut sample_counts = vec![SampleCounts::default(); samples.len()];
    let mut values: Vec<Option<f64>> = vec![None; samples.len()];
    let (mut variants, mut dosage_variants, mut kept_variants) = (0u64, 0u64, 0u64);
    let mut ancestry = spec.ancestry.map(|o| super::ancestry::Ancestry::new(samples.len(), o));
    // Sortedness: contigs finished so far, the current one, and the ids at the current position.
    let mut finished_contigs: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut current: Option<(String, usize)> = None;
    let x_length =
        reader.header().contigs().iter().find_map(|(name, contig)| {
            (qc::sex_chromosome(name) == qc::SexContig::X).then(|| contig.length()).flatten()
        });
    let pars = qc::x_pars(x_length);
    let mut at_position: Vec<String> = Vec::new();
    // With a second thread allowed, records are decoded on it while this one counts and writes
    // (decoding is about two thirds of the work); the order of variants is the file's either way.
    let threaded = rayon::current_num_threads() > 1;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Variant>, InputError>>(8);
        let (mut direct, producer) = if threaded {
            // The decompressing reader is not `Send`: the thread opens the file itself.
            drop(reader);
            (None, Some(scope.spawn(move || decode_ahead(vcf, tx))))
        } else {
            drop(tx);
            (Some(reader), None)
        };
        let mut pending = Vec::new().into_iter();
        let mut next = || -> Result<Option<Variant>, InputError> {
            if let Some(reader) = direct.as_mut() {
                return reader.next_variant();
            }
            loop {
                if let Some(v) = pending.next() {
                    return Ok(Some(v));
                }
                match rx.recv() {
                    Ok(Ok(batch)) => pending = batch.into_iter(),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Ok(None),
                }
            }
        };
        while let Some(mut variant) = next()? {
            if let Some(picked) = &picked {
                variant.calls = picked.iter().map(|&i| variant.calls[i]).collect();
                variant.dosages = variant.dosages.map(|d| picked.iter().map(|&i| d[i]).collect());
            }
            let id = variant_id(&variant.chrom, variant.position, &variant.reference, &variant.alternate);
            let unsorted = |message: String| InputError::Malformed {
                location: Location::file(vcf),
                message: format!("record {}: {message} (sort it with `bcftools sort`)", variant.record),
            };
            match &current {
                Some((chrom, position)) if *chrom == variant.chrom => {
                    if variant.position < *position {
                        return Err(
                            unsorted(format!("{id} comes after position {position}: the file is not sorted")).into()
                        );
                    }
                    if variant.position > *position {
                        at_position.clear();
                    }
                }
                previous => {
                    if finished_contigs.contains(&variant.chrom) {
                        return Err(
                            unsorted(format!("contig {} appears again after another contig", variant.chrom)).into()
                        );
                    }
                    if let Some((chrom, _)) = previous {
                        finished_contigs.insert(chrom.clone());
                    }
                    at_position.clear();
                }
            }
            if at_position.contains(&id) {
                return Err(InputError::Malformed {
                    location: Location::file(vcf),
                    message: format!("record {}: variant {id} appears twice", variant.record),
                }
                .into());
            }
            at_position.push(id.clone());
            current = Some((variant.chrom.clone(), variant.position));

            let counts = VariantCounts::of(&variant.calls);
            for (s, call) in sample_counts.iter_mut().zip(&variant.calls) {
                s.add(&variant, *call);
            }
            let contig = qc::sex_contig(&variant.chrom, variant.position, &pars);
            qc::add_sex_evidence(&mut sample_counts, &variant.calls, contig, counts.alt_frequency());
            match (&variant.dosages, dosage) {
                (Some(dosages), DosageSource::Auto) => {
                    dosage_variants += 1;
                    values.copy_from_slice(dosages);
                }
                _ => {
                    for (v, call) in values.iter_mut().zip(&variant.calls) {
                        *v = call.dosage();
                    }
                }
            }
            matrix.push(id.clone(), &values)?;
            let removed_by = kept.as_ref().and_then(|(_, filter)| filter.removed_by(&counts));
            if let Some((stream, _)) = kept.as_mut()
                && removed_by.is_none()
            {
                stream.push(id.clone(), &values)?;
            }
            kept_variants += u64::from(removed_by.is_none());
            if let Some(a) = ancestry.as_mut()
                && removed_by.is_none()
            {
                a.push(&id, &variant.chrom, variant.is_snv(), &values);
            }
            columns.removed_by.push(removed_by);
            columns.ids.push(id);
            columns.chrom.push(variant.chrom);
            columns.position.push(variant.position as u64);
            columns.rsid.push(variant.id);
            columns.reference.push(variant.reference);
            columns.alternate.push(variant.alternate);
            columns.called.push(counts.called());
            columns.missing_rate.push(counts.missing_rate());
            columns.alt_frequency.push(counts.alt_frequency());
            columns.maf.push(counts.maf());
            columns.hom_ref.push(counts.diploid[0]);
            columns.het.push(counts.diploid[1]);
            columns.hom_alt.push(counts.diploid[2]);
            columns.hwe_p.push(counts.hwe_p());
            columns.imputation_r2.push(variant.imputation_r2);
            variants += 1;
            if columns.ids.len() == FEATURE_BATCH {
                let batch = columns.batch(&schema).map_err(|e| arrow_error(features, e))?;
                table.write(&batch)?;
            }
        }
        let batch = columns.batch(&schema).map_err(|e| arrow_error(features, e))?;
        table.write(&batch)?;
        table.finish()?;
        matrix.finish()?;
        if let Some((stream, _)) = kept {
            stream.finish()?;
        }
        let skipped = match (direct, producer) {
            (Some(reader), _) => reader.skipped(),
            (None, Some(handle)) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            (None, None) => Skipped::default(),
        };
        let ancestry = ancestry.and_then(super::ancestry::Ancestry::finish);
        Ok(GenotypeSummary {
            samples,
            variants,
            skipped,
            dosage_variants,
            kept: kept_variants,
            sample_counts,
            ancestry,
        })
    })
}

/// Reads `vcf` to the end in batches sent to `tx` (an error ends it, sent as the last item;
/// a closed channel, the consumer having stopped, ends it quietly); returns what was skipped.
fn decode_ahead(vcf: &Path, tx: std::sync::mpsc::SyncSender<Result<Vec<Variant>, InputError>>) -> Skipped {
    const BATCH: usize = 256;
    let mut reader = match VariantReader::open(vcf) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = tx.send(Err(e));
            return Skipped::default();
        }
    };
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            match reader.next_variant() {
                Ok(Some(v)) => batch.push(v),
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return reader.skipped();
                }
            }
        }
        let last = batch.len() < BATCH;
        if batch.is_empty() || tx.send(Ok(batch)).is_err() || last {
            return reader.skipped();
        }
    }
}

fn arrow_error(path: &Path, e: ArrowError) -> TablesError {
    OutputError { path: path.to_path_buf(), source: std::io::Error::other(e) }.into()
}

/// `ancestry.parquet`: one row per sample, `pc1`…`pcK` (plink2's `.eigenvec`, unit eigenvectors);
/// the eigenvalues and variant counts go in the metadata (`ancestry.eigenvalues`, ...).
pub fn write_ancestry(
    path: &Path,
    samples: &[String],
    components: &super::ancestry::Components,
    metadata: &Metadata,
) -> Result<(), TablesError> {
    let k = components.eigenvalues.len();
    let mut columns: Vec<(String, ArrayRef)> =
        vec![("sample_id".into(), Arc::new(StringArray::from_iter_values(samples.iter())) as ArrayRef)];
    for c in 0..k {
        columns.push((
            format!("pc{}", c + 1),
            Arc::new(Float64Array::from_iter_values(components.scores.iter().map(|s| s[c]))) as ArrayRef,
        ));
    }
    let batch = crate::io::parquet::batch(columns.iter().map(|(n, a)| (n.as_str(), a.clone())).collect())
        .map_err(|e| arrow_error(path, e))?;
    let mut meta = metadata.clone();
    let eigenvalues: Vec<String> = components.eigenvalues.iter().map(|v| format!("{v}")).collect();
    meta.push(("harmonomics.ancestry.eigenvalues".into(), eigenvalues.join(",")));
    meta.push(("harmonomics.ancestry.variants_offered".into(), components.offered.to_string()));
    meta.push(("harmonomics.ancestry.variants_kept".into(), components.kept.to_string()));
    meta.push(("harmonomics.ancestry.variants".into(), components.variants.join(",")));
    meta.push((
        "harmonomics.ancestry.method".into(),
        "plink --indep-pairwise 50 5 0.2 on autosomal SNVs with MAF >= 0.05, then plink2 --pca (GRM of standardised dosages)"
            .into(),
    ));
    crate::io::parquet::write_batch(path, batch, &meta)?;
    Ok(())
}

/// plink's `--check-sex` thresholds on F: female below the first, male above the second.
pub const SEX_F_THRESHOLDS: (f64, f64) = (0.2, 0.8);

/// The per-sample QC table: one row per sample with plink2's and bcftools' per-sample counts and
/// plink 1.9's sex check.
pub fn sample_qc_batch(summary: &GenotypeSummary) -> Result<RecordBatch, ArrowError> {
    let c = &summary.sample_counts;
    let u64s = |f: &dyn Fn(&SampleCounts) -> u64| Arc::new(UInt64Array::from_iter_values(c.iter().map(f))) as ArrayRef;
    let f64s =
        |f: &dyn Fn(&SampleCounts) -> Option<f64>| Arc::new(Float64Array::from_iter(c.iter().map(f))) as ArrayRef;
    crate::io::parquet::batch(vec![
        ("sample_id", Arc::new(StringArray::from_iter_values(summary.samples.iter())) as ArrayRef),
        ("called", u64s(&|s| s.called())),
        ("missing", u64s(&|s| s.missing)),
        ("missing_rate", f64s(&|s| s.missing_rate())),
        ("hom_ref", u64s(&|s| s.diploid[0])),
        ("het", u64s(&|s| s.diploid[1])),
        ("hom_alt", u64s(&|s| s.diploid[2])),
        ("haploid_ref", u64s(&|s| s.haploid[0])),
        ("haploid_alt", u64s(&|s| s.haploid[1])),
        ("heterozygosity", f64s(&|s| s.heterozygosity())),
        ("transitions", u64s(&|s| s.transitions)),
        ("transversions", u64s(&|s| s.transversions)),
        ("ti_tv", f64s(&|s| s.ti_tv())),
        ("indels", u64s(&|s| s.indels)),
        ("x_sites", u64s(&|s| s.sex.x_sites)),
        ("x_het", u64s(&|s| s.sex.x_het)),
        ("x_f", f64s(&|s| s.sex.f())),
        (
            "inferred_sex",
            Arc::new(StringArray::from_iter_values(
                c.iter().map(|s| s.sex.infer(SEX_F_THRESHOLDS.0, SEX_F_THRESHOLDS.1).as_str()),
            )) as ArrayRef,
        ),
        ("y_called", u64s(&|s| s.sex.y_called)),
    ])
}
