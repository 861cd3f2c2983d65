//! Keras' `apply_affine_transform`: the affine matrix composed in Keras' order, and an exact, fast
//! equivalent of the `scipy.ndimage.affine_transform` resample Keras runs on every channel.
//!
//! Why hand-written: no crate reproduces scipy's boundary modes (its `reflect` is half-sample symmetric,
//! its `constant` does not interpolate towards `cval`, its `wrap` has period n-1) and its rounding of
//! order-0 samples, and matching them is the point. The resample composes the matrix once per image, then
//! makes one pass over the output: per row it computes the input coordinates of the row's first pixel, per
//! pixel it adds the column increment. Pixels whose 2x2 neighbourhood lies inside the image (nearly all of
//! them) take a branch-light path that reads all channels of a pixel at once; only pixels near or past the
//! border go through scipy's coordinate mapping. Nothing is allocated per image or per pixel.

use crate::error::DataError;
use crate::image::{ImageShape, Sample};
use std::fmt;
use std::str::FromStr;

/// How points outside the input are filled (Keras' `fill_mode`, passed by Keras to scipy as `mode`).
///
/// Keras hands the name straight to `scipy.ndimage.affine_transform`, so the meanings are scipy's:
/// - `Nearest`: the edge value repeats (`aaaa|abcd|dddd`);
/// - `Reflect`: half-sample symmetric reflection (`dcba|abcd|dcba`);
/// - `Constant`: `cval` everywhere outside `[0, n-1]`; no interpolation towards `cval` at the edge;
/// - `Wrap`: the image tiles. scipy's legacy `wrap` (what Keras gets) repeats with period n-1, so the
///   first and last rows/columns touch each other; graft tiles with period n unless Keras compatibility
///   is on (see [`ResampleOptions::keras_wrap`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FillMode {
    /// Repeat the edge value (Keras' default).
    #[default]
    Nearest,
    /// Mirror about the edge, edge pixel included twice.
    Reflect,
    /// Fill with `cval`.
    Constant,
    /// Tile the image.
    Wrap,
}

impl FromStr for FillMode {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "nearest" => Ok(FillMode::Nearest),
            "reflect" => Ok(FillMode::Reflect),
            "constant" => Ok(FillMode::Constant),
            "wrap" => Ok(FillMode::Wrap),
            other => Err(DataError::invalid(
                "fill_mode",
                format!("{other:?}; expected nearest, reflect, constant or wrap"),
            )),
        }
    }
}

impl fmt::Display for FillMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FillMode::Nearest => "nearest",
            FillMode::Reflect => "reflect",
            FillMode::Constant => "constant",
            FillMode::Wrap => "wrap",
        })
    }
}

/// Interpolation of the affine resample (Keras' `interpolation_order`: 0 or 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AffineInterpolation {
    /// Order 0: the nearest input pixel (scipy rounds half up: `floor(x + 0.5)`).
    Nearest,
    /// Order 1: bilinear (Keras' default).
    #[default]
    Bilinear,
}

impl AffineInterpolation {
    /// From Keras' `interpolation_order`. Orders 2 to 5 (scipy's splines) are not implemented.
    pub fn from_order(order: u8) -> Result<Self, DataError> {
        match order {
            0 => Ok(Self::Nearest),
            1 => Ok(Self::Bilinear),
            other => Err(DataError::invalid(
                "interpolation_order",
                format!("{other}; graft implements orders 0 and 1 (scipy's spline orders 2-5 are not)"),
            )),
        }
    }
}

/// The parameters of Keras' `apply_affine_transform`, with its names and meanings.
///
/// Angles are in degrees; shifts in pixels. `tx` moves content along columns (horizontally) and `ty` along
/// rows, as Keras' docstring says; a positive shift moves the content towards the origin because the
/// matrix maps output coordinates to input coordinates. `zx`/`zy` > 1 zoom out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AffineParams {
    /// Rotation in degrees, counter-clockwise.
    pub theta: f64,
    /// Shift along columns, in pixels.
    pub tx: f64,
    /// Shift along rows, in pixels.
    pub ty: f64,
    /// Shear angle in degrees.
    pub shear: f64,
    /// Zoom factor along columns.
    pub zx: f64,
    /// Zoom factor along rows.
    pub zy: f64,
}

