//! The affine resample: an exact, fast equivalent of `scipy.ndimage.affine_transform` with orders 0 and 1
//! and the boundary modes Keras uses.
//!
//! Why hand-written: no crate reproduces scipy's boundary modes (its `reflect` is half-sample symmetric,
//! its `constant` does not interpolate towards `cval`, its `wrap` has period n-1) and its rounding of
//! order-0 samples, and matching them is the point.
//!
//! How it is fast: the matrix is composed once per image; 8-bit images are widened to f32 once (gathering
//! from f32 is cheaper than converting every neighbour); each output row is then planned in a first pass
//! the compiler vectorises (coordinates from the row start plus a per-column increment, clamping, floor by
//! a float trick, offsets and the four bilinear weights with `rescale` folded in), and consumed by a
//! gather-and-blend pass whose 2x2 block is one bounds-checked slice. With `nearest` fill every pixel takes
//! that path (scipy's rule is a clamp); with the other modes, pixels whose neighbourhood leaves the image
//! go through scipy's coordinate mapping, in f64.

use crate::affine::{AffineInterpolation, AffineMatrix, FillMode, ResampleOptions};
use crate::image::{ImageShape, Sample};

/// The resample with every output value multiplied by `scale` (Keras' `rescale`, folded in when nothing
/// between the resample and the rescale needs the unscaled values). Lengths are checked by the caller.
pub(crate) fn resample_scaled<T: Sample>(
    src: &[T],
    shape: ImageShape,
    matrix: &AffineMatrix,
    options: &ResampleOptions,
    scale: f32,
    dst: &mut [f32],
) {
    if shape.is_empty() {
        return;
    }
    // Gathering from f32 is cheaper than converting every gathered neighbour: 8-bit and 16-bit images
    // are widened once, into a per-thread buffer that stays in cache from one image to the next.
    match T::as_f32(src) {
        Some(values) => resample_f32(values, shape, matrix, options, scale, dst),
        None => WIDENED.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => {
                buffer.clear();
                buffer.extend(src.iter().map(|v| v.to_f32()));
                resample_f32(&buffer, shape, matrix, options, scale, dst);
            }
            Err(_) => {
                let widened: Vec<f32> = src.iter().map(|v| v.to_f32()).collect();
                resample_f32(&widened, shape, matrix, options, scale, dst);
            }
        }),
    }
}

