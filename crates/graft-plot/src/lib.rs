//! # graft-plot: pictures of models and training runs
//!
//! Three kinds of plot, as SVG (and PNG through the built-in rasteriser):
//!
//! * **Layer graphs** of a [`graft_ir::Graph`], the equivalent of Keras'
//!   `keras.utils.plot_model` / `model_to_dot`: one box per layer labelled `name (ClassName)`,
//!   optionally with input/output shapes, activations and trainability, edges following the
//!   layer calls, nested models collapsed or expanded ([`model_to_svg`], [`model_to_dot`],
//!   [`plot_model`], options in [`ModelPlotOptions`]).
//! * **Training curves** from a Keras-style history, one panel per metric with its validation
//!   counterpart ([`training_curves_svg`]).
//! * **Confusion matrices** as heatmaps ([`confusion_matrix_svg`]).
//!
//! ## No Graphviz, no system fonts
//!
//! Keras' `plot_model` needs the Graphviz `dot` program and pydot. Here the layered
//! (Sugiyama) layout that `dot` computes comes from the pure-Rust `layout-rs` crate, and PNGs
//! come from `resvg`, which shapes text itself. The only font is DejaVu Sans, embedded through
//! the `dejavu` crate: boxes are sized with its glyph widths and the rasteriser draws every
//! font family with it, so a plot looks the same on every machine, headless CI included.
//! [`model_to_dot`] still writes Graphviz text for those who want to render with `dot`.
//!
//! ```
//! use graft_ir::{DType, Graph, InputConfig, Layer, Op, Shape};
//! use graft_plot::{ModelPlotOptions, model_to_dot, model_to_svg, svg_to_png};
//!
//! let mut g = Graph::new("tiny");
//! let x = g.push_input("x", InputConfig { shape: Shape::batched(&[8]), dtype: DType::F32 });
//! let y = g.push(Layer::new("id", Op::Identity), vec![x]);
//! g.outputs.push(y);
//! let opts = ModelPlotOptions { show_shapes: true, ..Default::default() };
//! assert!(model_to_dot(&g, &opts)?.contains("\"x\" -> \"id\""));
//! let png = svg_to_png(&model_to_svg(&g, &opts)?, 1.0)?;
//! assert!(png.starts_with(b"\x89PNG"));
//! # Ok::<(), graft_plot::PlotError>(())
//! ```

mod confusion;
mod curves;
mod dot;
mod error;
mod model_graph;
mod options;
mod raster;
mod svg_graph;
mod text;
mod write;

pub use confusion::confusion_matrix_svg;
pub use curves::training_curves_svg;
pub use dot::model_to_dot;
pub use error::PlotError;
pub use options::{ModelPlotOptions, RankDir};
pub use raster::{MAX_PNG_PIXELS, MAX_PNG_SIDE, svg_to_png};
pub use svg_graph::model_to_svg;
pub use write::{plot_model, write_svg_or_png};
