//! Per-sample CpG calls: one sorted run of sites per chromosome, written to and streamed back from
//! `epigenome/samples/<id>.parquet` so that the cohort merge never holds every sample at once.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::io::OutputError;
use crate::io::atomic::Staged;
use crate::io::parquet::{Metadata, ROW_GROUP_ROWS, stage_parquet_streamable};

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
    chroms: Vec<(String, Vec<Site>)>,
    index: HashMap<String, usize>,
    /// The last chromosome added to: input comes sorted or grouped, so it almost always repeats.
    last: usize,
}

impl SiteCollector {
    /// Adds calls at `chrom:pos` (1-based forward-strand C).
    pub fn add(&mut self, chrom: &str, pos: u64, methylated: u64, unmethylated: u64) {
        let k = match self.chroms.get(self.last) {
            Some((name, _)) if name == chrom => self.last,
            _ => match self.index.get(chrom) {
                Some(&k) => k,
                None => {
                    self.index.insert(chrom.to_string(), self.chroms.len());
                    self.chroms.push((chrom.to_string(), Vec::new()));
                    self.chroms.len() - 1
                }
            },
        };
        self.last = k;
        self.chroms[k].1.push(Site { pos, methylated, unmethylated });
    }

    /// Sorts, merges repeats and orders chromosomes.
    pub fn finish(self) -> SampleCalls {
        let mut chroms: Vec<ChromCalls> = self
            .chroms
            .into_iter()
            .map(|(name, mut sites)| {
                sites.sort_unstable_by_key(|s| s.pos);
                sites.dedup_by(|next, kept| {
                    let repeat = next.pos == kept.pos;
                    if repeat {
                        kept.methylated += next.methylated;
                        kept.unmethylated += next.unmethylated;
                    }
                    repeat
                });
                ChromCalls { name, sites }
            })
            .collect();
        chroms.sort_by(|a, b| chrom_cmp(&a.name, &b.name));
        SampleCalls { chroms }
    }
}

/// Metadata key listing a sample file's chromosomes in order (lets the merge rank them up front).
pub const CHROMS_KEY: &str = "harmonomics.chroms";

/// Writes one sample's calls: `chrom, pos, methylated, unmethylated`, in pages of 4,096 rows so
/// the cohort merge can hold every sample's file open in little memory. `chrom` is
/// dictionary-encoded and the integers delta-encoded: the merge decodes them cheaply, hundreds of
/// files at a time.
pub fn write_sample(path: &Path, calls: &SampleCalls, metadata: &Metadata) -> Result<(), OutputError> {
    let mut staged = Staged::default();
    stage_sample(&mut staged, path, calls, metadata)?;
    staged.commit()
}

