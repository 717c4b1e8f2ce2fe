//! The microbiome layer's statistics against vegan 2.6 (Debian `r-cran-vegan`, installed by
//! `.ci/run`) on two real taxon count tables vegan ships (BCI: 225 tree species × 50 plots;
//! mite: 35 oribatid mite taxa × 70 soil cores; `tests/r/reference_vegan.R` writes the tables
//! and vegan's values), and against scikit-bio (`tests/python/reference_skbio.py`) for what
//! vegan does not have (multiplicative replacement of zeros). Ignored by default because it
//! needs `Rscript` with vegan (`HARMONOMICS_RSCRIPT` overrides the command) and scikit-bio
//! (`HARMONOMICS_PYTHON`).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use harmonomics::microbiome::{composition, diversity};

/// A samples × columns table written by the R script: row names and values.
fn table(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let (_, rows) = read_tsv(path);
    let names = rows.iter().map(|r| r[0].clone()).collect();
    let values = rows.iter().map(|r| r[1..].iter().map(|v| v.parse().expect("number")).collect()).collect();
    (names, values)
}

/// Asserts `got` equals vegan's `want` within 1e-12 relative (and 1e-13 absolute near zero);
/// returns the number of values compared.
fn assert_close(what: &str, got: &[Vec<f64>], want: &[Vec<f64>]) -> usize {
    assert_eq!(got.len(), want.len(), "{what}: rows");
    let mut n = 0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: row {i} length");
        for (j, (g, w)) in g.iter().zip(w).enumerate() {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(0.1), "{what} [{i}, {j}]: {g} vs vegan {w}");
            n += 1;
        }
    }
    n
}

