//! Keras weights into IR layers: layout conversion, storage order, and the two file layouts.

pub mod layout;
pub mod legacy;
pub(crate) mod slots;
pub mod v3;

pub use legacy::Matching;
