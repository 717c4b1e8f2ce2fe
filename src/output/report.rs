//! `report.html`: one self-contained page (inline SVG, a few lines of script, no network) with
//! the plots a cohort QC needs: library sizes and assignment rates, per-layer PCA coloured by
//! timepoint and by batch before and after correction, the completeness grid, how far each
//! blood draw lies from its protocol day, and the sample identity check (suspects, a patient ×
//! patient relatedness heatmap, the genome's sex check). Same inputs, same bytes: no timestamps (the manifest
//! has them).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::multiqc::LayerQc;
use crate::cohort::{Cohort, Layer, window};
use crate::io::OutputError;
use crate::io::atomic::write_bytes_atomic;
use crate::output::harmonised::GridCell;
use crate::stats::pca::Pca;

/// One PCA panel pair (coloured by timepoint and by batch) of one layer at one stage.
pub struct LayerPca {
    /// The layer.
    pub layer: Layer,
    /// `normalised` or `batch-corrected`.
    pub stage: &'static str,
    /// Sample ids, in the order of the PCA's scores.
    pub sample_ids: Vec<String>,
    /// Timepoint of each sample.
    pub timepoints: Vec<String>,
    /// Batch of each sample (empty when unknown).
    pub batches: Vec<String>,
    /// The PCA (None: too few samples or complete features).
    pub pca: Option<Pca>,
    /// Features complete in every sample (the PCA's candidates).
    pub complete_features: usize,
    /// Mean silhouette width by batch and by timepoint in the PCA's feature space.
    pub silhouette: (Option<f64>, Option<f64>),
}

/// Everything the page shows.
pub struct ReportInput<'a> {
    /// The cohort.
    pub cohort: &'a Cohort,
    /// The patient × timepoint × layer grid.
    pub grid: &'a [GridCell<'a>],
    /// Per-layer QC tables.
    pub qcs: &'a [LayerQc],
    /// PCA panels, in layer then stage order.
    pub pcas: &'a [LayerPca],
    /// The samplesheet column the batch colours come from.
    pub batch_column: &'a str,
    /// The identity check and the genome's sex check, when the cohort has them.
    pub identity: Option<&'a IdentityView>,
}

/// The identity check as the report shows it (read back from `identity/` and `genome/qc.parquet`).
#[derive(Clone, Debug, Default)]
pub struct IdentityView {
    /// The heatmap's rows and columns: (sample, patient) grouped by patient, or (patient, patient)
    /// in a large cohort.
    pub labels: Vec<(String, String)>,
    /// (label, label, sample pairs, summed LLR per shared site) for each pair checked.
    pub cells: Vec<(usize, usize, u64, Option<f64>)>,
    /// How many samples got each verdict.
    pub verdicts: Vec<(String, usize)>,
    /// Suspect samples: sample, layer, patient, verdict, best other patient, own LLR, its LLR.
    pub suspects: Vec<[String; 7]>,
    /// The genome's sex check: patient, sample, recorded sex, genetic sex, plink's F; and whether
    /// the recorded and the genetic sex disagree.
    pub sex: Vec<([String; 5], bool)>,
}

