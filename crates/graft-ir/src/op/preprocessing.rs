//! Keras 3's image preprocessing layers used inside models: `Resizing`, `CenterCrop` and the
//! random augmentation layers (`RandomFlip`, `RandomRotation`, `RandomZoom`,
//! `RandomTranslation`, `RandomContrast`, `RandomBrightness`). The random ones are active in
//! training only; at inference they pass their input through (exported as identities).

use crate::op::{DataFormat, Interpolation};
use crate::shape::{Dim, Shape};

/// Where sampling falls outside the image (Keras' `fill_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillMode {
    /// Mirror about the edge: `d c b a | a b c d | d c b a`.
    Reflect,
    /// Tile the image: `a b c d | a b c d | a b c d`.
    Wrap,
    /// `fill_value` everywhere outside.
    Constant,
    /// Repeat the edge pixel.
    Nearest,
}

impl FillMode {
    /// Keras' spelling.
    pub fn keras_name(&self) -> &'static str {
        match self {
            FillMode::Reflect => "reflect",
            FillMode::Wrap => "wrap",
            FillMode::Constant => "constant",
            FillMode::Nearest => "nearest",
        }
    }

    /// From Keras' spelling.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        Some(match name {
            "reflect" => FillMode::Reflect,
            "wrap" => FillMode::Wrap,
            "constant" => FillMode::Constant,
            "nearest" => FillMode::Nearest,
            _ => return None,
        })
    }
}

/// How the geometric layers resample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    pub mode: FillMode,
    pub value: f32,
    pub interpolation: Interpolation,
}

/// One of Keras 3's image preprocessing layers. Ranges are `(lower, upper)` as Keras resolves a
/// single factor `f` to `(-f, f)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Preprocessing {
    /// Resize to `height` x `width` (optionally centre-cropping to that aspect ratio first).
    Resizing {
        height: usize,
        width: usize,
        interpolation: Interpolation,
        crop_to_aspect_ratio: bool,
    },
    /// The central `height` x `width` window (an image smaller than that is resized up).
    CenterCrop { height: usize, width: usize },
    /// Random left-right and/or top-bottom flips, each with probability 1/2 per image.
    RandomFlip { horizontal: bool, vertical: bool },
    /// Rotation by a random fraction of a full turn in `factor`.
    RandomRotation { factor: (f64, f64), fill: Fill },
    /// Zoom by `1 + u` with `u` drawn in `height_factor` (positive: zoom out); the width uses
    /// `width_factor`, or the same draw when `None` (aspect ratio kept).
    RandomZoom {
        height_factor: (f64, f64),
        width_factor: Option<(f64, f64)>,
        fill: Fill,
    },
    /// Shift by random fractions of the height and width.
    RandomTranslation {
        height_factor: (f64, f64),
        width_factor: (f64, f64),
        fill: Fill,
    },
    /// `(x - mean) * c + mean` per image and channel, `c` drawn in `[1 - lower, 1 + upper]`,
    /// clipped to `value_range`.
    RandomContrast {
        factor: (f64, f64),
        value_range: (f64, f64),
    },
    /// `x + d * (max - min)`, `d` drawn in `factor`, clipped to `value_range`.
    RandomBrightness {
        factor: (f64, f64),
        value_range: (f64, f64),
    },
}

/// The centred window `(start, size)`, per spatial axis, that Keras' `crop_to_aspect_ratio`
/// keeps of an `input` (height, width) image before resizing it to `target` (height, width).
pub fn aspect_ratio_crop(input: [usize; 2], target: [usize; 2]) -> ([usize; 2], [usize; 2]) {
    let [h, w] = input;
    let crop_h = (((w * target[0]) as f64 / target[1] as f64) as usize).clamp(1, h);
    let crop_w = (((h * target[1]) as f64 / target[0] as f64) as usize).clamp(1, w);
    ([(h - crop_h) / 2, (w - crop_w) / 2], [crop_h, crop_w])
}

/// A preprocessing layer's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct PreprocessingConfig {
    pub kind: Preprocessing,
    pub data_format: DataFormat,
    /// Keras' `seed`, when given.
    pub seed: Option<u64>,
}

impl PreprocessingConfig {
    /// Keras' class name.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Preprocessing::Resizing { .. } => "Resizing",
            Preprocessing::CenterCrop { .. } => "CenterCrop",
            Preprocessing::RandomFlip { .. } => "RandomFlip",
            Preprocessing::RandomRotation { .. } => "RandomRotation",
            Preprocessing::RandomZoom { .. } => "RandomZoom",
            Preprocessing::RandomTranslation { .. } => "RandomTranslation",
            Preprocessing::RandomContrast { .. } => "RandomContrast",
            Preprocessing::RandomBrightness { .. } => "RandomBrightness",
        }
    }

    /// True for the layers that only act in training (and pass through at inference).
    pub fn is_random(&self) -> bool {
        !matches!(
            self.kind,
            Preprocessing::Resizing { .. } | Preprocessing::CenterCrop { .. }
        )
    }

    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() != 4 {
            return Err(format!("needs a batch of images (rank 4), got {input}"));
        }
        let size = match self.kind {
            Preprocessing::Resizing { height, width, .. }
            | Preprocessing::CenterCrop { height, width } => (height, width),
            _ => return Ok(input.clone()),
        };
        if size.0 == 0 || size.1 == 0 {
            return Err(format!(
                "output size {}x{} must be positive",
                size.0, size.1
            ));
        }
        let mut dims: Vec<Dim> = input.dims().to_vec();
        let axes = self.data_format.spatial_axes(4);
        dims[axes.start] = Some(size.0);
        dims[axes.start + 1] = Some(size.1);
        Ok(Shape::new(dims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizing_changes_the_spatial_axes_only() {
        let config = PreprocessingConfig {
            kind: Preprocessing::Resizing {
                height: 8,
                width: 6,
                interpolation: Interpolation::Bilinear,
                crop_to_aspect_ratio: false,
            },
            data_format: DataFormat::ChannelsLast,
            seed: None,
        };
        let out = config
            .infer(&Shape::new(vec![None, Some(20), Some(30), Some(3)]))
            .unwrap();
        assert_eq!(out, Shape::new(vec![None, Some(8), Some(6), Some(3)]));
        let flip = PreprocessingConfig {
            kind: Preprocessing::RandomFlip {
                horizontal: true,
                vertical: false,
            },
            ..config
        };
        assert!(flip.is_random());
        assert!(flip.infer(&Shape::new(vec![None, Some(4)])).is_err());
    }
}
