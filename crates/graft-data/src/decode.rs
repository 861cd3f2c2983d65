//! Reading image files as Keras' `load_img` does: decode (the `image` crate), convert to the colour mode
//! with PIL's rules, resize with PIL's filters.
//!
//! Differences from Keras, on purpose: EXIF orientation is honoured by default (Keras/PIL ignore it, so
//! phone photos come out sideways; turn it off with [`DecodeOptions::exif_orientation`]); decoding has
//! size limits, so a file declaring a huge size is refused instead of allocated. Known small differences:
//! JPEG decoders round the inverse DCT and chroma upsampling slightly differently (zune-jpeg here,
//! libjpeg-turbo in PIL), typically by one or two grey levels on some pixels; 16-bit colour files are
//! reduced to 8 bits by taking the high byte in every mode (PIL clips 16-bit greyscale to 255 when
//! converting it to RGB).

use crate::error::DataError;
use crate::image::{Image, ImageShape};
use crate::resize::{self, Interpolation};
use image::{DynamicImage, ImageDecoder, ImageReader, metadata::Orientation};
use std::fmt;
use std::io::Cursor;
use std::path::Path;
use std::str::FromStr;

/// Colour mode images are converted to (Keras' `color_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ColorMode {
    /// One channel, PIL's `L` (ITU-R 601-2 luma); 16-bit greyscale files keep 0-65535, as in Keras.
    Grayscale,
    /// Three channels (Keras' default); alpha is dropped, not composited, as PIL does.
    #[default]
    Rgb,
    /// Four channels; opaque images get alpha 255.
    Rgba,
}

impl ColorMode {
    /// Channels per pixel: 1, 3 or 4.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Grayscale => 1,
            ColorMode::Rgb => 3,
            ColorMode::Rgba => 4,
        }
    }
}

impl FromStr for ColorMode {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "grayscale" => Ok(ColorMode::Grayscale),
            "rgb" => Ok(ColorMode::Rgb),
            "rgba" => Ok(ColorMode::Rgba),
            other => Err(DataError::invalid(
                "color_mode",
                format!("{other:?}; expected grayscale, rgb or rgba"),
            )),
        }
    }
}

impl fmt::Display for ColorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorMode::Grayscale => "grayscale",
            ColorMode::Rgb => "rgb",
            ColorMode::Rgba => "rgba",
        })
    }
}

/// Bounds on what a file may make the decoder allocate: a file declaring a larger size is refused with
/// [`DataError::TooLarge`] before any pixel buffer is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest total allocation of the decoder, in bytes.
    pub max_alloc: u64,
    /// Largest file read, in bytes.
    pub max_file_size: u64,
}

impl Default for DecodeLimits {
    /// 16384 x 16384 pixels, 1 GiB of decoder memory, 512 MiB files.
    fn default() -> Self {
        Self {
            max_width: 16_384,
            max_height: 16_384,
            max_alloc: 1 << 30,
            max_file_size: 512 << 20,
        }
    }
}

/// How files are decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Size limits.
    pub limits: DecodeLimits,
    /// Rotate/flip by the EXIF orientation tag (true by default; Keras does not).
    pub exif_orientation: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            limits: DecodeLimits::default(),
            exif_orientation: true,
        }
    }
}

/// A decoded image: 8 bits per value, or 16 for 16-bit greyscale files in greyscale mode.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// 8-bit values.
    U8(Image<u8>),
    /// 16-bit values (16-bit greyscale files read in [`ColorMode::Grayscale`]).
    U16(Image<u16>),
}

impl Decoded {
    /// The image's shape.
    pub fn shape(&self) -> ImageShape {
        match self {
            Decoded::U8(image) => image.shape,
            Decoded::U16(image) => image.shape,
        }
    }

    /// The values as f32 (Keras' `img_to_array`).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Decoded::U8(image) => image.data.iter().map(|&v| f32::from(v)).collect(),
            Decoded::U16(image) => image.data.iter().map(|&v| f32::from(v)).collect(),
        }
    }
}

