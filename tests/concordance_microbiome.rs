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
