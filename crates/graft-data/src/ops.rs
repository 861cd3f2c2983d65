//! Per-image pointwise and flip kernels, on HWC f32 images, in place.
//!
//! The ImageDataGenerator ones (`apply_channel_shift`, `apply_brightness_shift`) reproduce Keras' numpy/PIL
//! arithmetic, including its 8-bit truncations. The Keras 3 layer ones (`adjust_contrast`,
//! `shift_brightness`) follow `keras.layers.RandomContrast` / `RandomBrightness`; they are public so that
//! the crate implementing Keras 3 preprocessing layers can reuse them.

use crate::image::ImageShape;

/// Mirrors the image left-right (Keras' `flip_axis(x, col_axis)`).
pub fn flip_horizontal(x: &mut [f32], shape: ImageShape) {
    let ch = shape.channels;
    if ch == 0 || shape.width == 0 {
        return;
    }
    for row in x.chunks_exact_mut(shape.width * ch) {
        let (mut left, mut right) = (0, shape.width - 1);
        while left < right {
            for k in 0..ch {
                row.swap(left * ch + k, right * ch + k);
            }
            left += 1;
            right -= 1;
        }
    }
}

/// Mirrors the image top-bottom (Keras' `flip_axis(x, row_axis)`).
pub fn flip_vertical(x: &mut [f32], shape: ImageShape) {
    let stride = shape.width * shape.channels;
    if stride == 0 {
        return;
    }
    let rows = x.len() / stride;
    for r in 0..rows / 2 {
        let (head, tail) = x.split_at_mut((rows - 1 - r) * stride);
        head[r * stride..(r + 1) * stride].swap_with_slice(&mut tail[..stride]);
    }
}

