//! `--report DIR`: a self-contained HTML page of a run (no scripts, no external files; plots
//! inline as SVG, thumbnails inline as PNG data URLs), so it can be mailed or archived as one
//! file. The plots are also written beside it as SVG and PNG.

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use graft::plot::{confusion_matrix_svg, training_curves_svg, write_svg_or_png};
use graft::train::History;

use super::report::{Confusion, predicted};

/// At most this many misclassified images are shown (the count says how many there were).
const MAX_MISSES: usize = 200;
/// Thumbnails fit in a square of this many pixels.
const THUMBNAIL: u32 = 128;

/// One validation image the model got wrong.
pub struct Miss {
    pub path: PathBuf,
    pub truth: String,
    pub predicted: String,
    /// The score of the predicted class.
    pub confidence: f32,
}

/// What the page shows; any part may be missing (no validation data: no matrix).
pub struct Report<'a> {
    pub title: String,
    /// (label, value) lines at the top: base, data, classes, exports...
    pub facts: Vec<(String, String)>,
    pub history: Option<&'a History>,
    pub confusion: Option<&'a Confusion>,
    /// The model summary table.
    pub summary: String,
    pub misses: Vec<Miss>,
}

/// The validation images whose top class is wrong, in flow order.
pub fn misclassified_of(
    confusion: &Confusion,
    truth: &[usize],
    scores: &[f32],
    paths: &[PathBuf],
) -> Vec<Miss> {
    let k = scores.len() / truth.len().max(1);
    let mut misses = vec![];
    for (i, (&t, path)) in truth.iter().zip(paths).enumerate() {
        let row = &scores[i * k..(i + 1) * k];
        let p = predicted(row);
        if p != t && p < confusion.classes.len() && t < confusion.classes.len() {
            let confidence = if k == 1 {
                if p == 1 { row[0] } else { 1.0 - row[0] }
            } else {
                row[p]
            };
            misses.push(Miss {
                path: path.clone(),
                truth: confusion.classes[t].clone(),
                predicted: confusion.classes[p].clone(),
                confidence,
            });
        }
    }
    misses
}

/// Checks, before training, that the report folder can be written.
pub fn check_folder(dir: &Path, force: bool) -> anyhow::Result<()> {
    let index = dir.join("index.html");
    if index.exists() && !force {
        bail!(
            "{}: already exists (use --force to replace it)",
            index.display()
        );
    }
    super::finetune::check_folder_of(&index)
}

/// Writes `index.html` and the plot files into `dir`; returns the page's path.
pub fn write(dir: &Path, report: &Report) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the report folder", dir.display()))?;
    let curves = match report.history {
        Some(h) if !h.epoch.is_empty() => Some(training_curves_svg(&h.history, "Training")?),
        _ => None,
    };
    let matrix = match report.confusion {
        Some(c) => Some(confusion_matrix_svg(
            &c.classes,
            &c.matrix,
            "Confusion matrix (validation)",
        )?),
        None => None,
    };
    for (svg, name) in [(&curves, "curves"), (&matrix, "confusion_matrix")] {
        if let Some(svg) = svg {
            for ext in ["svg", "png"] {
                write_svg_or_png(svg, &dir.join(format!("{name}.{ext}")), 2.0)?;
            }
        }
    }
    let html = page(report, curves.as_deref(), matrix.as_deref());
    let index = dir.join("index.html");
    graft::fs::write_atomic(&index, |w| std::io::Write::write_all(w, html.as_bytes()))?;
    Ok(index)
}

fn page(report: &Report, curves: Option<&str>, matrix: Option<&str>) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n<table class=\"facts\">",
        title = escape(&report.title)
    );
    for (k, v) in &report.facts {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    }
    h.push_str("</table>\n");
    if let Some(svg) = curves {
        let _ = write!(
            h,
            "<h2>Training curves</h2>\n<div class=\"plot\">{}</div>\n",
            strip_xml_declaration(svg)
        );
    }
    if let Some(c) = report.confusion {
        let _ = write!(
            h,
            "<h2>Validation</h2>\n<p>Accuracy <b>{:.2}%</b> ({} of {} images).</p>\n\
             <table class=\"classes\"><tr><th>class</th><th>precision</th><th>recall</th><th>support</th></tr>",
            100.0 * c.accuracy(),
            (0..c.classes.len()).map(|i| c.matrix[i][i]).sum::<usize>(),
            c.total()
        );
        for (i, name) in c.classes.iter().enumerate() {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
                escape(name),
                c.precision(i),
                c.recall(i),
                c.matrix[i].iter().sum::<usize>()
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(svg) = matrix {
        let _ = writeln!(
            h,
            "<div class=\"plot\">{}</div>",
            strip_xml_declaration(svg)
        );
    }
    if report.confusion.is_some() {
        misclassified(&mut h, &report.misses);
    }
    let _ = write!(
        h,
        "<h2>Model</h2>\n<pre>{}</pre>\n</body></html>\n",
        escape(&report.summary)
    );
    h
}

fn misclassified(h: &mut String, misses: &[Miss]) {
    let _ = writeln!(h, "<h2>Misclassified images ({})</h2>", misses.len());
    if misses.is_empty() {
        h.push_str("<p>None: every validation image was classified correctly.</p>\n");
        return;
    }
    if misses.len() > MAX_MISSES {
        let _ = writeln!(h, "<p>The first {MAX_MISSES} are shown.</p>");
    }
    h.push_str("<div class=\"misses\">\n");
    for miss in misses.iter().take(MAX_MISSES) {
        let image = match thumbnail(&miss.path) {
            Some(b64) => format!("<img src=\"data:image/png;base64,{b64}\" alt=\"\">"),
            None => "<div class=\"unreadable\">(unreadable)</div>".to_string(),
        };
        let _ = writeln!(
            h,
            "<figure>{image}<figcaption><b>{}</b> as <b class=\"wrong\">{}</b> ({:.0}%)<br><small>{}</small></figcaption></figure>",
            escape(&miss.truth),
            escape(&miss.predicted),
            100.0 * miss.confidence,
            escape(&miss.path.display().to_string())
        );
    }
    h.push_str("</div>\n");
}

/// The image shrunk to fit a THUMBNAIL square, as base64 PNG.
fn thumbnail(path: &Path) -> Option<String> {
    let image = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .decode()
        .ok()?;
    let small = image.thumbnail(THUMBNAIL, THUMBNAIL);
    let mut png = Vec::new();
    small
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(png))
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// HTML text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse}th,td{padding:.2em .8em;text-align:left}\
table.classes td,table.classes th{border-bottom:1px solid #eee}\
.plot svg{max-width:100%;height:auto}\
.misses{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;width:150px;font-size:.85em}\
figure img{max-width:128px;max-height:128px;display:block;border:1px solid #ccc}\
.wrong{color:#b00}small{color:#777;word-break:break-all}pre{font-size:.8em;overflow-x:auto}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
