//! Features to count against: genes as unions of their exons, and an overlap index over them.
//!
//! Kept apart from `transcriptome` because epigenome region aggregation will query the same
//! features. Meta-features (genes) keep the order of their first appearance in the annotation,
//! as featureCounts does, so matrix rows line up with featureCounts' table.

pub mod feature;
pub mod gtf;
pub mod index;
pub mod saf;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use feature::{Exon, FeatureSet, Gene, Strand};
pub use index::{FeatureIndex, OverlapQuery};

crate::choice::named_enum! {
    /// Annotation file formats.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum AnnotationFormat {
        /// featureCounts' Simplified Annotation Format (GeneID, Chr, Start, End, Strand; 1-based).
        Saf = "saf",
        /// GTF (GFF2): `-t` features grouped by the `-g` attribute.
        Gtf = "gtf",
        /// GFF3: `-t` features grouped by the `-g` attribute.
        Gff = "gff",
    }
    default Saf
}

/// Errors reading an annotation.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read annotation")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{location}: {message}")]
    Malformed {
        /// File and line.
        location: crate::error::Location,
        /// What was expected.
        message: String,
    },
    /// The annotation has no features.
    #[error("{path}: the annotation has no features")]
    Empty {
        /// The file.
        path: String,
    },
    /// What was asked of the annotation its format cannot give.
    #[error("{path}: {message}")]
    Unsupported {
        /// The file.
        path: String,
        /// What cannot be done.
        message: String,
    },
}

fn default_feature_type() -> String {
    "exon".into()
}

fn default_attribute() -> String {
    "gene_id".into()
}

/// An annotation file and how to read it (`[annotation]` in cohort.toml).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotationSpec {
    /// The file (plain or gzip).
    pub path: std::path::PathBuf,
    /// Its format; `None`: told from the content ([`sniff_format`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<AnnotationFormat>,
    /// GTF/GFF feature type to count (featureCounts `-t`).
    #[serde(default = "default_feature_type")]
    pub feature_type: String,
    /// GTF/GFF attribute that names the gene (featureCounts `-g`).
    #[serde(default = "default_attribute")]
    pub attribute: String,
    /// GTF/GFF attributes carried into the counts table (featureCounts `--extraAttributes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_attributes: Vec<String>,
}

impl AnnotationSpec {
    /// A spec with featureCounts' defaults (`-t exon -g gene_id`); `format` `None` sniffs it.
    pub fn new(path: impl Into<std::path::PathBuf>, format: Option<AnnotationFormat>) -> Self {
        Self {
            path: path.into(),
            format,
            feature_type: default_feature_type(),
            attribute: default_attribute(),
            extra_attributes: Vec::new(),
        }
    }

    /// The format: as given, or told from the content.
    pub fn resolved_format(&self) -> Result<AnnotationFormat, AnnotationError> {
        self.format.map_or_else(|| sniff_format(&self.path), Ok)
    }

    /// Reads the annotation.
    pub fn read(&self) -> Result<FeatureSet, AnnotationError> {
        let selection = gtf::Selection {
            feature_type: &self.feature_type,
            attribute: &self.attribute,
            extra: &self.extra_attributes,
        };
        match self.resolved_format()? {
            AnnotationFormat::Saf if !self.extra_attributes.is_empty() => Err(AnnotationError::Unsupported {
                path: self.path.display().to_string(),
                message: "--extraAttributes reads GTF/GFF attributes; a SAF has none".into(),
            }),
            AnnotationFormat::Saf => saf::read(&self.path),
            AnnotationFormat::Gtf => gtf::read_gtf(&self.path, &selection),
            AnnotationFormat::Gff => gtf::read_gff(&self.path, &selection),
        }
    }
}

/// Reads an annotation file in the given format with featureCounts' default selection.
pub fn read(path: &Path, format: AnnotationFormat) -> Result<FeatureSet, AnnotationError> {
    AnnotationSpec::new(path, Some(format)).read()
}

/// Lines looked at by [`sniff_format`] before it gives up.
const SNIFF_LINES: usize = 1000;

