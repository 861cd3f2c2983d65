//! `graft augment DIR --out OUT --count N [options]`: writes augmented previews of an image
//! folder, as Keras' `flow_from_directory(save_to_dir=OUT)` does while iterating. The options
//! carry `ImageDataGenerator`'s and `flow_from_directory`'s names and meanings.

use std::path::PathBuf;

use graft::data::{AugmentOptions, ColorMode, FillMode, Interpolation, Shift, Subset, Zoom};

use super::args::parse_size;

#[derive(clap::Args)]
pub struct Args {
    /// The image folder: one subfolder per class, as flow_from_directory reads it.
    pub directory: PathBuf,

    /// Folder to write the augmented images to (created if missing).
    #[arg(long)]
    pub out: PathBuf,

    /// How many images to write.
    #[arg(long, default_value_t = 16)]
    pub count: usize,

    /// Random rotations, in degrees (rotation_range).
    #[arg(long, default_value_t = 0.0)]
    pub rotation_range: f64,

    /// Horizontal shifts: a fraction of the width (<1), a number of pixels (>=1), or a list of
    /// pixel shifts "-8,0,8" (width_shift_range).
    #[arg(long, default_value = "0")]
    pub width_shift_range: Shift,

    /// Vertical shifts, as --width-shift-range (height_shift_range).
    #[arg(long, default_value = "0")]
    pub height_shift_range: Shift,

    /// Shear angle in degrees, counter-clockwise (shear_range).
    #[arg(long, default_value_t = 0.0)]
    pub shear_range: f64,

    /// Zoom: a float z for [1-z, 1+z], or "lo,hi" (zoom_range).
    #[arg(long, default_value = "0")]
    pub zoom_range: Zoom,

    /// Random channel shifts (channel_shift_range).
    #[arg(long, default_value_t = 0.0)]
    pub channel_shift_range: f64,

    /// Brightness factor range "lo,hi" (brightness_range).
    #[arg(long, value_parser = parse_pair)]
    pub brightness_range: Option<(f64, f64)>,

    /// Points outside the image: nearest, reflect, wrap or constant (fill_mode).
    #[arg(long, default_value = "nearest")]
    pub fill_mode: FillMode,

    /// Value of the points outside the image with --fill-mode constant (cval).
    #[arg(long, default_value_t = 0.0)]
    pub cval: f64,

    /// Random left-right flips (horizontal_flip).
    #[arg(long)]
    pub horizontal_flip: bool,

    /// Random top-bottom flips (vertical_flip).
    #[arg(long)]
    pub vertical_flip: bool,

    /// Interpolation order of the affine resampling: 0 (nearest) or 1 (bilinear).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub interpolation_order: u8,

    /// Reproduce Keras' augmentation bugs (swapped shift axes, period n-1 wrap) bit for bit.
    #[arg(long)]
    pub keras_compat: bool,

    /// Fraction of the images set aside for validation, with --subset (validation_split).
    #[arg(long, default_value_t = 0.0)]
    pub validation_split: f64,

    /// Read only one part of --validation-split: training or validation (subset).
    #[arg(long)]
    pub subset: Option<Subset>,

    /// Size of the written images, "HEIGHT,WIDTH" (target_size).
    #[arg(long, default_value = "256,256", value_parser = parse_size)]
    pub target_size: (usize, usize),

    /// grayscale, rgb or rgba (color_mode).
    #[arg(long, default_value = "rgb")]
    pub color_mode: ColorMode,

    /// Only these classes (subfolder names), comma-separated (classes).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,

    /// Visit the images in folder order instead of shuffled.
    #[arg(long)]
    pub no_shuffle: bool,

    /// Seed of the shuffles and augmentations (random when absent).
    #[arg(long)]
    pub seed: Option<u64>,

    /// File-name prefix of the written images (save_prefix).
    #[arg(long, default_value = "")]
    pub save_prefix: String,

    /// Image format: png, jpeg, bmp, ppm, gif or tiff (save_format).
    #[arg(long, default_value = "png")]
    pub save_format: String,

    /// Follow symbolic links to class folders (follow_links).
    #[arg(long)]
    pub follow_links: bool,

    /// Resize filter: nearest, bilinear, bicubic, lanczos, box or hamming (interpolation).
    #[arg(long, default_value = "nearest")]
    pub interpolation: Interpolation,

    /// Centre-crop to the target aspect ratio before resizing (keep_aspect_ratio).
    #[arg(long)]
    pub keep_aspect_ratio: bool,
}

fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("expected \"lo,hi\", got \"{s}\""))?;
    let num = |v: &str| v.trim().parse::<f64>().map_err(|e| format!("\"{v}\": {e}"));
    Ok((num(a)?, num(b)?))
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let options = AugmentOptions {
        rotation_range: args.rotation_range,
        width_shift_range: args.width_shift_range,
        height_shift_range: args.height_shift_range,
        shear_range: args.shear_range,
        zoom_range: args.zoom_range,
        channel_shift_range: args.channel_shift_range,
        brightness_range: args.brightness_range,
        fill_mode: args.fill_mode,
        cval: args.cval,
        horizontal_flip: args.horizontal_flip,
        vertical_flip: args.vertical_flip,
        interpolation_order: args.interpolation_order,
        keras_compat: args.keras_compat,
        validation_split: args.validation_split,
        target_size: args.target_size,
        color_mode: args.color_mode,
        classes: args.classes,
        shuffle: !args.no_shuffle,
        seed: args.seed,
        save_prefix: args.save_prefix,
        save_format: args.save_format,
        follow_links: args.follow_links,
        subset: args.subset,
        interpolation: args.interpolation,
        keep_aspect_ratio: args.keep_aspect_ratio,
        quiet,
    };
    // graft-data reports what it found and wrote (unless quiet).
    graft::data::augment(&args.directory, &args.out, args.count, &options)?;
    Ok(())
}
