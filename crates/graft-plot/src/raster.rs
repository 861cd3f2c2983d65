//! SVG to PNG with resvg: a white background, and DejaVu Sans (embedded) for every font family,
//! so the output is the same on every machine and needs no system fonts.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use crate::PlotError;

/// Largest width or height, in pixels, of a PNG this crate makes.
pub const MAX_PNG_SIDE: u32 = 65_535;
/// Most pixels of a PNG this crate makes (2^27: 512 MiB of RGBA while rendering).
pub const MAX_PNG_PIXELS: u64 = 1 << 27;

/// The font database: DejaVu Sans, standing in for every generic family (unknown named
/// families fall back to the serif one, which is DejaVu Sans too).
fn fonts() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        db.set_serif_family("DejaVu Sans");
        db.set_sans_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans");
        db.set_cursive_family("DejaVu Sans");
        db.set_fantasy_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Parses an SVG document with the crate's fonts.
pub(crate) fn parse(svg: &str) -> Result<usvg::Tree, PlotError> {
    let opts = usvg::Options {
        fontdb: fonts(),
        font_family: "DejaVu Sans".into(),
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &opts).map_err(|e| PlotError::Svg(e.to_string()))
}

/// Pixel size of `tree` at `scale`.
fn pixel_size(tree: &usvg::Tree, scale: f32) -> (u64, u64) {
    let size = tree.size();
    let px = |v: f32| (f64::from(v) * f64::from(scale)).ceil().max(1.0) as u64;
    (px(size.width()), px(size.height()))
}

fn check_scale(scale: f32) -> Result<(), PlotError> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(PlotError::InvalidScale(scale))
    }
}

/// The largest scale, at most `scale`, at which `tree` fits the PNG limits.
pub(crate) fn fitting_scale(tree: &usvg::Tree, scale: f32) -> f32 {
    let size = tree.size();
    let (w, h) = (f64::from(size.width()), f64::from(size.height()));
    let side = f64::from(MAX_PNG_SIDE) / w.max(h);
    let area = (MAX_PNG_PIXELS as f64 / (w * h)).sqrt();
    // A little under the exact bound, so rounding up to whole pixels stays inside it.
    (f64::from(scale).min(side * 0.999).min(area * 0.999)) as f32
}

/// Renders a parsed SVG at `scale` into PNG bytes; refuses sizes over the limits.
pub(crate) fn render(tree: &usvg::Tree, scale: f32) -> Result<Vec<u8>, PlotError> {
    check_scale(scale)?;
    let (width, height) = pixel_size(tree, scale);
    if width > u64::from(MAX_PNG_SIDE)
        || height > u64::from(MAX_PNG_SIDE)
        || width * height > MAX_PNG_PIXELS
    {
        return Err(PlotError::ImageTooLarge {
            width,
            height,
            max_side: MAX_PNG_SIDE,
            max_pixels: MAX_PNG_PIXELS,
        });
    }
    let mut pixmap = Pixmap::new(width as u32, height as u32)
        .ok_or_else(|| PlotError::Png(format!("cannot allocate a {width} x {height} image")))?;
    pixmap.fill(Color::WHITE);
    resvg::render(
        tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PlotError::Png(e.to_string()))
}

/// Rasterises an SVG document to PNG bytes.
///
/// The image is `scale` times the SVG's size (rounded up to whole pixels), on a white
/// background, with DejaVu Sans standing in for every font family. An image over
/// [`MAX_PNG_SIDE`] pixels a side or [`MAX_PNG_PIXELS`] in all is refused with
/// [`PlotError::ImageTooLarge`] before anything is allocated (the scale is not clamped here;
/// [`plot_model`](crate::plot_model) clamps its own).
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, PlotError> {
    check_scale(scale)?;
    render(&parse(svg)?, scale)
}
