//! Helpers shared by the integration tests: fixture paths and loading.
#![allow(dead_code)]

use graft_data::{ColorMode, DecodeOptions, Decoded, ImageShape};
use std::path::PathBuf;

/// `tests/fixtures/images` at the repository root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images")
}

/// Reads a JSON fixture.
pub fn json(relative: &str) -> serde_json::Value {
    let path = fixtures().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fixtures/images/*.py)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Reads a raw little-endian f32 fixture.
pub fn f32_file(relative: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join(relative)).unwrap();
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Decodes an 8-bit fixture image in `mode` (no resize).
pub fn image_u8(relative: &str, mode: ColorMode) -> (Vec<u8>, ImageShape) {
    match graft_data::decode_file(&fixtures().join(relative), mode, &DecodeOptions::default())
        .unwrap()
    {
        Decoded::U8(image) => (image.data, image.shape),
        Decoded::U16(_) => panic!("{relative}: expected 8 bits"),
    }
}

/// Mean and max absolute difference over the pixels at least `border` pixels inside the image.
pub fn diff(a: &[f32], b: &[f32], shape: ImageShape, border: usize) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let (mut sum, mut max, mut count) = (0.0f64, 0.0f64, 0usize);
    for r in border..shape.height.saturating_sub(border) {
        for c in border..shape.width.saturating_sub(border) {
            for k in 0..shape.channels {
                let i = (r * shape.width + c) * shape.channels + k;
                let d = (f64::from(a[i]) - f64::from(b[i])).abs();
                sum += d;
                max = max.max(d);
                count += 1;
            }
        }
    }
    (sum / count.max(1) as f64, max)
}