impl Default for AffineParams {
    fn default() -> Self {
        Self {
            theta: 0.0,
            tx: 0.0,
            ty: 0.0,
            shear: 0.0,
            zx: 1.0,
            zy: 1.0,
        }
    }
}

impl AffineParams {
    /// Whether Keras would skip the resample entirely (all parameters neutral).
    pub fn is_identity(&self) -> bool {
        self.theta == 0.0
            && self.tx == 0.0
            && self.ty == 0.0
            && self.shear == 0.0
            && self.zx == 1.0
            && self.zy == 1.0
    }
}

/// An affine map from output pixel coordinates (row, col) to input coordinates (row, col):
/// `input_row = m[0][0] * row + m[0][1] * col + m[0][2]`, `input_col = m[1][0] * row + m[1][1] * col +
/// m[1][2]` — the `matrix` and `offset` scipy's `affine_transform` receives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AffineMatrix {
    /// The two rows of the 2x3 matrix.
    pub m: [[f64; 3]; 2],
}

impl AffineMatrix {
    /// The identity map.
    pub const IDENTITY: AffineMatrix = AffineMatrix {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    };

    /// Keras' composition: rotation . shift . shear . zoom about the image centre.
    ///
    /// With `keras_compat`, the centre is Keras' (h/2 - 0.5 used for columns and w/2 - 0.5 for rows:
    /// `transform_matrix_offset_center(m, h, w)` is called before the row/column swap, so non-square
    /// images rotate and zoom about a point off their centre). Without it, the centre is the true one.
    /// The two agree on square images.
    pub fn keras(params: &AffineParams, height: usize, width: usize, keras_compat: bool) -> Self {
        // Keras builds the matrix on (x, y) = (column, row) coordinates.
        let mut m = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        if params.theta != 0.0 {
            let t = params.theta.to_radians();
            let (s, c) = t.sin_cos();
            m = mul3(&m, &[[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]);
        }
        if params.tx != 0.0 || params.ty != 0.0 {
            m = mul3(
                &m,
                &[[1.0, 0.0, params.tx], [0.0, 1.0, params.ty], [0.0, 0.0, 1.0]],
            );
        }
        if params.shear != 0.0 {
            let s = params.shear.to_radians();
            m = mul3(
                &m,
                &[[1.0, -s.sin(), 0.0], [0.0, s.cos(), 0.0], [0.0, 0.0, 1.0]],
            );
        }
        if params.zx != 1.0 || params.zy != 1.0 {
            m = mul3(
                &m,
                &[[params.zx, 0.0, 0.0], [0.0, params.zy, 0.0], [0.0, 0.0, 1.0]],
            );
        }
        let (h, w) = (height as f64, width as f64);
        let (ox, oy) = if keras_compat {
            (h / 2.0 - 0.5, w / 2.0 - 0.5)
        } else {
            (w / 2.0 - 0.5, h / 2.0 - 0.5)
        };
        let offset = [[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]];
        let reset = [[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]];
        let t = mul3(&mul3(&offset, &m), &reset);
        // Swap to (row, col), as Keras does with its permutation P M P.
        AffineMatrix {
            m: [[t[1][1], t[1][0], t[1][2]], [t[0][1], t[0][0], t[0][2]]],
        }
    }

    /// This map followed by a horizontal flip of the output (Keras flips after the affine resample; folding
    /// the flip into the matrix saves a pass and is exact).
    pub fn then_flip_horizontal(self, width: usize) -> Self {
        let last = width.saturating_sub(1) as f64;
        let [r0, r1] = self.m;
        AffineMatrix {
            m: [
                [r0[0], -r0[1], r0[2] + r0[1] * last],
                [r1[0], -r1[1], r1[2] + r1[1] * last],
            ],
        }
    }

    /// This map followed by a vertical flip of the output.
    pub fn then_flip_vertical(self, height: usize) -> Self {
        let last = height.saturating_sub(1) as f64;
        let [r0, r1] = self.m;
        AffineMatrix {
            m: [
                [-r0[0], r0[1], r0[2] + r0[0] * last],
                [-r1[0], r1[1], r1[2] + r1[0] * last],
            ],
        }
    }
}

fn mul3(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// How the resample treats the outside of the image and interpolates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResampleOptions {
    /// Boundary mode.
    pub fill_mode: FillMode,
    /// Value outside the image with [`FillMode::Constant`].
    pub cval: f32,
    /// Order 0 or 1.
    pub interpolation: AffineInterpolation,
    /// Reproduce scipy's legacy `wrap` (period n-1, what Keras gets) instead of true tiling (period n).
    pub keras_wrap: bool,
}

/// Resamples `src` (HWC) through `matrix` into `dst` (same shape, f32), as
/// `scipy.ndimage.affine_transform(channel, matrix, offset, order, mode, cval)` does on each channel.
pub fn resample_affine<T: Sample>(
    src: &[T],
    shape: ImageShape,
    matrix: &AffineMatrix,
    options: &ResampleOptions,
    dst: &mut [f32],
) -> Result<(), DataError> {
    check_len(src.len(), dst.len(), shape)?;
    resample_scaled(src, shape, matrix, options, 1.0, dst);
    Ok(())
}

/// Keras' `apply_affine_transform(x, theta, tx, ty, shear, zx, zy, fill_mode, cval, order)` on one HWC
/// image; `keras_compat` selects Keras' off-centre pivot for non-square images and scipy's period n-1
/// `wrap`. Neutral parameters copy the image, as Keras does.
pub fn apply_affine_transform<T: Sample>(
    src: &[T],
    shape: ImageShape,
    params: &AffineParams,
    options: &ResampleOptions,
    keras_compat: bool,
    dst: &mut [f32],
) -> Result<(), DataError> {
    check_len(src.len(), dst.len(), shape)?;
    if params.is_identity() {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = s.to_f32();
        }
        return Ok(());
    }
    let matrix = AffineMatrix::keras(params, shape.height, shape.width, keras_compat);
    let options = ResampleOptions {
        keras_wrap: keras_compat,
        ..*options
    };
    resample_scaled(src, shape, &matrix, &options, 1.0, dst);
    Ok(())
}