thread_local! {
    /// The per-thread buffer 8-bit and 16-bit images are widened into.
    static WIDENED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn resample_f32(
    src: &[f32],
    shape: ImageShape,
    matrix: &AffineMatrix,
    options: &ResampleOptions,
    scale: f32,
    dst: &mut [f32],
) {
    // Monomorphise the common channel counts so the per-pixel channel loops unroll.
    let linear = options.interpolation == AffineInterpolation::Bilinear;
    match (shape.channels, linear) {
        (1, true) => resample_rows::<f32, true>(src, shape, 1, matrix, options, scale, dst),
        (3, true) => resample_rows::<f32, true>(src, shape, 3, matrix, options, scale, dst),
        (4, true) => resample_rows::<f32, true>(src, shape, 4, matrix, options, scale, dst),
        (c, true) => resample_rows::<f32, true>(src, shape, c, matrix, options, scale, dst),
        (1, false) => resample_rows::<f32, false>(src, shape, 1, matrix, options, scale, dst),
        (3, false) => resample_rows::<f32, false>(src, shape, 3, matrix, options, scale, dst),
        (4, false) => resample_rows::<f32, false>(src, shape, 4, matrix, options, scale, dst),
        (c, false) => resample_rows::<f32, false>(src, shape, c, matrix, options, scale, dst),
    }
}

#[inline(always)]
fn resample_rows<T: Sample, const LINEAR: bool>(
    src: &[T],
    shape: ImageShape,
    ch: usize,
    matrix: &AffineMatrix,
    options: &ResampleOptions,
    scale: f32,
    dst: &mut [f32],
) {
    if !plan_fits(shape) {
        // Offsets that do not fit the u32 row plan, coordinates beyond `floor_small`, or no 2x2
        // neighbourhood: the plain loop.
        return scalar_rows::<T, LINEAR>(src, shape, ch, matrix, options, scale, dst);
    }
    let mut plan = RowPlan::new(shape.width);
    let nearest_fill = options.fill_mode == FillMode::Nearest;
    let row_len = shape.width * ch;
    for (r, out_row) in dst.chunks_exact_mut(row_len).enumerate() {
        plan.compute::<LINEAR>(shape, ch, matrix, r, nearest_fill, scale);
        if nearest_fill {
            // Every pixel is inside: the loop without the border test.
            plan.blend::<T, LINEAR, false>(src, shape, ch, matrix, options, r, scale, out_row);
        } else {
            plan.blend::<T, LINEAR, true>(src, shape, ch, matrix, options, r, scale, out_row);
        }
    }
}

/// Whether the row plan applies: u32 offsets, coordinates within `floor_small`'s range, and a 2x2
/// neighbourhood.
fn plan_fits(shape: ImageShape) -> bool {
    let small = |n: usize| (2..1 << 22).contains(&n);
    shape.len() < u32::MAX as usize && small(shape.height) && small(shape.width)
}

/// The input positions of one output row, computed in a first pass that the compiler vectorises
/// (coordinates, clamping, floor, offsets and bilinear weights of all pixels of the row), then consumed
/// by a gather-and-blend pass. Buffers are allocated once per image.
///
/// For bilinear sampling the top-left neighbour is clamped to `[0, n - 2]` so that the 2x2 block always
/// lies inside the image (one bounds check per pixel); a coordinate on the last row or column then gets
/// weight 1 on the far neighbour, which gives exactly the edge value as scipy does.
struct RowPlan {
    columns: Vec<f32>,
    /// Offset (in values) of the top-left neighbour, or of the sampled pixel for order 0.
    offset: Vec<u32>,
    /// Bilinear weights, `rescale` folded in: top-left, top-right, bottom-left, bottom-right.
    weights: [Vec<f32>; 4],
    /// Whether the pixel's neighbourhood is inside the image (always, with `nearest` fill).
    inside: Vec<bool>,
}

impl RowPlan {
    fn new(width: usize) -> Self {
        RowPlan {
            columns: (0..width).map(|c| c as f32).collect(),
            offset: vec![0; width],
            weights: std::array::from_fn(|_| vec![0.0; width]),
            inside: vec![true; width],
        }
    }

    /// First pass over output row `r`. With `nearest` fill the coordinates are clamped into the image
    /// (scipy's rule), so every pixel is "inside"; otherwise pixels whose neighbourhood leaves the image
    /// are flagged for the exact border path.
    #[inline(always)]
    fn compute<const LINEAR: bool>(
        &mut self,
        shape: ImageShape,
        ch: usize,
        matrix: &AffineMatrix,
        r: usize,
        nearest_fill: bool,
        scale: f32,
    ) {
        let (h, w) = (shape.height, shape.width);
        let [[a00, a01, a02], [a10, a11, a12]] = matrix.m;
        let rf = r as f64;
        let (y_start, x_start) = ((a00 * rf + a02) as f32, (a10 * rf + a12) as f32);
        let (dy, dx) = (a01 as f32, a11 as f32);
        let (y_max, x_max) = ((h - 1) as f32, (w - 1) as f32);
        let (last_y0, last_x0) = (h as u32 - 2, w as u32 - 2);
        let (row_stride, ch32) = ((w * ch) as u32, ch as u32);
        let n = w;
        let columns = &self.columns[..n];
        let offset = &mut self.offset[..n];
        let [w00, w01, w10, w11] = &mut self.weights;
        let (w00, w01, w10, w11) = (&mut w00[..n], &mut w01[..n], &mut w10[..n], &mut w11[..n]);
        let inside = &mut self.inside[..n];
        for c in 0..n {
            let y_raw = y_start + dy * columns[c];
            let x_raw = x_start + dx * columns[c];
            // Written as comparisons so they compile to maxps/minps; NaN becomes 0.
            let y = if y_raw > 0.0 { y_raw } else { 0.0 };
            let y = if y < y_max { y } else { y_max };
            let x = if x_raw > 0.0 { x_raw } else { 0.0 };
            let x = if x < x_max { x } else { x_max };
            if !nearest_fill {
                inside[c] = if LINEAR {
                    y_raw >= 0.0 && y_raw < y_max && x_raw >= 0.0 && x_raw < x_max
                } else {
                    y_raw >= 0.0 && y_raw <= y_max && x_raw >= 0.0 && x_raw <= x_max
                };
            }
            if LINEAR {
                let y0 = floor_small(y).min(last_y0);
                let x0 = floor_small(x).min(last_x0);
                let fy = y - y0 as f32;
                let fx = x - x0 as f32;
                offset[c] = y0 * row_stride + x0 * ch32;
                let (gy, gx) = ((1.0 - fy) * scale, fy * scale);
                w00[c] = gy * (1.0 - fx);
                w01[c] = gy * fx;
                w10[c] = gx * (1.0 - fx);
                w11[c] = gx * fx;
            } else {
                offset[c] = floor_small(y + 0.5) * row_stride + floor_small(x + 0.5) * ch32;
            }
        }
    }

    /// Second pass: gathers the neighbours and blends them into the output row.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn blend<T: Sample, const LINEAR: bool, const BORDERS: bool>(
        &self,
        src: &[T],
        shape: ImageShape,
        ch: usize,
        matrix: &AffineMatrix,
        options: &ResampleOptions,
        r: usize,
        scale: f32,
        out_row: &mut [f32],
    ) {
        let [[a00, a01, a02], [a10, a11, a12]] = matrix.m;
        let rf = r as f64;
        let row_stride = shape.width * ch;
        let [w00, w01, w10, w11] = &self.weights;
        for (c, out) in out_row.chunks_exact_mut(ch).enumerate() {
            if BORDERS && !self.inside[c] {
                // Exact scipy mapping, with the coordinates recomputed in f64.
                let cf = c as f64;
                let (y, x) = (a00 * rf + a01 * cf + a02, a10 * rf + a11 * cf + a12);
                sample_border(src, shape, y, x, options, scale, out);
                continue;
            }
            let at = self.offset[c] as usize;
            if LINEAR {
                // One slice covering the 2x2 block: every index below is provably in bounds.
                let block = &src[at..at + row_stride + 2 * ch];
                let (k00, k01, k10, k11) = (w00[c], w01[c], w10[c], w11[c]);
                for k in 0..ch {
                    out[k] = k00 * block[k].to_f32()
                        + k01 * block[ch + k].to_f32()
                        + k10 * block[row_stride + k].to_f32()
                        + k11 * block[row_stride + ch + k].to_f32();
                }
            } else {
                for (o, s) in out.iter_mut().zip(&src[at..at + ch]) {
                    *o = s.to_f32() * scale;
                }
            }
        }
    }
}

