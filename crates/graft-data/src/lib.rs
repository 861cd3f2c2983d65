//! Keras' image-data tools — `ImageDataGenerator`, `flow`, `flow_from_directory` — in Rust, with
//! Keras' parameter names, defaults and meanings, decoding and augmenting in parallel.
//!
//! ```no_run
//! use graft_data::{ClassMode, FlowFromDirectoryOptions, ImageDataGenerator, Shift};
//!
//! let generator = ImageDataGenerator::new()
//!     .rotation_range(20.0)
//!     .width_shift_range(Shift::Fraction(0.1))
//!     .height_shift_range(Shift::Fraction(0.1))
//!     .shear_range(10.0)
//!     .zoom_range(0.2)
//!     .horizontal_flip(true)
//!     .rescale(1.0 / 255.0)
//!     .validation_split(0.2);
//! let train = generator.flow_from_directory(
//!     "data/train",
//!     FlowFromDirectoryOptions {
//!         target_size: (224, 224),
//!         class_mode: ClassMode::Categorical,
//!         subset: Some(graft_data::Subset::Training),
//!         seed: Some(42),
//!         ..Default::default()
//!     },
//! )?;
//! for epoch in 0..10 {
//!     for batch in train.epoch(epoch) {
//!         let batch = batch?; // batch.x: NHWC f32, batch.shape, batch.y: one-hot labels
//!         # let _ = batch;
//!     }
//! }
//! # Ok::<(), graft_data::DataError>(())
//! ```
//!
//! # How the pieces fit
//! - [`ImageDataGenerator`] ([`generator`]) holds the augmentation and normalisation parameters and draws
//!   each image's random [`TransformParams`] from (seed, epoch, sample index).
//! - [`flow`](ImageDataGenerator::flow), [`flow_from_directory`](ImageDataGenerator::flow_from_directory)
//!   and [`flow_from_list`](ImageDataGenerator::flow_from_list) ([`flows`]) build a [`Flow`]; directory
//!   listing follows Keras exactly ([`directory`]).
//! - [`Flow::epoch`] returns an [`Epoch`], a Rust iterator of `Result<Batch, DataError>` fed by a
//!   bounded background pipeline ([`prefetch`]); each batch decodes ([`decode`]), resizes ([`resize`]),
//!   augments ([`affine`], [`ops`]) and standardises ([`standardize`]) its images in parallel on rayon.
//! - [`write_previews`] / [`augment`] ([`previews`]) write augmented images for `graft augment`.
//!
//! # What is hand-written and why
//! Decoding uses the `image` crate; parallelism rayon; randomness `rand_chacha`; ZCA's eigensolver
//! nalgebra. Two things are written here because matching Keras is the point and no crate does it:
//! the affine resample ([`affine`]: scipy's `affine_transform` boundary modes and rounding, which Keras
//! relies on) and the resize ([`resize`]: PIL's filters and fixed-point arithmetic, which Keras' `load_img`
//! relies on). The Keras-exact PIL details of brightness and colour conversion are small functions in
//! [`ops`] and [`decode`].
//!
//! # Where graft differs from Keras
//! - Keras' augmentation bugs are fixed by default and reproduced by
//!   [`keras_compat(true)`](ImageDataGenerator::keras_compat): swapped shift axes, period n-1 `wrap`, and
//!   the off-centre pivot of non-square images.
//! - EXIF orientation is honoured ([`DecodeOptions::exif_orientation`]); unreadable files are skipped and
//!   reported (or errors, [`OnBadImage::Error`]) where Keras raises in the middle of an epoch.
//! - Random numbers come from ChaCha streams, not numpy's global generator: same distributions, not the
//!   same draws.
//! - Layout is `channels_last` and dtype f32 only.

#![warn(missing_docs)]

pub mod affine;
pub mod batch;
pub mod decode;
pub mod directory;
mod error;
pub mod flows;
pub mod generator;
pub mod image;
pub mod iterator;
pub mod ops;
pub mod options;
pub mod params;
pub mod prefetch;
pub mod previews;
mod resample;
pub mod resize;
mod rng;
pub mod standardize;
mod transform;

pub use affine::{
    AffineInterpolation, AffineMatrix, AffineParams, FillMode, ResampleOptions,
    apply_affine_transform, resample_affine,
};
pub use batch::{BadImage, Batch, Labels};
pub use decode::{ColorMode, DecodeLimits, DecodeOptions, Decoded, decode_file, load_img};
pub use directory::{DirectoryListing, WHITE_LIST_FORMATS, scan_directory};
pub use error::DataError;
pub use generator::{ImageDataGenerator, PreprocessingFunction};
pub use image::{Image, ImageArray, ImageShape, Sample};
pub use iterator::Flow;
pub use ops::{
    adjust_contrast, apply_brightness_shift, apply_channel_shift, flip_horizontal, flip_vertical,
    shift_brightness,
};
pub use options::{
    ClassMode, FlowFromDirectoryOptions, FlowFromListOptions, FlowOptions, ListLabels, OnBadImage,
    Subset,
};
pub use params::{Shift, TransformParams, Zoom};
pub use prefetch::Epoch;
pub use previews::{AugmentOptions, PreviewReport, augment, write_previews};
pub use resize::{Interpolation, resize_u8};
pub use standardize::Statistics;
