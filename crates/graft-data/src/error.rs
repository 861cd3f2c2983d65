//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while configuring a generator, reading images or building batches.
///
/// Messages name the file involved (when there is one) and what failed, so that a training loop can print
/// them as they are.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be decoded as an image (corrupt, truncated, unknown format...).
    #[error("{path}: cannot decode image: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// A file declares dimensions or needs memory beyond the configured [`crate::DecodeLimits`].
    #[error("{path}: image exceeds the decoding limits: {message}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Which limit, and the size found.
        message: String,
    },
    /// An augmented preview could not be encoded or written.
    #[error("{path}: cannot write image: {message}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
    /// A parameter is out of range or inconsistent with another (Keras raises `ValueError` for these).
    #[error("invalid `{name}`: {message}")]
    InvalidParameter {
        /// The parameter, by its Keras name.
        name: &'static str,
        /// Why it is rejected.
        message: String,
    },
    /// Arrays whose sizes do not agree (images and labels, data and declared shape...).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The background thread preparing batches stopped unexpectedly.
    #[error("data pipeline: {0}")]
    Worker(String),
    /// A numerical step failed (e.g. the eigendecomposition behind ZCA whitening).
    #[error("numerical failure: {0}")]
    Numerical(String),
}

impl DataError {
    /// Shorthand for [`DataError::InvalidParameter`].
    pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        DataError::InvalidParameter {
            name,
            message: message.into(),
        }
    }

    /// Shorthand for [`DataError::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
