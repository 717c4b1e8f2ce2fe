//! GTF (GFF2) and GFF3 annotations through noodles: features of one type (`-t`, default `exon`)
//! grouped into meta-features by one attribute (`-g`, default `gene_id`), as featureCounts does.

use std::io::BufReader;
use std::path::Path;

use noodles::{gff, gtf};

use super::AnnotationError;
use super::feature::{FeatureSet, Strand};
use crate::error::Location;

/// Which features to keep and how to group them.
#[derive(Clone, Debug)]
pub struct Selection<'a> {
    /// Column 3 values to keep, comma-separated as featureCounts `-t` takes them (`exon,CDS`).
    pub feature_type: &'a str,
    /// Attribute naming the meta-feature (featureCounts `-g`).
    pub attribute: &'a str,
    /// Attributes kept per feature for the counts table (featureCounts `--extraAttributes`).
    pub extra: &'a [String],
}

impl Selection<'_> {
    fn wants(&self, ty: &[u8]) -> bool {
        self.feature_type.split(',').any(|t| t.as_bytes() == ty)
    }
}

fn open(path: &Path) -> Result<BufReader<Box<dyn std::io::Read>>, AnnotationError> {
    let io_err = |source| AnnotationError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    Ok(BufReader::new(crate::io::open::decompress(file).map_err(io_err)?))
}

fn malformed(path: &Path, line: u64, message: String) -> AnnotationError {
    AnnotationError::Malformed { location: Location::line(path, line), message }
}

/// Reads a GTF file (plain or gzip).
pub fn read_gtf(path: &Path, selection: &Selection<'_>) -> Result<FeatureSet, AnnotationError> {
    let mut reader = gtf::io::Reader::new(open(path)?);
    let mut set = FeatureSet::default();
    let mut line = gtf::Line::default();
    let mut n = 0u64;
    loop {
        let read = reader.read_line(&mut line).map_err(|e| malformed(path, n + 1, e.to_string()))?;
        if read == 0 {
            break;
        }
        n += 1;
        let Some(record) = line.as_record() else { continue };
        let record = record.map_err(|e| malformed(path, n, format!("invalid GTF record: {e}")))?;
        if !selection.wants(record.ty()) {
            continue;
        }
        let bad = |what: &str, e: std::io::Error| malformed(path, n, format!("invalid {what}: {e}"));
        let start = record.start().map_err(|e| bad("start", e))?.get() as u64;
        let end = record.end().map_err(|e| bad("end", e))?.get() as u64;
        let strand = strand_of(&format!("{:?}", record.strand().map_err(|e| bad("strand", e))?));
        let attributes = record.attributes().map_err(|e| bad("attributes", e))?;
        // Keys are compared trimmed: real GTFs (Ensembl's SGD1.01 among them) put a space
        // before the first attribute, which featureCounts tolerates. A key given twice means
        // its last value, as in featureCounts.
        let value = |key: &str| -> Result<Option<String>, AnnotationError> {
            let mut found = None;
            for entry in attributes.iter() {
                let (k, v) = entry.map_err(|e| bad("attributes", e))?;
                if k.trim_ascii() == key.as_bytes() {
                    found = Some(v);
                    continue;
                }
                // A leading space makes noodles read `gene_id "x"` as the value of an empty key.
                if k.is_empty()
                    && let gtf::record::attributes::field::Value::String(text) = v
                    && let Some((k2, v2)) = text.to_string().split_once(' ')
                    && k2 == key
                {
                    return Ok(Some(v2.trim().trim_matches('"').to_string()));
                }
            }
            // Ids are compared and written as text: bytes that are not UTF-8 would become U+FFFD
            // and silently stop matching, so they are refused.
            let text = |s: &[u8]| {
                std::str::from_utf8(s).map(str::to_string).map_err(|_| {
                    malformed(path, n, format!("attribute {key:?} is not UTF-8 text: {:?}", String::from_utf8_lossy(s)))
                })
            };
            match found {
                None => Ok(None),
                Some(v) => Ok(Some(match v {
                    gtf::record::attributes::field::Value::String(s) => text(s.as_ref())?,
                    // A repeated key (noodles gathers its values): the last, as featureCounts.
                    gtf::record::attributes::field::Value::Array(a) => match a.iter().last() {
                        Some(s) => text(s.as_ref())?,
                        None => return Ok(None),
                    },
                })),
            }
        };
        let name = value("gene_name")?;
        let extra = selection.extra.iter().map(|k| value(k)).collect::<Result<_, _>>()?;
        let feature = Feature { gene: value(selection.attribute)?, name, start, end, strand, extra };
        let contig = std::str::from_utf8(record.reference_sequence_name().as_ref())
            .map_err(|_| malformed(path, n, "column 1 (sequence name) is not UTF-8 text".into()))?;
        add(&mut set, path, n, selection, contig, feature)?;
    }
    if set.exons.is_empty() {
        return Err(AnnotationError::Empty { path: path.display().to_string() });
    }
    Ok(set)
}