#[test]
#[ignore = "needs Rscript with vegan (r-cran-vegan); .ci/run installs it"]
fn diversity_and_log_ratios_match_vegan_on_real_count_tables() {
    let dir = Workdir::new();
    let rscript = std::env::var("HARMONOMICS_RSCRIPT").unwrap_or_else(|_| "Rscript".into());
    let o = Command::new(rscript)
        .arg(repo().join("tests/r/reference_vegan.R"))
        .arg(dir.path())
        .output()
        .expect("Rscript with vegan (set HARMONOMICS_RSCRIPT)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut compared = 0;
    for set in ["BCI", "mite"] {
        let base = dir.join(set);
        let (samples, counts) = table(&base.join("counts.tsv"));
        assert!(samples.len() >= 50 && counts[0].len() >= 35, "{set}: the whole table");
        assert!(counts.iter().flatten().any(|v| *v == 0.0), "{set}: zeros to replace");

        let alpha: Vec<Vec<f64>> = counts
            .iter()
            .map(|x| {
                vec![
                    diversity::observed(x).unwrap() as f64,
                    diversity::shannon(x).unwrap(),
                    diversity::simpson(x).unwrap(),
                    diversity::chao1(x).unwrap(),
                ]
            })
            .collect();
        compared += assert_close(&format!("{set} alpha"), &alpha, &table(&base.join("alpha.tsv")).1);

        let clr: Vec<Vec<f64>> = counts.iter().map(|x| composition::clr(x, 1.0).unwrap()).collect();
        compared += assert_close(&format!("{set} clr"), &clr, &table(&base.join("clr.tsv")).1);
        let rclr: Vec<Vec<f64>> = counts.iter().map(|x| composition::rclr(x).unwrap()).collect();
        compared += assert_close(&format!("{set} rclr"), &rclr, &table(&base.join("rclr.tsv")).1);

        let pairwise = |f: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
            (0..counts.len()).map(|i| (0..counts.len()).map(|j| f(i, j)).collect()).collect()
        };
        let bray = pairwise(&|i, j| diversity::bray_curtis(&counts[i], &counts[j]).unwrap());
        compared += assert_close(&format!("{set} Bray-Curtis"), &bray, &table(&base.join("bray.tsv")).1);
        let aitchison = pairwise(&|i, j| diversity::euclidean(&clr[i], &clr[j]).unwrap());
        compared += assert_close(&format!("{set} Aitchison"), &aitchison, &table(&base.join("aitchison.tsv")).1);
        // PCoA of the Bray-Curtis distances: R's cmdscale (LAPACK's eigen), each axis up to its
        // sign; our subspace iteration stops when the eigenvalues settle to 1e-15, which leaves
        // the eigenvectors within about 1e-8.
        let pcoa = harmonomics::stats::pca::pcoa(&bray).expect("a PCoA");
        let want = table(&base.join("pcoa_bray.tsv")).1;
        let scale = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        for axis in 0..2 {
            let sign = if pcoa.scores.iter().zip(&want).map(|(g, w)| g[axis] * w[axis]).sum::<f64>() < 0.0 {
                -1.0
            } else {
                1.0
            };
            for (i, (g, w)) in pcoa.scores.iter().zip(&want).enumerate() {
                let (g, w) = (sign * g[axis], w[axis]);
                assert!((g - w).abs() <= 1e-7 * scale, "{set} PCoA axis {} [{i}]: {g} vs cmdscale {w}", axis + 1);
                compared += 1;
            }
        }
        let explained = &table(&base.join("pcoa_bray_explained.tsv")).1[0];
        for (axis, (got, want)) in pcoa.explained.iter().zip(explained).enumerate() {
            assert!((got - want).abs() <= 1e-12, "{set} PCoA explained on axis {}: {got} vs {want}", axis + 1);
        }

        // scikit-bio: the same alpha indices (Shannon with base e), and CLR after replacing zeros.
        let o = Command::new(reference_python())
            .arg(repo().join("tests/python/reference_skbio.py"))
            .arg(base.join("counts.tsv"))
            .arg(&base)
            .output()
            .expect("python with scikit-bio (set HARMONOMICS_PYTHON)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let alpha_skbio: Vec<Vec<f64>> = alpha.iter().map(|a| a[1..].to_vec()).collect();
        compared +=
            assert_close(&format!("{set} alpha (scikit-bio)"), &alpha_skbio, &table(&base.join("skbio_alpha.tsv")).1);
        let replaced: Vec<Vec<f64>> = counts.iter().map(|x| composition::clr_replaced(x, None).unwrap()).collect();
        compared += assert_close(
            &format!("{set} clr(multi_replace) (scikit-bio)"),
            &replaced,
            &table(&base.join("skbio_clr_replaced.tsv")).1,
        );
    }
    assert!(compared > 20_000, "{compared} values compared");
}

/// A features × samples TSV written by `reference_biom.py`: feature → values in sample order.
fn by_feature(path: &Path) -> (Vec<String>, std::collections::BTreeMap<String, Vec<f64>>) {
    let (header, rows) = read_tsv(path);
    let values =
        rows.into_iter().map(|r| (r[0].clone(), r[1..].iter().map(|v| v.parse().unwrap()).collect())).collect();
    (header[1..].to_vec(), values)
}

#[test]
#[ignore = "needs Python with biom-format (a scikit-bio dependency) and its `biom` command; .ci/run installs them"]
fn biom_tables_read_and_sum_to_genus_as_biom_format_does() {
    use harmonomics::microbiome::table;
    use harmonomics::microbiome::taxonomy::Rank;
    let dir = Workdir::new();
    let python = reference_python();
    // biom-format's own tables, as installed from PyPI: its test table and the QIIME example
    // (HDF5, BIOM 2.1) and the original QIIME 1 JSON (BIOM 1.0).
    let o = Command::new(&python)
        .args(["-c", "import biom, os; print(os.path.dirname(os.path.dirname(biom.__file__)))"])
        .output()
        .expect("python with biom-format");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let site = std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let biom = Path::new(&python).with_file_name("biom");
    let tables = [
        site.join("biom/tests/test_data/test.biom"),
        site.join("examples/rich_sparse_otu_table_hdf5.biom"),
        site.join("examples/rich_sparse_otu_table.biom"),
    ];
    let mut compared = 0;
    for (k, source) in tables.iter().enumerate() {
        let out = dir.join(&format!("t{k}"));
        let o = Command::new(&python)
            .arg(repo().join("tests/python/reference_biom.py"))
            .arg(source)
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", source.display(), String::from_utf8_lossy(&o.stderr));
        let (samples, genus) = by_feature(&out.join("genus.tsv"));
        let (_, observations) = by_feature(&out.join("observations.tsv"));
        // HDF5 is refused with the command to run; its `biom convert` JSON and TSV are read.
        let hdf5 = std::fs::read(source).unwrap().starts_with(b"\x89HDF");
        let mut readings = Vec::new();
        if hdf5 {
            let e = table::read_biom_json(source).unwrap_err().to_string();
            assert!(e.contains("biom convert"), "{e}");
            for (to, name) in [("--to-json", "table.json"), ("--to-tsv", "table.tsv")] {
                let mut c = Command::new(&biom);
                c.args(["convert", "-i"]).arg(source).arg("-o").arg(out.join(name)).arg(to);
                if to == "--to-tsv" {
                    c.args(["--header-key", "taxonomy"]);
                }
                let o = c.output().expect("the biom command beside the python");
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
            readings.push(table::read_biom_json(&out.join("table.json")).unwrap());
            readings.push(table::read_delimited(&out.join("table.tsv")).unwrap());
        } else {
            readings.push(table::read_biom_json(source).unwrap());
        }
        for t in readings {
            assert_eq!(t.sample_ids, samples, "{}", source.display());
            for (i, id) in t.feature_ids.iter().enumerate() {
                let want = &observations[id];
                for (j, w) in want.iter().enumerate() {
                    assert_eq!(t.columns[j][i], *w, "{} {id} {}", source.display(), samples[j]);
                    compared += 1;
                }
            }
            let m = t.at_rank(Rank::Genus);
            assert_eq!(m.feature_ids, genus.keys().cloned().collect::<Vec<_>>(), "{}", source.display());
            for (i, id) in m.feature_ids.iter().enumerate() {
                for (j, w) in genus[id].iter().enumerate() {
                    assert_eq!(m.columns[j].as_ref().unwrap()[i], *w, "{} genus {id}", source.display());
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 150, "{compared} values compared");
}

#[test]
#[ignore = "needs Debian's kraken2 (apt-get install kraken2); .ci/run installs it"]
fn a_real_kraken2_report_sums_to_each_rank_as_kraken2_counts_its_clades() {
    use harmonomics::microbiome::profile::{Abundance, read_kraken_report};
    use harmonomics::microbiome::taxonomy::Rank;
    let dir = Workdir::new();
    let o = Command::new("bash").arg(repo().join("tests/kraken2_reference.sh")).arg(dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = dir.join("report.txt");
    let profile = read_kraken_report(&report).unwrap();
    assert_eq!(profile.abundance, Abundance::Reads);
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let reads = |l: &[&str]| l[1].trim().parse::<f64>().unwrap();
    let total: f64 =
        lines.iter().filter(|l| matches!(l[3], "U" | "R" | "") && l[5].trim() == l[5]).map(|l| reads(l)).sum();
    let mut compared = 0;
    // kraken2's own clade count of every taxon at a rank is the sum we give that rank's row, and
    // its unclassified reads are the `Unclassified` row.
    for (rank, code, prefix) in [(Rank::Family, "F", "f__"), (Rank::Genus, "G", "g__"), (Rank::Species, "S", "s__")] {
        let ours = profile.at_rank(rank);
        assert_eq!(ours.iter().map(|(_, v)| v).sum::<f64>(), total, "{rank:?}: every read once");
        for l in lines.iter().filter(|l| l[3] == code) {
            let name = l[5].trim();
            let row = ours
                .iter()
                .find(|(id, _)| id.ends_with(&format!("{prefix}{name}")))
                .unwrap_or_else(|| panic!("{name}"));
            assert_eq!(row.1, reads(l), "{rank:?} {name}");
            compared += 1;
        }
        let unclassified = lines.iter().find(|l| l[3] == "U").map(|l| reads(l)).unwrap_or(0.0);
        assert_eq!(ours.iter().find(|(id, _)| id == "Unclassified").map(|r| r.1), Some(unclassified));
    }
    // The per-read output agrees: as many classified reads as the root's clade.
    let classified = std::fs::read_to_string(dir.join("classified.txt")).unwrap();
    let root = lines.iter().find(|l| l[5] == "root").map(|l| reads(l)).unwrap();
    assert_eq!(classified.lines().filter(|l| l.starts_with('C')).count() as f64, root);
    assert!(compared >= 6, "{compared} ranks compared");
}
