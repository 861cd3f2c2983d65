//! Resizing as Keras' `load_img` does it: PIL's `Image.resize(size, resample, box)`.
//!
//! Why hand-written: Keras' outputs are PIL's, bit for bit, and no Rust crate reproduces PIL's choices —
//! nearest neighbour samples `floor((x + 0.5) * scale)` accumulated in f64; the other filters are PIL's
//! separable convolutions whose support widens by the scale factor when downscaling (an antialiasing
//! filter, unlike a plain bilinear interpolation), with coefficients normalised, rounded to 22-bit fixed
//! point, and an 8-bit intermediate image between the horizontal and the vertical pass (in the order PIL
//! picks); RGBA images are premultiplied by alpha around the convolution. This module (nearest, the
//! public functions) and the private `convolution` module (the filters) port that arithmetic, so that
//! `flow_from_directory` yields the pixels Keras yields.
//!
//! Keras' bilinear is therefore PIL's antialiased triangle filter, not a 4-tap bilinear interpolation:
//! graft matches it, with no difference left (tests/keras_parity.rs compares 21 cases bit for bit).
//!
//! 16-bit greyscale images (which Keras keeps as 0-65535 in `grayscale` mode) go through the same filters in
//! floating point with rounding; PIL's dedicated 16-bit path may differ from it by one unit.

use crate::convolution::{self, Coefficients, Filter};
use crate::error::DataError;
use crate::image::ImageShape;
use std::fmt;
use std::str::FromStr;

/// Resampling filter for resizing (Keras' `interpolation` argument of `flow_from_directory` / `load_img`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Interpolation {
    /// PIL `NEAREST` (Keras' default).
    #[default]
    Nearest,
    /// PIL `BILINEAR` (triangle filter, widened when downscaling).
    Bilinear,
    /// PIL `BICUBIC` (a = -0.5).
    Bicubic,
    /// PIL `LANCZOS` (3 lobes).
    Lanczos,
    /// PIL `BOX`.
    Box,
    /// PIL `HAMMING`.
    Hamming,
}

impl FromStr for Interpolation {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "nearest" => Ok(Self::Nearest),
            "bilinear" => Ok(Self::Bilinear),
            "bicubic" => Ok(Self::Bicubic),
            "lanczos" => Ok(Self::Lanczos),
            "box" => Ok(Self::Box),
            "hamming" => Ok(Self::Hamming),
            other => Err(DataError::invalid(
                "interpolation",
                format!("{other:?}; expected nearest, bilinear, bicubic, lanczos, box or hamming"),
            )),
        }
    }
}

impl fmt::Display for Interpolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nearest => "nearest",
            Self::Bilinear => "bilinear",
            Self::Bicubic => "bicubic",
            Self::Lanczos => "lanczos",
            Self::Box => "box",
            Self::Hamming => "hamming",
        })
    }
}

/// A source region in pixels, PIL's `box`: (left, upper, right, lower), right and lower exclusive.
pub type CropBox = [f32; 4];

/// The centre crop Keras' `load_img(keep_aspect_ratio=True)` resizes from: the largest region of the
/// target's aspect ratio, centred (Keras' integer arithmetic). `target` is (height, width).
pub fn keep_aspect_ratio_box(width: usize, height: usize, target: (usize, usize)) -> CropBox {
    let (target_height, target_width) = (target.0.max(1), target.1.max(1));
    let crop_height = (width * target_height / target_width).min(height);
    let crop_width = (height * target_width / target_height).min(width);
    let top = (height - crop_height) / 2;
    let left = (width - crop_width) / 2;
    [
        left as f32,
        top as f32,
        (left + crop_width) as f32,
        (top + crop_height) as f32,
    ]
}