/// Heatmap of the summed likelihood ratio per shared site (green: one person), by sample grouped
/// by patient, or by patient.
fn identity_heatmap(v: &IdentityView) -> String {
    let n = v.labels.len();
    let cell = if n > 60 { 8.0 } else { 16.0 };
    let (left, top) = (100.0, 100.0);
    let size = left + n as f64 * cell + 20.0;
    let mut svg = open_svg(size, top + n as f64 * cell + 10.0);
    // One label per patient, at the middle of its block, and a line between blocks.
    let mut start = 0;
    for k in 1..=n {
        if k < n && v.labels[k].1 == v.labels[start].1 {
            continue;
        }
        let at = (start + k) as f64 / 2.0 * cell;
        let name = esc(&v.labels[start].1);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end" font-size="9">{name}</text><text transform="translate({:.1} {}) rotate(-60)" font-size="9">{name}</text>"#,
            left - 4.0,
            top + at + 3.0,
            left + at,
            top - 4.0,
        );
        if k < n {
            let edge = k as f64 * cell - 0.5;
            let _ = write!(
                svg,
                r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#888" stroke-width="0.5"/><line y1="{top}" y2="{:.1}" x1="{:.1}" x2="{:.1}" stroke="#888" stroke-width="0.5"/>"##,
                left + n as f64 * cell,
                top + edge,
                top + edge,
                top + n as f64 * cell,
                left + edge,
                left + edge
            );
        }
        start = k;
    }
    for &(p, q, pairs, per_site) in &v.cells {
        // Diverging: −0.5 or less red, 0 white, +0.5 or more green.
        let colour = per_site.map_or("#dddddd".to_string(), |x| {
            let t = (2.0 * x).clamp(-1.0, 1.0);
            let (r, g, b) = if t >= 0.0 {
                (255.0 - t * (255.0 - 89.0), 255.0 - t * (255.0 - 161.0), 255.0 - t * (255.0 - 79.0))
            } else {
                (255.0 + t * (255.0 - 225.0), 255.0 + t * (255.0 - 87.0), 255.0 + t * (255.0 - 89.0))
            };
            format!("#{:02x}{:02x}{:02x}", r.round() as u8, g.round() as u8, b.round() as u8)
        });
        for (x, y) in [(p, q), (q, p)] {
            if x == y && p != q {
                continue;
            }
            let _ = write!(
                svg,
                r##"<rect data-mark x="{:.1}" y="{:.1}" width="{cell}" height="{cell}" fill="{colour}"><title>{} × {}: {pairs} pair(s), LLR per site {}</title></rect>"##,
                left + x as f64 * cell,
                top + y as f64 * cell,
                esc(&v.labels[y].0),
                esc(&v.labels[x].0),
                per_site.map_or("n/a".into(), |s| format!("{s:+.3}"))
            );
            if p == q {
                break;
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The identity section: verdicts, suspects, heatmap (up to 150 patients) and the sex check.
fn identity_section(v: &IdentityView) -> String {
    let mut body = String::from("<h2>Sample identity</h2>");
    if !v.verdicts.is_empty() {
        let counts: Vec<String> = v.verdicts.iter().map(|(k, n)| format!("{n} {}", esc(k))).collect();
        let _ = write!(
            body,
            "<p>Every alignment sample and genome compared with every other at the sites (<code>identity/</code>): {}.</p>",
            counts.join(", ")
        );
    }
    if !v.suspects.is_empty() {
        body.push_str(
            "<table id=\"identity-suspects\"><tr><th>sample</th><th>layer</th><th>patient</th><th>verdict</th>\
             <th>best other patient</th><th>own patient LLR</th><th>its LLR</th></tr>",
        );
        for row in &v.suspects {
            body.push_str("<tr>");
            for c in row {
                let _ = write!(body, "<td>{}</td>", esc(c));
            }
            body.push_str("</tr>");
        }
        body.push_str("</table>");
    }
    if !v.cells.is_empty() && v.labels.len() <= 200 {
        body.push_str(&figure(
            "plot-identity",
            "Relatedness by patient.",
            "Likelihood ratio (one person against two) per shared site, for every pair of samples and genomes (by \
             patient in a large cohort): green within a patient's block, red elsewhere; a sample green in another \
             patient's block is a swap (grey: no shared site).",
            &identity_heatmap(v),
        ));
    }
    if !v.sex.is_empty() {
        body.push_str(
            "<table id=\"sex-check\"><tr><th>patient</th><th>genome sample</th><th>recorded sex</th><th>chrX says</th>\
             <th>plink F</th></tr>",
        );
        for (row, clash) in &v.sex {
            let _ = write!(
                body,
                "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if *clash { " class=\"mismatch\"" } else { "" },
                esc(&row[0]),
                esc(&row[1]),
                esc(&row[2]),
                esc(&row[3]),
                esc(&row[4])
            );
        }
        body.push_str("</table>");
    }
    body
}

const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Round tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn label(v: f64) -> String {
    if v.abs() >= 1e5 {
        format!("{:.0}k", v / 1e3)
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A plot frame: width, height and the data-to-pixel mapping of both axes.
struct Frame {
    w: f64,
    h: f64,
    left: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(w: f64, h: f64, x: (f64, f64), y: (f64, f64)) -> Self {
        let pad = |(a, b): (f64, f64)| if b > a { (a, b) } else { (a - 1.0, b + 1.0) };
        Frame { w, h, left: 60.0, bottom: 40.0, x: pad(x), y: pad(y) }
    }
    fn px(&self, v: f64) -> f64 {
        self.left + (v - self.x.0) / (self.x.1 - self.x.0) * (self.w - self.left - 10.0)
    }
    fn py(&self, v: f64) -> f64 {
        10.0 + (self.y.1 - v) / (self.y.1 - self.y.0) * (self.h - self.bottom - 10.0)
    }
    /// The frame, y ticks and (when `x_ticks`) x ticks, with axis titles.
    fn axes(&self, svg: &mut String, xlab: &str, ylab: &str, x_ticks: bool) {
        let (x0, x1, y0, y1) = (self.left, self.w - 10.0, 10.0, self.h - self.bottom);
        let _ = write!(
            svg,
            r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
            x1 - x0,
            y1 - y0
        );
        for t in ticks(self.y.0, self.y.1) {
            let y = self.py(t);
            let _ = write!(
                svg,
                r##"<line x1="{}" x2="{x0}" y1="{y:.1}" y2="{y:.1}" stroke="#999"/><text x="{}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"##,
                x0 - 4.0,
                x0 - 6.0,
                y + 3.0,
                label(t)
            );
        }
        if x_ticks {
            for t in ticks(self.x.0, self.x.1) {
                let x = self.px(t);
                let _ = write!(
                    svg,
                    r##"<line x1="{x:.1}" x2="{x:.1}" y1="{y1}" y2="{}" stroke="#999"/><text x="{x:.1}" y="{}" text-anchor="middle" font-size="10">{}</text>"##,
                    y1 + 4.0,
                    y1 + 15.0,
                    label(t)
                );
            }
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{}</text><text transform="translate(12 {:.1}) rotate(-90)" text-anchor="middle" font-size="11">{}</text>"#,
            (x0 + x1) / 2.0,
            self.h - 5.0,
            esc(xlab),
            (y0 + y1) / 2.0,
            esc(ylab)
        );
    }
}

fn open_svg(w: f64, h: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
    )
}

fn legend(levels: &[String]) -> String {
    let items: Vec<String> = levels
        .iter()
        .enumerate()
        .map(|(k, l)| format!(r#"<span class="key"><i style="background:{}"></i>{}</span>"#, PALETTE[k % 10], esc(l)))
        .collect();
    format!(r#"<div class="legend">{}</div>"#, items.join(""))
}

fn figure(id: &str, title: &str, caption: &str, body: &str) -> String {
    format!(
        "<figure id=\"{id}\" data-plot>\n<figcaption><b>{}</b> {}</figcaption>\n{body}\n</figure>\n",
        esc(title),
        esc(caption)
    )
}

/// Library sizes (stacked assigned / not assigned) and assignment rates of the RNA samples.
fn library_sizes(qc: &LayerQc) -> Option<String> {
    let t = &qc.table;
    let (assigned, total) = (t.column("Assigned")?, t.column("total_alignments")?);
    let names = qc.names();
    let rows: Vec<(String, f64, f64)> =
        t.rows.iter().zip(names).filter_map(|(r, n)| Some((n?, r[assigned].as_f64()?, r[total].as_f64()?))).collect();
    let top = rows.iter().map(|r| r.2).fold(0.0, f64::max);
    let (w, h) = ((rows.len() as f64 * 14.0 + 80.0).max(360.0), 260.0);
    let f = Frame::new(w, h, (0.0, rows.len() as f64), (0.0, top * 1.05));
    let mut svg = open_svg(w, h);
    f.axes(&mut svg, "RNA samples", "Alignments", false);
    let band = (f.px(1.0) - f.px(0.0)) * 0.8;
    for (k, (name, a, total)) in rows.iter().enumerate() {
        let x = f.px(k as f64 + 0.1);
        let rate = if *total > 0.0 { a / total } else { 0.0 };
        let tip = format!("{name}: {total:.0} alignments, {a:.0} assigned ({:.1}%)", 100.0 * rate);
        let _ = write!(
            svg,
            r##"<g data-mark><title>{}</title><rect x="{x:.1}" y="{:.1}" width="{band:.1}" height="{:.1}" fill="#4e79a7"/><rect x="{x:.1}" y="{:.1}" width="{band:.1}" height="{:.1}" fill="#f28e2b"/></g>"##,
            esc(&tip),
            f.py(*a),
            f.py(0.0) - f.py(*a),
            f.py(*total),
            f.py(*a) - f.py(*total)
        );
    }
    svg.push_str("</svg>");
    let rates: Vec<f64> = rows.iter().map(|(_, a, t)| if *t > 0.0 { 100.0 * a / t } else { 0.0 }).collect();
    let lo = rates.iter().copied().fold(100.0, f64::min);
    let g = Frame::new(w, 200.0, (0.0, rows.len() as f64), ((lo - 5.0).max(0.0), 100.0));
    let mut svg2 = open_svg(w, 200.0);
    g.axes(&mut svg2, "RNA samples", "Assigned %", false);
    for (k, ((name, _, _), r)) in rows.iter().zip(&rates).enumerate() {
        let _ = write!(
            svg2,
            r##"<circle data-mark cx="{:.1}" cy="{:.1}" r="3.5" fill="#4e79a7"><title>{}: {r:.1}% assigned</title></circle>"##,
            g.px(k as f64 + 0.5),
            g.py(*r),
            esc(name)
        );
    }
    svg2.push_str("</svg>");
    Some(format!(
        "{svg}\n{}\n{svg2}",
        legend(&["assigned".into(), "not assigned (all featureCounts Unassigned_* categories)".into()])
    ))
}

/// A PCA scatter coloured by `labels` (levels in `order`).
fn pca_scatter(p: &LayerPca, pca: &Pca, labels: &[String], order: &[String]) -> String {
    let xs: Vec<f64> = pca.scores.iter().map(|s| s[0]).collect();
    let ys: Vec<f64> = pca.scores.iter().map(|s| s[1]).collect();
    let range = |v: &[f64]| {
        let (lo, hi) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let pad = (hi - lo).max(1e-9) * 0.08;
        (lo - pad, hi + pad)
    };
    let f = Frame::new(380.0, 320.0, range(&xs), range(&ys));
    let mut svg = open_svg(380.0, 320.0);
    f.axes(
        &mut svg,
        &format!("PC1 ({:.1}%)", 100.0 * pca.explained[0]),
        &format!("PC2 ({:.1}%)", 100.0 * pca.explained[1]),
        true,
    );
    for (k, id) in p.sample_ids.iter().enumerate() {
        let level = order.iter().position(|o| *o == labels[k]).unwrap_or(0);
        let _ = write!(
            svg,
            r#"<circle data-mark cx="{:.1}" cy="{:.1}" r="4.5" fill="{}" fill-opacity="0.85"><title>{}: {}, {}</title></circle>"#,
            f.px(xs[k]),
            f.py(ys[k]),
            PALETTE[level % 10],
            esc(id),
            esc(&p.timepoints[k]),
            esc(&p.batches[k])
        );
    }
    svg.push_str("</svg>");
    format!("<div class=\"panel\">{svg}{}</div>", legend(order))
}

fn levels(values: &[String], preferred: &[String]) -> Vec<String> {
    let mut out: Vec<String> = preferred.iter().filter(|p| values.contains(p)).cloned().collect();
    let mut rest: Vec<String> = values.iter().filter(|v| !out.contains(v)).cloned().collect();
    rest.sort();
    rest.dedup();
    out.extend(rest);
    out
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.2}"))
}

/// Patients × (layer, timepoint) tiles coloured by status.
fn completeness(input: &ReportInput) -> String {
    let c = input.cohort;
    let layers = c.layers();
    // A time-invariant layer (the genome) has one column: its sample serves every timepoint.
    let cols: Vec<(Layer, Option<usize>)> = layers
        .iter()
        .flat_map(|&l| {
            let timepoints: Vec<Option<usize>> =
                if l.is_time_invariant() { vec![None] } else { (0..c.timepoints.len()).map(Some).collect() };
            timepoints.into_iter().map(move |t| (l, t))
        })
        .collect();
    let (cell, left, top) = (22.0, 70.0, 110.0);
    let w = left + cols.len() as f64 * cell + 110.0;
    let h = top + c.patients.len() as f64 * cell + 10.0;
    let mut svg = open_svg(w, h);
    for (k, (layer, t)) in cols.iter().enumerate() {
        let x = left + k as f64 * cell + cell / 2.0;
        let _ = write!(
            svg,
            r#"<text transform="translate({x:.1} {}) rotate(-60)" font-size="10">{} {}</text>"#,
            top - 6.0,
            esc(layer.as_str()),
            esc(t.map_or("", |t| c.timepoints[t].name.as_str()))
        );
    }
    let colour = |status: &str| match status {
        "present" => "#59a14f",
        "outside_window" => "#edc948",
        _ => "#e15759",
    };
    let timepoint_index = |name: &str| c.timepoints.iter().position(|t| t.name == name);
    for (r, patient) in c.patients.iter().enumerate() {
        let y = top + r as f64 * cell;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"#,
            left - 6.0,
            y + cell * 0.65,
            esc(&patient.patient_id)
        );
        for cell_data in input.grid.iter().filter(|g| g.patient == patient.patient_id) {
            let t = cell_data.timepoint.and_then(|tp| timepoint_index(&tp.name));
            let Some(k) = cols.iter().position(|&(l, tt)| l == cell_data.layer && tt == t) else { continue };
            let tip = format!(
                "{} {} {}: {}{}",
                patient.patient_id,
                cell_data.layer.as_str(),
                cell_data.timepoint.map_or("(any timepoint)", |tp| tp.name.as_str()),
                cell_data.status.replace('_', " "),
                cell_data.sample.map(|s| format!(" ({})", s.sample_id)).unwrap_or_default()
            );
            let _ = write!(
                svg,
                r##"<rect data-mark x="{:.1}" y="{y:.1}" width="{}" height="{}" fill="{}" stroke="#fff"><title>{}</title></rect>"##,
                left + k as f64 * cell,
                cell - 1.0,
                cell - 1.0,
                colour(cell_data.status),
                esc(&tip)
            );
        }
    }
    svg.push_str("</svg>");
    let key = r##"<div class="legend"><span class="key"><i style="background:#59a14f"></i>present</span><span class="key"><i style="background:#edc948"></i>outside protocol window</span><span class="key"><i style="background:#e15759"></i>missing</span></div>"##;
    format!("{svg}\n{key}")
}

/// Each blood draw's distance from its timepoint's nominal day, with the window shaded.
fn window_deviations(c: &Cohort) -> String {
    // One point per patient × timepoint (the layers of one draw share its date).
    let mut draws: BTreeMap<(usize, usize), (String, f64, bool)> = BTreeMap::new();
    for s in &c.samples {
        let Some(days) = s.days_from_admission else { continue };
        let Some(p) = c.patients.iter().position(|p| p.patient_id == s.patient_id) else { continue };
        let Some(t) = s.timepoint else { continue };
        let tp = &c.timepoints[t];
        let Some(dev) = window::deviation(tp, days, c.patients[p].discharge_day) else { continue };
        draws.entry((t, p)).or_insert((s.patient_id.clone(), dev, window::within(tp, dev)));
    }
    let span = c
        .timepoints
        .iter()
        .map(|t| t.window_before_days.max(t.window_after_days))
        .chain(draws.values().map(|d| d.1.abs()))
        .fold(1.0, f64::max)
        * 1.15;
    let n = c.timepoints.len() as f64;
    let w = (n * 110.0 + 80.0).max(360.0);
    let f = Frame::new(w, 300.0, (0.0, n), (-span, span));
    let mut svg = open_svg(w, 300.0);
    f.axes(&mut svg, "Timepoint", "Days from nominal day", false);
    for (t, tp) in c.timepoints.iter().enumerate() {
        let (x0, x1) = (f.px(t as f64 + 0.15), f.px(t as f64 + 0.85));
        let _ = write!(
            svg,
            r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#ddd"><title>{} window: −{} to +{} days</title></rect><text x="{:.1}" y="{}" text-anchor="middle" font-size="10">{}</text>"##,
            f.py(tp.window_after_days),
            x1 - x0,
            f.py(-tp.window_before_days) - f.py(tp.window_after_days),
            esc(&tp.name),
            tp.window_before_days,
            tp.window_after_days,
            (x0 + x1) / 2.0,
            300.0 - 26.0,
            esc(&tp.name)
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#666" stroke-dasharray="3 3"/>"##,
        f.left,
        w - 10.0,
        f.py(0.0),
        f.py(0.0)
    );
    let mut rank: BTreeMap<usize, usize> = BTreeMap::new();
    for ((t, _), (patient, dev, within)) in &draws {
        let k = rank.entry(*t).or_default();
        *k += 1;
        let jitter = ((*k as f64 * 0.618_033_988_75).fract() - 0.5) * 0.5;
        let _ = write!(
            svg,
            r##"<circle data-mark cx="{:.1}" cy="{:.1}" r="4" fill="{}"><title>{patient} {}: {dev:+.0} days{}</title></circle>"##,
            f.px(*t as f64 + 0.5 + jitter),
            f.py(*dev),
            if *within { "#4e79a7" } else { "#e15759" },
            esc(&c.timepoints[*t].name),
            if *within { "" } else { " (outside window)" }
        );
    }
    svg.push_str("</svg>");
    let outside: Vec<String> = draws
        .iter()
        .filter(|(_, d)| !d.2)
        .map(|((t, _), (p, dev, _))| format!("{p} {} ({dev:+.0} days)", c.timepoints[*t].name))
        .collect();
    let note = if outside.is_empty() {
        "<p>Every dated blood draw lies inside its protocol window.</p>".to_string()
    } else {
        format!("<p>Outside their window: {}.</p>", esc(&outside.join(", ")))
    };
    format!("{svg}\n{note}")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}\
figure{margin:1.5em 0;padding:1em;border:1px solid #ddd;border-radius:6px}\
figcaption{margin-bottom:.6em}.panel{display:inline-block;vertical-align:top;margin-right:1em}\
.legend{font-size:12px;margin:.3em 0}.key{margin-right:1em;white-space:nowrap}\
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}tr.mismatch td{background:#fde2e2}";

/// Checks, once loaded, that every figure drew its marks; says so on `<body>` and in the console,
/// and records any script error there too (headless checks read the DOM).
const SCRIPT: &str = "window.addEventListener('error',function(e){\
var b=document.body;b.setAttribute('data-js-errors',(b.getAttribute('data-js-errors')||'')+e.message+';');});\
window.addEventListener('load',function(){\
var figs=document.querySelectorAll('figure[data-plot]');var ok=0;\
figs.forEach(function(f){if(f.querySelector('svg [data-mark]')){ok++;}else{console.error('plot without marks: '+f.id);}});\
document.body.setAttribute('data-plots-ok',ok+'/'+figs.length);});";

/// Builds the page.
pub fn html(input: &ReportInput) -> String {
    let c = input.cohort;
    let mut body = String::new();
    let per_layer: Vec<String> =
        c.layers().iter().map(|l| format!("{} {}", c.samples_of(*l).len(), l.as_str())).collect();
    let _ = write!(
        body,
        "<h1>harmonomics QC report: {}</h1>\n<p>harmonomics {} · {} patients · {} timepoints · samples: {}. \
         Tables and provenance: <code>manifest.json</code>; the same QC for MultiQC in <code>multiqc/</code>.</p>\n",
        esc(&c.config.study.name),
        env!("CARGO_PKG_VERSION"),
        c.patients.len(),
        c.timepoints.len(),
        esc(&per_layer.join(", "))
    );
    if let Some(qc) = input.qcs.iter().find(|q| q.layer == Layer::Transcriptome)
        && let Some(plot) = library_sizes(qc)
    {
        body.push_str(&figure(
            "plot-library-sizes",
            "Library sizes and assignment rates.",
            "Alignments per RNA sample split into assigned to a gene and not (top), and the assigned share (bottom).",
            &plot,
        ));
    }
    let timepoint_order: Vec<String> = c.timepoints.iter().map(|t| t.name.clone()).collect();
    let mut rows = String::new();
    for p in input.pcas {
        let id = format!("plot-pca-{}-{}", p.layer.as_str(), p.stage);
        let _ = write!(
            rows,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.layer.as_str(),
            p.stage,
            p.pca.as_ref().map_or(0, |x| x.features),
            p.complete_features,
            fmt_opt(p.silhouette.0),
            fmt_opt(p.silhouette.1)
        );
        let Some(pca) = &p.pca else { continue };
        let panels = format!(
            "{}{}",
            pca_scatter(p, pca, &p.timepoints, &levels(&p.timepoints, &timepoint_order)),
            pca_scatter(p, pca, &p.batches, &levels(&p.batches, &[]))
        );
        body.push_str(&figure(
            &id,
            &format!("PCA, {} ({}).", p.layer.as_str(), p.stage),
            &format!(
                "The {} most variable of {} complete features; left coloured by timepoint, right by {} \
                 (silhouette width by {}: {}, by timepoint: {}).",
                pca.features,
                p.complete_features,
                input.batch_column,
                input.batch_column,
                fmt_opt(p.silhouette.0),
                fmt_opt(p.silhouette.1)
            ),
            &panels,
        ));
    }
    if !rows.is_empty() {
        let _ = writeln!(
            body,
            "<h2>Grouping</h2><p>Mean silhouette width of the samples by {} and by timepoint (1: fully grouped; 0 or \
             below: not grouped). Batch correction should lower the first and keep the second.</p>\
             <table><tr><th>layer</th><th>PCA features</th><th>complete features</th><th>by {}</th><th>by timepoint</th></tr>{rows}</table>",
            esc(input.batch_column),
            esc(input.batch_column)
        );
    }
    body.push_str(&figure(
        "plot-completeness",
        "Time-course completeness.",
        "Each patient's sample per layer and timepoint: present, collected outside the protocol window, or missing.",
        &completeness(input),
    ));
    body.push_str(&figure(
        "plot-window-deviations",
        "Protocol-window deviations.",
        "Days between each dated blood draw and its timepoint's nominal day; grey: the allowed window.",
        &window_deviations(c),
    ));
    if let Some(v) = input.identity {
        body.push_str(&identity_section(v));
    }
    if !c.warnings.is_empty() {
        body.push_str("<h2>Cohort warnings</h2><ul>");
        for w in &c.warnings {
            let _ = write!(body, "<li>{}</li>", esc(&w.to_string()));
        }
        body.push_str("</ul>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>harmonomics: {}</title>\
         <style>{STYLE}</style></head>\n<body>\n{body}<script>{SCRIPT}</script>\n</body></html>\n",
        esc(&c.config.study.name)
    )
}

/// Writes `report.html` atomically.
pub fn write(path: &Path, input: &ReportInput) -> Result<(), OutputError> {
    write_bytes_atomic(path, html(input).as_bytes()).map_err(|source| OutputError { path: path.to_path_buf(), source })
}
