//! One error type for the facade: whatever went wrong, the message names the file and the
//! layer, tensor or field.

use std::path::PathBuf;

use thiserror::Error;

/// Any error graft's public API returns.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a Keras file (`.h5`, `.keras`, weights-only).
    #[error(transparent)]
    Keras(#[from] graft_keras::KerasError),

    /// Reading, writing or running an ONNX file.
    #[error(transparent)]
    Onnx(#[from] graft_onnx::OnnxError),

    /// Building or running the model with burn.
    #[error(transparent)]
    Exec(#[from] graft_burn::ExecError),

    /// The model graph itself: an unknown layer, a shape that does not fit, a bad edit.
    #[error(transparent)]
    Ir(#[from] graft_ir::IrError),

    /// Building a keras.applications architecture or loading its weights.
    #[error(transparent)]
    Application(#[from] graft_applications::ApplicationError),

    /// Compiling, training, evaluating or checkpointing.
    #[error(transparent)]
    Train(#[from] graft_train::TrainError),

    /// Reading or augmenting images.
    #[error(transparent)]
    Data(#[from] graft_data::DataError),

    /// A file that cannot be read, written or recognised.
    #[error("{}: {message}", path.display())]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
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
