//! Ops without weights, grouped by family.

pub mod activation;
pub mod elementwise;
pub mod norm;
pub mod padding;
pub mod preprocessing;
pub mod reshaping;
pub mod spatial;
