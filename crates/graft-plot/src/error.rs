//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while drawing or writing a plot. Messages name the file or the
/// input that is at fault.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The output path's extension names no format this crate writes.
    #[error(
        "cannot tell which image format to write to '{}': the name must end in {expected}",
        path.display()
    )]
    UnsupportedFormat {
        /// The path that was asked for.
        path: PathBuf,
        /// The extensions accepted there, e.g. `.svg, .png or .dot`.
        expected: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("cannot write '{}': {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The model graph cannot be drawn (a dangling input, a duplicate layer name, ...).
    #[error("cannot plot model '{model}': {message}")]
    Graph {
        /// The model's name.
        model: String,
        /// What is wrong with it.
        message: String,
    },
    /// The training history holds no values to draw.
    #[error("the training history is empty: there is no metric with a value to plot")]
    EmptyHistory,
    /// The confusion matrix is not square or does not match its class list.
    #[error("invalid confusion matrix: {0}")]
    ConfusionMatrix(String),
    /// The chart library failed to draw.
    #[error("cannot draw the chart: {0}")]
    Chart(String),
    /// The SVG given to the rasteriser does not parse.
    #[error("cannot read the SVG to rasterise: {0}")]
    Svg(String),
    /// The scale asked for is not a positive finite number.
    #[error("invalid raster scale {0}: it must be a positive, finite number")]
    InvalidScale(f32),
    /// The PNG would be too large to allocate; the limit is
    /// [`MAX_PNG_SIDE`](crate::MAX_PNG_SIDE) pixels a side and
    /// [`MAX_PNG_PIXELS`](crate::MAX_PNG_PIXELS) in all.
    #[error(
        "the image would be {width} x {height} pixels, more than the limit of {max_side} a side \
         and {max_pixels} pixels in all; use a smaller scale or write SVG instead"
    )]
    ImageTooLarge {
        /// Width the scale asked for.
        width: u64,
        /// Height the scale asked for.
        height: u64,
        /// Largest side allowed.
        max_side: u32,
        /// Most pixels allowed.
        max_pixels: u64,
    },
    /// Encoding the PNG failed.
    #[error("cannot encode the PNG: {0}")]
    Png(String),
}