/// Reads and decodes one file into `color_mode`, honouring EXIF orientation if asked.
pub fn decode_file(
    path: &Path,
    color_mode: ColorMode,
    options: &DecodeOptions,
) -> Result<Decoded, DataError> {
    let size = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if size > options.limits.max_file_size {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            message: format!(
                "file of {size} bytes, limit {}",
                options.limits.max_file_size
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_bytes(&bytes, path, color_mode, options)
}

/// Decodes an in-memory file; `path` only names it in errors.
pub fn decode_bytes(
    bytes: &[u8],
    path: &Path,
    color_mode: ColorMode,
    options: &DecodeOptions,
) -> Result<Decoded, DataError> {
    let image_error = |e: image::ImageError| match e {
        image::ImageError::Limits(limit) => DataError::TooLarge {
            path: path.to_path_buf(),
            message: limit.to_string(),
        },
        other => DataError::Decode {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    if reader.format().is_none() {
        return Err(DataError::Decode {
            path: path.to_path_buf(),
            message: "unknown or unsupported image format".into(),
        });
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(options.limits.max_width);
    limits.max_image_height = Some(options.limits.max_height);
    limits.max_alloc = Some(options.limits.max_alloc);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let orientation = if options.exif_orientation {
        // A malformed EXIF block should not make a readable image unreadable.
        decoder.orientation().unwrap_or(Orientation::NoTransforms)
    } else {
        Orientation::NoTransforms
    };
    let mut image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    image.apply_orientation(orientation);
    Ok(convert(image, color_mode))
}

/// PIL's `convert` to the colour mode, from whatever the file held.
fn convert(image: DynamicImage, color_mode: ColorMode) -> Decoded {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let shape = ImageShape::new(height, width, color_mode.channels());
    let data = match (color_mode, image) {
        (ColorMode::Grayscale, DynamicImage::ImageLuma8(gray)) => gray.into_raw(),
        (ColorMode::Grayscale, DynamicImage::ImageLuma16(gray)) => {
            return Decoded::U16(Image {
                shape,
                data: gray.into_raw(),
            });
        }
        (ColorMode::Grayscale, DynamicImage::ImageLumaA8(gray)) => {
            gray.into_raw().chunks_exact(2).map(|p| p[0]).collect()
        }
        (ColorMode::Grayscale, other) => {
            let rgb = to_rgb8(other);
            rgb.chunks_exact(3).map(pil_luma).collect()
        }
        (ColorMode::Rgb, other) => to_rgb8(other),
        (ColorMode::Rgba, DynamicImage::ImageRgba8(rgba)) => rgba.into_raw(),
        (ColorMode::Rgba, DynamicImage::ImageRgba16(rgba)) => high_bytes(rgba.as_raw()),
        (ColorMode::Rgba, other) => other.to_rgba8().into_raw(),
    };
    Decoded::U8(Image { shape, data })
}

/// RGB, 8 bits: alpha dropped (not composited, as PIL does), 16-bit values reduced to their high byte
/// (PIL's `RGB;16B` raw mode), grey replicated.
fn to_rgb8(image: DynamicImage) -> Vec<u8> {
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb.into_raw(),
        DynamicImage::ImageRgb16(rgb) => high_bytes(rgb.as_raw()),
        DynamicImage::ImageRgba16(rgba) => rgba
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
            .collect(),
        DynamicImage::ImageLuma16(gray) => gray
            .as_raw()
            .iter()
            .flat_map(|&v| [(v >> 8) as u8; 3])
            .collect(),
        other => other.to_rgb8().into_raw(),
    }
}

fn high_bytes(values: &[u16]) -> Vec<u8> {
    values.iter().map(|&v| (v >> 8) as u8).collect()
}

/// PIL's RGB -> L: `(r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16` (ITU-R 601-2 luma, rounded).
fn pil_luma(rgb: &[u8]) -> u8 {
    let l =
        u32::from(rgb[0]) * 19595 + u32::from(rgb[1]) * 38470 + u32::from(rgb[2]) * 7471 + 0x8000;
    (l >> 16) as u8
}

/// Keras' `load_img(path, color_mode, target_size, interpolation, keep_aspect_ratio)`: decode, convert,
/// and resize to `target_size` = (height, width) if the image is not already that size (cropping the
/// centre to the target's aspect ratio first when `keep_aspect_ratio`).
pub fn load_img(
    path: &Path,
    color_mode: ColorMode,
    target_size: Option<(usize, usize)>,
    interpolation: Interpolation,
    keep_aspect_ratio: bool,
    options: &DecodeOptions,
) -> Result<Decoded, DataError> {
    let decoded = decode_file(path, color_mode, options)?;
    resize_decoded(decoded, target_size, interpolation, keep_aspect_ratio)
}

/// The resize step of [`load_img`], on an already decoded image.
pub fn resize_decoded(
    decoded: Decoded,
    target_size: Option<(usize, usize)>,
    interpolation: Interpolation,
    keep_aspect_ratio: bool,
) -> Result<Decoded, DataError> {
    let shape = decoded.shape();
    let Some(target) = target_size else {
        return Ok(decoded);
    };
    if (shape.height, shape.width) == target {
        return Ok(decoded);
    }
    let crop =
        keep_aspect_ratio.then(|| resize::keep_aspect_ratio_box(shape.width, shape.height, target));
    let out_shape = ImageShape::new(target.0, target.1, shape.channels);
    Ok(match decoded {
        Decoded::U8(image) => Decoded::U8(Image {
            shape: out_shape,
            data: resize::resize_u8(&image.data, shape, target, interpolation, crop)?,
        }),
        Decoded::U16(image) => Decoded::U16(Image {
            shape: out_shape,
            data: resize::resize_u16(&image.data, shape, target, interpolation, crop)?,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_uses_pil_weights() {
        assert_eq!(pil_luma(&[255, 255, 255]), 255);
        assert_eq!(pil_luma(&[255, 0, 0]), 76);
        assert_eq!(pil_luma(&[0, 255, 0]), 150);
        assert_eq!(pil_luma(&[0, 0, 255]), 29);
    }

    #[test]
    fn garbage_is_a_decode_error_naming_the_file() {
        let err = decode_bytes(
            b"definitely not an image",
            Path::new("x/broken.jpg"),
            ColorMode::Rgb,
            &DecodeOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Decode { .. }));
        assert!(err.to_string().contains("x/broken.jpg"), "{err}");
    }

    #[test]
    fn a_declared_huge_size_is_refused_before_allocation() {
        // A BMP header declaring 30000 x 30000 pixels (over the 16384 default) and no data.
        let mut bmp = Vec::new();
        bmp.extend_from_slice(b"BM");
        bmp.extend_from_slice(&(54u32).to_le_bytes());
        bmp.extend_from_slice(&[0; 4]);
        bmp.extend_from_slice(&(54u32).to_le_bytes());
        bmp.extend_from_slice(&(40u32).to_le_bytes());
        bmp.extend_from_slice(&(30_000i32).to_le_bytes());
        bmp.extend_from_slice(&(30_000i32).to_le_bytes());
        bmp.extend_from_slice(&(1u16).to_le_bytes());
        bmp.extend_from_slice(&(24u16).to_le_bytes());
        bmp.extend_from_slice(&[0; 24]);
        let err = decode_bytes(
            &bmp,
            Path::new("huge.bmp"),
            ColorMode::Rgb,
            &DecodeOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
    }
}