/// Reads a GFF3 file (plain or gzip).
pub fn read_gff(path: &Path, selection: &Selection<'_>) -> Result<FeatureSet, AnnotationError> {
    let mut reader = gff::io::Reader::new(open(path)?);
    let mut set = FeatureSet::default();
    let mut line = gff::Line::default();
    let mut n = 0u64;
    loop {
        let read = reader.read_line(&mut line).map_err(|e| malformed(path, n + 1, e.to_string()))?;
        if read == 0 {
            break;
        }
        n += 1;
        let Some(record) = line.as_record() else { continue };
        let record = record.map_err(|e| malformed(path, n, format!("invalid GFF3 record: {e}")))?;
        if !selection.wants(record.ty().as_ref()) {
            continue;
        }
        let bad = |what: &str, e: std::io::Error| malformed(path, n, format!("invalid {what}: {e}"));
        let start = record.start().map_err(|e| bad("start", e))?.get() as u64;
        let end = record.end().map_err(|e| bad("end", e))?.get() as u64;
        let strand = strand_of(&format!("{:?}", record.strand().map_err(|e| bad("strand", e))?));
        let attributes = record.attributes();
        let value = |key: &str| -> Result<Option<String>, AnnotationError> {
            match attributes.get(key.as_bytes()) {
                None => Ok(None),
                Some(v) => {
                    let v = v.map_err(|e| bad("attributes", e))?;
                    Ok(Some(match v {
                        gff::record::attributes::field::Value::String(s) => s.to_string(),
                        gff::record::attributes::field::Value::Array(a) => {
                            a.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
                        }
                    }))
                }
            }
        };
        let name = value("gene_name")?.or(value("Name")?);
        let extra = selection.extra.iter().map(|k| value(k)).collect::<Result<_, _>>()?;
        let feature = Feature { gene: value(selection.attribute)?, name, start, end, strand, extra };
        add(&mut set, path, n, selection, &record.reference_sequence_name().to_string(), feature)?;
    }
    if set.exons.is_empty() {
        return Err(AnnotationError::Empty { path: path.display().to_string() });
    }
    Ok(set)
}

/// One selected GTF/GFF row.
struct Feature {
    gene: Option<String>,
    name: Option<String>,
    start: u64,
    end: u64,
    strand: Strand,
    extra: Vec<Option<String>>,
}

/// Adds a row to the set, checking what featureCounts needs of it.
fn add(
    set: &mut FeatureSet,
    path: &Path,
    line: u64,
    selection: &Selection<'_>,
    contig: &str,
    f: Feature,
) -> Result<(), AnnotationError> {
    let Some(gene) = f.gene else {
        return Err(malformed(
            path,
            line,
            format!("{} feature has no {:?} attribute (featureCounts -g)", selection.feature_type, selection.attribute),
        ));
    };
    if f.end < f.start {
        return Err(malformed(path, line, format!("end {} is before start {}", f.end, f.start)));
    }
    set.push_named(&gene, f.name.as_deref(), contig, f.start, f.end, f.strand);
    if !selection.extra.is_empty() {
        set.extra.push(f.extra);
    }
    Ok(())
}

/// noodles' strand as ours; featureCounts treats anything but '-' as '+', which
/// [`Strand::Unknown`] reproduces in the counting rules.
fn strand_of(debug: &str) -> Strand {
    match debug {
        "Forward" => Strand::Forward,
        "Reverse" => Strand::Reverse,
        _ => Strand::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ensembl_style_gtf_with_a_leading_space_and_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.gtf");
        std::fs::write(
            &path,
            "#!genome-build x\n\
             I\tsgd\texon\t10\t20\t.\t-\t.\t gene_id \"YAL001C\"; transcript_id \"t1\"; gene_name \"TFC3\";\n\
             I\tsgd\tCDS\t10\t20\t.\t-\t0\t gene_id \"YAL001C\"; transcript_id \"t1\";\n\
             I\tsgd\texon\t30\t40\t.\t-\t.\tgene_id \"YAL001C\"; transcript_id \"t1\";\n\
             II\tsgd\texon\t5\t9\t.\t+\t.\tgene_id \"YBL001C\"; transcript_id \"t2\";\n",
        )
        .expect("write");
        let set = read_gtf(&path, &Selection { feature_type: "exon", attribute: "gene_id", extra: &[] }).expect("gtf");
        assert_eq!(set.genes.len(), 2);
        assert_eq!(set.genes[0].id, "YAL001C");
        assert_eq!(set.genes[0].name.as_deref(), Some("TFC3"));
        assert_eq!(set.genes[0].exons.len(), 2);
        assert_eq!(set.genes[1].name, None);
        assert_eq!(set.exons[0].strand, Strand::Reverse);
        let by_transcript =
            read_gtf(&path, &Selection { feature_type: "exon", attribute: "transcript_id", extra: &[] }).expect("gtf");
        assert_eq!(by_transcript.genes.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["t1", "t2"]);
    }

    #[test]
    fn reads_gff3_attributes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.gff3");
        std::fs::write(
            &path,
            "##gff-version 3\n\
             chr1\tx\tgene\t1\t100\t.\t+\t.\tID=g1;Name=GENE1\n\
             chr1\tx\texon\t1\t50\t.\t+\t.\tParent=t1;gene_id=g1;Name=GENE1\n\
             chr1\tx\texon\t60\t100\t.\t+\t.\tParent=t1;gene_id=g1\n",
        )
        .expect("write");
        let set = read_gff(&path, &Selection { feature_type: "exon", attribute: "gene_id", extra: &[] }).expect("gff");
        assert_eq!(set.genes.len(), 1);
        assert_eq!(set.genes[0].name.as_deref(), Some("GENE1"));
        assert_eq!(set.gene_length(0), 91);
    }
}