/// The smallest and largest value (NaN ignored; `(+inf, -inf)` for an empty slice).
pub(crate) fn min_max(x: &[f32]) -> (f32, f32) {
    x.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// Keras' `apply_channel_shift(x, intensity)`: adds `intensity` to every value, then clips to the
/// image's own minimum and maximum (taken over all channels before the shift).
pub fn apply_channel_shift(x: &mut [f32], intensity: f64) {
    let (lo, hi) = min_max(x);
    let delta = intensity as f32;
    for v in x.iter_mut() {
        // max/min rather than clamp: no panic on an all-NaN image (lo > hi).
        *v = (*v + delta).max(lo).min(hi);
    }
}

/// Keras' `apply_brightness_shift(x, brightness, scale)`, which goes through PIL.
///
/// The image is converted to 8 bits as `array_to_img` does (min-max scaled to 0-255 when `scale` is set or
/// when values fall outside 0-255, then truncated), brightened like `ImageEnhance.Brightness(img)
/// .enhance(brightness)` (PIL's `blend` with black in f32, truncated, clipped when extrapolating), and
/// converted back; when the image was scaled only because of its range, the original range is restored.
pub fn apply_brightness_shift(x: &mut [f32], brightness: f64, scale: bool) {
    let (x_min, x_max) = min_max(x);
    if x.is_empty() {
        return;
    }
    let local_scale = x_min < 0.0 || x_max > 255.0;
    let alpha = brightness as f32;
    let (shift, divisor) = if local_scale || scale {
        let span = x_max - x_min;
        (x_min, if span != 0.0 { span } else { 1.0 })
    } else {
        (0.0, 0.0)
    };
    for v in x.iter_mut() {
        let as_u8 = if divisor != 0.0 {
            to_u8_truncating((*v - shift) / divisor * 255.0)
        } else {
            to_u8_truncating(*v)
        };
        let bright = pil_blend_with_black(as_u8, alpha);
        *v = if !scale && local_scale {
            f32::from(bright) / 255.0 * (x_max - x_min) + x_min
        } else {
            f32::from(bright)
        };
    }
}

/// numpy's `astype("uint8")` on values already in [0, 255]: truncation (NaN becomes 0).
#[inline]
fn to_u8_truncating(v: f32) -> u8 {
    v as u8
}

/// PIL's `Image.blend(black, img, alpha)` on one 8-bit value (Blend.c).
#[inline]
fn pil_blend_with_black(v: u8, alpha: f32) -> u8 {
    if alpha == 1.0 {
        return v;
    }
    if alpha == 0.0 {
        return 0;
    }
    let t = alpha * f32::from(v);
    if (0.0..=1.0).contains(&alpha) {
        t as u8
    } else if t <= 0.0 {
        0
    } else if t >= 255.0 {
        255
    } else {
        t as u8
    }
}

/// Keras 3 `RandomContrast`'s transform: per channel, `(x - mean) * factor + mean` with the mean over
/// rows and columns, then clipped to `value_range`.
pub fn adjust_contrast(x: &mut [f32], shape: ImageShape, factor: f32, value_range: (f32, f32)) {
    let ch = shape.channels;
    let pixels = shape.height * shape.width;
    if ch == 0 || pixels == 0 {
        return;
    }
    let mut sums = vec![0.0f64; ch];
    for px in x.chunks_exact(ch) {
        for (s, &v) in sums.iter_mut().zip(px) {
            *s += f64::from(v);
        }
    }
    let means: Vec<f32> = sums.iter().map(|s| (s / pixels as f64) as f32).collect();
    for px in x.chunks_exact_mut(ch) {
        for (v, &m) in px.iter_mut().zip(&means) {
            *v = ((*v - m) * factor + m)
                .max(value_range.0)
                .min(value_range.1);
        }
    }
}

/// Keras 3 `RandomBrightness`'s transform: adds `delta` (already scaled to the value range) to every
/// value, then clips to `value_range`.
pub fn shift_brightness(x: &mut [f32], delta: f32, value_range: (f32, f32)) {
    for v in x.iter_mut() {
        *v = (*v + delta).max(value_range.0).min(value_range.1);
    }
}

/// Multiplies every value by `factor` (Keras' `rescale`).
pub fn rescale(x: &mut [f32], factor: f32) {
    for v in x.iter_mut() {
        *v *= factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_reverse_the_right_axis() {
        let shape = ImageShape::new(2, 3, 2);
        let mut x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        flip_horizontal(&mut x, shape);
        assert_eq!(x, [4., 5., 2., 3., 0., 1., 10., 11., 8., 9., 6., 7.]);
        flip_vertical(&mut x, shape);
        assert_eq!(x, [10., 11., 8., 9., 6., 7., 4., 5., 2., 3., 0., 1.]);
    }

    #[test]
    fn channel_shift_clips_to_the_image_range() {
        let mut x = vec![10.0, 50.0, 200.0];
        apply_channel_shift(&mut x, 100.0);
        assert_eq!(x, [110.0, 150.0, 200.0]);
        apply_channel_shift(&mut x, -1000.0);
        assert_eq!(x, [110.0; 3]);
    }

    #[test]
    fn brightness_truncates_like_pil() {
        // 0.5 * 101 = 50.5 -> 50 (truncation); 1.5 * 200 = 300 -> 255 (clip).
        let mut x = vec![101.0, 200.0, 3.7];
        apply_brightness_shift(&mut x, 0.5, false);
        assert_eq!(x, [50.0, 100.0, 1.0]);
        let mut x = vec![101.0, 200.0];
        apply_brightness_shift(&mut x, 1.5, false);
        assert_eq!(x, [151.0, 255.0]);
    }

    #[test]
    fn brightness_restores_the_range_of_out_of_range_images() {
        let mut x = vec![-1.0, 0.0, 1.0];
        apply_brightness_shift(&mut x, 1.0, false);
        // Scaled to 0, 127.5 -> 127, 255, then mapped back.
        assert_eq!(x, [-1.0, 127.0 / 255.0 * 2.0 - 1.0, 1.0]);
    }

    #[test]
    fn contrast_scales_about_the_channel_mean() {
        let shape = ImageShape::new(1, 2, 1);
        let mut x = vec![10.0, 30.0];
        adjust_contrast(&mut x, shape, 2.0, (0.0, 255.0));
        assert_eq!(x, [0.0, 40.0]);
    }
}
