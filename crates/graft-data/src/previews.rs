//! Writing augmented images to disk: Keras' `save_to_dir`, and `write_previews`, the library side of
//! `graft augment DIR --out OUT --count N`.

use crate::affine::FillMode;
use crate::batch::{BadImage, Batch};
use crate::decode::ColorMode;
use crate::error::DataError;
use crate::generator::ImageDataGenerator;
use crate::image::ImageShape;
use crate::ops::min_max;
use crate::options::{FlowFromDirectoryOptions, Subset};
use crate::params::{Shift, Zoom};
use crate::resize::Interpolation;
use crate::rng::{self, Purpose};
use image::{ColorType, ImageFormat};
use rand::Rng;
use std::path::{Path, PathBuf};

/// Keras' `array_to_img(x, scale)` to 8 bits: with `scale`, values are min-max scaled to 0-255, then
/// truncated (numpy's `astype("uint8")`). Without `scale`, out-of-range values are clamped (numpy would
/// wrap them around).
pub fn array_to_img(x: &[f32], scale: bool) -> Vec<u8> {
    let (lo, hi) = min_max(x);
    let span = hi - lo;
    x.iter()
        .map(|&v| {
            let v = if scale {
                let shifted = v - lo;
                (if span != 0.0 { shifted / span } else { shifted }) * 255.0
            } else {
                v
            };
            v.clamp(0.0, 255.0) as u8
        })
        .collect()
}

/// The image format of a Keras `save_format` (also the file extension): png, jpg/jpeg, bmp, ppm, gif,
/// tif/tiff, webp.
pub fn image_format(save_format: &str) -> Result<ImageFormat, DataError> {
    match save_format.to_ascii_lowercase().as_str() {
        "ppm" | "pgm" | "pnm" => Ok(ImageFormat::Pnm),
        other => ImageFormat::from_extension(other)
            .filter(|f| {
                matches!(
                    f,
                    ImageFormat::Png
                        | ImageFormat::Jpeg
                        | ImageFormat::Bmp
                        | ImageFormat::Gif
                        | ImageFormat::Tiff
                        | ImageFormat::WebP
                )
            })
            .ok_or_else(|| {
                DataError::invalid(
                    "save_format",
                    format!(
                        "{save_format:?}; expected png, jpg, jpeg, bmp, ppm, gif, tif, tiff or webp"
                    ),
                )
            }),
    }
}

