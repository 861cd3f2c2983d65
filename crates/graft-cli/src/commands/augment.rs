//! `graft augment DIR --out OUT --count N [options]`: writes augmented previews of an image
//! folder, as Keras' `flow_from_directory(save_to_dir=OUT)` does while iterating. The options
//! carry `ImageDataGenerator`'s and `flow_from_directory`'s names and meanings.

use std::path::PathBuf;

use graft::data::{AugmentOptions, ColorMode, Interpolation, Subset};

use super::args::{Augmentation, parse_size};

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

    #[command(flatten)]
    pub augmentation: Augmentation,

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

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let options = AugmentOptions {
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
        ..args.augmentation.to_options()
    };
    // graft-data reports what it found and wrote (unless quiet).
    graft::data::augment(&args.directory, &args.out, args.count, &options)?;
    Ok(())
}
