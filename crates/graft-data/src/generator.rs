//! `ImageDataGenerator`: Keras' parameters (names, defaults, meanings) as a builder, the random draws,
//! and the Keras-compatibility switch.

use crate::affine::{AffineInterpolation, FillMode};
use crate::error::DataError;
use crate::image::ImageShape;
use crate::params::{Shift, TransformParams, Zoom};
use crate::rng::{self, Purpose, uniform};
use crate::standardize::Statistics;
use rand::Rng;
use std::fmt;
use std::sync::Arc;

/// A user function run on every image before the other normalisations (Keras' `preprocessing_function`):
/// it receives one HWC image in place, after augmentation.
pub type PreprocessingFunction = Arc<dyn Fn(&mut [f32], ImageShape) + Send + Sync>;

/// Generates batches of augmented images: Keras' `ImageDataGenerator`, with the same parameter names,
/// defaults and meanings.
///
/// ```
/// use graft_data::{ImageDataGenerator, Shift};
/// let generator = ImageDataGenerator::new()
///     .rotation_range(20.0)
///     .width_shift_range(Shift::Fraction(0.1))
///     .height_shift_range(0.1)
///     .shear_range(10.0)
///     .zoom_range(0.2)
///     .horizontal_flip(true)
///     .rescale(1.0 / 255.0);
/// ```
///
/// Per image, as Keras: draw the random parameters; one affine resample (rotation, shift, shear, zoom
/// about the centre, with the flips folded in); channel shift; brightness; then `standardize`
/// (preprocessing function, rescale, samplewise centre/std, featurewise centre/std, ZCA).
///
/// **Keras compatibility.** Keras has two bugs in this pipeline: `height_shift_range` shifts images
/// horizontally by a fraction of their height and `width_shift_range` vertically by a fraction of their
/// width, and `fill_mode="wrap"` tiles with period n-1 (scipy's legacy `wrap`). A third one shows on
/// non-square images only: rotation, shear and zoom pivot about (w/2, h/2) read as (row, column) instead
/// of the centre. graft does the right thing by default; [`keras_compat(true)`](Self::keras_compat)
/// reproduces all three, for bit-level comparisons with Keras.
#[derive(Clone)]
pub struct ImageDataGenerator {
    pub(crate) featurewise_center: bool,
    pub(crate) samplewise_center: bool,
    pub(crate) featurewise_std_normalization: bool,
    pub(crate) samplewise_std_normalization: bool,
    pub(crate) zca_whitening: bool,
    pub(crate) zca_epsilon: f64,
    pub(crate) rotation_range: f64,
    pub(crate) width_shift_range: Shift,
    pub(crate) height_shift_range: Shift,
    pub(crate) brightness_range: Option<(f64, f64)>,
    pub(crate) shear_range: f64,
    pub(crate) zoom_range: Zoom,
    pub(crate) channel_shift_range: f64,
    pub(crate) fill_mode: FillMode,
    pub(crate) cval: f64,
    pub(crate) horizontal_flip: bool,
    pub(crate) vertical_flip: bool,
    pub(crate) rescale: Option<f32>,
    pub(crate) preprocessing_function: Option<PreprocessingFunction>,
    pub(crate) validation_split: f64,
    pub(crate) interpolation_order: u8,
    pub(crate) keras_compat: bool,
    pub(crate) statistics: Arc<Statistics>,
}

impl Default for ImageDataGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageDataGenerator {
    /// True when images are transformed randomly (a rotation, shift, shear, zoom, channel or
    /// brightness shift, or a flip is configured): the same sample then differs between epochs.
    pub fn is_random(&self) -> bool {
        self.rotation_range != 0.0
            || self.width_shift_range != Shift::None
            || self.height_shift_range != Shift::None
            || self.brightness_range.is_some()
            || self.shear_range != 0.0
            || (self.zoom_range.lower, self.zoom_range.upper) != (1.0, 1.0)
            || self.channel_shift_range != 0.0
            || self.horizontal_flip
            || self.vertical_flip
    }
}

