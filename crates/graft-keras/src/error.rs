//! Errors of the Keras reader: every message starts with the file, then names the layer, weight or
//! field at fault.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A Keras file graft could not read (or write).
#[derive(Debug, Error)]
#[error("{}: {reason}", path.display())]
pub struct KerasError {
    /// The file at fault.
    pub path: PathBuf,
    /// What went wrong in it (boxed: errors stay small in `Result`s).
    pub reason: Box<Reason>,
}

impl KerasError {
    pub(crate) fn new(path: &Path, reason: Reason) -> Self {
        Self {
            path: path.to_path_buf(),
            reason: Box::new(reason),
        }
    }
}

/// What went wrong, without the file name.
#[derive(Debug, Error)]
pub enum Reason {
    #[error("{0}")]
    Io(String),

    #[error(
        "not an HDF5 file (no HDF5 signature); Keras models are .h5 (HDF5) or .keras (zip) files"
    )]
    NotHdf5,

    #[error("neither an HDF5 (.h5) nor a zip (.keras) file")]
    UnknownFormat,

    #[error("HDF5: {0}")]
    Hdf5(String),

    #[error(".keras archive: {0}")]
    Zip(String),

    #[error(
        "holds weights only (no 'model_config' attribute); build the architecture and load the weights into it"
    )]
    WeightsOnly,

    #[error("{what} is not valid JSON: {message}")]
    Json { what: String, message: String },

    #[error("model config: {0}")]
    Config(String),

    #[error("layer '{layer}' ({class}): {message}")]
    Layer {
        layer: String,
        class: String,
        message: String,
    },

    #[error(
        "layer '{layer}' is a Lambda layer: its function is Python bytecode, which graft never runs. \
         Replace it with built-in layers (or a custom layer graft knows) and save the model again"
    )]
    Lambda { layer: String },

    #[error("layer '{layer}' has class '{class}', which graft does not know{hint}")]
    UnknownLayer {
        layer: String,
        class: String,
        hint: String,
    },

    #[error("layer '{layer}' weight '{weight}': {message}")]
    Weight {
        layer: String,
        weight: String,
        message: String,
    },

    #[error("weights: {0}")]
    Weights(String),

    #[error("{0}")]
    Ir(#[from] graft_ir::IrError),

    #[error("already exists (allow overwriting to replace it)")]
    Exists,

    #[error("layer '{layer}' ({class}) cannot be written for {target}: {message}")]
    NotExpressible {
        /// `/`-joined through nested models.
        layer: String,
        /// The layer's IR type name.
        class: String,
        /// "Keras 3" or "tf.keras 2".
        target: String,
        message: String,
    },
}

impl Reason {
    pub(crate) fn layer(layer: &str, class: &str, message: impl Into<String>) -> Self {
        Reason::Layer {
            layer: layer.to_string(),
            class: class.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn weight(layer: &str, weight: &str, message: impl Into<String>) -> Self {
        Reason::Weight {
            layer: layer.to_string(),
            weight: weight.to_string(),
            message: message.into(),
        }
    }
}
