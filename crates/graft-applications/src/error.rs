//! The crate's error type.

/// Result alias of this crate.
pub type Result<T, E = ApplicationError> = std::result::Result<T, E>;

/// Everything a builder, `preprocess_input` or `decode_predictions` can refuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplicationError {
    /// An option Keras would refuse too (input too small, `classes` with ImageNet weights, an
    /// alpha without pretrained weights...). The message says which option and what is allowed.
    #[error("{application}: {message}")]
    Option {
        /// The builder (`"ResNet50"`).
        application: String,
        /// What is wrong, naming the option.
        message: String,
    },
    /// No registry entry matches the requested pretrained weights.
    #[error("{application}: no pretrained weights '{weights}' for {what} in the registry")]
    NoWeights {
        /// The builder (`"MobileNetV2"`).
        application: String,
        /// The `weights` option as given.
        weights: String,
        /// The variant that was looked up (`"include_top=false, alpha=0.35, rows=96"`).
        what: String,
    },
    /// The array given to `preprocess_input` / `decode_predictions` has the wrong shape.
    #[error("{function}: {message}")]
    Input {
        /// `"preprocess_input"` or `"decode_predictions"`.
        function: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The graph is inconsistent (a bug in a builder) or weights could not be initialised.
    #[error(transparent)]
    Ir(#[from] graft_ir::IrError),
    /// Reading a Keras weights file failed.
    #[error(transparent)]
    Keras(#[from] graft_keras::KerasError),
    /// Resolving or downloading registry weights (or the class index) failed.
    #[error(transparent)]
    Hub(#[from] graft_hub::HubError),
}

impl ApplicationError {
    pub(crate) fn option(application: &str, message: impl Into<String>) -> Self {
        ApplicationError::Option {
            application: application.to_string(),
            message: message.into(),
        }
    }
}