fn check_len(src: usize, dst: usize, shape: ImageShape) -> Result<(), DataError> {
    if src != shape.len() || dst != shape.len() {
        return Err(DataError::Shape(format!(
            "affine resample of a {}x{}x{} image needs {} values in and out, got {src} and {dst}",
            shape.height,
            shape.width,
            shape.channels,
            shape.len()
        )));
    }
    Ok(())
}

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
    let src = T::widen(src);
    let src: &[f32] = &src;
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
    let small = |n: usize| (2..1 << 22).contains(&n);
    if shape.len() >= u32::MAX as usize || !small(shape.height) || !small(shape.width) {
        // Offsets that do not fit the u32 row plan, coordinates beyond `floor_small`, or no 2x2
        // neighbourhood: the plain loop.
        return scalar_rows::<T, LINEAR>(src, shape, ch, matrix, options, scale, dst);
    }
    let mut plan = RowPlan::new(shape.width);
    let nearest_fill = options.fill_mode == FillMode::Nearest;
    let row_len = shape.width * ch;
    for (r, out_row) in dst.chunks_exact_mut(row_len).enumerate() {
        plan.compute::<LINEAR>(shape, ch, matrix, r, nearest_fill, scale);
        plan.blend::<T, LINEAR>(src, shape, ch, matrix, options, r, scale, out_row);
    }
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
    fn blend<T: Sample, const LINEAR: bool>(
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
            if !self.inside[c] {
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
                *o = bilinear(src[i00 + k], src[i01 + k], src[i10 + k], src[i11 + k], fx, fy) * scale;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize, c: usize) -> Vec<f32> {
        (0..h * w * c).map(|v| (v * 7 % 251) as f32).collect()
    }

    #[test]
    fn identity_resample_copies_for_every_mode_and_order() {
        let shape = ImageShape::new(5, 7, 3);
        let src = ramp(5, 7, 3);
        for fill_mode in [
            FillMode::Nearest,
            FillMode::Reflect,
            FillMode::Constant,
            FillMode::Wrap,
        ] {
            for interpolation in [AffineInterpolation::Nearest, AffineInterpolation::Bilinear] {
                for keras_wrap in [false, true] {
                    let options = ResampleOptions {
                        fill_mode,
                        cval: -1.0,
                        interpolation,
                        keras_wrap,
                    };
                    let mut dst = vec![0.0; src.len()];
                    resample_affine(&src, shape, &AffineMatrix::IDENTITY, &options, &mut dst)
                        .unwrap();
                    assert_eq!(dst, src, "{fill_mode} {interpolation:?} {keras_wrap}");
                }
            }
        }
    }

    #[test]
    fn reflect_is_half_sample_symmetric_and_wrap_periods_differ() {
        // One row of 4 pixels, shifted 5 pixels right (input col = col - 5).
        let shape = ImageShape::new(1, 4, 1);
        let src = [10.0f32, 20.0, 30.0, 40.0];
        let matrix = AffineMatrix {
            m: [[1.0, 0.0, 0.0], [0.0, 1.0, -5.0]],
        };
        let run = |fill_mode, keras_wrap| {
            let options = ResampleOptions {
                fill_mode,
                cval: 0.0,
                interpolation: AffineInterpolation::Nearest,
                keras_wrap,
            };
            let mut dst = [0.0f32; 4];
            resample_affine(&src, shape, &matrix, &options, &mut dst).unwrap();
            dst
        };
        // Input columns -5..-2 under half-sample reflection (..dcba|abcd|dcba..): d d c b.
        assert_eq!(run(FillMode::Reflect, false), [40.0, 40.0, 30.0, 20.0]);
        assert_eq!(run(FillMode::Nearest, false), [10.0; 4]);
        assert_eq!(run(FillMode::Constant, false), [0.0; 4]);
        // True tiling: -5 mod 4 = 3, -4 -> 0, -3 -> 1, -2 -> 2.
        assert_eq!(run(FillMode::Wrap, false), [40.0, 10.0, 20.0, 30.0]);
        // scipy's legacy wrap, period 3: -5 -> 1, -4 -> 2, -3 -> 3, -2 -> 1.
        assert_eq!(run(FillMode::Wrap, true), [20.0, 30.0, 40.0, 20.0]);
    }

    #[test]
    fn flips_fold_into_the_matrix() {
        let shape = ImageShape::new(3, 4, 2);
        let src = ramp(3, 4, 2);
        let options = ResampleOptions::default();
        let mut flipped = vec![0.0; src.len()];
        let m = AffineMatrix::IDENTITY
            .then_flip_horizontal(4)
            .then_flip_vertical(3);
        resample_affine(&src, shape, &m, &options, &mut flipped).unwrap();
        for r in 0..3 {
            for c in 0..4 {
                for k in 0..2 {
                    assert_eq!(
                        flipped[(r * 4 + c) * 2 + k],
                        src[((2 - r) * 4 + (3 - c)) * 2 + k]
                    );
                }
            }
        }
    }

    #[test]
    fn non_finite_matrices_fill_instead_of_panicking() {
        let shape = ImageShape::new(3, 3, 1);
        let src = [1.0f32; 9];
        for v in [f64::NAN, f64::INFINITY, 1e300] {
            let m = AffineMatrix {
                m: [[v, 0.0, v], [0.0, v, -v]],
            };
            for fill_mode in [FillMode::Reflect, FillMode::Wrap, FillMode::Nearest] {
                for keras_wrap in [false, true] {
                    let options = ResampleOptions {
                        fill_mode,
                        keras_wrap,
                        ..Default::default()
                    };
                    let mut dst = [0.0f32; 9];
                    resample_affine(&src, shape, &m, &options, &mut dst).unwrap();
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_are_an_error() {
        let shape = ImageShape::new(2, 2, 1);
        let mut dst = [0.0f32; 3];
        let err = resample_affine(
            &[0u8; 4],
            shape,
            &AffineMatrix::IDENTITY,
            &ResampleOptions::default(),
            &mut dst,
        );
        assert!(matches!(err, Err(DataError::Shape(_))));
    }
}
