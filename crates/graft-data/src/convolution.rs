//! PIL's separable resampling filters (`Resample.c`): coefficients, the two 8-bit fixed-point passes in
//! PIL's order, and RGBA premultiplication. Used by [`crate::resize`]; a port, so that resized pixels
//! are PIL's (and therefore Keras') bit for bit.

use crate::image::ImageShape;
use crate::resize::{CropBox, Interpolation};

/// A PIL resampling filter: its support and kernel.
#[derive(Clone, Copy)]
pub(crate) struct Filter {
    support: f64,
    kernel: fn(f64) -> f64,
}

impl Filter {
    /// The filter of an interpolation; None for nearest (not a convolution in PIL).
    pub(crate) fn of(interpolation: Interpolation) -> Option<Filter> {
        let (support, kernel): (f64, fn(f64) -> f64) = match interpolation {
            Interpolation::Nearest => return None,
            Interpolation::Box => (0.5, box_filter),
            Interpolation::Bilinear => (1.0, bilinear_filter),
            Interpolation::Hamming => (1.0, hamming_filter),
            Interpolation::Bicubic => (2.0, bicubic_filter),
            Interpolation::Lanczos => (3.0, lanczos_filter),
        };
        Some(Filter { support, kernel })
    }
}

fn box_filter(x: f64) -> f64 {
    if x > -0.5 && x <= 0.5 { 1.0 } else { 0.0 }
}

