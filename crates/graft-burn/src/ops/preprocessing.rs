//! Keras 3's image preprocessing layers. `Resizing` and `CenterCrop` always apply; the random
//! augmentation layers act in training only, drawing per-image parameters from graft-burn's
//! per-thread generator (`crate::random`), and pass their input through at inference.
//!
//! The geometric ones (rotation, zoom, translation) build one affine sampling grid per image and
//! resample with burn's `grid_sample_2d`, so they stay differentiable like every other op.

use std::f64::consts::PI;

use burn::tensor::module::interpolate;
use burn::tensor::ops::{
    GridSampleOptions, GridSamplePaddingMode, InterpolateMode, InterpolateOptions,
};
use burn::tensor::{Int, Tensor, TensorData};
use graft_ir::{
    Fill, FillMode, Interpolation, Preprocessing, PreprocessingConfig, aspect_ratio_crop,
};

use crate::layers::{from_nchw, to_nchw};
use crate::random::uniform;
use crate::value::Value;

pub fn preprocessing(config: &PreprocessingConfig, x: Value, training: bool) -> Value {
    if config.is_random() && !training {
        return x;
    }
    let rank = x.rank();
    let (t, perm) = to_nchw(x, config.data_format);
    let y = match &config.kind {
        Preprocessing::Resizing {
            height,
            width,
            interpolation,
            crop_to_aspect_ratio,
        } => resize(t, [*height, *width], *interpolation, *crop_to_aspect_ratio),
        Preprocessing::CenterCrop { height, width } => center_crop(t, [*height, *width]),
        Preprocessing::RandomFlip {
            horizontal,
            vertical,
        } => {
            let mut t = t;
            if *horizontal {
                t = flip_some(t, 3);
            }
            if *vertical {
                t = flip_some(t, 2);
            }
            t
        }
        Preprocessing::RandomRotation { factor, fill } => {
            let n = t.dims()[0];
            let angles = uniform(n, factor.0 * 2.0 * PI, factor.1 * 2.0 * PI);
            let maps = angles
                .iter()
                .map(|a| {
                    let (s, c) = a.sin_cos();
                    ([c, -s, s, c], [0.0, 0.0])
                })
                .collect();
            affine(t, maps, fill)
        }
        Preprocessing::RandomZoom {
            height_factor,
            width_factor,
            fill,
        } => {
            let n = t.dims()[0];
            let zh = uniform(n, height_factor.0, height_factor.1);
            let zw = match width_factor {
                Some(w) => uniform(n, w.0, w.1),
                None => zh.clone(),
            };
            let maps = zh
                .iter()
                .zip(&zw)
                .map(|(h, w)| ([1.0 + w, 0.0, 0.0, 1.0 + h], [0.0, 0.0]))
                .collect();
            affine(t, maps, fill)
        }
        Preprocessing::RandomTranslation {
            height_factor,
            width_factor,
            fill,
        } => {
            let [n, _, h, w] = t.dims();
            let dy = uniform(n, height_factor.0, height_factor.1);
            let dx = uniform(n, width_factor.0, width_factor.1);
            let maps = dx
                .iter()
                .zip(&dy)
                .map(|(x, y)| ([1.0, 0.0, 0.0, 1.0], [-x * w as f64, -y * h as f64]))
                .collect();
            affine(t, maps, fill)
        }
        Preprocessing::RandomContrast {
            factor,
            value_range,
        } => {
            let [n, ..] = t.dims();
            let device = t.device();
            let c = uniform(n, 1.0 - factor.0, 1.0 + factor.1);
            let c = per_image(&c, &device);
            let mean = t.clone().mean_dim(2).mean_dim(3);
            t.sub(mean.clone())
                .mul(c)
                .add(mean)
                .clamp(value_range.0, value_range.1)
        }
        Preprocessing::RandomBrightness {
            factor,
            value_range,
        } => {
            let [n, ..] = t.dims();
            let device = t.device();
            let span = value_range.1 - value_range.0;
            let d: Vec<f64> = uniform(n, factor.0, factor.1)
                .iter()
                .map(|d| d * span)
                .collect();
            t.add(per_image(&d, &device))
                .clamp(value_range.0, value_range.1)
        }
    };
    from_nchw(y, rank, perm)
}

/// `[n, 1, 1, 1]` from one value per image.
fn per_image(values: &[f64], device: &burn::tensor::Device) -> Tensor<4> {
    let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, [values.len(), 1, 1, 1]), device)
}