/// The per-pixel loop in f64 without a row plan, for images too large for u32 offsets.
fn scalar_rows<T: Sample, const LINEAR: bool>(
    src: &[T],
    shape: ImageShape,
    ch: usize,
    matrix: &AffineMatrix,
    options: &ResampleOptions,
    scale: f32,
    dst: &mut [f32],
) {
    let (h, w) = (shape.height, shape.width);
    let [[a00, a01, a02], [a10, a11, a12]] = matrix.m;
    let (y_max, x_max) = ((h - 1) as f64, (w - 1) as f64);
    let row_stride = w * ch;
    for (r, out_row) in dst.chunks_exact_mut(row_stride).enumerate() {
        let rf = r as f64;
        for (c, out) in out_row.chunks_exact_mut(ch).enumerate() {
            let cf = c as f64;
            let y = a00 * rf + a01 * cf + a02;
            let x = a10 * rf + a11 * cf + a12;
            let inside = if LINEAR {
                y >= 0.0 && y < y_max && x >= 0.0 && x < x_max
            } else {
                y >= 0.0 && y <= y_max && x >= 0.0 && x <= x_max
            };
            if !inside {
                sample_border(src, shape, y, x, options, scale, out);
            } else if LINEAR {
                let (y0, x0) = (y as usize, x as usize);
                let (fy, fx) = ((y - y0 as f64) as f32, (x - x0 as f64) as f32);
                let i = (y0 * w + x0) * ch;
                let top = &src[i..i + 2 * ch];
                let bottom = &src[i + row_stride..i + row_stride + 2 * ch];
                for k in 0..ch {
                    out[k] =
                        bilinear(top[k], top[ch + k], bottom[k], bottom[ch + k], fx, fy) * scale;
                }
            } else {
                let i = ((y + 0.5) as usize * w + (x + 0.5) as usize) * ch;
                for (o, s) in out.iter_mut().zip(&src[i..i + ch]) {
                    *o = s.to_f32() * scale;
                }
            }
        }
    }
}

/// `floor(v)` for `v` in `[0, 2^22)`, by the float-rounding trick (adding 1.5 * 2^23 rounds to an integer
/// held in the low mantissa bits) instead of a float-to-int conversion, which Rust saturates and which
/// therefore does not vectorise.
#[inline(always)]
fn floor_small(v: f32) -> u32 {
    const MAGIC: f32 = 12_582_912.0;
    let shifted = v + MAGIC;
    let rounded = shifted.to_bits().wrapping_sub(MAGIC.to_bits());
    rounded - u32::from(shifted - MAGIC > v)
}

/// Bilinear blend of four neighbours (row-major: p00 p01 / p10 p11) at fractions (fx, fy).
#[inline(always)]
fn bilinear<T: Sample>(p00: T, p01: T, p10: T, p11: T, fx: f32, fy: f32) -> f32 {
    let (p00, p01, p10, p11) = (p00.to_f32(), p01.to_f32(), p10.to_f32(), p11.to_f32());
    let upper = p00 + fx * (p01 - p00);
    let lower = p10 + fx * (p11 - p10);
    upper + fy * (lower - upper)
}

