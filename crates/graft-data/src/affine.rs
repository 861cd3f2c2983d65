//! Keras' `apply_affine_transform`: the parameters, the affine matrix composed in Keras' order (with
//! and without Keras' off-centre pivot), the fill modes, and the public resample entry points. The
//! resample itself, an exact and fast equivalent of `scipy.ndimage.affine_transform`, is in the private
//! `resample` module (see its notes on exactness and speed).

use crate::error::DataError;
use crate::image::{ImageShape, Sample};
use crate::resample;
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
                format!(
                    "{other}; graft implements orders 0 and 1 (scipy's spline orders 2-5 are not)"
                ),
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
                &[
                    [1.0, 0.0, params.tx],
                    [0.0, 1.0, params.ty],
                    [0.0, 0.0, 1.0],
                ],
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
                &[
                    [params.zx, 0.0, 0.0],
                    [0.0, params.zy, 0.0],
                    [0.0, 0.0, 1.0],
                ],
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
    resample::resample_scaled(src, shape, matrix, options, 1.0, dst);
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
    resample::resample_scaled(src, shape, &matrix, &options, 1.0, dst);
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
