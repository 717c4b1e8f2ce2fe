//! The genome layer's QC against plink2 2.00a3.5 (`--freq --hardy --missing`) and bcftools 1.16
//! (`stats -s -`, its per-sample PSC counts), Debian's packages, installed by `.ci/run`, on two
//! real VCFs Bioconductor's VariantAnnotation ships (`test-data/real/genotypes/`): 22 HapMap
//! exomes on chr22 (GATK VQSR calls, missing calls, multiallelic records, indels) and five 1000
//! Genomes phase 1 samples on chr22 (imputed: GT, DS and MaCH's RSQ). Ignored by default because
//! it needs `plink2` and `bcftools` on the PATH.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;

fn run(program: &str, args: &[&str]) {
    let o = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e} (is it installed?)"));
    assert!(o.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A whitespace-separated plink2 report keyed by its ID column: column name → value.
fn plink_table(path: &Path, key: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> =
        lines.next().expect("header").split_whitespace().map(|h| h.trim_start_matches('#').to_string()).collect();
    let k =
        header.iter().position(|h| h == key).unwrap_or_else(|| panic!("{}: no {key} in {header:?}", path.display()));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[k].to_string(), header.iter().cloned().zip(f.iter().map(|s| s.to_string())).collect())
        })
        .collect()
}

fn parse(v: &str) -> f64 {
    v.parse().unwrap_or_else(|_| panic!("{v:?} is not a number"))
}

