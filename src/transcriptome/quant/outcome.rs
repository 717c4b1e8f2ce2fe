//! What happened to each alignment: assigned, or unassigned for one of featureCounts' reasons.
//!
//! Per-read outcomes are data, not errors: they are counted per sample into `qc.parquet` and the
//! `.summary` file, with featureCounts' own category names and in its order.

/// featureCounts' summary categories, in the order its `.summary` file lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Category {
    /// Counted towards a gene.
    Assigned,
    /// Flag 0x4.
    Unmapped,
    /// Wrong read type for the mode (paired/single).
    ReadType,
    /// Paired mode: mate unmapped (with -B).
    Singleton,
    /// MAPQ below `--min-mapq`.
    MappingQuality,
    /// Paired mode: mates on different contigs or strands (with -C).
    Chimera,
    /// Paired mode: fragment length out of range (with -P).
    FragmentLength,
    /// Flag 0x400 with `--ignore-duplicates`.
    Duplicate,
    /// NH > 1 without `--multi-mapping`.
    MultiMapping,
    /// Flag 0x100 with `--primary-only`.
    Secondary,
    /// Non-split read when only split reads are counted.
    NonSplit,
    /// Overlaps no feature.
    NoFeatures,
    /// Overlap shorter than `--min-overlap`.
    OverlappingLength,
    /// Overlaps more than one gene (without `--allow-multi-overlap`).
    Ambiguity,
}

impl Category {
    /// Number of categories.
    pub const COUNT: usize = 14;

    /// Every category in featureCounts' summary order.
    pub const ALL: [Category; Category::COUNT] = [
        Category::Assigned,
        Category::Unmapped,
        Category::ReadType,
        Category::Singleton,
        Category::MappingQuality,
        Category::Chimera,
        Category::FragmentLength,
        Category::Duplicate,
        Category::MultiMapping,
        Category::Secondary,
        Category::NonSplit,
        Category::NoFeatures,
        Category::OverlappingLength,
        Category::Ambiguity,
    ];

    /// featureCounts' exact name.
    pub fn name(self) -> &'static str {
        match self {
            Category::Assigned => "Assigned",
            Category::Unmapped => "Unassigned_Unmapped",
            Category::ReadType => "Unassigned_Read_Type",
            Category::Singleton => "Unassigned_Singleton",
            Category::MappingQuality => "Unassigned_MappingQuality",
            Category::Chimera => "Unassigned_Chimera",
            Category::FragmentLength => "Unassigned_FragmentLength",
            Category::Duplicate => "Unassigned_Duplicate",
            Category::MultiMapping => "Unassigned_MultiMapping",
            Category::Secondary => "Unassigned_Secondary",
            Category::NonSplit => "Unassigned_NonSplit",
            Category::NoFeatures => "Unassigned_NoFeatures",
            Category::OverlappingLength => "Unassigned_Overlapping_Length",
            Category::Ambiguity => "Unassigned_Ambiguity",
        }
    }
}

/// Per-sample tally of outcomes (alignment records, as featureCounts counts them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    counts: [u64; Category::COUNT],
}

impl Summary {
    /// Counts one alignment into `category`.
    #[inline]
    pub fn add(&mut self, category: Category) {
        self.counts[category as usize] += 1;
    }

    /// Sets a category's tally (reading a summary back from a per-sample file).
    pub fn set(&mut self, category: Category, n: u64) {
        self.counts[category as usize] = n;
    }

    /// The tally of one category.
    pub fn get(&self, category: Category) -> u64 {
        self.counts[category as usize]
    }

    /// Every alignment record seen.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another tally (associative and commutative, so merge order never matters).
    pub fn merge(&mut self, other: &Summary) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
    }
}
