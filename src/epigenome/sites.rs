//! Per-sample CpG calls: one sorted run of sites per chromosome, written to and streamed back from
//! `epigenome/samples/<id>.parquet` so that the cohort merge never holds every sample at once.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::io::OutputError;
use crate::io::parquet::{Metadata, ROW_GROUP_ROWS, write_parquet_streamable};

/// Calls at one CpG (both strands merged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Site {
    /// 1-based position of the C on the forward strand.
    pub pos: u64,
    /// Calls reading the C as methylated.
    pub methylated: u64,
    /// Calls reading the C as unmethylated.
    pub unmethylated: u64,
}

impl Site {
    /// Methylated + unmethylated calls.
    pub fn coverage(&self) -> u64 {
        self.methylated + self.unmethylated
    }
}

/// The sites of one chromosome, sorted by position, one entry per position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChromCalls {
    /// Chromosome name as in the input.
    pub name: String,
    /// Sites in position order.
    pub sites: Vec<Site>,
}

/// One sample's calls: chromosomes in [`chrom_cmp`] order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleCalls {
    /// Chromosomes, naturally sorted.
    pub chroms: Vec<ChromCalls>,
}

impl SampleCalls {
    /// Number of sites with at least one call.
    pub fn sites(&self) -> usize {
        self.chroms.iter().map(|c| c.sites.len()).sum()
    }

    /// Every site with its chromosome, in output order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Site)> {
        self.chroms.iter().flat_map(|c| c.sites.iter().map(move |s| (c.name.as_str(), s)))
    }

    /// The site at `chrom:pos`, if called.
    pub fn get(&self, chrom: &str, pos: u64) -> Option<&Site> {
        let c = self.chroms.iter().find(|c| c.name == chrom)?;
        c.sites.binary_search_by_key(&pos, |s| s.pos).ok().map(|k| &c.sites[k])
    }
}

/// Natural chromosome order (`chr2` before `chr10`), then bytes, so every sample and run agrees.
pub fn chrom_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let bytes = s.as_bytes();
        let mut start = 0;
        std::iter::from_fn(move || {
            if start >= bytes.len() {
                return None;
            }
            let digit = bytes[start].is_ascii_digit();
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() == digit {
                end += 1;
            }
            let chunk = &s[start..end];
            start = end;
            Some((digit, chunk))
        })
    }
    let mut x = chunks(a);
    let mut y = chunks(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((true, p)), Some((true, q))) => {
                let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                let o = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some((_, p)), Some((_, q))) => {
                let o = p.cmp(q);
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Collects calls in any order and sums repeats (both strands of one CpG, or a file that lists a
/// site twice) into [`SampleCalls`].
#[derive(Debug, Default)]
pub struct SiteCollector {
    chroms: HashMap<String, Vec<Site>>,
}

impl SiteCollector {
    /// Adds calls at `chrom:pos` (1-based forward-strand C).
    pub fn add(&mut self, chrom: &str, pos: u64, methylated: u64, unmethylated: u64) {
        let sites = match self.chroms.get_mut(chrom) {
            Some(s) => s,
            None => self.chroms.entry(chrom.to_string()).or_default(),
        };
        sites.push(Site { pos, methylated, unmethylated });
    }

    /// Sorts, merges repeats and orders chromosomes.
    pub fn finish(self) -> SampleCalls {
        let mut chroms: Vec<ChromCalls> = self
            .chroms
            .into_iter()
            .map(|(name, mut sites)| {
                sites.sort_unstable_by_key(|s| s.pos);
                let mut merged: Vec<Site> = Vec::with_capacity(sites.len());
                for s in sites {
                    match merged.last_mut() {
                        Some(last) if last.pos == s.pos => {
                            last.methylated += s.methylated;
                            last.unmethylated += s.unmethylated;
                        }
                        _ => merged.push(s),
                    }
                }
                ChromCalls { name, sites: merged }
            })
            .collect();
        chroms.sort_by(|a, b| chrom_cmp(&a.name, &b.name));
        SampleCalls { chroms }
    }
}

/// Metadata key listing a sample file's chromosomes in order (lets the merge rank them up front).
pub const CHROMS_KEY: &str = "harmonomics.chroms";

/// Writes one sample's calls: `chrom, pos, methylated, unmethylated`, in pages of 4,096 rows so
/// the cohort merge can hold every sample's file open in little memory.
pub fn write_sample(path: &Path, calls: &SampleCalls, metadata: &Metadata) -> Result<(), OutputError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("chrom", DataType::Utf8, false),
        Field::new("pos", DataType::UInt64, false),
        Field::new("methylated", DataType::UInt64, false),
        Field::new("unmethylated", DataType::UInt64, false),
    ]));
    let names: Vec<&str> = calls.chroms.iter().map(|c| c.name.as_str()).collect();
    let mut metadata = metadata.clone();
    metadata.push((CHROMS_KEY.to_string(), serde_json::to_string(&names).unwrap_or_default()));
    write_parquet_streamable(path, schema.clone(), &metadata, |push| {
        let rows: Vec<(&str, &Site)> = calls.iter().collect();
        for chunk in rows.chunks(ROW_GROUP_ROWS) {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|(c, _)| *c))),
                Arc::new(UInt64Array::from_iter_values(chunk.iter().map(|(_, s)| s.pos))),
                Arc::new(UInt64Array::from_iter_values(chunk.iter().map(|(_, s)| s.methylated))),
                Arc::new(UInt64Array::from_iter_values(chunk.iter().map(|(_, s)| s.unmethylated))),
            ];
            push(RecordBatch::try_new(schema.clone(), columns).map_err(std::io::Error::other)?)?;
        }
        Ok(())
    })
}

