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
//! - [`ImageDataGenerator`] ([`generator`], [`params`]) holds the augmentation and normalisation
//!   parameters with Keras' names and defaults, and draws each image's random [`TransformParams`] from
//!   (seed, epoch, sample index) — never from a shared generator — so a seeded epoch has the same bytes
//!   on any number of threads.
//! - [`flow`](ImageDataGenerator::flow) (in-memory NHWC arrays, f32 or bytes),
//!   [`flow_from_directory`](ImageDataGenerator::flow_from_directory) and
//!   [`flow_from_list`](ImageDataGenerator::flow_from_list) ([`flows`], options in [`options`]) build a
//!   [`Flow`] ([`iterator`]); the directory listing reproduces Keras' ([`directory`]).
//! - [`Flow::epoch`] returns an [`Epoch`] ([`prefetch`]), a Rust iterator of `Result<Batch, DataError>`
//!   ([`batch`]) fed by a bounded background thread: at most `prefetch` batches are prepared ahead. Each
//!   batch decodes ([`decode`]), resizes ([`resize`]), augments ([`affine`], [`ops`]) and standardises
//!   ([`standardize`]) its images in parallel on rayon (the flow's own pool with `num_threads`).
//!   [`Flow::recycle`] hands a used batch's buffer back, sparing the next batch its allocation.
//! - [`write_previews`] / [`augment`] ([`previews`]) write augmented images for `graft augment`, from
//!   the clap-free [`AugmentOptions`].
//! - The per-image kernels are public for the Keras 3 preprocessing layers: [`apply_affine_transform`] /
//!   [`resample_affine`] (affine resample with fill modes and orders 0/1), [`resize_u8`] (Keras'/PIL's
//!   interpolations), [`flip_horizontal`], [`flip_vertical`], [`apply_brightness_shift`],
//!   [`shift_brightness`], [`adjust_contrast`], [`apply_channel_shift`].
//!
//! # What is hand-written and why
//! Decoding uses the `image` crate (with its size limits and EXIF orientation), directory walking the
//! standard library, parallelism rayon, randomness `rand_chacha`, ZCA's eigensolver nalgebra. Two things
//! are written here because matching Keras is the point and no crate does it: the affine resample
//! ([`affine`] and its private `resample` module: scipy's `affine_transform` boundary modes and order-0
//! rounding, which Keras relies on, in a two-pass row kernel the compiler vectorises) and the resize
//! ([`resize`]: PIL's filters, fixed-point arithmetic and pass order, which Keras' `load_img` relies on).
//! The Keras-exact PIL details of brightness and colour conversion are small functions in [`ops`] and
//! [`decode`]. Against Keras' own outputs (tests/fixtures/images), the affine cases agree to 1e-3 grey
//! levels and the resizes bit for bit.
//!
//! # Where graft differs from Keras
//! - Keras' augmentation bugs are fixed by default and reproduced by
//!   [`keras_compat(true)`](ImageDataGenerator::keras_compat): `height_shift_range` shifts horizontally
//!   by a fraction of the height and `width_shift_range` vertically by a fraction of the width;
//!   `fill_mode="wrap"` tiles with period n-1 (scipy's legacy `wrap`); rotation, shear and zoom of
//!   non-square images pivot about (w/2 - 0.5, h/2 - 0.5) read as (row, column) instead of the centre.
//! - EXIF orientation is honoured ([`DecodeOptions::exif_orientation`], on by default); Keras (PIL
//!   `open`) ignores it.
//! - An unreadable file is skipped, counted in a warning and reported in [`Batch::skipped`] (or is an
//!   error with [`OnBadImage::Error`]); Keras lists it too but raises in the middle of the epoch.
//! - Random numbers come from ChaCha streams keyed by (seed, epoch, index), not numpy's global generator:
//!   same distributions, not the same draws. `save_to_dir` file names use the same streams.
//! - ZCA drops directions whose singular value is below 1e-6 of the largest, where Keras amplifies
//!   rounding noise; `fit` refuses images of more than [`standardize::MAX_ZCA_DIM`] values.
//! - Layout is `channels_last` and dtype f32 only; `interpolation_order` 2-5 (scipy splines) and `flow`'s
//!   extra `x` inputs are not implemented; JPEG pixels may differ from PIL's (libjpeg-turbo) by a grey
//!   level or two.

#![warn(missing_docs)]

pub mod affine;
pub mod batch;
mod convolution;
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
pub mod synthetic;
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
