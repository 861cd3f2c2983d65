//! # graft: transfer learning that speaks Keras and ONNX
//!
//! Import a pretrained model (Keras `.h5`/`.keras`), run it with burn, and get the numbers Keras
//! computes.
//!
//! ```no_run
//! use graft::Tensor;
//!
//! // Architecture and weights from a Keras file.
//! let model = graft::load_model("resnet50.h5", &graft::default_device())?;
//! // Inputs in the model's own layout: NHWC for Keras image models.
//! let x = Tensor::zeros(vec![1, 224, 224, 3]);
//! let outputs = model.predict(&[x])?;
//! println!("{:?}", outputs[0].shape());
//! # Ok::<(), graft::Error>(())
//! ```
//!
//! The crates behind this facade each have one job: [`ir`] (the model graph every format reads
//! into), [`keras`] (Keras files), [`exec`] (the burn executor), [`train`] (compile/fit,
//! callbacks, heads), [`data`] (Keras' image data tools), [`hub`] (pretrained-weights registry
//! and download cache), [`applications`] (keras.applications builders, `preprocess_input`,
//! `decode_predictions`), [`onnx`] (ONNX files and the tract runtime), [`plot`] (layer graphs,
//! training curves and confusion matrices as SVG/PNG/DOT).

#![warn(missing_docs)]

mod error;
pub mod fs;
pub mod npy;
mod save;

/// The user guide (`docs/GUIDE.md`); its code blocks are compiled as doctests.
#[doc = include_str!("../../../docs/GUIDE.md")]
pub mod guide {}

/// The README's library example, compiled as a doctest so the front page cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub use error::{Error, Result};
pub use graft_applications as applications;
pub use graft_burn as exec;
pub use graft_burn::{Device, Model, default_device};
pub use graft_data as data;
pub use graft_hub as hub;
pub use graft_ir as ir;
pub use graft_ir::{Graph, Layer, Op, Shape, SummaryOptions, Tensor};
pub use graft_keras as keras;
pub use graft_onnx as onnx;
pub use graft_plot as plot;
pub use graft_train as train;
pub use save::{SaveFormat, checkpoint_saver, model_checkpoint, save_graph, save_weights};

use std::path::Path;

/// The file formats graft reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HDF5: a Keras `.h5` model or weights file.
    KerasH5,
    /// Zip: a Keras 3 `.keras` archive.
    Keras,
    /// Protobuf: an ONNX model (`.onnx`).
    Onnx,
}

/// Detects a model file's format from its first bytes (never from its extension alone).
pub fn detect_format(path: impl AsRef<Path>) -> Result<Format> {
    use std::io::Read;
    let path = path.as_ref();
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(|e| Error::file(path, e.to_string()))?;
    let n = f
        .read(&mut head)
        .map_err(|e| Error::file(path, e.to_string()))?;
    match &head[..n] {
        h if h.starts_with(b"\x89HDF\r\n\x1a\n") => Ok(Format::KerasH5),
        h if h.starts_with(b"PK\x03\x04") => Ok(Format::Keras),
        _ if path.extension().is_some_and(|e| e == "h5" || e == "hdf5") => Ok(Format::KerasH5),
        // Protobuf has no magic: an .onnx name, and the decode in `load_graph` decides.
        _ if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx")) =>
        {
            Ok(Format::Onnx)
        }
        _ => Err(Error::file(
            path,
            "not a model file graft reads (expected a Keras .h5 or .keras file, or an .onnx file)",
        )),
    }
}

/// Reads a model file (architecture and weights) into the IR.
pub fn load_graph(path: impl AsRef<Path>) -> Result<Graph> {
    let path = path.as_ref();
    match detect_format(path)? {
        Format::KerasH5 | Format::Keras => Ok(graft_keras::load_model(path)?.graph),
        Format::Onnx => Ok(graft_onnx::load_model(path)?.graph),
    }
}

/// Reads a model file and builds it on `device`.
pub fn load_model(path: impl AsRef<Path>, device: &Device) -> Result<Model> {
    Ok(Model::new(load_graph(path)?, device)?)
}