/// Resizes an 8-bit HWC image to `target` = (height, width) as PIL's `Image.resize(size, filter, box)`
/// does (for 4 channels, as an RGBA image: premultiplied by alpha unless `Nearest`). `crop` defaults to
/// the whole image.
pub fn resize_u8(
    src: &[u8],
    shape: ImageShape,
    target: (usize, usize),
    interpolation: Interpolation,
    crop: Option<CropBox>,
) -> Result<Vec<u8>, DataError> {
    check(src.len(), shape, target)?;
    let crop = crop.unwrap_or([0.0, 0.0, shape.width as f32, shape.height as f32]);
    check_crop(crop, shape)?;
    let (out_h, out_w) = target;
    let whole = crop == [0.0, 0.0, shape.width as f32, shape.height as f32];
    if whole && out_h == shape.height && out_w == shape.width {
        return Ok(src.to_vec());
    }
    let Some(filter) = Filter::of(interpolation) else {
        return Ok(nearest(src, shape, target, crop, 0u8));
    };
    if shape.channels == 4 {
        let premultiplied = convolution::premultiply(src);
        let mut out = convolution::convolve_u8(&premultiplied, shape, target, filter, crop);
        convolution::unpremultiply(&mut out);
        return Ok(out);
    }
    Ok(convolution::convolve_u8(src, shape, target, filter, crop))
}

/// Resizes a 16-bit HWC image (Keras keeps 16-bit greyscale files as they are): PIL's coefficients in
/// floating point, rounded half away from zero and clamped to 0-65535.
pub fn resize_u16(
    src: &[u16],
    shape: ImageShape,
    target: (usize, usize),
    interpolation: Interpolation,
    crop: Option<CropBox>,
) -> Result<Vec<u16>, DataError> {
    check(src.len(), shape, target)?;
    let crop = crop.unwrap_or([0.0, 0.0, shape.width as f32, shape.height as f32]);
    check_crop(crop, shape)?;
    let (out_h, out_w) = target;
    let whole = crop == [0.0, 0.0, shape.width as f32, shape.height as f32];
    if whole && out_h == shape.height && out_w == shape.width {
        return Ok(src.to_vec());
    }
    let Some(filter) = Filter::of(interpolation) else {
        return Ok(nearest(src, shape, target, crop, 0u16));
    };
    let ch = shape.channels;
    let horizontal = Coefficients::new(shape.width, crop[0], crop[2], out_w, filter);
    let vertical = Coefficients::new(shape.height, crop[1], crop[3], out_h, filter);
    let mut tmp = vec![0.0f64; shape.height * out_w * ch];
    for y in 0..shape.height {
        for xx in 0..out_w {
            let (start, weights) = horizontal.taps(xx);
            for k in 0..ch {
                tmp[(y * out_w + xx) * ch + k] = weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * f64::from(src[(y * shape.width + start + i) * ch + k]))
                    .sum();
            }
        }
    }
    let mut out = vec![0u16; out_h * out_w * ch];
    for yy in 0..out_h {
        let (start, weights) = vertical.taps(yy);
        for xx in 0..out_w {
            for k in 0..ch {
                let v: f64 = weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * tmp[((start + i) * out_w + xx) * ch + k])
                    .sum();
                out[(yy * out_w + xx) * ch + k] = v.round().clamp(0.0, 65535.0) as u16;
            }
        }
    }
    Ok(out)
}

/// PIL's checks on `box`: inside the image, not negative, not empty.
fn check_crop(crop: CropBox, shape: ImageShape) -> Result<(), DataError> {
    let [left, top, right, bottom] = crop;
    let inside = left >= 0.0
        && top >= 0.0
        && right <= shape.width as f32
        && bottom <= shape.height as f32
        && left < right
        && top < bottom;
    if inside {
        Ok(())
    } else {
        Err(DataError::invalid(
            "box",
            format!(
                "{crop:?} must be a non-empty region inside the {}x{} image",
                shape.width, shape.height
            ),
        ))
    }
}

fn check(len: usize, shape: ImageShape, target: (usize, usize)) -> Result<(), DataError> {
    if len != shape.len() {
        return Err(DataError::Shape(format!(
            "resize of a {}x{}x{} image got {len} values",
            shape.height, shape.width, shape.channels
        )));
    }
    if target.0 == 0
        || target.1 == 0
        || shape.height == 0
        || shape.width == 0
        || shape.channels == 0
    {
        return Err(DataError::invalid(
            "target_size",
            format!(
                "cannot resize {}x{} to {}x{}",
                shape.height, shape.width, target.0, target.1
            ),
        ));
    }
    Ok(())
}

