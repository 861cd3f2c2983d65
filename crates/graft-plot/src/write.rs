//! Writing plots to files: the format follows the extension, and every file is written to a
//! temporary file in the same folder, then renamed over the target, so a failed or interrupted
//! write never leaves a half-written plot.

use std::io::Write;
use std::path::Path;

use graft_ir::Graph;

use crate::options::ModelPlotOptions;
use crate::{PlotError, model_to_dot, model_to_svg, raster};

/// What a path's extension asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
    Dot,
}

fn format_of(path: &Path, allow_dot: bool) -> Result<Format, PlotError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => Ok(Format::Svg),
        Some("png") => Ok(Format::Png),
        Some("dot" | "gv") if allow_dot => Ok(Format::Dot),
        _ => Err(PlotError::UnsupportedFormat {
            path: path.to_path_buf(),
            expected: if allow_dot {
                ".svg, .png or .dot"
            } else {
                ".svg or .png"
            },
        }),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, renamed over it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    let io = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = graft_ir::files::temp_file_next_to(path, ".partial").map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes an SVG document to `path` as SVG (`.svg`) or PNG (`.png`, rasterised at `scale`,
/// see [`svg_to_png`](crate::svg_to_png)), atomically. Any other extension is an error naming
/// the path, and nothing is written.
pub fn write_svg_or_png(svg: &str, path: &Path, scale: f32) -> Result<(), PlotError> {
    match format_of(path, false)? {
        Format::Png => write_atomic(path, &crate::svg_to_png(svg, scale)?),
        _ => write_atomic(path, svg.as_bytes()),
    }
}

/// Draws a model's layer graph into a file, like `keras.utils.plot_model`: `.svg`, `.png`
/// (at `opts.dpi`) or `.dot` (Graphviz text), chosen by the extension; any other extension is
/// an error naming the path, and nothing is written. The file is written atomically.
///
/// A PNG too large for the raster limits ([`MAX_PNG_SIDE`](crate::MAX_PNG_SIDE),
/// [`MAX_PNG_PIXELS`](crate::MAX_PNG_PIXELS)), which happens for very deep models, is drawn at
/// the largest scale that fits rather than refused.
pub fn plot_model(graph: &Graph, path: &Path, opts: &ModelPlotOptions) -> Result<(), PlotError> {
    match format_of(path, true)? {
        Format::Dot => write_atomic(path, model_to_dot(graph, opts)?.as_bytes()),
        Format::Svg => write_atomic(path, model_to_svg(graph, opts)?.as_bytes()),
        Format::Png => {
            if !(opts.dpi.is_finite() && opts.dpi > 0.0) {
                return Err(PlotError::InvalidScale(opts.dpi / 96.0));
            }
            let tree = raster::parse(&model_to_svg(graph, opts)?)?;
            let scale = raster::fitting_scale(&tree, opts.dpi / 96.0);
            write_atomic(path, &raster::render(&tree, scale)?)
        }
    }
}