/// One output pixel whose neighbourhood reaches outside the image: scipy's coordinate mapping, then the
/// interpolation with out-of-range neighbours folded back by the same mode.
#[cold]
fn sample_border<T: Sample>(
    src: &[T],
    shape: ImageShape,
    y: f64,
    x: f64,
    options: &ResampleOptions,
    scale: f32,
    out: &mut [f32],
) {
    let ch = shape.channels;
    let fill = |out: &mut [f32]| out.iter_mut().for_each(|o| *o = options.cval * scale);
    if !(y.is_finite() && x.is_finite()) {
        return fill(out);
    }
    let mode = options.fill_mode;
    let wrap = options.keras_wrap;
    let (Some(my), Some(mx)) = (
        map_coordinate(y, shape.height, mode, wrap),
        map_coordinate(x, shape.width, mode, wrap),
    ) else {
        return fill(out);
    };
    let pixel = |row: i64, col: i64| {
        let r = extend_index(row, shape.height, mode, wrap);
        let c = extend_index(col, shape.width, mode, wrap);
        (r * shape.width + c) * ch
    };
    match options.interpolation {
        AffineInterpolation::Nearest => {
            let i = pixel((my + 0.5).floor() as i64, (mx + 0.5).floor() as i64);
            for (o, s) in out.iter_mut().zip(&src[i..i + ch]) {
                *o = s.to_f32() * scale;
            }
        }
        AffineInterpolation::Bilinear => {
            let (y0, x0) = (my.floor(), mx.floor());
            let (fy, fx) = ((my - y0) as f32, (mx - x0) as f32);
            let (y0, x0) = (y0 as i64, x0 as i64);
            let i00 = pixel(y0, x0);
            let i01 = pixel(y0, x0.saturating_add(1));
            let i10 = pixel(y0.saturating_add(1), x0);
            let i11 = pixel(y0.saturating_add(1), x0.saturating_add(1));
            for (k, o) in out.iter_mut().enumerate() {
                *o = bilinear(
                    src[i00 + k],
                    src[i01 + k],
                    src[i10 + k],
                    src[i11 + k],
                    fx,
                    fy,
                ) * scale;
            }
        }
    }
}

/// scipy's `map_coordinate` (ni_interpolation.c) for the modes Keras can pass, plus true tiling for
/// graft's fixed `wrap`. `None` means "outside, use cval" (mode `constant`).
fn map_coordinate(x: f64, n: usize, mode: FillMode, keras_wrap: bool) -> Option<f64> {
    let len = n as f64;
    if x < 0.0 {
        Some(match mode {
            FillMode::Constant => return None,
            FillMode::Nearest => 0.0,
            FillMode::Reflect if n <= 1 => 0.0,
            FillMode::Reflect => {
                let sz2 = 2.0 * len;
                let mut x = x;
                if x < -sz2 {
                    x += sz2 * (-x / sz2).trunc();
                }
                if x < -len {
                    x + sz2
                } else {
                    (if x > -1e-15 { 1e-15 } else { -x }) - 1.0
                }
            }
            FillMode::Wrap if !keras_wrap => x.rem_euclid(len),
            FillMode::Wrap if n <= 1 => 0.0,
            FillMode::Wrap => {
                let sz = len - 1.0;
                x + sz * ((-x / sz).trunc() + 1.0)
            }
        })
    } else if x > len - 1.0 {
        Some(match mode {
            FillMode::Constant => return None,
            FillMode::Nearest => len - 1.0,
            FillMode::Reflect if n <= 1 => 0.0,
            FillMode::Reflect => {
                let sz2 = 2.0 * len;
                let x = x - sz2 * (x / sz2).trunc();
                if x >= len { sz2 - x - 1.0 } else { x }
            }
            FillMode::Wrap if !keras_wrap => x.rem_euclid(len),
            FillMode::Wrap if n <= 1 => 0.0,
            FillMode::Wrap => {
                let sz = len - 1.0;
                x - sz * (x / sz).trunc()
            }
        })
    } else {
        Some(x)
    }
}

/// Folds an integer pixel index back into `[0, n)` by the boundary rule (for interpolation neighbours).
fn extend_index(i: i64, n: usize, mode: FillMode, keras_wrap: bool) -> usize {
    let len = n as i64;
    if (0..len).contains(&i) {
        return i as usize;
    }
    let folded = match mode {
        FillMode::Reflect => {
            let j = i.rem_euclid(2 * len);
            if j < len { j } else { 2 * len - 1 - j }
        }
        FillMode::Wrap if !keras_wrap => i.rem_euclid(len),
        _ => i.clamp(0, len - 1),
    };
    folded as usize
}