/// Rows decoded at a time per open sample file: the cohort merge holds one such batch (and one
/// page per column, see [`write_sample`]) per sample, so this bounds its memory per file.
const READ_BATCH_ROWS: usize = crate::io::parquet::STREAM_PAGE_ROWS;

/// Streams a sample file written by [`write_sample`] back, one site at a time, in file order.
pub struct SampleReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
    /// The file's chromosomes, in order.
    pub chroms: Vec<String>,
    /// Index of the last row's chromosome: rows come sorted, so it almost always repeats.
    current: usize,
}

fn read_err(path: &Path, message: impl Into<String>) -> super::EpigenomeError {
    super::EpigenomeError::File { path: path.to_path_buf(), message: message.into() }
}

impl SampleReader {
    /// Opens `path`; fails if it is not a per-sample methylation file.
    pub fn open(path: &Path) -> Result<Self, super::EpigenomeError> {
        let file = File::open(path).map_err(|source| super::EpigenomeError::Io { path: path.to_path_buf(), source })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_err(path, e.to_string()))?;
        let chroms: Vec<String> = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == CHROMS_KEY))
            .and_then(|k| k.value.as_deref())
            .and_then(|v| serde_json::from_str(v).ok())
            .ok_or_else(|| {
                read_err(path, format!("no {CHROMS_KEY} metadata: not a per-sample methylation file from harmonomics"))
            })?;
        let reader = builder.with_batch_size(READ_BATCH_ROWS).build().map_err(|e| read_err(path, e.to_string()))?;
        Ok(Self { path: path.to_path_buf(), reader, batch: None, row: 0, chroms, current: 0 })
    }

    /// The next site as (chromosome index into [`SampleReader::chroms`], site).
    pub fn next_site(&mut self) -> Result<Option<(usize, Site)>, super::EpigenomeError> {
        loop {
            if let Some(batch) = &self.batch
                && self.row < batch.num_rows()
            {
                let column = |k: usize| batch.column(k).as_any().downcast_ref::<UInt64Array>();
                let chrom = batch.column(0).as_any().downcast_ref::<StringArray>();
                let (Some(chrom), Some(pos), Some(m), Some(u)) = (chrom, column(1), column(2), column(3)) else {
                    return Err(read_err(&self.path, "expected columns chrom (string), pos, methylated, unmethylated"));
                };
                let r = self.row;
                self.row += 1;
                if chrom.is_null(r) {
                    return Err(read_err(&self.path, format!("row {r}: null chrom")));
                }
                let name = chrom.value(r);
                if self.chroms.get(self.current).is_none_or(|c| c != name) {
                    let Some(k) = self.chroms.iter().position(|c| c == name) else {
                        return Err(read_err(
                            &self.path,
                            format!("chromosome {name:?} is not in the file's {CHROMS_KEY}"),
                        ));
                    };
                    self.current = k;
                }
                let k = self.current;
                return Ok(Some((k, Site { pos: pos.value(r), methylated: m.value(r), unmethylated: u.value(r) })));
            }
            match self.reader.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(read_err(&self.path, e.to_string())),
                Some(Ok(batch)) => {
                    self.batch = Some(batch);
                    self.row = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromosomes_sort_naturally() {
        let mut names = vec!["chr10", "chrX", "chr2", "chr1", "chrM", "chr1_KI270706v1_random", "chr22", "chrY"];
        names.sort_by(|a, b| chrom_cmp(a, b));
        assert_eq!(names, ["chr1", "chr1_KI270706v1_random", "chr2", "chr10", "chr22", "chrM", "chrX", "chrY"]);
        assert_eq!(chrom_cmp("1", "01"), Ordering::Greater, "ties fall back to bytes");
    }

    #[test]
    fn collector_merges_repeats_and_sorts() {
        let mut c = SiteCollector::default();
        c.add("chr10", 5, 1, 0);
        c.add("chr2", 9, 0, 2);
        c.add("chr2", 3, 1, 1);
        c.add("chr2", 9, 3, 0);
        let calls = c.finish();
        let rows: Vec<(&str, u64, u64, u64)> =
            calls.iter().map(|(c, s)| (c, s.pos, s.methylated, s.unmethylated)).collect();
        assert_eq!(rows, [("chr2", 3, 1, 1), ("chr2", 9, 3, 2), ("chr10", 5, 1, 0)]);
    }

    #[test]
    fn sample_file_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.parquet");
        let mut c = SiteCollector::default();
        for k in 0..70_000u64 {
            c.add(if k % 3 == 0 { "chr1" } else { "chr2" }, k * 2 + 1, k % 5, k % 7);
        }
        let calls = c.finish();
        write_sample(&path, &calls, &Vec::new()).expect("write");
        let mut reader = SampleReader::open(&path).expect("open");
        assert_eq!(reader.chroms, ["chr1", "chr2"]);
        let mut back = Vec::new();
        while let Some((k, s)) = reader.next_site().expect("read") {
            back.push((k, s));
        }
        let expected: Vec<(usize, Site)> =
            calls.chroms.iter().enumerate().flat_map(|(k, c)| c.sites.iter().map(move |s| (k, *s))).collect();
        assert_eq!(back, expected);
    }
}
