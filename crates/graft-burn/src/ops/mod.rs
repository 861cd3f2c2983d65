//! Ops without weights, grouped by family.

pub mod activation;
pub mod elementwise;
pub mod reshaping;
pub mod spatial;
