//! Layers that move values around without computing new ones: flatten, reshape, permute,
//! repeat, pad, crop, upsample.

use super::DataFormat;
use crate::shape::{Dim, Shape};

/// `Flatten`: everything after the batch axis becomes one axis, in row-major order of the
/// input's own shape. With `data_format: ChannelsFirst` (Keras' option for models moved between
/// layouts) axis 1 is first moved to the end, as Keras does.
#[derive(Clone, Debug, PartialEq)]
pub struct FlattenConfig {
    pub data_format: DataFormat,
}

/// `Reshape`: the axes after the batch become `target_shape`; one entry may be `-1`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReshapeConfig {
    pub target_shape: Vec<i64>,
}

/// `Permute`: reorders the axes after the batch. `dims` numbers them from 1, as Keras does:
/// `dims = [2, 1]` swaps the two axes of a rank-3 input.
#[derive(Clone, Debug, PartialEq)]
pub struct PermuteConfig {
    pub dims: Vec<usize>,
}

/// `ZeroPadding1D/2D/3D`: `(before, after)` zeros for each spatial axis.
#[derive(Clone, Debug, PartialEq)]
pub struct ZeroPaddingConfig {
    pub padding: Vec<(usize, usize)>,
    pub data_format: DataFormat,
}

/// `Cropping1D/2D/3D`: `(before, after)` cells removed from each spatial axis.
#[derive(Clone, Debug, PartialEq)]
pub struct CroppingConfig {
    pub cropping: Vec<(usize, usize)>,
    pub data_format: DataFormat,
}

/// How `UpSampling` fills new cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    Nearest,
    /// Half-pixel centres, no corner alignment (TensorFlow's `resize` and ONNX `Resize`
    /// with `half_pixel`).
    Bilinear,
}

/// `UpSampling1D/2D/3D`: each spatial axis grows by an integer factor.
#[derive(Clone, Debug, PartialEq)]
pub struct UpSamplingConfig {
    pub size: Vec<usize>,
    pub interpolation: Interpolation,
    pub data_format: DataFormat,
}

impl FlattenConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() < 2 {
            return Err(format!(
                "needs a batch axis and at least one more, got {input}"
            ));
        }
        Ok(Shape::new(vec![input.dims()[0], input.feature_size()]))
    }
}

impl ReshapeConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        let unknown = self.target_shape.iter().filter(|&&d| d == -1).count();
        if unknown > 1 || self.target_shape.iter().any(|&d| d < -1 || d == 0) {
            return Err(format!(
                "target_shape {:?} may hold positive sizes and at most one -1",
                self.target_shape
            ));
        }
        let known: usize = self
            .target_shape
            .iter()
            .filter(|&&d| d > 0)
            .map(|&d| d as usize)
            .product();
        let total = input.feature_size();
        let mut dims: Vec<Dim> = vec![input.dims()[0]];
        for &d in &self.target_shape {
            if d == -1 {
                dims.push(match total {
                    Some(t) if known > 0 && t % known == 0 => Some(t / known),
                    Some(t) => {
                        return Err(format!(
                            "cannot reshape {input} ({t} values a sample) to {:?}",
                            self.target_shape
                        ));
                    }
                    None => None,
                });
            } else {
                dims.push(Some(d as usize));
            }
        }
        if unknown == 0
            && let Some(t) = total
            && t != known
        {
            return Err(format!(
                "cannot reshape {input} ({t} values a sample) to {:?} ({known} values)",
                self.target_shape
            ));
        }
        Ok(Shape::new(dims))
    }
}

impl PermuteConfig {
    /// The permutation over all axes, batch included, 0-based.
    pub fn full_permutation(&self) -> Vec<usize> {
        std::iter::once(0)
            .chain(self.dims.iter().copied())
            .collect()
    }

    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        let n = input.rank().saturating_sub(1);
        let mut sorted = self.dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=n).collect::<Vec<_>>() {
            return Err(format!(
                "dims {:?} is not a permutation of 1..={n} for input {input}",
                self.dims
            ));
        }
        let mut dims = vec![input.dims()[0]];
        dims.extend(self.dims.iter().map(|&d| input.dims()[d]));
        Ok(Shape::new(dims))
    }
}

pub(crate) fn repeat_vector_infer(n: usize, input: &Shape) -> Result<Shape, String> {
    if input.rank() != 2 {
        return Err(format!(
            "expects a rank-2 input (batch, features), got {input}"
        ));
    }
    Ok(Shape::new(vec![input.dims()[0], Some(n), input.dims()[1]]))
}

fn spatial_map(
    input: &Shape,
    data_format: DataFormat,
    expected: usize,
    what: &str,
    f: impl Fn(usize, usize) -> Option<usize>,
) -> Result<Shape, String> {
    if input.rank() != expected + 2 {
        return Err(format!(
            "{what} has {expected} spatial axes but the input is {input}"
        ));
    }
    let spatial = data_format.spatial_dims(input);
    let mut out = Vec::with_capacity(expected);
    for (i, d) in spatial.iter().enumerate() {
        out.push(match d {
            Some(d) => Some(f(i, *d).ok_or_else(|| {
                format!("{what} does not fit spatial axis {i} of size {d} (input {input})")
            })?),
            None => None,
        });
    }
    Ok(data_format.assemble(input.dims()[0], data_format.channels(input), &out))
}

impl ZeroPaddingConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        spatial_map(
            input,
            self.data_format,
            self.padding.len(),
            "padding",
            |i, d| Some(d + self.padding[i].0 + self.padding[i].1),
        )
    }
}

impl CroppingConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        spatial_map(
            input,
            self.data_format,
            self.cropping.len(),
            "cropping",
            |i, d| {
                d.checked_sub(self.cropping[i].0 + self.cropping[i].1)
                    .filter(|&r| r > 0)
            },
        )
    }
}

impl UpSamplingConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        spatial_map(input, self.data_format, self.size.len(), "size", |i, d| {
            Some(d * self.size[i])
        })
    }
}

/// How [`PadConfig`] fills new cells.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    /// A constant value.
    Constant(f32),
    /// Mirror without repeating the border cell (`[1, 2, 3]` padded by 2: `3, 2, 1, 2, 3, 2, 1`).
    Reflect,
    /// Repeat the border cell.
    Edge,
}

/// ONNX `Pad` (and Keras' `ZeroPadding` generalised): `(before, after)` cells on each axis
/// after the batch, in the value's logical order. Use [`ZeroPaddingConfig`] for zeros on
/// spatial axes only.
#[derive(Clone, Debug, PartialEq)]
pub struct PadConfig {
    /// One pair per axis after the batch.
    pub pads: Vec<(usize, usize)>,
    pub mode: PadMode,
}

impl PadConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() != self.pads.len() + 1 {
            return Err(format!(
                "has pads for {} axes after the batch, the input is {input}",
                self.pads.len()
            ));
        }
        let mut dims = vec![input.dims()[0]];
        for (d, &(b, a)) in input.dims()[1..].iter().zip(&self.pads) {
            if let Some(n) = d
                && self.mode == PadMode::Reflect
                && (b >= *n || a >= *n)
            {
                return Err(format!(
                    "reflect padding ({b}, {a}) needs an axis longer than both, got {n}"
                ));
            }
            dims.push(d.map(|n| n + b + a));
        }
        Ok(Shape::new(dims))
    }
}
