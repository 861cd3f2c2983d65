//! Applying one image's parameters: Keras' `apply_transform`, and the fused augment-and-standardize pass
//! the iterators use.

use crate::affine::{AffineInterpolation, AffineMatrix, ResampleOptions};
use crate::error::DataError;
use crate::generator::ImageDataGenerator;
use crate::image::{ImageShape, Sample};
use crate::ops;
use crate::params::TransformParams;
use crate::resample;

impl ImageDataGenerator {
    /// Keras' `apply_transform(x, params)` on one HWC image: the affine resample, channel shift, flips and
    /// brightness, written to `dst` as f32 (no `standardize`).
    pub fn apply_transform<T: Sample>(
        &self,
        src: &[T],
        shape: ImageShape,
        params: &TransformParams,
        dst: &mut [f32],
    ) -> Result<(), DataError> {
        self.check(src.len(), dst.len(), shape)?;
        self.augment_into(src, shape, params, 1.0, dst)
    }

    /// Keras' `apply_transform` followed by `standardize`, in as few passes as possible: when no step
    /// between the resample and the rescale needs raw values, the rescale is folded into the resample.
    pub fn transform_and_standardize<T: Sample>(
        &self,
        src: &[T],
        shape: ImageShape,
        params: &TransformParams,
        dst: &mut [f32],
    ) -> Result<(), DataError> {
        self.check(src.len(), dst.len(), shape)?;
        let fold_rescale = params.channel_shift_intensity.is_none()
            && params.brightness.is_none()
            && self.preprocessing_function.is_none();
        let scale = match (fold_rescale, self.rescale) {
            (true, Some(r)) => r,
            _ => 1.0,
        };
        self.augment_into(src, shape, params, scale, dst)?;
        self.standardize_inner(dst, shape, fold_rescale);
        Ok(())
    }

    fn check(&self, src: usize, dst: usize, shape: ImageShape) -> Result<(), DataError> {
        if src != shape.len() || dst != shape.len() {
            return Err(DataError::Shape(format!(
                "a {}x{}x{} image needs {} values in and out, got {src} and {dst}",
                shape.height,
                shape.width,
                shape.channels,
                shape.len()
            )));
        }
        Ok(())
    }

    /// The resample options this generator implies.
    pub fn resample_options(&self) -> Result<ResampleOptions, DataError> {
        Ok(ResampleOptions {
            fill_mode: self.fill_mode,
            cval: self.cval as f32,
            interpolation: AffineInterpolation::from_order(self.interpolation_order)?,
            keras_wrap: self.keras_compat,
        })
    }

    fn augment_into<T: Sample>(
        &self,
        src: &[T],
        shape: ImageShape,
        params: &TransformParams,
        scale: f32,
        dst: &mut [f32],
    ) -> Result<(), DataError> {
        let options = self.resample_options()?;
        let affine = params.affine();
        // Keras skips the resample when the affine part is neutral; flips are folded into the matrix
        // (they commute with the pointwise channel shift and brightness that Keras runs between).
        let mut matrix = (!affine.is_identity())
            .then(|| AffineMatrix::keras(&affine, shape.height, shape.width, self.keras_compat));
        if params.flip_horizontal {
            matrix = Some(
                matrix
                    .unwrap_or(AffineMatrix::IDENTITY)
                    .then_flip_horizontal(shape.width),
            );
        }
        if params.flip_vertical {
            matrix = Some(
                matrix
                    .unwrap_or(AffineMatrix::IDENTITY)
                    .then_flip_vertical(shape.height),
            );
        }
        match matrix {
            Some(matrix) => resample::resample_scaled(src, shape, &matrix, &options, scale, dst),
            None => {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = s.to_f32() * scale;
                }
            }
        }
        if let Some(intensity) = params.channel_shift_intensity {
            ops::apply_channel_shift(dst, intensity);
        }
        if let Some(brightness) = params.brightness {
            ops::apply_brightness_shift(dst, brightness, false);
        }
        Ok(())
    }
}
