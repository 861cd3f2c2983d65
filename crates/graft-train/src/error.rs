//! Training errors.

use thiserror::Error;

/// Why training could not start or go on.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Exec(#[from] graft_burn::ExecError),

    #[error(transparent)]
    Ir(#[from] graft_ir::IrError),

    #[error("data: {0}")]
    Data(String),

    #[error("{0}")]
    Config(String),

    #[error("{path}: {message}")]
    File { path: String, message: String },

    #[error("training stopped: {0}")]
    Stopped(String),
}

impl TrainError {
    pub(crate) fn file(path: &std::path::Path, message: impl std::fmt::Display) -> Self {
        TrainError::File {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}
