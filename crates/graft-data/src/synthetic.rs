//! Synthetic image-folder tasks: small RGB images of shapes with random colours, sizes and
//! positions, written as PNG files in Keras' `class/file.png` layout. `graft demo` trains on
//! them without a network, and the tests use them for end-to-end training tasks.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::DataError;

/// Shapes the demo backbone was NOT pretrained on (it knows circle, square, triangle, cross).
pub const NEW_SHAPES: [&str; 4] = ["ring", "diamond", "stripes", "dots"];

/// Every shape [`draw`] knows.
pub const SHAPES: [&str; 6] = ["ring", "diamond", "stripes", "dots", "circle", "square"];

fn inside(shape: &str, x: f32, y: f32, cx: f32, cy: f32, r: f32) -> bool {
    let (dx, dy) = (x - cx, y - cy);
    match shape {
        "ring" => {
            let d = (dx * dx + dy * dy).sqrt();
            d <= r && d >= r * 0.55
        }
        "diamond" => dx.abs() + dy.abs() <= r,
        "stripes" => dx.abs() <= r && dy.abs() <= r && (((dy + r) / (r / 2.5)) as i32) % 2 == 0,
        "dots" => {
            let q = r * 0.5;
            [(-q, -q), (q, -q), (-q, q), (q, q)]
                .iter()
                .any(|(ox, oy)| (dx - ox).powi(2) + (dy - oy).powi(2) <= (r * 0.28).powi(2))
        }
        "circle" => dx * dx + dy * dy <= r * r,
        "square" => dx.abs() <= r && dy.abs() <= r,
        _ => false,
    }
}

/// One `size`x`size` RGB image of `shape` (one of [`SHAPES`]; at least 32 pixels).
pub fn draw(shape: &str, size: u32, rng: &mut ChaCha8Rng) -> image::RgbImage {
    let bg: [u8; 3] = [rng.random(), rng.random(), rng.random()];
    let mut fg: [u8; 3] = [rng.random(), rng.random(), rng.random()];
    let distance: i32 = bg
        .iter()
        .zip(&fg)
        .map(|(a, b)| (*a as i32 - *b as i32).abs())
        .sum();
    if distance < 200 {
        fg = [255 - bg[0], 255 - bg[1], 255 - bg[2]];
    }
    let r = rng.random_range(7.0..12.0f32);
    let cx = rng.random_range(r + 1.0..size as f32 - r - 1.0);
    let cy = rng.random_range(r + 1.0..size as f32 - r - 1.0);
    image::RgbImage::from_fn(size, size, |x, y| {
        if inside(shape, x as f32 + 0.5, y as f32 + 0.5, cx, cy, r) {
            image::Rgb(fg)
        } else {
            image::Rgb(bg)
        }
    })
}

/// Writes `per_class` images of each shape under `root/<shape>/<i>.png`.
pub fn write_folder(
    root: &Path,
    shapes: &[&str],
    per_class: usize,
    size: u32,
    seed: u64,
) -> Result<(), DataError> {
    if let Some(bad) = shapes.iter().find(|s| !SHAPES.contains(s)) {
        return Err(DataError::invalid(
            "shape",
            format!("{bad:?}; known shapes: {}", SHAPES.join(", ")),
        ));
    }
    if size < 32 {
        return Err(DataError::invalid(
            "size",
            format!("{size}: synthetic images need at least 32 pixels"),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for shape in shapes {
        let dir = root.join(shape);
        std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        for i in 0..per_class {
            let path = dir.join(format!("{i:04}.png"));
            draw(shape, size, &mut rng)
                .save(&path)
                .map_err(|e| DataError::io(&path, std::io::Error::other(e)))?;
        }
    }
    Ok(())
}