/// PIL's nearest-neighbour resize (`ImagingScaleAffine`): source positions accumulated in f64 from
/// `box + scale / 2`, truncated; positions outside the source are filled with zero.
fn nearest<T: Copy>(
    src: &[T],
    shape: ImageShape,
    target: (usize, usize),
    crop: CropBox,
    zero: T,
) -> Vec<T> {
    nearest_converted(src, shape, target, crop, zero, |v| v)
}

/// PIL's nearest-neighbour resize of an 8-bit image straight to f32 values: what `load_img` followed by
/// `img_to_array` gives, in one pass (the iterators feed it to the augmentation without an 8-bit
/// intermediate).
pub fn resize_nearest_to_f32(
    src: &[u8],
    shape: ImageShape,
    target: (usize, usize),
    crop: Option<CropBox>,
) -> Result<Vec<f32>, DataError> {
    let mut out = Vec::new();
    resize_nearest_to_f32_into(src, shape, target, crop, &mut out)?;
    Ok(out)
}

/// [`resize_nearest_to_f32`] into a caller's buffer (reused across images, it stays in cache).
pub fn resize_nearest_to_f32_into(
    src: &[u8],
    shape: ImageShape,
    target: (usize, usize),
    crop: Option<CropBox>,
    out: &mut Vec<f32>,
) -> Result<(), DataError> {
    check(src.len(), shape, target)?;
    let crop = crop.unwrap_or([0.0, 0.0, shape.width as f32, shape.height as f32]);
    check_crop(crop, shape)?;
    out.clear();
    out.resize(target.0 * target.1 * shape.channels, 0.0);
    match shape.channels {
        1 => nearest_into::<u8, f32, 1>(src, shape, target, crop, f32::from, out),
        3 => nearest_into::<u8, f32, 3>(src, shape, target, crop, f32::from, out),
        4 => nearest_into::<u8, f32, 4>(src, shape, target, crop, f32::from, out),
        _ => nearest_into::<u8, f32, 0>(src, shape, target, crop, f32::from, out),
    }
    Ok(())
}

fn nearest_converted<T: Copy, U: Copy>(
    src: &[T],
    shape: ImageShape,
    target: (usize, usize),
    crop: CropBox,
    zero: U,
    convert: impl Fn(T) -> U + Copy,
) -> Vec<U> {
    // Fixed pixel sizes turn the per-pixel copies into plain moves (a generic element loop becomes a
    // memcpy call per pixel).
    match shape.channels {
        1 => nearest_pixels::<T, U, 1>(src, shape, target, crop, zero, convert),
        3 => nearest_pixels::<T, U, 3>(src, shape, target, crop, zero, convert),
        4 => nearest_pixels::<T, U, 4>(src, shape, target, crop, zero, convert),
        _ => nearest_pixels::<T, U, 0>(src, shape, target, crop, zero, convert),
    }
}

/// [`nearest`] for pixels of `C` values (`C = 0`: `shape.channels`, any count), converting each value.
fn nearest_pixels<T: Copy, U: Copy, const C: usize>(
    src: &[T],
    shape: ImageShape,
    target: (usize, usize),
    crop: CropBox,
    zero: U,
    convert: impl Fn(T) -> U,
) -> Vec<U> {
    let ch = if C == 0 { shape.channels } else { C };
    let mut out = vec![zero; target.0 * target.1 * ch];
    nearest_into::<T, U, C>(src, shape, target, crop, convert, &mut out);
    out
}