/// Runs `quant genotypes` and plink2 and bcftools on `vcf`; compares every variant's call rate,
/// ALT frequency, genotype counts and HWE p, and every sample's missingness, genotype counts,
/// Ti/Tv classes and indels. Returns (variants, samples) compared.
fn compare(vcf: &Path) -> (usize, usize) {
    let dir = Workdir::new();
    let out = dir.join("ours");
    let o = harmonomics(&["quant", "genotypes", "--vcf", arg(vcf), "--out-dir", arg(&out), "--dosage", "gt"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let prefix = dir.join("plink");
    run(
        "plink2",
        &[
            "--vcf",
            arg(vcf),
            "--vcf-half-call",
            "m",
            "--max-alleles",
            "2",
            "--allow-extra-chr",
            "--set-all-var-ids",
            "@:#:$r:$a",
            "--new-id-max-allele-len",
            "8000",
            "--freq",
            "--hardy",
            "--missing",
            "--out",
            arg(&prefix),
        ],
    );
    let afreq = plink_table(&prefix.with_extension("afreq"), "ID");
    let hardy = plink_table(&prefix.with_extension("hardy"), "ID");
    let vmiss = plink_table(&prefix.with_extension("vmiss"), "ID");
    let smiss = plink_table(&prefix.with_extension("smiss"), "IID");

    let (features, _) = read_parquet(&out.join("features.parquet"));
    let ids = strings(&features, "feature_id");
    let called = primitive_u32(&features, "called");
    let missing_rate = f64s(&features, "missing_rate");
    let alt_frequency = f64s(&features, "alt_frequency");
    let hwe_p = f64s(&features, "hwe_p");
    let het = primitive_u32(&features, "het");
    let (hom_ref, hom_alt) = (primitive_u32(&features, "hom_ref"), primitive_u32(&features, "hom_alt"));
    assert_eq!(ids.len(), afreq.len(), "plink2 --max-alleles 2 keeps the variants we keep");
    for (i, id) in ids.iter().enumerate() {
        let id = id.as_deref().expect("id");
        let f = afreq.get(id).unwrap_or_else(|| panic!("{id} not in plink2's .afreq"));
        assert_eq!(u64::from(called[i]) * 2, parse(&f["OBS_CT"]) as u64, "{id}: observed alleles");
        match alt_frequency[i] {
            Some(ours) => assert!(
                (ours - parse(&f["ALT_FREQS"])).abs() < 1e-6,
                "{id}: ALT frequency {ours} vs {}",
                f["ALT_FREQS"]
            ),
            None => assert_eq!(f["ALT_FREQS"], "NA", "{id}"),
        }
        let m = &vmiss[id];
        assert!((missing_rate[i].expect("rate") - parse(&m["F_MISS"])).abs() < 1e-6, "{id}: F_MISS");
        let h = &hardy[id];
        // plink2 2.00a3.5's .hardy counts from A1, which is REF here (later versions pick A1 = ALT).
        let (a1, a1_het, ax) =
            (parse(&h["HOM_A1_CT"]) as u64, parse(&h["HET_A1_CT"]) as u64, parse(&h["TWO_AX_CT"]) as u64);
        let theirs = if h["A1"] == h["AX"] {
            panic!("{id}: A1 = AX")
        } else if h["A1"] == *id.split(':').nth(2).unwrap() {
            (a1, a1_het, ax)
        } else {
            (ax, a1_het, a1)
        };
        assert_eq!((u64::from(hom_ref[i]), u64::from(het[i]), u64::from(hom_alt[i])), theirs, "{id}: genotype counts");
        let (ours, theirs) = (hwe_p[i].expect("p"), parse(&h["P"]));
        // plink2 prints 6 significant digits.
        assert!((ours - theirs).abs() <= 5e-6 * theirs, "{id}: HWE p {ours} vs plink2 {theirs}");
    }

    // bcftools stats on the biallelic records, per sample.
    let biallelic = dir.join("biallelic.vcf");
    run("bcftools", &["view", "-m2", "-M2", "-e", "ALT~\"<\" || ALT=\"*\"", "-o", arg(&biallelic), arg(vcf)]);
    let stats = Command::new("bcftools").args(["stats", "-s", "-", arg(&biallelic)]).output().expect("bcftools");
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
    let psc: BTreeMap<String, Vec<u64>> = String::from_utf8_lossy(&stats.stdout)
        .lines()
        .filter(|l| l.starts_with("PSC\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            // [3] sample, [4] nRefHom, [5] nNonRefHom, [6] nHets, [7] nTransitions, [8] nTransversions,
            // [9] nIndels, [12] nHapRef, [13] nHapAlt, [14] nMissing.
            let n = |k: usize| f[k].parse::<u64>().expect("count");
            (f[2].to_string(), vec![n(3), n(4), n(5), n(6), n(7), n(8), n(13)])
        })
        .collect();
    let (qc, _) = read_parquet(&out.join("qc.parquet"));
    let samples = strings(&qc, "sample_id");
    let col = |name: &str| u64s(&qc, name);
    let (hr, ha, he, ts, tv, ind, mis) = (
        col("hom_ref"),
        col("hom_alt"),
        col("het"),
        col("transitions"),
        col("transversions"),
        col("indels"),
        col("missing"),
    );
    let smiss_rate = f64s(&qc, "missing_rate");
    assert_eq!(samples.len(), psc.len());
    for (j, s) in samples.iter().enumerate() {
        let s = s.as_deref().expect("sample");
        let [hr, ha, he, ts, tv, ind, mis] =
            [hr[j], ha[j], he[j], ts[j], tv[j], ind[j], mis[j]].map(|v| v.expect("count"));
        let b = &psc[s];
        // bcftools counts a non-reference genotype at an indel under nIndels only, not as het or
        // hom-ALT; our het and hom_alt count every variant.
        assert_eq!(
            [hr, ha + he, ts, tv, ind, mis],
            [b[0], b[1] + b[2] + b[5], b[3], b[4], b[5], b[6]],
            "{s}: hom-ref, non-ref calls, Ts, Tv, indels, missing vs bcftools PSC"
        );
        assert!((smiss_rate[j].expect("rate") - parse(&smiss[s]["F_MISS"])).abs() < 1e-6, "{s}: F_MISS vs plink2");
    }
    (ids.len(), samples.len())
}

fn primitive_u32(batch: &arrow_array::RecordBatch, name: &str) -> Vec<u32> {
    let col = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    arrow_array::cast::AsArray::as_primitive::<arrow_array::types::UInt32Type>(col.as_ref()).values().to_vec()
}

#[test]
#[ignore = "needs plink2 and bcftools (Debian packages; .ci/run installs them)"]
fn variant_and_sample_qc_match_plink2_and_bcftools_on_real_vcfs() {
    let real = repo().join("test-data/real/genotypes");
    let (variants, samples) = compare(&real.join("hapmap_exome_chr22.vcf.gz"));
    assert_eq!((variants, samples), (971, 22));
    let (variants, samples) = compare(&real.join("chr22.vcf.gz"));
    assert_eq!((variants, samples), (10_376, 5));
}

#[test]
fn dosages_come_from_ds_where_present_and_from_gt_when_asked() {
    let vcf = repo().join("test-data/real/genotypes/chr22.vcf.gz");
    let dir = Workdir::new();
    let read = |dosage: &str| {
        let out = dir.join(dosage);
        let o = harmonomics(&["quant", "genotypes", "--vcf", arg(&vcf), "-o", arg(&out), "--dosage", dosage]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (raw, meta) = read_parquet(&out.join("raw.parquet"));
        assert_eq!(meta.get("harmonomics.dosage").map(String::as_str), Some(dosage));
        let (features, _) = read_parquet(&out.join("features.parquet"));
        (f64s(&raw, "HG00097"), f64s(&features, "imputation_r2"))
    };
    let (ds, r2) = read("auto");
    let (gt, _) = read("gt");
    assert_eq!(ds.len(), 10_376);
    // Imputed dosages differ from the hard calls somewhere, but never by a whole allele, and the
    // hard calls are whole numbers.
    assert!(ds.iter().zip(&gt).any(|(d, g)| d != g));
    assert!(ds.iter().zip(&gt).all(|(d, g)| (d.unwrap() - g.unwrap()).abs() <= 1.0));
    assert!(gt.iter().all(|g| g.unwrap().fract() == 0.0));
    // The first record's RSQ=0.9856 (MaCH's imputation r²) is carried, at f32 precision.
    assert!((r2[0].unwrap() - 0.9856).abs() < 1e-6, "{:?}", r2[0]);
}

#[test]
#[ignore = "needs bcftools (Debian package; .ci/run installs it)"]
fn bcf_and_plain_vcf_give_the_same_tables_as_bgzipped_vcf() {
    let vcf = repo().join("test-data/real/genotypes/hapmap_exome_chr22.vcf.gz");
    let dir = Workdir::new();
    let bcf = dir.join("hapmap.bcf");
    let plain = dir.join("hapmap.vcf");
    run("bcftools", &["view", "-O", "b", "-o", arg(&bcf), arg(&vcf)]);
    run("bcftools", &["view", "-O", "v", "-o", arg(&plain), arg(&vcf)]);
    let tables = |input: &Path, name: &str| {
        let out = dir.join(name);
        let o = harmonomics(&["quant", "genotypes", "--vcf", arg(input), "-o", arg(&out)]);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        ["raw.parquet", "features.parquet", "qc.parquet"].map(|f| {
            // The columns, not the metadata (it names the input file).
            let (batch, _) = read_parquet(&out.join(f));
            (batch.schema().fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>(), batch.columns().to_vec())
        })
    };
    let reference = tables(&vcf, "vcf.gz");
    assert_eq!(reference[0].1[0].len(), 971);
    assert_eq!(tables(&bcf, "bcf"), reference, "BCF");
    assert_eq!(tables(&plain, "vcf"), reference, "plain VCF");
}

#[test]
fn unsorted_and_duplicated_records_are_refused_with_the_record() {
    let dir = Workdir::new();
    let header = "##fileformat=VCFv4.2\n##contig=<ID=1>\n##contig=<ID=2>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"GT\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n";
    let cases = [
        (
            "unsorted.vcf",
            "1\t200\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n",
            "record 2: 1:100:A:G comes after position 200",
        ),
        (
            "split.vcf",
            "1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n2\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n1\t300\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n",
            "record 3: contig 1 appears again",
        ),
        (
            "twice.vcf",
            "1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\n1\t100\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/0\n1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/0\t0/0\n",
            "record 3: variant 1:100:A:G appears twice",
        ),
    ];
    for (name, body, expected) in cases {
        let path = dir.write(name, &format!("{header}{body}"));
        let out = dir.join(&format!("{name}.out"));
        let o = harmonomics(&["quant", "genotypes", "--vcf", arg(&path), "-o", arg(&out)]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(name) && stderr.contains(expected), "{name}: {stderr}");
        assert!(
            !out.join("raw.parquet").exists() && !out.join("features.parquet").exists(),
            "{name}: nothing half-written"
        );
    }
}

/// A deterministic chrX (and chrY) VCF: `males` haploid on chrX, the rest diploid, with missing
/// calls; returns the VCF text and each sample's sex code (1 male, 2 female).
fn sex_chromosome_vcf(samples: usize, males: usize, sites: usize) -> (String, Vec<u8>) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from(
        "##fileformat=VCFv4.2\n##contig=<ID=chrX,length=156040895>\n##contig=<ID=chrY,length=57227415>\n\
##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT",
    );
    for s in 0..samples {
        text.push_str(&format!("\tS{s}"));
    }
    text.push('\n');
    // One PAR1 site first: every sample diploid there, and it must not count.
    text.push_str("chrX\t100000\t.\tA\tG\t.\tPASS\t.\tGT");
    for _ in 0..samples {
        text.push_str("\t0/1");
    }
    text.push('\n');
    for i in 0..sites {
        let p = 0.05 + 0.45 * next();
        text.push_str(&format!("chrX\t{}\t.\tC\tT\t.\tPASS\t.\tGT", 3_000_000 + 1_000 * i));
        for s in 0..samples {
            let allele = |u: f64| u8::from(u < p);
            let gt = if next() < 0.04 {
                if s < males { ".".to_string() } else { "./.".to_string() }
            } else if s < males {
                allele(next()).to_string()
            } else {
                format!("{}/{}", allele(next()), allele(next()))
            };
            text.push('\t');
            text.push_str(&gt);
        }
        text.push('\n');
    }
    for i in 0..20 {
        text.push_str(&format!("chrY\t{}\t.\tG\tA\t.\tPASS\t.\tGT", 3_000_000 + 1_000 * i));
        for s in 0..samples {
            text.push_str(if s < males { "\t0" } else { "\t." });
        }
        text.push('\n');
    }
    let sexes = (0..samples).map(|s| if s < males { 1 } else { 2 }).collect();
    (text, sexes)
}

#[test]
#[ignore = "needs plink 1.9 (Debian plink1.9; .ci/run installs it)"]
fn sex_check_matches_plink_1_9() {
    let dir = Workdir::new();
    let (text, sexes) = sex_chromosome_vcf(30, 14, 400);
    let vcf = dir.write("sex.vcf", &text);
    let update = dir
        .write("sex.txt", &sexes.iter().enumerate().map(|(s, sex)| format!("S{s} S{s} {sex}\n")).collect::<String>());
    let prefix = dir.join("plink");
    // plink counts the pseudo-autosomal regions as chrX unless they are split off first.
    let split = dir.join("split");
    run(
        "plink1.9",
        &["--vcf", arg(&vcf), "--double-id", "--split-x", "hg38", "no-fail", "--make-bed", "--out", arg(&split)],
    );
    run("plink1.9", &["--bfile", arg(&split), "--update-sex", arg(&update), "--check-sex", "--out", arg(&prefix)]);
    let report = std::fs::read_to_string(prefix.with_extension("sexcheck")).expect("plink .sexcheck");
    let plink: BTreeMap<String, (String, f64)> = report
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), (f[3].to_string(), parse(f[5])))
        })
        .collect();
    let out = dir.join("ours");
    let o = harmonomics(&["quant", "genotypes", "--vcf", arg(&vcf), "-o", arg(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (qc, _) = read_parquet(&out.join("qc.parquet"));
    let (ids, f, sex, y) =
        (strings(&qc, "sample_id"), f64s(&qc, "x_f"), strings(&qc, "inferred_sex"), u64s(&qc, "y_called"));
    assert_eq!(ids.len(), 30);
    for j in 0..30 {
        let id = ids[j].as_deref().unwrap();
        let (code, theirs) = &plink[id];
        let ours = f[j].expect("F");
        // plink prints F with 4 significant digits.
        assert!((ours - theirs).abs() <= 6e-4 * theirs.abs().max(0.1), "{id}: F {ours} vs plink {theirs}");
        let expected = match code.as_str() {
            "1" => "male",
            "2" => "female",
            _ => "unknown",
        };
        assert_eq!(sex[j].as_deref(), Some(expected), "{id}: SNPSEX {code}");
        assert_eq!(expected, if sexes[j] == 1 { "male" } else { "female" }, "{id}: the planted sex is found");
        assert_eq!(y[j], Some(if sexes[j] == 1 { 20 } else { 0 }), "{id}: chrY calls");
    }
}

/// The first `k` columns of plink2's `.eigenvec`, by sample.
fn eigenvec(path: &Path, k: usize) -> BTreeMap<String, Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1..=k].iter().map(|v| parse(v)).collect())
        })
        .collect()
}

