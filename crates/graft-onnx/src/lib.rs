//! # graft-onnx: ONNX files and graft's IR
//!
//! Reads the CNNs users export from tf2onnx, PyTorch (`torch.onnx`) and the ONNX model zoo into a
//! [`graft_ir::Graph`], and writes graphs back as ONNX (opset 17). tract-onnx's `pb` types are
//! the protobuf schema for both directions; tract itself is an independent runtime for checking
//! a written file ([`runtime`]).
//!
//! Reading (`read/`): initializers inline, as `raw_data` or in external data files (inside the
//! model's folder only); opsets 7 to 21; dynamic batch dimensions. An ONNX import is
//! channels-first throughout (spatial ops carry `DataFormat::ChannelsFirst`) and keeps the
//! model's own input layout (a tf2onnx export takes NHWC and starts with a Transpose, which
//! becomes a Permute layer). Layers are named after their nodes, so freezing by name works on
//! imported models. Ops graft does not know are all listed in one error, with their node names
//! and the opset.
//!
//! ```no_run
//! let model = graft_onnx::load_model("resnet18.onnx")?;
//! println!("{} layers, opset {}", model.graph.layers.len(), model.opset);
//! # Ok::<(), graft_onnx::OnnxError>(())
//! ```

mod error;
mod read;
pub mod runtime;
mod write;

pub use error::{NodeId, NodeProblem, OnnxError, Reason};
pub use read::{OnnxModel, is_onnx, load_model};
pub use write::{
    EXTERNAL_THRESHOLD, ExternalData, IR_VERSION, OPSET, SaveOptions, SaveReport,
    check_expressible, save_model,
};
