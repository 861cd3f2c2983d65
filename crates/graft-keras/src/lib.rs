//! # graft-keras: Keras model files and graft's IR
//!
//! Reads every Keras file users have into a [`graft_ir::Graph`]:
//!
//! - legacy `.h5` models written by tf.keras 2.x and by Keras 3 (two JSON dialects of the
//!   architecture, see [`Dialect`]);
//! - Keras 3 `.keras` archives;
//! - weights-only files: `save_weights` `.h5` files and the keras-applications pretrained files
//!   (loaded topologically as Keras does, or by name), and Keras 3 `.weights.h5`.
//!
//! and writes them back ([`save_model`], [`save_weights`]): legacy `.h5` in either dialect,
//! `.keras` archives and weights-only files, after [`check_expressible`] has made sure Keras can
//! express every layer.
//!
//! Every Keras quirk stays in this crate: weight layouts ([`weights::layout`]), the storage
//! order of nested models' weights, `/` in layer names, attributes split over 64 KB, name meanings
//! that changed between Keras versions (`hard_sigmoid`). Errors name the file and the layer or
//! weight at fault; a Lambda layer is refused (its Python bytecode is never run).
//!
//! ```no_run
//! let model = graft_keras::load_model("resnet50.h5")?;
//! println!("{} layers", model.graph.layers.len());
//! # Ok::<(), graft_keras::KerasError>(())
//! ```

mod config;
mod error;
mod hdf5io;
mod load;
pub mod weights;
mod write;

pub use config::Dialect;
pub use error::{KerasError, Reason};
pub use load::{KerasFormat, KerasModel, LoadWeightsOptions, load_model, load_weights};
pub use write::{SaveOptions, SaveReport, check_expressible, save_model, save_weights};