#[test]
#[ignore = "needs plink2 (Debian package; .ci/run installs it)"]
fn ancestry_components_equal_plink2_pca_and_pruning_keeps_nearly_plink2s_set() {
    let vcf = repo().join("test-data/real/genotypes/hapmap_exome_chr22.vcf.gz");
    let dir = Workdir::new();
    let out = dir.join("ours");
    let o = harmonomics(&["quant", "genotypes", "--vcf", arg(&vcf), "--out-dir", arg(&out), "--dosage", "gt", "--pca"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ancestry, meta) = read_parquet(&out.join("ancestry.parquet"));
    let ours: Vec<String> = meta["harmonomics.ancestry.variants"].split(',').map(str::to_string).collect();
    let eigenvalues: Vec<f64> = meta["harmonomics.ancestry.eigenvalues"].split(',').map(parse).collect();
    assert_eq!(ours.len(), meta["harmonomics.ancestry.variants_kept"].parse::<usize>().expect("kept"));
    let list = dir.write("ours.txt", &ours.iter().map(|v| format!("{v}\n")).collect::<String>());

    // plink2's PCA on exactly our variants (it wants frequencies from a file under 50 samples).
    let common = [
        "--vcf",
        arg(&vcf),
        "--max-alleles",
        "2",
        "--set-all-var-ids",
        "@:#:$r:$a",
        "--new-id-max-allele-len",
        "8000",
        "--allow-extra-chr",
    ];
    let prefix = dir.join("plink");
    run("plink2", &[&common[..], &["--freq", "--out", arg(&prefix)]].concat());
    let afreq = prefix.with_extension("afreq");
    let k = 3;
    let pca = dir.join("pca");
    let args = ["--extract", arg(&list), "--read-freq", arg(&afreq), "--pca", "3", "--out", arg(&pca)];
    run("plink2", &[&common[..], &args[..]].concat());
    let theirs_values: Vec<f64> =
        std::fs::read_to_string(pca.with_extension("eigenval")).expect("eigenval").lines().map(parse).collect();
    for (ours, theirs) in eigenvalues.iter().zip(&theirs_values).take(k) {
        assert!((ours - theirs).abs() < 1e-4 * theirs, "{eigenvalues:?} {theirs_values:?}");
    }
    let theirs = eigenvec(&pca.with_extension("eigenvec"), k);
    let samples = strings(&ancestry, "sample_id");
    #[allow(clippy::needless_range_loop)]
    for c in 0..k {
        let mine = f64s(&ancestry, &format!("pc{}", c + 1));
        let their: Vec<f64> = samples.iter().map(|s| theirs[s.as_deref().expect("id")][c]).collect();
        let norm = their.iter().map(|x| x * x).sum::<f64>().sqrt();
        let dot: f64 = mine.iter().zip(&their).map(|(a, b)| a.expect("pc") * b / norm).sum();
        assert!(dot.abs() > 1.0 - 1e-6, "PC{}: |cos| = {}", c + 1, dot.abs());
    }

    // plink2's own pruning (a different windowing than plink 1.07's) keeps nearly the same set.
    let pruned = dir.join("prune");
    let args = ["--maf", "0.05", "--bad-ld", "--indep-pairwise", "50", "5", "0.2", "--out", arg(&pruned)];
    run("plink2", &[&common[..], &args[..]].concat());
    let kept: Vec<String> = std::fs::read_to_string(pruned.with_extension("prune.in"))
        .expect("prune.in")
        .lines()
        .map(str::to_string)
        .collect();
    let shared = ours.iter().filter(|v| kept.contains(v)).count();
    eprintln!("pruning: ours {} variants, plink2 {}, shared {shared}", ours.len(), kept.len());
    assert!(shared as f64 >= 0.8 * ours.len().max(kept.len()) as f64, "ours {ours:?} plink2 {kept:?}");
}