/// [`write_sample`] as one of a command's outputs that appear together.
pub fn stage_sample(
    staged: &mut Staged,
    path: &Path,
    calls: &SampleCalls,
    metadata: &Metadata,
) -> Result<(), OutputError> {
    let chrom_type = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let schema = Arc::new(Schema::new(vec![
        Field::new("chrom", chrom_type, false),
        Field::new("pos", DataType::UInt64, false),
        Field::new("methylated", DataType::UInt64, false),
        Field::new("unmethylated", DataType::UInt64, false),
    ]));
    let names: Vec<&str> = calls.chroms.iter().map(|c| c.name.as_str()).collect();
    let mut metadata = metadata.clone();
    metadata.push((CHROMS_KEY.to_string(), serde_json::to_string(&names).unwrap_or_default()));
    let dictionary: ArrayRef = Arc::new(StringArray::from_iter_values(names.iter()));
    stage_parquet_streamable(staged, path, schema.clone(), &metadata, &["chrom"], |push| {
        let rows: Vec<(i32, &Site)> =
            calls.chroms.iter().enumerate().flat_map(|(k, c)| c.sites.iter().map(move |s| (k as i32, s))).collect();
        for chunk in rows.chunks(ROW_GROUP_ROWS) {
            let keys = Int32Array::from_iter_values(chunk.iter().map(|(k, _)| *k));
            let chrom =
                DictionaryArray::<Int32Type>::try_new(keys, dictionary.clone()).map_err(std::io::Error::other)?;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(chrom),
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
/// page per column, see [`write_sample`]) per sample, so this bounds its memory per file
/// (1,024 rather than a page's 4,096: 150 MB less at 844 files, at the same speed).
const READ_BATCH_ROWS: usize = 1024;

/// Bits of a merge key that hold the position: the chromosome's rank sits above them.
const POS_BITS: u32 = 40;

/// The merge's sort key of a site: chromosome rank, then position, in one integer.
pub fn site_key(rank: usize, pos: u64) -> u64 {
    ((rank as u64) << POS_BITS) | pos
}

/// The chromosome rank and position of a [`site_key`].
pub fn split_key(key: u64) -> (usize, u64) {
    ((key >> POS_BITS) as usize, key & ((1 << POS_BITS) - 1))
}

/// The most calls one CpG of one sample may have: 2³² − 1 (four billion reads over one site is
/// no sequencing run; a file that says so is damaged).
pub const MAX_CALLS: u64 = u32::MAX as u64;

/// Streams a sample file written by [`write_sample`] back in file order, decoded a batch ahead
/// into plain columns of merge keys ([`site_key`], with the cohort's chromosome ranks) and calls.
pub struct SampleReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    /// The file's chromosomes, in order.
    pub chroms: Vec<String>,
    /// The cohort-wide rank of each of [`SampleReader::chroms`].
    ranks: Vec<usize>,
    keys: Vec<u64>,
    methylated: Vec<u64>,
    unmethylated: Vec<u64>,
    /// First row of the buffers not yet taken.
    start: usize,
    /// Rows decoded so far (for messages).
    rows: u64,
    exhausted: bool,
}

fn read_err(path: &Path, message: impl Into<String>) -> super::EpigenomeError {
    super::EpigenomeError::File { path: path.to_path_buf(), message: message.into() }
}

impl SampleReader {
    /// Opens `path`; fails if it is not a per-sample methylation file. Its chromosomes rank in
    /// file order until [`SampleReader::set_ranks`] gives the cohort's.
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
        let ranks = (0..chroms.len()).collect();
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            chroms,
            ranks,
            keys: Vec::new(),
            methylated: Vec::new(),
            unmethylated: Vec::new(),
            start: 0,
            rows: 0,
            exhausted: false,
        })
    }

    /// Ranks the file's chromosomes in the cohort's order (one rank per [`SampleReader::chroms`]).
    pub fn set_ranks(&mut self, ranks: Vec<usize>) {
        self.ranks = ranks;
    }

    /// Decodes batches until at least `rows` sites are buffered or the file ends.
    pub fn fill(&mut self, rows: usize) -> Result<(), super::EpigenomeError> {
        while self.keys.len() - self.start < rows && !self.exhausted {
            if self.start > 0 {
                self.keys.drain(..self.start);
                self.methylated.drain(..self.start);
                self.unmethylated.drain(..self.start);
                self.start = 0;
            }
            match self.reader.next() {
                None => self.exhausted = true,
                Some(Err(e)) => return Err(read_err(&self.path, e.to_string())),
                Some(Ok(batch)) => self.decode(&batch)?,
            }
        }
        Ok(())
    }

    /// The buffered keys not yet taken, in file order.
    pub fn pending(&self) -> &[u64] {
        &self.keys[self.start..]
    }

    /// Takes the buffered sites with keys up to `bound`: (keys, methylated, unmethylated).
    pub fn take(&mut self, bound: u64) -> (&[u64], &[u64], &[u64]) {
        let from = self.start;
        let count = self.keys[from..].partition_point(|&k| k <= bound);
        self.start += count;
        let to = self.start;
        (&self.keys[from..to], &self.methylated[from..to], &self.unmethylated[from..to])
    }

    fn decode(&mut self, batch: &RecordBatch) -> Result<(), super::EpigenomeError> {
        let path = &self.path;
        let column = |k: usize| batch.column(k).as_any().downcast_ref::<UInt64Array>();
        let (Some(pos), Some(m), Some(u)) = (column(1), column(2), column(3)) else {
            return Err(read_err(path, "expected columns chrom, pos, methylated, unmethylated (whole numbers)"));
        };
        if let Some(k) = batch.columns().iter().position(|c| c.null_count() > 0) {
            return Err(read_err(path, format!("column {:?} holds nulls", batch.schema().field(k).name())));
        }
        // Each row's index into the file's chromosomes: from the dictionary of a file written by
        // this version, by name (compared only when it changes) from an older plain-string one.
        let unknown = |name: &str| read_err(path, format!("chromosome {name:?} is not in the file's {CHROMS_KEY}"));
        let find = |name: &str| self.chroms.iter().position(|c| c == name).ok_or_else(|| unknown(name));
        let chrom = batch.column(0);
        let mut file_chrom: Vec<usize> = Vec::with_capacity(batch.num_rows());
        if let Some(dict) = chrom.as_any().downcast_ref::<DictionaryArray<Int32Type>>() {
            let Some(values) = dict.values().as_any().downcast_ref::<StringArray>() else {
                return Err(read_err(path, "column chrom: expected strings"));
            };
            let lookup: Vec<usize> = (0..values.len()).map(|k| find(values.value(k))).collect::<Result<_, _>>()?;
            for &key in dict.keys().values() {
                let index = usize::try_from(key).ok().and_then(|k| lookup.get(k).copied());
                file_chrom.push(index.ok_or_else(|| read_err(path, "column chrom: dictionary key out of range"))?);
            }
        } else if let Some(names) = chrom.as_any().downcast_ref::<StringArray>() {
            let mut last: Option<(&str, usize)> = None;
            for name in names.iter().flatten() {
                let index = match last {
                    Some((n, k)) if n == name => k,
                    _ => find(name)?,
                };
                last = Some((name, index));
                file_chrom.push(index);
            }
        } else {
            return Err(read_err(path, "column chrom: expected strings"));
        }
        let mut previous = self.keys.last().copied();
        for (r, &k) in file_chrom.iter().enumerate() {
            let p = pos.value(r);
            if p >> POS_BITS != 0 {
                return Err(read_err(path, format!("row {}: position {p} is beyond any genome", self.rows + r as u64)));
            }
            let Some(&rank) = self.ranks.get(k) else {
                return Err(read_err(path, format!("row {}: chromosome without a rank", self.rows + r as u64)));
            };
            let key = site_key(rank, p);
            if previous.is_some_and(|q| key <= q) {
                return Err(read_err(path, format!("sites out of order at {}:{p}", self.chroms[k])));
            }
            previous = Some(key);
            self.keys.push(key);
        }
        // The cohort merge holds a site's calls as 32-bit counts (super::cohort::CpgMatrices).
        if let Some(r) = m.values().iter().zip(u.values()).position(|(&m, &u)| m.saturating_add(u) > MAX_CALLS) {
            let calls = m.value(r).saturating_add(u.value(r));
            return Err(read_err(
                path,
                format!("row {}: {calls} calls at one CpG; at most {MAX_CALLS} are supported", self.rows + r as u64),
            ));
        }
        self.methylated.extend_from_slice(m.values());
        self.unmethylated.extend_from_slice(u.values());
        self.rows += batch.num_rows() as u64;
        Ok(())
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
        let back = read_back(&mut reader, 1000);
        let expected: Vec<(usize, Site)> =
            calls.chroms.iter().enumerate().flat_map(|(k, c)| c.sites.iter().map(move |s| (k, *s))).collect();
        assert_eq!(back, expected);
    }

    /// Every site of `reader`, taken `rows` at a time as the merge takes them.
    fn read_back(reader: &mut SampleReader, rows: usize) -> Vec<(usize, Site)> {
        let mut back = Vec::new();
        loop {
            reader.fill(rows).expect("read");
            let pending = reader.pending();
            if pending.is_empty() {
                return back;
            }
            let bound = pending[pending.len().min(rows) - 1];
            let (keys, m, u) = reader.take(bound);
            back.extend(keys.iter().zip(m).zip(u).map(|((&k, &m), &u)| {
                let (rank, pos) = split_key(k);
                (rank, Site { pos, methylated: m, unmethylated: u })
            }));
        }
    }

    /// A per-sample file as earlier versions wrote it (chrom as plain strings) with these rows.
    fn write_plain(path: &Path, rows: &[(&str, u64, u64, u64)]) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("chrom", DataType::Utf8, false),
            Field::new("pos", DataType::UInt64, false),
            Field::new("methylated", DataType::UInt64, false),
            Field::new("unmethylated", DataType::UInt64, false),
        ]));
        let metadata = vec![(CHROMS_KEY.to_string(), r#"["chr2","chr10"]"#.to_string())];
        crate::io::parquet::write_parquet(path, schema.clone(), &metadata, |push| {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.3))),
            ];
            push(RecordBatch::try_new(schema.clone(), columns).map_err(std::io::Error::other)?)
        })
        .expect("write");
    }

    #[test]
    fn plain_string_files_read_and_cohort_ranks_apply() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.parquet");
        write_plain(&path, &[("chr2", 5, 1, 2), ("chr2", 9, 0, 3), ("chr10", 4, 7, 0)]);
        let mut reader = SampleReader::open(&path).expect("open");
        // The cohort has chr1 too: chr2 ranks 1, chr10 ranks 2.
        reader.set_ranks(vec![1, 2]);
        let back = read_back(&mut reader, 2);
        let site = |pos, methylated, unmethylated| Site { pos, methylated, unmethylated };
        assert_eq!(back, [(1, site(5, 1, 2)), (1, site(9, 0, 3)), (2, site(4, 7, 0))]);
    }

    #[test]
    fn unsorted_files_are_refused_with_the_site() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.parquet");
        write_plain(&path, &[("chr2", 9, 1, 2), ("chr2", 5, 0, 3)]);
        let mut reader = SampleReader::open(&path).expect("open");
        let e = reader.fill(10).expect_err("out of order").to_string();
        assert!(e.contains("bad.parquet") && e.contains("out of order at chr2:5"), "{e}");
        write_plain(&path, &[("chr2", 9, 1, 2), ("chr7", 5, 0, 3)]);
        let mut reader = SampleReader::open(&path).expect("open");
        let e = reader.fill(10).expect_err("unknown chromosome").to_string();
        assert!(e.contains("\"chr7\" is not in the file's harmonomics.chroms"), "{e}");
    }

    #[test]
    fn more_calls_than_the_merge_holds_are_refused_with_the_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deep.parquet");
        write_plain(&path, &[("chr2", 5, MAX_CALLS - 1, 1), ("chr2", 9, MAX_CALLS, 1)]);
        let mut reader = SampleReader::open(&path).expect("open");
        let e = reader.fill(10).expect_err("too many calls").to_string();
        assert!(e.contains("deep.parquet") && e.contains("row 1: 4294967296 calls at one CpG"), "{e}");
    }
}
