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

/// The in-memory images given to [`crate::ImageDataGenerator::flow`]: f32 values (Keras' float32), or
/// bytes. Keras converts any array to float32 up front; graft keeps 8-bit images as bytes, a quarter of the
/// memory and of the memory traffic per batch, and converts while augmenting (same values).
#[derive(Clone, Debug, PartialEq)]
pub enum ImageArray {
    /// Values as f32.
    F32(Vec<f32>),
    /// 8-bit values (0-255), read as f32 without scaling.
    U8(Vec<u8>),
}

impl ImageArray {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ImageArray::F32(v) => v.len(),
            ImageArray::U8(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<f32>> for ImageArray {
    fn from(values: Vec<f32>) -> Self {
        ImageArray::F32(values)
    }
}

impl From<Vec<u8>> for ImageArray {
    fn from(values: Vec<u8>) -> Self {
        ImageArray::U8(values)
    }
}

/// A pixel value type the kernels can read: 8-bit, 16-bit or float.
pub trait Sample: Copy + Send + Sync + 'static {
    /// The value as f32 (no scaling: 255u8 becomes 255.0, as Keras' `img_to_array` does).
    fn to_f32(self) -> f32;

    /// The values themselves when they already are f32 (no conversion needed).
    fn as_f32(values: &[Self]) -> Option<&[f32]> {
        let _ = values;
        None
    }
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

    fn as_f32(values: &[f32]) -> Option<&[f32]> {
        Some(values)
    }
}
