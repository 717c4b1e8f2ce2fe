//! `report.html` and the MultiQC files: every plot is there with the marks the cohort implies,
//! the page is self-contained, headless Chromium renders it without script errors, and MultiQC
//! itself parses our custom content into the values we wrote.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The fixture with ComBat on (so the report has before/after PCA panels), run into `dir/run`.
fn run_with_combat(dir: &Workdir) -> PathBuf {
    let config = dir
        .write("cohort.toml", &format!("{}\n[batch_correction]\nmethod = \"combat\"\n", portable_fixture_config(true)));
    let out = dir.join("run");
    let o = run_cohort(&config, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

const PLOTS: [&str; 11] = [
    "plot-library-sizes",
    "plot-pca-transcriptome-normalised",
    "plot-pca-transcriptome-batch-corrected",
    "plot-pca-epigenome-normalised",
    "plot-pca-metabolome-normalised",
    "plot-pca-metabolome-batch-corrected",
    "plot-pca-genome-normalised",
    "plot-pca-microbiome-normalised",
    "plot-completeness",
    "plot-window-deviations",
    "plot-identity",
];

/// The HTML of figure `id`.
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<figure id=\"{id}\"")).unwrap_or_else(|| panic!("no figure {id}"));
    let end = html[start..].find("</figure>").expect("figure end");
    &html[start..start + end]
}

#[test]
fn every_plot_has_the_marks_the_cohort_implies_and_the_page_is_self_contained() {
    let dir = Workdir::new();
    let out = run_with_combat(&dir);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    let marks = |id: &str| figure(&html, id).matches("data-mark").count();
    // 39 RNA samples: a stacked bar and a rate dot each.
    assert_eq!(marks("plot-library-sizes"), 2 * 39);
    // Each PCA figure: two panels (by timepoint, by batch) of one point per sample.
    for id in &PLOTS[1..6] {
        assert_eq!(marks(id), 2 * 39, "{id}");
    }
    // The genome: one point per patient.
    assert_eq!(marks("plot-pca-genome-normalised"), 2 * 8);
    // The microbiome's two low-depth libraries have no normalised values: 37 points.
    assert_eq!(marks("plot-pca-microbiome-normalised"), 2 * 37);
    // 8 patients × 4 layers × 5 timepoints, and one genome tile per patient; P08 has no month-12
    // draw (4 tiles), P06's month 3 lies outside its window (4 tiles).
    let grid = figure(&html, "plot-completeness");
    assert_eq!(marks("plot-completeness"), 8 * 20 + 8);
    assert_eq!(grid.matches("fill=\"#e15759\"").count(), 4);
    assert_eq!(grid.matches("fill=\"#edc948\"").count(), 4);
    // One point per dated draw (patient × timepoint), P06's month 3 in red and named.
    let windows = figure(&html, "plot-window-deviations");
    assert_eq!(marks("plot-window-deviations"), 39);
    assert!(windows.contains("Outside their window: P06 month3 (+21 days)"), "{windows}");
    // Identity: every pair of the 86 samples and genomes drawn twice (above and below the
    // diagonal); the suspect table names the planted swap; the sex table marks P03 alone.
    assert_eq!(marks("plot-identity"), 86 * 85);
    assert!(html.contains("<td>P04_discharge</td><td>transcriptome</td><td>P04</td><td>swap</td><td>P07</td>"));
    assert_eq!(html.matches("<tr class=\"mismatch\">").count(), 1);
    assert!(html.contains("<tr class=\"mismatch\"><td>P03</td><td>P03_germline</td><td>M</td><td>female</td>"));
    // The silhouette table shows the batch grouping falling.
    assert!(html.contains("<td>transcriptome (normalised)</td><td>238</td><td>238</td><td>0.19</td>"), "table");
    assert!(html.contains("<td>transcriptome (batch-corrected)</td><td>238</td><td>238</td><td>-0.02</td>"));
    // Self-contained: nothing fetched (the only URL is the SVG namespace).
    assert!(!html.contains(" src=") && !html.contains(" href="));
    assert_eq!(html.matches("http").count(), html.matches("http://www.w3.org/2000/svg").count());
}

/// `chromium --headless` on `page`, returning (DOM after scripts ran, stderr).
fn chromium(page: &Path, extra: &[&str]) -> (String, String) {
    let o = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (apt install chromium)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it"]
fn the_report_renders_in_headless_chromium_without_script_errors() {
    let dir = Workdir::new();
    let out = run_with_combat(&dir);
    let page = out.join("report.html");
    let (dom, stderr) = chromium(&page, &["--dump-dom"]);
    // The page's own check ran: every figure drew marks, no script error was recorded.
    assert!(dom.contains(&format!("data-plots-ok=\"{0}/{0}\"", PLOTS.len())), "{}", &dom[..dom.len().min(2000)]);
    assert!(!dom.contains("data-js-errors=\""), "script errors in the page");
    for id in PLOTS {
        assert!(dom.contains(&format!("<figure id=\"{id}\"")), "{id} missing from the rendered DOM");
    }
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console output: {console:?}");
    // And it paints: a full-page screenshot is a real, non-trivial PNG.
    let shot = dir.join("report.png");
    chromium(&page, &["--window-size=1400,5000", &format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000, "screenshot of {} bytes", png.len());
}

#[test]
#[ignore = "needs MultiQC (HARMONOMICS_PYTHON's venv); .ci/run installs it"]
fn multiqc_parses_our_custom_content_into_the_values_we_wrote() {
    let dir = Workdir::new();
    let out = run_with_combat(&dir);
    let report = dir.join("multiqc");
    let python = reference_python();
    let o = Command::new(&python)
        .args(["-m", "multiqc", "--force", "--quiet", "--no-ai", "--outdir"])
        .arg(&report)
        .arg(out.join("multiqc"))
        .output()
        .expect("python -m multiqc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data = report.join("multiqc_data");
    let (header, rows) = read_tsv(&data.join("multiqc_harmonomics_transcriptome_assignment_plot.txt"));
    let (qc, _) = read_parquet(&out.join("transcriptome/qc.parquet"));
    let (ids, assigned) = (strings(&qc, "sample_id"), u64s(&qc, "Assigned"));
    let column = header.iter().position(|h| h == "Assigned").expect("Assigned");
    assert_eq!(rows.len(), 39);
    for row in &rows {
        let k = ids.iter().position(|i| i.as_deref() == Some(row[0].as_str())).expect("sample");
        assert_eq!(row[column].parse::<f64>().expect("number"), assigned[k].expect("assigned") as f64, "{}", row[0]);
    }
    let (header, rows) = read_tsv(&data.join("multiqc_harmonomics_completeness_plot.txt"));
    let missing = header.iter().position(|h| h == "missing").expect("missing");
    let month12 = rows.iter().find(|r| r[0] == "transcriptome 05 month12").expect("row");
    assert_eq!(month12[missing].parse::<f64>().expect("number"), 1.0);
    for table in ["transcriptome_qc", "epigenome_qc", "metabolome_qc"] {
        let (_, rows) = read_tsv(&data.join(format!("multiqc_harmonomics_{table}_table.txt")));
        assert!(rows.len() >= 39, "{table}: {} rows", rows.len());
    }
}