fn bilinear_filter(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

fn hamming_filter(x: f64) -> f64 {
    let x = x.abs();
    if x == 0.0 {
        1.0
    } else if x >= 1.0 {
        0.0
    } else {
        let x = x * std::f64::consts::PI;
        // PIL writes the constants as C floats (0.54f, 0.46f).
        x.sin() / x * (f64::from(0.54f32) + f64::from(0.46f32) * x.cos())
    }
}

fn bicubic_filter(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos_filter(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// PIL's `precompute_coeffs`: for each output position, the first source index and the normalised
/// weights of the taps.
pub(crate) struct Coefficients {
    pub(crate) starts: Vec<usize>,
    pub(crate) counts: Vec<usize>,
    ksize: usize,
    weights: Vec<f64>,
}

impl Coefficients {
    pub(crate) fn new(in_size: usize, in0: f32, in1: f32, out_size: usize, filter: Filter) -> Self {
        let scale = f64::from(in1 - in0) / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filter.support * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let mut starts = Vec::with_capacity(out_size);
        let mut counts = Vec::with_capacity(out_size);
        let mut weights = vec![0.0; out_size * ksize];
        for xx in 0..out_size {
            let center = f64::from(in0) + (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // C's (int) truncates towards zero.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64);
            let count = (xmax - xmin).clamp(0, ksize as i64) as usize;
            let k = &mut weights[xx * ksize..xx * ksize + count];
            let mut total = 0.0;
            for (x, w) in k.iter_mut().enumerate() {
                *w = (filter.kernel)((x as f64 + xmin as f64 - center + 0.5) * ss);
                total += *w;
            }
            if total != 0.0 {
                k.iter_mut().for_each(|w| *w /= total);
            }
            starts.push(xmin as usize);
            counts.push(count);
        }
        Self {
            starts,
            counts,
            ksize,
            weights,
        }
    }

    pub(crate) fn taps(&self, i: usize) -> (usize, &[f64]) {
        let k = &self.weights[i * self.ksize..];
        (self.starts[i], &k[..self.counts[i]])
    }

    /// PIL's `normalize_coeffs_8bpc`: weights in 22-bit fixed point, rounded half away from zero.
    fn fixed_point(&self) -> Vec<i32> {
        self.weights
            .iter()
            .map(|&w| {
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                if w < 0.0 {
                    (scaled - 0.5) as i32
                } else {
                    (scaled + 0.5) as i32
                }
            })
            .collect()
    }
}

/// PIL's `PRECISION_BITS` for 8-bit images.
const PRECISION_BITS: u32 = 32 - 8 - 2;

#[inline]
fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// PIL's `ImagingResampleInner` for 8-bit images: two separable passes with an 8-bit intermediate image;
/// a pass is skipped when PIL skips it. recent Pillow (pull request 9549, in the pinned 13.0) runs the vertical pass first when the height
/// shrinks by more than twice as many pixels as the width (`H - h > 2 (W - w)`, with `h < H`); otherwise
/// the horizontal pass runs first, on only the source rows the vertical pass needs. The order changes the
/// rounding of the intermediate image, so it is reproduced.
pub(crate) fn convolve_u8(
    src: &[u8],
    shape: ImageShape,
    target: (usize, usize),
    filter: Filter,
    crop: CropBox,
) -> Vec<u8> {
    let (out_h, out_w) = target;
    let ch = shape.channels;
    let need_horizontal = out_w != shape.width || crop[0] != 0.0 || crop[2] != out_w as f32;
    let need_vertical = out_h != shape.height || crop[1] != 0.0 || crop[3] != out_h as f32;
    let vertical = Coefficients::new(shape.height, crop[1], crop[3], out_h, filter);
    let horizontal = Coefficients::new(shape.width, crop[0], crop[2], out_w, filter);
    let height_shrink = shape.height as i64 - out_h as i64;
    let width_shrink = shape.width as i64 - out_w as i64;
    let vertical_first = need_horizontal
        && need_vertical
        && out_h < shape.height
        && height_shrink > 2 * width_shrink;
    if vertical_first {
        let tmp = vertical_pass(src, shape.width * ch, &vertical, 0);
        return horizontal_pass(&tmp, shape.width, ch, 0..out_h, &horizontal);
    }
    match (need_horizontal, need_vertical) {
        (false, false) => src.to_vec(),
        (false, true) => vertical_pass(src, shape.width * ch, &vertical, 0),
        (true, false) => horizontal_pass(src, shape.width, ch, 0..shape.height, &horizontal),
        (true, true) => {
            let first_row = vertical.starts[0];
            let last_row = vertical.starts[out_h - 1] + vertical.counts[out_h - 1];
            let tmp = horizontal_pass(src, shape.width, ch, first_row..last_row, &horizontal);
            vertical_pass(&tmp, out_w * ch, &vertical, first_row)
        }
    }
}

/// PIL's `ImagingResampleHorizontal_8bpc` over source rows `rows`.
fn horizontal_pass(
    src: &[u8],
    width: usize,
    ch: usize,
    rows: std::ops::Range<usize>,
    coefficients: &Coefficients,
) -> Vec<u8> {
    let fixed = coefficients.fixed_point();
    let out_w = coefficients.starts.len();
    let mut out = vec![0u8; rows.len() * out_w * ch];
    for (y, out_row) in rows.zip(out.chunks_exact_mut(out_w * ch)) {
        let row = &src[y * width * ch..][..width * ch];
        for (xx, px) in out_row.chunks_exact_mut(ch).enumerate() {
            let start = coefficients.starts[xx];
            let k = &fixed[xx * coefficients.ksize..][..coefficients.counts[xx]];
            let taps = &row[start * ch..(start + k.len()) * ch];
            for (c, out) in px.iter_mut().enumerate() {
                let mut acc = 1i64 << (PRECISION_BITS - 1);
                for (tap, &w) in taps.chunks_exact(ch).zip(k) {
                    acc += i64::from(tap[c]) * i64::from(w);
                }
                *out = clip8(acc);
            }
        }
    }
    out
}

/// PIL's `ImagingResampleVertical_8bpc`; `src` holds rows of `stride` values starting at source row
/// `row_offset`.
fn vertical_pass(
    src: &[u8],
    stride: usize,
    coefficients: &Coefficients,
    row_offset: usize,
) -> Vec<u8> {
    let fixed = coefficients.fixed_point();
    let out_h = coefficients.starts.len();
    let mut out = vec![0u8; out_h * stride];
    for (yy, out_row) in out.chunks_exact_mut(stride).enumerate() {
        let start = coefficients.starts[yy] - row_offset;
        let k = &fixed[yy * coefficients.ksize..][..coefficients.counts[yy]];
        for (i, out) in out_row.iter_mut().enumerate() {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (t, &w) in k.iter().enumerate() {
                acc += i64::from(src[(start + t) * stride + i]) * i64::from(w);
            }
            *out = clip8(acc);
        }
    }
    out
}

/// PIL's RGBA -> RGBa conversion (`MULDIV255`).
pub(crate) fn premultiply(src: &[u8]) -> Vec<u8> {
    let mut out = src.to_vec();
    for px in out.chunks_exact_mut(4) {
        let alpha = u32::from(px[3]);
        for v in &mut px[..3] {
            let tmp = u32::from(*v) * alpha + 128;
            *v = (((tmp >> 8) + tmp) >> 8) as u8;
        }
    }
    out
}

/// PIL's RGBa -> RGBA conversion.
pub(crate) fn unpremultiply(x: &mut [u8]) {
    for px in x.chunks_exact_mut(4) {
        let alpha = u32::from(px[3]);
        if alpha == 0 || alpha == 255 {
            continue;
        }
        for v in &mut px[..3] {
            *v = (255 * u32::from(*v) / alpha).min(255) as u8;
        }
    }
}