/// The sampling loop of [`nearest_pixels`], into `out` (already `height * width * channels` long and
/// holding the value for positions outside the source).
fn nearest_into<T: Copy, U: Copy, const C: usize>(
    src: &[T],
    shape: ImageShape,
    target: (usize, usize),
    crop: CropBox,
    convert: impl Fn(T) -> U,
    out: &mut [U],
) {
    let (out_h, out_w) = target;
    let ch = if C == 0 { shape.channels } else { C };
    let scale_x = f64::from(crop[2] - crop[0]) / out_w as f64;
    let scale_y = f64::from(crop[3] - crop[1]) / out_h as f64;
    let coord = |v: f64| if v < 0.0 { -1 } else { v as i64 };
    let mut columns = Vec::with_capacity(out_w);
    let mut xo = f64::from(crop[0]) + scale_x * 0.5;
    for _ in 0..out_w {
        let xin = coord(xo);
        columns.push(
            (0..shape.width as i64)
                .contains(&xin)
                .then_some(xin as usize * ch),
        );
        xo += scale_x;
    }
    let mut yo = f64::from(crop[1]) + scale_y * 0.5;
    for out_row in out.chunks_exact_mut(out_w * ch) {
        let yin = coord(yo);
        yo += scale_y;
        if !(0..shape.height as i64).contains(&yin) {
            continue;
        }
        let row = &src[yin as usize * shape.width * ch..][..shape.width * ch];
        for (px, column) in out_row.chunks_exact_mut(ch).zip(&columns) {
            let Some(start) = *column else { continue };
            if C == 0 {
                for (o, &v) in px.iter_mut().zip(&row[start..start + ch]) {
                    *o = convert(v);
                }
            } else if let (Ok(to), Ok(from)) = (
                <&mut [U; C]>::try_from(px),
                <&[T; C]>::try_from(&row[start..start + C]),
            ) {
                *to = from.map(&convert);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_aspect_ratio_crops_the_centre() {
        // 48 wide x 40 high to a square: a 40x40 crop starting at column 4.
        assert_eq!(
            keep_aspect_ratio_box(48, 40, (10, 10)),
            [4.0, 0.0, 44.0, 40.0]
        );
        // To 30 high x 20 wide: crop_height = 48*30/20 = 72 -> 40; crop_width = 40*20/30 = 26.
        assert_eq!(
            keep_aspect_ratio_box(48, 40, (30, 20)),
            [11.0, 0.0, 37.0, 40.0]
        );
    }

    #[test]
    fn same_size_is_a_copy_and_bad_sizes_are_errors() {
        let shape = ImageShape::new(2, 3, 1);
        let src = [1u8, 2, 3, 4, 5, 6];
        for interpolation in [Interpolation::Nearest, Interpolation::Lanczos] {
            assert_eq!(
                resize_u8(&src, shape, (2, 3), interpolation, None).unwrap(),
                src
            );
        }
        assert!(resize_u8(&src, shape, (0, 3), Interpolation::Bilinear, None).is_err());
        for crop in [
            [-1.0, 0.0, 3.0, 2.0],
            [0.0, 0.0, 4.0, 2.0],
            [2.0, 0.0, 1.0, 2.0],
        ] {
            assert!(resize_u8(&src, shape, (4, 4), Interpolation::Bilinear, Some(crop)).is_err());
        }
        assert!(resize_u8(&src[..5], shape, (4, 4), Interpolation::Bilinear, None).is_err());
    }

    #[test]
    fn nearest_upscale_repeats_pixels() {
        let shape = ImageShape::new(1, 2, 1);
        let out = resize_u8(&[10, 20], shape, (2, 4), Interpolation::Nearest, None).unwrap();
        assert_eq!(out, [10, 10, 20, 20, 10, 10, 20, 20]);
    }

    #[test]
    fn bilinear_downscale_widens_the_filter() {
        // Halving: support 2, centres 1 and 3. Taps 0,1,2 weigh 0.75, 0.75, 0.25 (normalised by 1.75):
        // (0*3 + 80*3 + 160) / 7 = 57.1; taps 1,2,3 weigh 0.25, 0.75, 0.75: (80 + 480 + 720) / 7 = 182.9.
        let shape = ImageShape::new(1, 4, 1);
        let out = resize_u8(
            &[0, 80, 160, 240],
            shape,
            (1, 2),
            Interpolation::Bilinear,
            None,
        )
        .unwrap();
        assert_eq!(out, [57, 183]);
    }
}
