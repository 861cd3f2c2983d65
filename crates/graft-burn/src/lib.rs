//! # graft-burn: running graft's IR with burn
//!
//! [`Model::new`] validates a [`graft_ir::Graph`], uploads its weights into burn parameters
//! ([`GraphModule`], one [`layers::LayerModule`] per layer with weights) and compiles the call
//! order into a plan. [`Model::predict`] runs it on host tensors in the model's own layout.
//!
//! Semantics follow the source model exactly: TensorFlow's asymmetric `'same'` padding, Keras'
//! flatten order, BatchNormalization's epsilon and Keras-convention momentum, pooling that never
//! counts padded cells. Values run channels-first inside (burn's convolutions are NCHW) while ops
//! see the logical layout; see [`value`] for how.
//!
//! In inference mode the plan folds BatchNormalization and ZeroPadding into the convolutions
//! next to them ([`fold`]), and building a model tunes the process allocator for activation
//! buffers ([`memory`]).
//!
//! The default device is burn's Flex CPU backend ([`default_device`]).

pub mod error;
pub mod fold;
pub mod graph_module;
pub mod layers;
pub mod memory;
mod model;
pub mod ops;
pub mod plan;
pub mod random;
pub mod value;

pub use burn::tensor::Device;
pub use error::ExecError;
pub use graph_module::GraphModule;
pub use model::{Model, default_device, download};
