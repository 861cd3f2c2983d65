//! One error type for the facade: whatever went wrong, the message names the file and the
//! layer, tensor or field.

use std::path::PathBuf;

use thiserror::Error;

/// Any error graft's public API returns.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Keras(#[from] graft_keras::KerasError),

    #[error(transparent)]
    Onnx(#[from] graft_onnx::OnnxError),

    #[error(transparent)]
    Exec(#[from] graft_burn::ExecError),

    #[error(transparent)]
    Ir(#[from] graft_ir::IrError),

    #[error(transparent)]
    Application(#[from] graft_applications::ApplicationError),

    #[error(transparent)]
    Train(#[from] graft_train::TrainError),

    #[error(transparent)]
    Data(#[from] graft_data::DataError),

    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// `Result` with graft's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