impl fmt::Debug for ImageDataGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageDataGenerator")
            .field("featurewise_center", &self.featurewise_center)
            .field("samplewise_center", &self.samplewise_center)
            .field(
                "featurewise_std_normalization",
                &self.featurewise_std_normalization,
            )
            .field(
                "samplewise_std_normalization",
                &self.samplewise_std_normalization,
            )
            .field("zca_whitening", &self.zca_whitening)
            .field("zca_epsilon", &self.zca_epsilon)
            .field("rotation_range", &self.rotation_range)
            .field("width_shift_range", &self.width_shift_range)
            .field("height_shift_range", &self.height_shift_range)
            .field("brightness_range", &self.brightness_range)
            .field("shear_range", &self.shear_range)
            .field("zoom_range", &self.zoom_range)
            .field("channel_shift_range", &self.channel_shift_range)
            .field("fill_mode", &self.fill_mode)
            .field("cval", &self.cval)
            .field("horizontal_flip", &self.horizontal_flip)
            .field("vertical_flip", &self.vertical_flip)
            .field("rescale", &self.rescale)
            .field(
                "preprocessing_function",
                &self.preprocessing_function.as_ref().map(|_| "<fn>"),
            )
            .field("validation_split", &self.validation_split)
            .field("interpolation_order", &self.interpolation_order)
            .field("keras_compat", &self.keras_compat)
            .field("fitted", &self.statistics.is_fitted())
            .finish()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl ImageDataGenerator {
    /// A generator with Keras' defaults: no augmentation, no normalisation, `fill_mode="nearest"`,
    /// `interpolation_order=1`, `zca_epsilon=1e-6`, Keras compatibility off.
    pub fn new() -> Self {
        Self {
            featurewise_center: false,
            samplewise_center: false,
            featurewise_std_normalization: false,
            samplewise_std_normalization: false,
            zca_whitening: false,
            zca_epsilon: 1e-6,
            rotation_range: 0.0,
            width_shift_range: Shift::None,
            height_shift_range: Shift::None,
            brightness_range: None,
            shear_range: 0.0,
            zoom_range: Zoom::default(),
            channel_shift_range: 0.0,
            fill_mode: FillMode::Nearest,
            cval: 0.0,
            horizontal_flip: false,
            vertical_flip: false,
            rescale: None,
            preprocessing_function: None,
            validation_split: 0.0,
            interpolation_order: 1,
            keras_compat: false,
            statistics: Arc::new(Statistics::default()),
        }
    }

    setter!(
        /// Subtract the dataset's per-channel mean (computed by [`fit`](Self::fit)).
        featurewise_center: bool
    );
    setter!(
        /// Subtract each image's own mean.
        samplewise_center: bool
    );
    setter!(
        /// Divide by the dataset's per-channel std (+1e-6); implies `featurewise_center`.
        featurewise_std_normalization: bool
    );
    setter!(
        /// Divide each image by its own std (+1e-6); implies `samplewise_center`.
        samplewise_std_normalization: bool
    );
    setter!(
        /// ZCA whitening (fitted by [`fit`](Self::fit)); forces `featurewise_center` on and
        /// `featurewise_std_normalization` off, as Keras does.
        zca_whitening: bool
    );
    setter!(
        /// Added to the singular values in ZCA whitening (default 1e-6).
        zca_epsilon: f64
    );
    setter!(
        /// Rotation drawn uniformly in `[-r, r]` degrees.
        rotation_range: f64
    );
    setter!(
        /// Range of the shear angle, in degrees, drawn uniformly in `[-s, s]`.
        shear_range: f64
    );
    setter!(
        /// Channel shift intensity drawn uniformly in `[-r, r]`.
        channel_shift_range: f64
    );
    setter!(
        /// How points outside the image are filled.
        fill_mode: FillMode
    );
    setter!(
        /// Fill value for `FillMode::Constant`.
        cval: f64
    );
    setter!(
        /// Mirror left-right with probability 0.5.
        horizontal_flip: bool
    );
    setter!(
        /// Mirror top-bottom with probability 0.5.
        vertical_flip: bool
    );
    setter!(
        /// Fraction of the data reserved for validation, for `subset` (strictly between 0 and 1, or 0).
        validation_split: f64
    );
    setter!(
        /// Affine interpolation order: 0 (nearest) or 1 (bilinear, default).
        interpolation_order: u8
    );
    setter!(
        /// Reproduce Keras' bugs (swapped shift axes, period n-1 `wrap`, off-centre pivot on non-square
        /// images) instead of fixing them. Off by default.
        keras_compat: bool
    );

    /// Horizontal shift range (see [`Shift`]); accepts `f64` (Keras' float rule), `u32`, `Vec<f64>`.
    pub fn width_shift_range(mut self, value: impl Into<Shift>) -> Self {
        self.width_shift_range = value.into();
        self
    }

    /// Vertical shift range (see [`Shift`]).
    pub fn height_shift_range(mut self, value: impl Into<Shift>) -> Self {
        self.height_shift_range = value.into();
        self
    }

    /// Zoom range: `z` for `[1 - z, 1 + z]`, or a `(lower, upper)` pair. Values above 1 zoom out.
    pub fn zoom_range(mut self, value: impl Into<Zoom>) -> Self {
        self.zoom_range = value.into();
        self
    }

    /// Brightness factor range, drawn uniformly; 1 leaves the image unchanged.
    pub fn brightness_range(mut self, range: Option<(f64, f64)>) -> Self {
        self.brightness_range = range;
        self
    }

    /// Multiply every value by this factor after augmentation (None or 0: no rescale, as Keras).
    pub fn rescale(mut self, factor: impl Into<Option<f32>>) -> Self {
        self.rescale = factor.into().filter(|f| *f != 0.0);
        self
    }

    /// A function run on each image (HWC, in place) first thing in `standardize`.
    pub fn preprocessing_function(
        mut self,
        function: impl Fn(&mut [f32], ImageShape) + Send + Sync + 'static,
    ) -> Self {
        self.preprocessing_function = Some(Arc::new(function));
        self
    }

    /// The validation fraction.
    pub fn get_validation_split(&self) -> f64 {
        self.validation_split
    }

    /// Whether Keras compatibility is on.
    pub fn is_keras_compat(&self) -> bool {
        self.keras_compat
    }

    /// Checks every parameter, as Keras' constructor does (called by every `flow*`).
    pub fn validate(&self) -> Result<(), DataError> {
        let finite = |name: &'static str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(DataError::invalid(name, format!("{v} is not finite")))
            }
        };
        finite("rotation_range", self.rotation_range)?;
        finite("shear_range", self.shear_range)?;
        finite("channel_shift_range", self.channel_shift_range)?;
        finite("cval", self.cval)?;
        finite("zca_epsilon", self.zca_epsilon)?;
        finite("zoom_range", self.zoom_range.lower)?;
        finite("zoom_range", self.zoom_range.upper)?;
        if let Some((lo, hi)) = self.brightness_range {
            finite("brightness_range", lo)?;
            finite("brightness_range", hi)?;
        }
        self.width_shift_range.validate("width_shift_range")?;
        self.height_shift_range.validate("height_shift_range")?;
        if self.validation_split != 0.0
            && !(self.validation_split > 0.0 && self.validation_split < 1.0)
        {
            return Err(DataError::invalid(
                "validation_split",
                format!("{} must be strictly between 0 and 1", self.validation_split),
            ));
        }
        AffineInterpolation::from_order(self.interpolation_order)?;
        Ok(())
    }

    /// The normalisation flags after Keras' implications: `(featurewise_center, featurewise_std,
    /// samplewise_center, samplewise_std)`.
    pub(crate) fn effective_flags(&self) -> (bool, bool, bool, bool) {
        let mut featurewise_center = self.featurewise_center;
        let mut featurewise_std = self.featurewise_std_normalization;
        if self.zca_whitening {
            featurewise_center = true;
            featurewise_std = false;
        }
        if featurewise_std {
            featurewise_center = true;
        }
        let samplewise_center = self.samplewise_center || self.samplewise_std_normalization;
        (
            featurewise_center,
            featurewise_std,
            samplewise_center,
            self.samplewise_std_normalization,
        )
    }

    /// Keras' `get_random_transform`: draws one image's parameters from `rng`, for an image of
    /// `height` x `width`. Draws are made in Keras' order; disabled augmentations draw nothing except
    /// the two flip coins, which Keras always tosses.
    pub fn get_random_transform<R: Rng>(
        &self,
        height: usize,
        width: usize,
        rng: &mut R,
    ) -> TransformParams {
        let theta = if self.rotation_range != 0.0 {
            uniform(rng, -self.rotation_range, self.rotation_range)
        } else {
            0.0
        };
        // Keras draws `tx` from height_shift_range scaled by the height and applies it along columns
        // (and `ty` the other way round); the fixed mode pairs each range with its own axis.
        let from_height_range = self.height_shift_range.draw(rng, height);
        let from_width_range = self.width_shift_range.draw(rng, width);
        let (tx, ty) = if self.keras_compat {
            (from_height_range, from_width_range)
        } else {
            (from_width_range, from_height_range)
        };
        let shear = if self.shear_range != 0.0 {
            uniform(rng, -self.shear_range, self.shear_range)
        } else {
            0.0
        };
        let (zx, zy) = if self.zoom_range.is_none() {
            (1.0, 1.0)
        } else {
            let (lo, hi) = (self.zoom_range.lower, self.zoom_range.upper);
            (uniform(rng, lo, hi), uniform(rng, lo, hi))
        };
        let flip_horizontal = rng.random::<f64>() < 0.5 && self.horizontal_flip;
        let flip_vertical = rng.random::<f64>() < 0.5 && self.vertical_flip;
        let channel_shift_intensity = (self.channel_shift_range != 0.0)
            .then(|| uniform(rng, -self.channel_shift_range, self.channel_shift_range));
        let brightness = self.brightness_range.map(|(lo, hi)| uniform(rng, lo, hi));
        TransformParams {
            theta,
            tx,
            ty,
            shear,
            zx,
            zy,
            flip_horizontal,
            flip_vertical,
            channel_shift_intensity,
            brightness,
        }
    }

    /// The parameters of sample `index` in epoch `epoch` of an iterator seeded with `seed`: a pure
    /// function of the four, whatever the thread count or the order batches are built in.
    pub fn random_transform_params(
        &self,
        height: usize,
        width: usize,
        seed: u64,
        epoch: u64,
        index: u64,
    ) -> TransformParams {
        let mut rng = rng::stream(seed, epoch, index, Purpose::Augment);
        self.get_random_transform(height, width, &mut rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fixed_mode_pairs_each_shift_range_with_its_axis() {
        let generator = ImageDataGenerator::new().width_shift_range(Shift::Fraction(0.5));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut max_tx: f64 = 0.0;
        for _ in 0..500 {
            let p = generator.get_random_transform(10, 100, &mut rng);
            assert_eq!(p.ty, 0.0);
            assert!(p.tx.abs() <= 50.0);
            max_tx = max_tx.max(p.tx.abs());
        }
        assert!(max_tx > 40.0, "uses the width (100), not the height (10)");
    }

    #[test]
    fn compat_mode_swaps_the_shift_axes_like_keras() {
        let generator = ImageDataGenerator::new()
            .width_shift_range(Shift::Fraction(0.5))
            .keras_compat(true);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut max_ty: f64 = 0.0;
        for _ in 0..500 {
            let p = generator.get_random_transform(10, 100, &mut rng);
            // Keras: width_shift_range scaled by the width lands in `ty`, the row shift.
            assert_eq!(p.tx, 0.0);
            max_ty = max_ty.max(p.ty.abs());
        }
        assert!(max_ty > 40.0 && max_ty <= 50.0);
    }

    #[test]
    fn zoom_pair_draws_two_independent_factors_in_range() {
        let generator = ImageDataGenerator::new().zoom_range((0.5, 1.5));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let params: Vec<_> = (0..300)
            .map(|_| generator.get_random_transform(8, 8, &mut rng))
            .collect();
        assert!(
            params
                .iter()
                .all(|p| (0.5..1.5).contains(&p.zx) && (0.5..1.5).contains(&p.zy))
        );
        assert!(
            params.iter().any(|p| (p.zx - p.zy).abs() > 0.3),
            "independent"
        );
        let float_form = ImageDataGenerator::new().zoom_range(0.2);
        assert_eq!(
            float_form.zoom_range,
            Zoom {
                lower: 0.8,
                upper: 1.2
            }
        );
    }

    #[test]
    fn brightness_and_channel_shift_are_drawn_only_when_asked() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let plain = ImageDataGenerator::new().get_random_transform(4, 4, &mut rng);
        assert_eq!(plain.brightness, None);
        assert_eq!(plain.channel_shift_intensity, None);
        let generator = ImageDataGenerator::new()
            .brightness_range(Some((0.5, 0.7)))
            .channel_shift_range(10.0);
        for _ in 0..200 {
            let p = generator.get_random_transform(4, 4, &mut rng);
            let b = p.brightness.unwrap();
            assert!((0.5..0.7).contains(&b));
            assert!(p.channel_shift_intensity.unwrap().abs() <= 10.0);
        }
    }

    #[test]
    fn per_sample_params_depend_only_on_seed_epoch_and_index() {
        let generator = ImageDataGenerator::new()
            .rotation_range(30.0)
            .horizontal_flip(true);
        let a = generator.random_transform_params(8, 8, 42, 3, 17);
        let b = generator.random_transform_params(8, 8, 42, 3, 17);
        assert_eq!(a, b);
        assert_ne!(a, generator.random_transform_params(8, 8, 42, 4, 17));
        assert_ne!(a, generator.random_transform_params(8, 8, 42, 3, 18));
    }

    #[test]
    fn validation_rejects_what_keras_rejects() {
        assert!(
            ImageDataGenerator::new()
                .validation_split(1.0)
                .validate()
                .is_err()
        );
        assert!(
            ImageDataGenerator::new()
                .validation_split(0.2)
                .validate()
                .is_ok()
        );
        assert!(
            ImageDataGenerator::new()
                .interpolation_order(3)
                .validate()
                .is_err()
        );
        assert!(
            ImageDataGenerator::new()
                .rotation_range(f64::NAN)
                .validate()
                .is_err()
        );
    }
}
