//! Confusion-matrix heatmap: rows are the true classes, columns the predicted ones, each cell
//! shows its count and is coloured by its share of the row (so rare classes read as clearly
//! as common ones).

use std::fmt::Write;

use crate::PlotError;
use crate::text::{FONT_FAMILY, text_width, truncate, xml_escape};

/// Longest class name shown before it is cut with `…`.
const MAX_LABEL_CHARS: usize = 20;
const LABEL_FONT: f64 = 12.0;

/// The "Blues" colour map: stops from white to dark blue.
const BLUES: [(f64, f64, f64); 5] = [
    (247.0, 251.0, 255.0),
    (198.0, 219.0, 239.0),
    (107.0, 174.0, 214.0),
    (33.0, 113.0, 181.0),
    (8.0, 48.0, 107.0),
];

/// Colour of a share in `0..=1`.
fn blues(t: f64) -> String {
    let t = t.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let i = (t.floor() as usize).min(BLUES.len() - 2);
    let f = t - i as f64;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// SVG heatmap of a confusion matrix: `matrix[t][p]` counts samples of true class `t`
/// predicted as `p`.
///
/// Each cell shows its count (when the cells are large enough to hold text) and is coloured by
/// its share of its row; a colour bar maps shades to shares. Class names label both axes (the
/// column labels slanted), cut to 20 characters with `…`; the axis titles are `Predicted` and
/// `True`. An error if there are no classes, or the matrix is not `classes.len()` square.
pub fn confusion_matrix_svg(
    classes: &[String],
    matrix: &[Vec<usize>],
    title: &str,
) -> Result<String, PlotError> {
    let n = classes.len();
    if n == 0 {
        return Err(PlotError::ConfusionMatrix("there are no classes".into()));
    }
    if matrix.len() != n {
        return Err(PlotError::ConfusionMatrix(format!(
            "{n} classes but {} rows",
            matrix.len()
        )));
    }
    if let Some((i, row)) = matrix.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(PlotError::ConfusionMatrix(format!(
            "row {i} has {} columns, expected {n} (the matrix must be square)",
            row.len()
        )));
    }

    let cell = (560.0 / n as f64).clamp(14.0, 56.0).floor();
    let label_font = LABEL_FONT.min(cell * 0.8);
    let labels: Vec<String> = classes
        .iter()
        .map(|c| truncate(c, MAX_LABEL_CHARS))
        .collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, label_font))
        .fold(0.0, f64::max);
    let grid = cell * n as f64;
    let left = 36.0 + label_w + 8.0;
    let top = 48.0;
    // Column labels slant at 45 degrees below the grid, or stand upright when cells are narrow.
    let angle = if cell < 24.0 { 90.0 } else { 45.0 };
    let below = 10.0 + label_w * f64::to_radians(angle).sin() + label_font + 30.0;
    let bar_x = left + grid + 24.0;
    let width = (bar_x + 16.0 + 60.0).max(left + text_width(title, 18.0) / 2.0 + grid / 2.0 + 16.0);
    let width = width.max(text_width(title, 18.0) + 32.0).ceil();
    let height = (top + grid + below).ceil();

    let mut s = String::with_capacity(200 * n * n + 2000);
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{:.1}" y="30" font-size="18" text-anchor="middle">{}</text>"##,
        (left + grid / 2.0)
            .max(width / 2.0)
            .min(width - text_width(title, 18.0) / 2.0 - 8.0),
        xml_escape(title)
    );
    let count_digits = matrix
        .iter()
        .flatten()
        .max()
        .map_or(1, |m| m.to_string().len()) as f64;
    let count_font = (cell * 0.38)
        .min(cell * 0.85 / (count_digits * 0.64))
        .min(16.0);
    for (t, row) in matrix.iter().enumerate() {
        let total: usize = row.iter().sum();
        let y = top + cell * t as f64;
        for (p, &count) in row.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            let x = left + cell * p as f64;
            let _ = writeln!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="{}" stroke="#ffffff" stroke-width="0.5"/>"##,
                blues(share)
            );
            if count_font >= 6.0 {
                let ink = if share > 0.5 { "#ffffff" } else { "#000000" };
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="{count_font:.1}" text-anchor="middle" fill="{ink}">{count}</text>"##,
                    x + cell / 2.0,
                    y + cell / 2.0 + count_font * 0.36
                );
            }
        }
    }
    s.push_str(&format!(
        r##"<rect x="{left:.1}" y="{top:.1}" width="{grid}" height="{grid}" fill="none" stroke="#333333" stroke-width="1"/>
"##
    ));
    for (i, label) in labels.iter().enumerate() {
        let c = cell * i as f64 + cell / 2.0;
        let label = xml_escape(label);
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="{label_font:.1}" text-anchor="end">{label}</text>"##,
            left - 6.0,
            top + c + label_font * 0.36
        );
        let (x, y) = (left + c + label_font * 0.3, top + grid + 8.0);
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{y:.1}" font-size="{label_font:.1}" text-anchor="end" transform="rotate(-{angle} {x:.1} {y:.1})">{label}</text>"##
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle">Predicted</text>
<text x="18" y="{:.1}" font-size="14" text-anchor="middle" transform="rotate(-90 18 {:.1})">True</text>"##,
        left + grid / 2.0,
        height - 10.0,
        top + grid / 2.0,
        top + grid / 2.0
    );
    // Colour bar: share of the row, 0% at the bottom.
    let steps = 32;
    for k in 0..steps {
        let h = grid / f64::from(steps);
        let y = top + grid - h * f64::from(k + 1);
        let _ = writeln!(
            s,
            r##"<rect x="{bar_x:.1}" y="{y:.2}" width="16" height="{:.2}" fill="{}"/>"##,
            h + 0.3,
            blues((f64::from(k) + 0.5) / f64::from(steps))
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{bar_x:.1}" y="{top:.1}" width="16" height="{grid}" fill="none" stroke="#333333" stroke-width="0.5"/>"##
    );
    for (frac, text) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
        let y = top + grid * (1.0 - frac);
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="11">{text}</text>"##,
            bar_x + 20.0,
            y + 4.0
        );
    }
    s.push_str("</svg>\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_ends() {
        assert_eq!(blues(0.0), "#f7fbff");
        assert_eq!(blues(1.0), "#08306b");
    }
}