/// Flips each image along `axis` with probability 1/2.
fn flip_some(t: Tensor<4>, axis: usize) -> Tensor<4> {
    let n = t.dims()[0];
    let coins: Vec<f64> = uniform(n, 0.0, 1.0)
        .into_iter()
        .map(|u| f64::from(u8::from(u < 0.5)))
        .collect();
    let m = per_image(&coins, &t.device());
    let flipped = t.clone().flip([axis]);
    t.mul(m.clone().neg().add_scalar(1.0)).add(flipped.mul(m))
}

/// TensorFlow's resize (half-pixel centres), after a centred crop to the target aspect ratio
/// when asked (Keras' arithmetic).
fn resize(t: Tensor<4>, size: [usize; 2], interpolation: Interpolation, crop: bool) -> Tensor<4> {
    let [_, _, h, w] = t.dims();
    let t = if crop {
        let (start, crop) = aspect_ratio_crop([h, w], size);
        t.narrow(2, start[0], crop[0]).narrow(3, start[1], crop[1])
    } else {
        t
    };
    match interpolation {
        Interpolation::Nearest => nearest_half_pixel(t, size),
        Interpolation::Bilinear => interpolate(
            t,
            InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(false)
                .with_output_size(size),
        ),
    }
}

/// TensorFlow's nearest resize with half-pixel centres: output `i` reads input
/// `floor((i + 0.5) * in / out)` (burn's Flex backend has no "nearest-exact" mode).
fn nearest_half_pixel(t: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let device = t.device();
    let [_, _, h, w] = t.dims();
    let index = |n_in: usize, n_out: usize| -> Tensor<1, Int> {
        let scale = n_in as f64 / n_out as f64;
        let idx: Vec<i64> = (0..n_out)
            .map(|i| (((i as f64 + 0.5) * scale).floor() as i64).min(n_in as i64 - 1))
            .collect();
        Tensor::from_data(TensorData::new(idx, [n_out]), &device)
    };
    t.select(2, index(h, size[0])).select(3, index(w, size[1]))
}

/// Keras 3's `CenterCrop`: the central window, or a resize when the image is smaller.
fn center_crop(t: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = t.dims();
    if h < size[0] || w < size[1] {
        return resize(t, size, Interpolation::Bilinear, true);
    }
    t.narrow(2, (h - size[0]) / 2, size[0])
        .narrow(3, (w - size[1]) / 2, size[1])
}

/// Resamples each image: output pixel centre `p` (relative to the image centre) reads the input
/// at `A p + b` (same frame), with Keras' fill modes.
fn affine(t: Tensor<4>, maps: Vec<([f64; 4], [f64; 2])>, fill: &Fill) -> Tensor<4> {
    let [n, _, h, w] = t.dims();
    let device = t.device();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let mut grid = Vec::with_capacity(n * h * w * 2);
    for (a, b) in &maps {
        for y in 0..h {
            for x in 0..w {
                let (px, py) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                let mut ix = a[0] * px + a[1] * py + b[0] + cx;
                let mut iy = a[2] * px + a[3] * py + b[1] + cy;
                if fill.mode == FillMode::Wrap {
                    ix = ix.rem_euclid(w as f64);
                    iy = iy.rem_euclid(h as f64);
                }
                // grid_sample without corner alignment: -1 and 1 are the outer pixel edges.
                grid.push((2.0 * ix / w as f64 - 1.0) as f32);
                grid.push((2.0 * iy / h as f64 - 1.0) as f32);
            }
        }
    }
    let grid = Tensor::<4>::from_data(TensorData::new(grid, [n, h, w, 2]), &device);
    let mode = match fill.interpolation {
        Interpolation::Nearest => InterpolateMode::Nearest,
        Interpolation::Bilinear => InterpolateMode::Bilinear,
    };
    let padding = match fill.mode {
        FillMode::Reflect => GridSamplePaddingMode::Reflection,
        FillMode::Nearest | FillMode::Wrap => GridSamplePaddingMode::Border,
        FillMode::Constant => GridSamplePaddingMode::Zeros,
    };
    let options = GridSampleOptions {
        mode,
        padding_mode: padding,
        align_corners: false,
    };
    match fill.mode {
        // Zeros padding, shifted so the outside reads `fill_value`.
        FillMode::Constant if fill.value != 0.0 => {
            let v = fill.value;
            t.sub_scalar(v).grid_sample_2d(grid, options).add_scalar(v)
        }
        _ => t.grid_sample_2d(grid, options),
    }
}
