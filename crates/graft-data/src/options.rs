//! Options of the iterators, with Keras' names and defaults, plus the few graft adds (prefetch depth,
//! thread count, what to do with unreadable files, decoding limits).

use crate::decode::{ColorMode, DecodeOptions};
use crate::directory;
use crate::error::DataError;
use crate::resize::Interpolation;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// What the iterator yields as targets (Keras' `class_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClassMode {
    /// One-hot rows, `[n, num_classes]` (Keras' default).
    #[default]
    Categorical,
    /// The class index as 0.0/1.0, `[n]` (meant for two classes).
    Binary,
    /// The class index as f32, `[n]`.
    Sparse,
    /// The images themselves (autoencoders): `y` is `x`.
    Input,
    /// No targets (Keras' `class_mode=None`).
    None,
    /// Numeric targets given by the caller, passed through (`flow_from_list` only; Keras' `"raw"`).
    Raw,
}

impl FromStr for ClassMode {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "categorical" => Ok(Self::Categorical),
            "binary" => Ok(Self::Binary),
            "sparse" => Ok(Self::Sparse),
            "input" => Ok(Self::Input),
            "none" | "None" | "null" => Ok(Self::None),
            "raw" => Ok(Self::Raw),
            other => Err(DataError::invalid(
                "class_mode",
                format!("{other:?}; expected categorical, binary, sparse, input, none or raw"),
            )),
        }
    }
}

impl fmt::Display for ClassMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Categorical => "categorical",
            Self::Binary => "binary",
            Self::Sparse => "sparse",
            Self::Input => "input",
            Self::None => "none",
            Self::Raw => "raw",
        })
    }
}

/// Which part of a `validation_split` to iterate (Keras' `subset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subset {
    /// The data after the first `validation_split` fraction.
    Training,
    /// The first `validation_split` fraction.
    Validation,
}

impl Subset {
    /// Keras' `split` fractions `(start, stop)` for this subset.
    pub fn split(self, validation_split: f64) -> (f64, f64) {
        match self {
            Subset::Validation => (0.0, validation_split),
            Subset::Training => (validation_split, 1.0),
        }
    }
}

impl FromStr for Subset {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "training" => Ok(Self::Training),
            "validation" => Ok(Self::Validation),
            other => Err(DataError::invalid(
                "subset",
                format!("{other:?}; expected training or validation"),
            )),
        }
    }
}

/// What happens when a listed file cannot be read or decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnBadImage {
    /// Leave the image out of its batch (which is then smaller), record it in
    /// [`crate::Batch::skipped`] and [`crate::Flow::skipped_images`], and log a warning with the count.
    #[default]
    Skip,
    /// Fail the batch with the file's [`DataError`].
    Error,
}

impl FromStr for OnBadImage {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        match s {
            "skip" => Ok(Self::Skip),
            "error" => Ok(Self::Error),
            other => Err(DataError::invalid(
                "on_bad_image",
                format!("{other:?}; expected skip or error"),
            )),
        }
    }
}

/// Options of [`crate::ImageDataGenerator::flow`] (in-memory arrays), Keras' names and defaults.
#[derive(Clone, Debug)]
pub struct FlowOptions {
    /// Images per batch (32).
    pub batch_size: usize,
    /// Reshuffle the samples every epoch (true).
    pub shuffle: bool,
    /// Per-sample weights, yielded with each batch.
    pub sample_weight: Option<Vec<f32>>,
    /// Seed of the shuffles and augmentations; None draws one at creation.
    pub seed: Option<u64>,
    /// Write every yielded image there, as Keras' `save_to_dir` does.
    pub save_to_dir: Option<PathBuf>,
    /// File-name prefix of saved images ("").
    pub save_prefix: String,
    /// Format (and extension) of saved images: png, jpg/jpeg, bmp, ppm, gif, tif/tiff ("png").
    pub save_format: String,
    /// Skip the check that both subsets contain the same label values.
    pub ignore_class_split: bool,
    /// Iterate one part of `validation_split`.
    pub subset: Option<Subset>,
    /// Batches prepared ahead in the background (2; 0 builds each batch when asked).
    pub prefetch: usize,
    /// Threads decoding and augmenting: a pool of its own (None: rayon's global pool, or with
    /// `prefetch: 0` the pool the caller runs in).
    pub num_threads: Option<usize>,
}

impl Default for FlowOptions {
    fn default() -> Self {
        Self {
            batch_size: 32,
            shuffle: true,
            sample_weight: None,
            seed: None,
            save_to_dir: None,
            save_prefix: String::new(),
            save_format: "png".into(),
            ignore_class_split: false,
            subset: None,
            prefetch: 2,
            num_threads: None,
        }
    }
}