/// Tells SAF, GTF and GFF3 apart from the content (plain or gzip), as `-F` would say them:
/// `##gff-version 3` or `key=value` attributes are GFF3, `key "value";` attributes GTF, five or
/// more fields with whole-number Start and End (or featureCounts' `GeneID Chr Start` header)
/// SAF. The file name is not looked at: `.gtf` files with GFF3 content exist.
pub fn sniff_format(path: &Path) -> Result<AnnotationFormat, AnnotationError> {
    use std::io::BufRead;
    let io_err = |source| AnnotationError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let reader = std::io::BufReader::new(crate::io::open::decompress(file).map_err(io_err)?);
    let whole = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut first_data = true;
    for (n, line) in reader.split(b'\n').take(SNIFF_LINES).enumerate() {
        let line = line.map_err(io_err)?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\r');
        if line.starts_with("##gff-version 3") {
            return Ok(AnnotationFormat::Gff);
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() >= 9 && whole(fields[3]) && whole(fields[4]) {
            // The first attribute: `key=value` (GFF3) or `key "value"` / `key value` (GTF).
            let first = fields[8].split(';').map(str::trim).find(|a| !a.is_empty()).unwrap_or("");
            match (first.find('='), first.find(' ')) {
                (Some(eq), space) if space.is_none_or(|sp| eq < sp) => return Ok(AnnotationFormat::Gff),
                (_, Some(_)) => return Ok(AnnotationFormat::Gtf),
                _ => {}
            }
        }
        if saf::is_header(fields.iter().map(|f| f.as_bytes()))
            || (fields.len() >= 5 && fields.len() < 9 && whole(fields[2]) && whole(fields[3]))
        {
            return Ok(AnnotationFormat::Saf);
        }
        // featureCounts skips a first SAF line of fewer than five fields (a header of sorts).
        let skippable = first_data && fields.len() < 5;
        first_data = false;
        if !skippable {
            return Err(AnnotationError::Malformed {
                location: crate::error::Location::line(path, n as u64 + 1),
                message: "cannot tell SAF, GTF or GFF3 from this line; give the format (-F SAF|GTF|GFF, or \
                          `format` in [annotation])"
                    .into(),
            });
        }
    }
    Err(AnnotationError::Empty { path: path.display().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(text: &str) -> Result<AnnotationFormat, AnnotationError> {
        let dir = tempfile::tempdir().expect("tempdir");
        // The name says GTF whatever the content: only the content counts.
        let path = dir.path().join("genes.gtf");
        std::fs::write(&path, text).expect("write");
        sniff_format(&path)
    }

    #[test]
    fn formats_are_told_from_the_content() {
        let saf = "GeneID\tChr\tStart\tEnd\tStrand\ngA\tc1\t101\t200\t+\n";
        assert_eq!(sniff(saf).expect("saf"), AnnotationFormat::Saf);
        assert_eq!(sniff("# note\ngA\tc1\t101\t200\t+\n").expect("saf"), AnnotationFormat::Saf);
        assert_eq!(sniff("a\tb\tc\ngA\tc1\t101\t200\t+\n").expect("saf"), AnnotationFormat::Saf);
        let gtf = "c1\tsim\texon\t101\t200\t.\t+\t.\tgene_id \"gA\"; transcript_id \"tA\";\n";
        assert_eq!(sniff(gtf).expect("gtf"), AnnotationFormat::Gtf);
        let gff = "c1\tsim\texon\t101\t200\t.\t+\t.\tID=e1;Note=two words;gene_id=gA\n";
        assert_eq!(sniff(gff).expect("gff"), AnnotationFormat::Gff);
        assert_eq!(sniff(&format!("##gff-version 3\n{gtf}")).expect("gff"), AnnotationFormat::Gff);
        let e = sniff("hello world\nfoo\tbar\tbaz\tqux\tquux\n").expect_err("neither");
        assert!(e.to_string().contains("genes.gtf:2"), "{e}");
        assert!(matches!(sniff("# only a comment\n"), Err(AnnotationError::Empty { .. })));
    }
}
