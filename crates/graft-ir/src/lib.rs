//! # graft-ir: the model graph at the centre of graft
//!
//! Every format reads into a [`Graph`] and writes from one; the burn executor runs one; summaries
//! and plots draw one. This crate knows no file format and no tensor backend.
//!
//! A [`Graph`] is a list of named [`Layer`]s. A layer holds an [`Op`] (what it computes, with its
//! configuration), its [`Weight`]s, a `trainable` flag, and the [`Node`]s where it is called; a
//! node's inputs are [`TensorRef`]s to other layers' outputs. This is Keras' own model: shared
//! layers are layers with several nodes, and a whole graph can be one layer of another
//! ([`Op::Model`]).
//!
//! ## Values and layouts
//!
//! Shapes are *logical*: the shapes the source model states, batch axis first. A layer's
//! [`DataFormat`] says where its channel axis is (`ChannelsLast` for Keras, `ChannelsFirst` for
//! ONNX/PyTorch); backends may hold values in another physical layout as long as every op sees
//! its logical shape. So `Flatten` always flattens in the logical row-major order: `H, W, C` for a
//! Keras model, `C, H, W` for a PyTorch one, exactly as the Dense layer after it expects.
//!
//! ## Weight layout
//!
//! Weights are row-major `f32` [`Tensor`]s, stored in one layout whatever the source format.
//! Readers convert into it, writers out of it. This table is the single reference:
//!
//! | op | weight (in order) | IR shape | Keras shape |
//! |---|---|---|---|
//! | `Dense` | `kernel` | `[in, units]` | `(in, units)` |
//! | | `bias` | `[units]` | `(units,)` |
//! | `Conv` (rank r, groups g) | `kernel` | `[filters, in/g, k1, .., kr]` | `(k1, .., kr, in/g, filters)` |
//! | | `bias` | `[filters]` | |
//! | `DepthwiseConv` (multiplier m) | `depthwise_kernel` | `[in*m, 1, k1, .., kr]`, output channel `c*m + j` | `(k1, .., kr, in, m)` |
//! | | `bias` | `[in*m]` | |
//! | `SeparableConv` | `depthwise_kernel` | `[in*m, 1, k1, .., kr]` | `(k1, .., kr, in, m)` |
//! | | `pointwise_kernel` | `[filters, in*m, 1, .., 1]` | `(1, .., 1, in*m, filters)` |
//! | | `bias` | `[filters]` | |
//! | `BatchNorm` | `gamma` (if scale), `beta` (if center), `moving_mean`, `moving_variance` | `[channels]` each | same |
//! | `LayerNorm` | `gamma`, `beta` | sizes of the normalised axes | same |
//! | `Normalization` | `mean`, `variance`; `count` | sizes of the kept axes; scalar | same |
//! | `Embedding` | `embeddings` | `[input_dim, output_dim]` | same |
//! | `ConvTranspose` (rank r, groups g) | `kernel` | `[in, filters/g, k1, .., kr]` (ONNX, PyTorch, burn) | `(k1, .., kr, filters, in)` |
//! | | `bias` | `[filters]` | |
//! | `Constant` | `value` | the constant's own shape, no batch axis | |
//!
//! Convolution kernels are output-channel-first as in ONNX, PyTorch and burn; Dense kernels are
//! input-first as in Keras and burn (ONNX `Gemm` writers transpose or set `transB`).
//! [`Op::weight_specs`] computes this list for a layer, and [`Graph::validate`] checks a graph
//! against it.

pub mod edit;
pub mod error;
pub mod files;
pub mod graph;
pub mod infer;
pub mod init;
pub mod layout;
pub mod op;
pub mod shape;
pub mod summary;
pub mod tensor;

pub use edit::{LayerRef, reserve_unique_name};
pub use error::IrError;
pub use graph::{Graph, GraphKind, Layer, Node, TensorRef, WalkItem, Weight};
pub use infer::{CallSite, ShapeMap};
pub use op::*;
pub use shape::{Dim, Shape, normalize_axis};
pub use summary::{ParamCounts, SummaryOptions};
pub use tensor::Tensor;