/// Options of [`crate::ImageDataGenerator::flow_from_directory`], Keras' names and defaults.
#[derive(Clone, Debug)]
pub struct FlowFromDirectoryOptions {
    /// (height, width) every image is resized to ((256, 256)).
    pub target_size: (usize, usize),
    /// Colour mode (rgb).
    pub color_mode: ColorMode,
    /// Class subdirectories, in index order (None: all subdirectories, sorted).
    pub classes: Option<Vec<String>>,
    /// Targets yielded (categorical).
    pub class_mode: ClassMode,
    /// Images per batch (32).
    pub batch_size: usize,
    /// Reshuffle every epoch (true).
    pub shuffle: bool,
    /// Seed of the shuffles and augmentations; None draws one at creation.
    pub seed: Option<u64>,
    /// Write every yielded image there (Keras' previews).
    pub save_to_dir: Option<PathBuf>,
    /// File-name prefix of saved images ("").
    pub save_prefix: String,
    /// Format (and extension) of saved images ("png").
    pub save_format: String,
    /// Descend into symlinked subdirectories (false).
    pub follow_links: bool,
    /// Iterate one part of `validation_split`.
    pub subset: Option<Subset>,
    /// Resize filter (nearest).
    pub interpolation: Interpolation,
    /// Crop the centre to the target aspect ratio before resizing (false).
    pub keep_aspect_ratio: bool,
    /// File-name suffixes listed (Keras' png, jpg, jpeg, bmp, ppm, tif, tiff; add gif or webp here).
    pub white_list_formats: Vec<String>,
    /// Unreadable files: skip (default) or error.
    pub on_bad_image: OnBadImage,
    /// Decoding limits and EXIF orientation.
    pub decode: DecodeOptions,
    /// Batches prepared ahead in the background (2).
    pub prefetch: usize,
    /// Threads decoding and augmenting: a pool of its own (None: rayon's global pool, or with
    /// `prefetch: 0` the pool the caller runs in).
    pub num_threads: Option<usize>,
}

impl Default for FlowFromDirectoryOptions {
    fn default() -> Self {
        Self {
            target_size: (256, 256),
            color_mode: ColorMode::Rgb,
            classes: None,
            class_mode: ClassMode::Categorical,
            batch_size: 32,
            shuffle: true,
            seed: None,
            save_to_dir: None,
            save_prefix: String::new(),
            save_format: "png".into(),
            follow_links: false,
            subset: None,
            interpolation: Interpolation::Nearest,
            keep_aspect_ratio: false,
            white_list_formats: directory::default_formats(),
            on_bad_image: OnBadImage::Skip,
            decode: DecodeOptions::default(),
            prefetch: 2,
            num_threads: None,
        }
    }
}

/// Targets of [`crate::ImageDataGenerator::flow_from_list`], one per path.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ListLabels {
    /// No targets (class modes input and none).
    #[default]
    None,
    /// Class names (class modes categorical, binary, sparse); classes are their sorted unique values
    /// unless `classes` is given, as Keras' `flow_from_dataframe` does.
    Classes(Vec<String>),
    /// Numeric targets, `per_sample` values each (class mode raw).
    Raw {
        /// `n * per_sample` values.
        values: Vec<f32>,
        /// The shape of one target (e.g. `[]` for a scalar, `[4]` for a box).
        per_sample: Vec<usize>,
    },
}

/// Options of [`crate::ImageDataGenerator::flow_from_list`] (Keras' `flow_from_dataframe` without the
/// dataframe), Keras' names and defaults.
#[derive(Clone, Debug)]
pub struct FlowFromListOptions {
    /// (height, width) every image is resized to ((256, 256)).
    pub target_size: (usize, usize),
    /// Colour mode (rgb).
    pub color_mode: ColorMode,
    /// Class names in index order (None: sorted unique labels). Paths whose label is not listed are
    /// dropped, as Keras does.
    pub classes: Option<Vec<String>>,
    /// Targets yielded (categorical).
    pub class_mode: ClassMode,
    /// Per-sample weights (Keras' `weight_col`).
    pub sample_weight: Option<Vec<f32>>,
    /// Images per batch (32).
    pub batch_size: usize,
    /// Reshuffle every epoch (true).
    pub shuffle: bool,
    /// Seed of the shuffles and augmentations.
    pub seed: Option<u64>,
    /// Write every yielded image there.
    pub save_to_dir: Option<PathBuf>,
    /// File-name prefix of saved images ("").
    pub save_prefix: String,
    /// Format (and extension) of saved images ("png").
    pub save_format: String,
    /// Iterate one part of `validation_split` (of the whole list, in order, as Keras).
    pub subset: Option<Subset>,
    /// Resize filter (nearest).
    pub interpolation: Interpolation,
    /// Crop the centre to the target aspect ratio before resizing (false).
    pub keep_aspect_ratio: bool,
    /// Drop paths that are not existing files with a white-listed suffix (true, as Keras).
    pub validate_filenames: bool,
    /// Suffixes accepted by `validate_filenames`.
    pub white_list_formats: Vec<String>,
    /// Unreadable files: skip (default) or error.
    pub on_bad_image: OnBadImage,
    /// Decoding limits and EXIF orientation.
    pub decode: DecodeOptions,
    /// Batches prepared ahead in the background (2).
    pub prefetch: usize,
    /// Threads decoding and augmenting: a pool of its own (None: rayon's global pool, or with
    /// `prefetch: 0` the pool the caller runs in).
    pub num_threads: Option<usize>,
}

impl Default for FlowFromListOptions {
    fn default() -> Self {
        Self {
            target_size: (256, 256),
            color_mode: ColorMode::Rgb,
            classes: None,
            class_mode: ClassMode::Categorical,
            sample_weight: None,
            batch_size: 32,
            shuffle: true,
            seed: None,
            save_to_dir: None,
            save_prefix: String::new(),
            save_format: "png".into(),
            subset: None,
            interpolation: Interpolation::Nearest,
            keep_aspect_ratio: false,
            validate_filenames: true,
            white_list_formats: directory::default_formats(),
            on_bad_image: OnBadImage::Skip,
            decode: DecodeOptions::default(),
            prefetch: 2,
            num_threads: None,
        }
    }
}
