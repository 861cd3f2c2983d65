//! A minimal interleaved (HWC) image buffer, the unit every kernel works on.

/// Height, width and channel count of one image stored row-major with interleaved channels (HWC), the
/// layout of one entry of a Keras `channels_last` batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Values per pixel (1 grey, 3 RGB, 4 RGBA; any count works for the affine kernels).
    pub channels: usize,
}

impl ImageShape {
    /// A shape from (height, width, channels).
    pub const fn new(height: usize, width: usize, channels: usize) -> Self {
        Self {
            height,
            width,
            channels,
        }
    }

    /// Number of values: `height * width * channels`.
    pub const fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Whether the image holds no value at all.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An owned HWC image.
#[derive(Clone, Debug, PartialEq)]
pub struct Image<T> {
    /// Its dimensions.
    pub shape: ImageShape,
    /// `shape.len()` values, row-major, channels interleaved.
    pub data: Vec<T>,
}

impl<T> Image<T> {
    /// Wraps `data`, which must hold exactly `shape.len()` values.
    pub fn new(shape: ImageShape, data: Vec<T>) -> Result<Self, crate::DataError> {
        if data.len() != shape.len() {
            return Err(crate::DataError::Shape(format!(
                "{} values for a {}x{}x{} image",
                data.len(),
                shape.height,
                shape.width,
                shape.channels
            )));
        }
        Ok(Self { shape, data })
    }
}

/// A pixel value type the kernels can read: 8-bit, 16-bit or float.
pub trait Sample: Copy + Send + Sync + 'static {
    /// The value as f32 (no scaling: 255u8 becomes 255.0, as Keras' `img_to_array` does).
    fn to_f32(self) -> f32;
}

impl Sample for u8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

impl Sample for u16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

impl Sample for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}