/// Keras' `save_img(path, x, scale=True)` for one HWC f32 image of 1, 3 or 4 channels.
pub fn save_img(
    path: &Path,
    x: &[f32],
    shape: ImageShape,
    format: ImageFormat,
) -> Result<(), DataError> {
    let color = match shape.channels {
        1 => ColorType::L8,
        3 => ColorType::Rgb8,
        4 => ColorType::Rgba8,
        c => {
            return Err(DataError::Encode {
                path: path.to_path_buf(),
                message: format!("cannot save a {c}-channel image"),
            });
        }
    };
    let bytes = array_to_img(x, true);
    image::save_buffer_with_format(
        path,
        &bytes,
        shape.width as u32,
        shape.height as u32,
        color,
        format,
    )
    .map_err(|e| DataError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Where and how a flow saves what it yields.
pub(crate) struct SaveTo {
    dir: PathBuf,
    prefix: String,
    extension: String,
    format: ImageFormat,
    hash_range: u32,
}

impl SaveTo {
    pub(crate) fn new(
        dir: Option<PathBuf>,
        prefix: String,
        save_format: &str,
        hash_range: u32,
    ) -> Result<Option<SaveTo>, DataError> {
        let format = image_format(save_format)?;
        Ok(dir.map(|dir| SaveTo {
            dir,
            prefix,
            extension: save_format.to_string(),
            format,
            hash_range,
        }))
    }

    /// Keras' file name `{prefix}_{index}_{hash}.{format}`; the hash is derived from (seed, epoch,
    /// index) instead of numpy's global generator, so reruns write the same names.
    fn file_name(&self, seed: u64, epoch: u64, index: usize) -> PathBuf {
        let hash = rng::stream(seed, epoch, index as u64, Purpose::PreviewName)
            .random_range(0..self.hash_range);
        self.dir
            .join(format!("{}_{index}_{hash}.{}", self.prefix, self.extension))
    }

    pub(crate) fn save_batch(
        &self,
        batch: &Batch,
        shape: ImageShape,
        seed: u64,
        epoch: u64,
    ) -> Result<(), DataError> {
        for (i, &index) in batch.indices.iter().enumerate() {
            let path = self.file_name(seed, epoch, index);
            save_img(&path, batch.image(i), shape, self.format)?;
        }
        Ok(())
    }
}

/// What [`write_previews`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreviewReport {
    /// The files written, in order.
    pub written: Vec<PathBuf>,
    /// Images found in the directory (after `subset`).
    pub samples: usize,
    /// Class names found.
    pub classes: Vec<String>,
    /// Files that could not be read and were skipped.
    pub skipped: Vec<BadImage>,
}

/// Writes `count` augmented images of `directory` into `out` (created if missing), as Keras'
/// `flow_from_directory(save_to_dir=out)` would while iterating: file names `{prefix}_{index}_{hash}
/// .{format}`, values min-max scaled to 0-255. Epochs are iterated until `count` images are written.
/// Unless `quiet`, prints what Keras prints and a final count on stderr.
pub fn write_previews(
    directory: &Path,
    out: &Path,
    count: usize,
    generator: &ImageDataGenerator,
    options: &FlowFromDirectoryOptions,
    quiet: bool,
) -> Result<PreviewReport, DataError> {
    std::fs::create_dir_all(out).map_err(|e| DataError::io(out, e))?;
    let mut options = options.clone();
    options.save_to_dir = None;
    let save = SaveTo {
        dir: out.to_path_buf(),
        prefix: options.save_prefix.clone(),
        extension: options.save_format.clone(),
        format: image_format(&options.save_format)?,
        hash_range: 10_000_000,
    };
    let flow = generator.flow_from_directory(directory, options)?;
    if !quiet {
        eprintln!(
            "Found {} images belonging to {} classes.",
            flow.samples(),
            flow.class_names().len()
        );
    }
    let mut report = PreviewReport {
        samples: flow.samples(),
        classes: flow.class_names().to_vec(),
        ..Default::default()
    };
    if count > 0 && flow.is_empty() {
        return Err(DataError::invalid(
            "directory",
            format!("no images found in {}", directory.display()),
        ));
    }
    let shape = flow.image_shape();
    let mut epoch = 0;
    while report.written.len() < count {
        let before = report.written.len();
        for batch in flow.epoch(epoch) {
            let batch = batch?;
            report.skipped.extend(batch.skipped.iter().cloned());
            for (i, &index) in batch.indices.iter().enumerate() {
                if report.written.len() == count {
                    break;
                }
                let path = save.file_name(flow.seed(), epoch, index);
                save_img(&path, batch.image(i), shape, save.format)?;
                report.written.push(path);
            }
            if report.written.len() == count {
                break;
            }
        }
        if report.written.len() == before {
            return Err(DataError::invalid(
                "directory",
                format!(
                    "none of the {} images of {} could be read",
                    flow.samples(),
                    directory.display()
                ),
            ));
        }
        epoch += 1;
    }
    if !quiet {
        eprintln!(
            "wrote {} augmented images to {}{}",
            report.written.len(),
            out.display(),
            if report.skipped.is_empty() {
                String::new()
            } else {
                format!(" ({} unreadable files skipped)", report.skipped.len())
            }
        );
    }
    Ok(report)
}

/// The options of `graft augment`, clap-free, with Keras' names: the `ImageDataGenerator` parameters and
/// the `flow_from_directory` ones. Every enum and range type parses from Keras' spelling with `FromStr`.
#[derive(Clone, Debug)]
pub struct AugmentOptions {
    /// Rotation range in degrees.
    pub rotation_range: f64,
    /// Horizontal shift range.
    pub width_shift_range: Shift,
    /// Vertical shift range.
    pub height_shift_range: Shift,
    /// Shear range in degrees.
    pub shear_range: f64,
    /// Zoom range.
    pub zoom_range: Zoom,
    /// Channel shift range.
    pub channel_shift_range: f64,
    /// Brightness factor range.
    pub brightness_range: Option<(f64, f64)>,
    /// Fill mode.
    pub fill_mode: FillMode,
    /// Constant fill value.
    pub cval: f64,
    /// Random left-right flips.
    pub horizontal_flip: bool,
    /// Random top-bottom flips.
    pub vertical_flip: bool,
    /// Affine interpolation order (0 or 1).
    pub interpolation_order: u8,
    /// Reproduce Keras' augmentation bugs.
    pub keras_compat: bool,
    /// Validation fraction (with `subset`).
    pub validation_split: f64,
    /// (height, width) of the written images.
    pub target_size: (usize, usize),
    /// Colour mode.
    pub color_mode: ColorMode,
    /// Classes to read (None: all subdirectories).
    pub classes: Option<Vec<String>>,
    /// Shuffle the order images are drawn in.
    pub shuffle: bool,
    /// Seed (None: random).
    pub seed: Option<u64>,
    /// File-name prefix.
    pub save_prefix: String,
    /// Image format / extension.
    pub save_format: String,
    /// Follow symlinked subdirectories.
    pub follow_links: bool,
    /// Subset of `validation_split`.
    pub subset: Option<Subset>,
    /// Resize filter.
    pub interpolation: Interpolation,
    /// Centre-crop to the target aspect ratio before resizing.
    pub keep_aspect_ratio: bool,
    /// Print nothing.
    pub quiet: bool,
}

impl Default for AugmentOptions {
    fn default() -> Self {
        let flow = FlowFromDirectoryOptions::default();
        Self {
            rotation_range: 0.0,
            width_shift_range: Shift::None,
            height_shift_range: Shift::None,
            shear_range: 0.0,
            zoom_range: Zoom::default(),
            channel_shift_range: 0.0,
            brightness_range: None,
            fill_mode: FillMode::Nearest,
            cval: 0.0,
            horizontal_flip: false,
            vertical_flip: false,
            interpolation_order: 1,
            keras_compat: false,
            validation_split: 0.0,
            target_size: flow.target_size,
            color_mode: flow.color_mode,
            classes: None,
            shuffle: true,
            seed: None,
            save_prefix: String::new(),
            save_format: "png".into(),
            follow_links: false,
            subset: None,
            interpolation: flow.interpolation,
            keep_aspect_ratio: false,
            quiet: false,
        }
    }
}

impl AugmentOptions {
    /// The generator these options describe.
    pub fn generator(&self) -> ImageDataGenerator {
        ImageDataGenerator::new()
            .rotation_range(self.rotation_range)
            .width_shift_range(self.width_shift_range.clone())
            .height_shift_range(self.height_shift_range.clone())
            .shear_range(self.shear_range)
            .zoom_range(self.zoom_range)
            .channel_shift_range(self.channel_shift_range)
            .brightness_range(self.brightness_range)
            .fill_mode(self.fill_mode)
            .cval(self.cval)
            .horizontal_flip(self.horizontal_flip)
            .vertical_flip(self.vertical_flip)
            .interpolation_order(self.interpolation_order)
            .keras_compat(self.keras_compat)
            .validation_split(self.validation_split)
    }

    /// The `flow_from_directory` options these options describe.
    pub fn flow_options(&self) -> FlowFromDirectoryOptions {
        FlowFromDirectoryOptions {
            target_size: self.target_size,
            color_mode: self.color_mode,
            classes: self.classes.clone(),
            shuffle: self.shuffle,
            seed: self.seed,
            save_prefix: self.save_prefix.clone(),
            save_format: self.save_format.clone(),
            follow_links: self.follow_links,
            subset: self.subset,
            interpolation: self.interpolation,
            keep_aspect_ratio: self.keep_aspect_ratio,
            class_mode: crate::ClassMode::None,
            ..FlowFromDirectoryOptions::default()
        }
    }
}

/// `graft augment DIR --out OUT --count N [options]`: [`write_previews`] with the generator and flow
/// options `options` describes.
pub fn augment(
    directory: &Path,
    out: &Path,
    count: usize,
    options: &AugmentOptions,
) -> Result<PreviewReport, DataError> {
    write_previews(
        directory,
        out,
        count,
        &options.generator(),
        &options.flow_options(),
        options.quiet,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_to_img_scales_and_truncates() {
        assert_eq!(array_to_img(&[-1.0, 0.0, 1.0], true), [0, 127, 255]);
        assert_eq!(array_to_img(&[3.9, 300.0, -2.0], false), [3, 255, 0]);
        assert_eq!(array_to_img(&[5.0, 5.0], true), [0, 0]);
    }

    #[test]
    fn save_formats_follow_keras_names() {
        assert_eq!(image_format("jpg").unwrap(), ImageFormat::Jpeg);
        assert_eq!(image_format("ppm").unwrap(), ImageFormat::Pnm);
        assert!(image_format("pdf").is_err());
    }
}
