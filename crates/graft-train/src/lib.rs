//! # graft-train: training graft models the Keras way
//!
//! Transfer learning in the usual steps: cut a pretrained model at a layer
//! ([`graft_ir::Graph::cut_at`]), put a new [`Head`] on it, freeze the base
//! ([`graft_ir::Graph::freeze_all`] and friends), [`Trainer::compile`] with an optimizer, a loss and
//! metrics, [`Trainer::fit`] with callbacks, then unfreeze the top of the base and fit again at a
//! lower learning rate ([`Trainer::recompile`]).
//!
//! Semantics follow Keras 3: losses reduce as `sum(loss * weight) / batch`; a softmax or sigmoid
//! output trains on its logits; a frozen BatchNormalization runs in inference mode; EarlyStopping,
//! ModelCheckpoint, ReduceLROnPlateau, BackupAndRestore, CSVLogger and TerminateOnNaN keep Keras'
//! parameters and defaults. When the frozen part of the model is deterministic and the data is
//! not augmented, its outputs are computed once and cached (see [`FitOptions::cache_features`]).

mod cache;
pub mod callbacks;
mod class_weight;
mod data;
mod error;
mod fit;
mod fsutil;
mod head;
mod image_data;
mod logs;
mod loss;
mod metrics;
mod optimizer;
mod progress;
mod state;

pub use class_weight::{ClassWeight, Oversampled};
pub use data::{ArrayData, Batch, DataSource, Split, gather_rows, shuffled};
pub use error::TrainError;
pub use fit::{CompileOptions, FitOptions, Trainer};
pub use head::{Head, HeadPooling};
pub use logs::{History, Logs};
pub use loss::{Loss, ProbabilityKind};
pub use metrics::{Metric, MetricState};
pub use optimizer::{Optimizer, OptimizerConfig};
pub use progress::Verbosity;
pub use state::TrainState;
