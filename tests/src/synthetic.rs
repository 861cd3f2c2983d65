//! The synthetic shape tasks now live in graft-data (`graft demo` uses them too).

use std::path::Path;

pub use graft::data::synthetic::{NEW_SHAPES, SHAPES, draw};

/// [`graft::data::synthetic::write_folder`], panicking on failure (tests only).
pub fn write_folder(root: &Path, shapes: &[&str], per_class: usize, size: u32, seed: u64) {
    graft::data::synthetic::write_folder(root, shapes, per_class, size, seed)
        .expect("write the synthetic folder");
}
