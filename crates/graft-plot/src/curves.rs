//! Training curves from a Keras-style history (`model.fit(...).history`): one panel per metric,
//! the training values and their `val_` counterpart together, the learning rate on its own.
//! Drawn with plotters' SVG backend; text is measured with DejaVu Sans (registered once for
//! plotters' `ab_glyph` text layout), the font the rasteriser draws it in.

use std::collections::BTreeMap;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::PlotError;

const PANEL_W: u32 = 560;
const PANEL_H: u32 = 360;
const TITLE_H: u32 = 44;
const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);

/// Registers DejaVu Sans as plotters' `sans-serif`, once.
pub(crate) fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font always parses.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// One panel: a metric and its validation counterpart.
struct Panel<'a> {
    title: String,
    /// `(legend, values)`.
    series: Vec<(&'static str, RGBColor, &'a [f64])>,
}

fn is_learning_rate(key: &str) -> bool {
    matches!(key, "lr" | "learning_rate")
}

/// One metric's training and validation values (`loss` and `val_loss`), either may be missing.
#[derive(Default)]
struct Family<'a> {
    train: Option<&'a [f64]>,
    validation: Option<&'a [f64]>,
}

/// Groups a history into panels: `loss` first, other metrics by name, the learning rate last.
fn panels(history: &BTreeMap<String, Vec<f64>>) -> Vec<Panel<'_>> {
    let mut families: BTreeMap<&str, Family> = BTreeMap::new();
    let mut rates = vec![];
    for (key, values) in history {
        if !values.iter().any(|v| v.is_finite()) {
            continue;
        }
        if is_learning_rate(key) {
            rates.push(Panel {
                title: key.clone(),
                series: vec![("learning rate", TRAIN, values.as_slice())],
            });
        } else if let Some(base) = key.strip_prefix("val_") {
            families.entry(base).or_default().validation = Some(values);
        } else {
            families.entry(key).or_default().train = Some(values);
        }
    }
    let mut out: Vec<Panel> = families
        .into_iter()
        .map(|(name, family)| {
            let mut series = vec![];
            if let Some(t) = family.train {
                series.push(("train", TRAIN, t));
            }
            if let Some(v) = family.validation {
                series.push(("validation", VALIDATION, v));
            }
            Panel {
                title: name.to_string(),
                series,
            }
        })
        .collect();
    out.sort_by_key(|p| p.title != "loss");
    out.extend(rates);
    out
}

/// A tick label: plain decimals, or scientific notation on axes whose values are all very
/// small or very large (`scientific`).
fn tick(v: f64, scientific: bool) -> String {
    if scientific && v != 0.0 {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.into() }
    }
}

fn chart_error(e: impl std::fmt::Display) -> PlotError {
    PlotError::Chart(e.to_string())
}

/// SVG of the training curves in a Keras-style history (metric name -> one value per epoch).
///
/// One panel per metric family: `loss` with `val_loss`, `accuracy` with `val_accuracy`, and so
/// for every other metric, with the legend `train` / `validation`; `lr` or `learning_rate` gets
/// a panel of its own. The x axis is the epoch, from 1. `loss` comes first, the learning rate
/// last. Non-finite values (NaN, infinity) are left out of the lines. An error if no metric
/// holds a finite value.
pub fn training_curves_svg(
    history: &BTreeMap<String, Vec<f64>>,
    title: &str,
) -> Result<String, PlotError> {
    register_fonts();
    let panels = panels(history);
    if panels.is_empty() {
        return Err(PlotError::EmptyHistory);
    }
    let cols = if panels.len() == 1 { 1 } else { 2 };
    let rows = panels.len().div_ceil(cols);
    let size = (PANEL_W * cols as u32, PANEL_H * rows as u32 + TITLE_H);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let (head, body) = root.split_vertically(TITLE_H);
        head.titled(title, ("sans-serif", 22))
            .map_err(chart_error)?;
        let areas = body.split_evenly((rows, cols));
        for (area, panel) in areas.iter().zip(&panels) {
            draw_panel(area, panel)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let epochs = panel
        .series
        .iter()
        .map(|s| s.2.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let finite = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.2.iter().copied())
            .filter(|v| v.is_finite())
    };
    let (mut lo, mut hi) = finite().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    } else {
        let pad = (hi - lo) * 0.06;
        lo -= pad;
        hi += pad;
    }
    let x_max = (epochs as i32).max(2);
    let top = lo.abs().max(hi.abs());
    let scientific = !(1e-2..1e5).contains(&top);
    // The legend goes where the lines are not at the end of training: most curves end near
    // the top (accuracy) or the bottom (loss) on the right.
    let last: Vec<f64> = panel
        .series
        .iter()
        .filter_map(|s| s.2.iter().rev().find(|v| v.is_finite()).copied())
        .collect();
    let high_end = last.iter().any(|v| (v - lo) / (hi - lo) > 0.55);
    let legend_at = if high_end {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .margin_right(26)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(1i32..x_max, lo..hi)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(epochs.clamp(2, 10))
        .y_labels(6)
        .y_label_formatter(&|v| tick(*v, scientific))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(chart_error)?;
    for &(label, color, values) in &panel.series {
        let points: Vec<(i32, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| (i as i32 + 1, *v))
            .collect();
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))
            .map_err(chart_error)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
        if points.len() <= 60 {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(chart_error)?;
        }
    }
    chart
        .configure_series_labels()
        .position(legend_at)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_metrics_into_panels() {
        let mut h = BTreeMap::new();
        for k in [
            "accuracy",
            "val_accuracy",
            "loss",
            "val_loss",
            "learning_rate",
            "auc",
        ] {
            h.insert(k.to_string(), vec![0.5, 0.4]);
        }
        h.insert("empty".to_string(), vec![]);
        let p = panels(&h);
        let titles: Vec<&str> = p.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["loss", "accuracy", "auc", "learning_rate"]);
        assert_eq!(p[0].series.len(), 2);
        assert_eq!(p[2].series.len(), 1);
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.5, false), "0.5");
        assert_eq!(tick(2.0, false), "2");
        assert_eq!(tick(1e-4, true), "1.0e-4");
    }
}
