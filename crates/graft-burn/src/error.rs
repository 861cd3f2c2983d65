//! Executor errors: each names the layer at fault.

use thiserror::Error;

/// Why a graph could not be built into burn modules or run.
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("{0}")]
    Ir(#[from] graft_ir::IrError),

    #[error("layer '{layer}' ({type_name}): {message}")]
    Layer {
        layer: String,
        type_name: String,
        message: String,
    },

    #[error("input {index} ('{name}'): {message}")]
    Input {
        index: usize,
        name: String,
        message: String,
    },

    #[error("{0}")]
    Invalid(String),
}
