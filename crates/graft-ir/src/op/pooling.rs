//! Local and global pooling.

use super::{DataFormat, Padding, spatial_output};
use crate::shape::{Dim, Shape};

/// Which reduction a pooling layer applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

/// `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D`, ONNX `MaxPool`/`AveragePool`.
///
/// Padded cells never win a max (they hold `-inf`). For averages, `count_include_pad` says
/// whether padded cells count in the divisor: Keras' `'same'` never counts them.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    pub kind: PoolKind,
    pub pool_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub data_format: DataFormat,
    /// Output size rounds up (ONNX/PyTorch `ceil_mode`); Keras always rounds down.
    pub ceil_mode: bool,
    pub count_include_pad: bool,
}

/// `GlobalAveragePooling1D/2D/3D`, `GlobalMaxPooling*`, ONNX `GlobalAveragePool`/`GlobalMaxPool`.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalPoolConfig {
    pub kind: PoolKind,
    /// Keep the pooled axes with size 1 (Keras `keepdims`; always true for ONNX).
    pub keepdims: bool,
    pub data_format: DataFormat,
    /// Number of spatial axes pooled away (2 for `GlobalAveragePooling2D`).
    pub rank: usize,
}

impl PoolConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        let rank = self.pool_size.len();
        if input.rank() != rank + 2 {
            return Err(format!("expects a rank-{} input, got {input}", rank + 2));
        }
        if self.strides.len() != rank {
            return Err(format!(
                "pool_size and strides must have the same length ({rank}, {})",
                self.strides.len()
            ));
        }
        let spatial = self.data_format.spatial_dims(input);
        let out = spatial
            .iter()
            .zip(self.pool_size.iter().zip(&self.strides))
            .enumerate()
            .map(|(i, (&d, (&k, &s)))| spatial_output(d, k, s, 1, &self.padding, i, self.ceil_mode))
            .collect::<Result<Vec<Dim>, _>>()?;
        Ok(self
            .data_format
            .assemble(input.dims()[0], self.data_format.channels(input), &out))
    }
}

impl GlobalPoolConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() != self.rank + 2 {
            return Err(format!(
                "expects a rank-{} input, got {input}",
                self.rank + 2
            ));
        }
        let channels = self.data_format.channels(input);
        if self.keepdims {
            let ones = vec![Some(1); input.rank() - 2];
            Ok(self.data_format.assemble(input.dims()[0], channels, &ones))
        } else {
            Ok(Shape::new(vec![input.dims()[0], channels]))
        }
    }
}
