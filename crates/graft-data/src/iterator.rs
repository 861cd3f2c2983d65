//! `Flow`: one iterator type behind `flow`, `flow_from_directory` and `flow_from_list` — Keras'
//! `NumpyArrayIterator`, `DirectoryIterator` and `DataFrameIterator`.
//!
//! A flow is a description (samples, targets, generator, seed); [`Flow::epoch`] runs one epoch of it. Every
//! random choice is a pure function of (seed, epoch, sample index): the permutation of epoch k, and each
//! sample's augmentation parameters. So an epoch's bytes do not depend on the thread count, on prefetching,
//! or on which batch is built first.

use crate::batch::{BadImage, Batch, Labels};
use crate::decode::{self, ColorMode, DecodeOptions, Decoded};
use crate::error::DataError;
use crate::generator::ImageDataGenerator;
use crate::image::{ImageArray, ImageShape};
use crate::options::{ClassMode, OnBadImage};
use crate::prefetch::Epoch;
use crate::previews::SaveTo;
use crate::resize::{self, Interpolation};
use crate::rng::{self, Purpose};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

thread_local! {
    /// The per-thread buffer decoded images are resized into (it stays in cache across images).
    static RESIZED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where a flow's images come from.
pub(crate) enum Source {
    /// Rows `offset..offset + samples` of an NHWC array.
    Array { x: ImageArray, offset: usize },
    /// Image files, decoded and resized on demand.
    Files {
        paths: Vec<PathBuf>,
        color_mode: ColorMode,
        target_size: (usize, usize),
        interpolation: Interpolation,
        keep_aspect_ratio: bool,
        decode: DecodeOptions,
    },
}

/// A flow's targets.
pub(crate) enum Targets {
    None,
    Input,
    Classes {
        classes: Vec<usize>,
        num_classes: usize,
        mode: ClassMode,
    },
    Raw {
        values: Vec<f32>,
        per_sample: Vec<usize>,
    },
}

pub(crate) struct FlowInner {
    pub generator: ImageDataGenerator,
    pub source: Source,
    pub targets: Targets,
    pub sample_weight: Option<Vec<f32>>,
    pub samples: usize,
    pub image_shape: ImageShape,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: u64,
    pub prefetch: usize,
    pub pool: Option<Arc<rayon::ThreadPool>>,
    pub save: Option<SaveTo>,
    pub on_bad_image: OnBadImage,
    pub class_names: Vec<String>,
    pub filenames: Vec<PathBuf>,
    pub skipped: Mutex<Vec<BadImage>>,
    /// Batch buffers handed back by [`Flow::recycle`], reused instead of allocating and zeroing.
    pub recycled: Mutex<Vec<Vec<f32>>>,
}

/// An image-data iterator: what `flow`, `flow_from_directory` and `flow_from_list` return.
///
/// `len()` is the number of batches per epoch, `ceil(samples / batch_size)` as in Keras. Iterate one
/// epoch with [`epoch`](Self::epoch) (reshuffled per epoch, deterministically from the seed), or
/// `for batch in &flow` for epoch 0; fetch any batch directly with [`batch`](Self::batch).
#[derive(Clone)]
pub struct Flow {
    pub(crate) inner: Arc<FlowInner>,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("samples", &self.inner.samples)
            .field("batch_size", &self.inner.batch_size)
            .field("image_shape", &self.inner.image_shape)
            .field("classes", &self.inner.class_names)
            .field("seed", &self.inner.seed)
            .finish()
    }
}

impl Flow {
    /// Batches per epoch: `ceil(samples / batch_size)`.
    pub fn len(&self) -> usize {
        self.inner.samples.div_ceil(self.inner.batch_size)
    }

    /// Whether there is no sample at all.
    pub fn is_empty(&self) -> bool {
        self.inner.samples == 0
    }

    /// Number of samples (Keras' `samples` / `n`).
    pub fn samples(&self) -> usize {
        self.inner.samples
    }

    /// Images per batch.
    pub fn batch_size(&self) -> usize {
        self.inner.batch_size
    }

    /// Shape of one yielded image.
    pub fn image_shape(&self) -> ImageShape {
        self.inner.image_shape
    }

    /// The seed in use (drawn at creation when none was given).
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Class names in index order (empty for `flow`).
    pub fn class_names(&self) -> &[String] {
        &self.inner.class_names
    }

    /// Keras' `class_indices`: class name to index.
    pub fn class_indices(&self) -> BTreeMap<String, usize> {
        self.inner
            .class_names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect()
    }

    /// Keras' `classes`: the class index of every sample (empty without class targets).
    pub fn classes(&self) -> &[usize] {
        match &self.inner.targets {
            Targets::Classes { classes, .. } => classes,
            _ => &[],
        }
    }

    /// Keras' `filenames`: for directories, paths relative to the root; for lists, the paths given.
    pub fn filenames(&self) -> &[PathBuf] {
        &self.inner.filenames
    }

    /// Keras' `filepaths`: the files read (empty for `flow`).
    pub fn filepaths(&self) -> &[PathBuf] {
        match &self.inner.source {
            Source::Files { paths, .. } => paths,
            Source::Array { .. } => &[],
        }
    }

    /// Every file skipped as unreadable so far, across epochs.
    pub fn skipped_images(&self) -> Vec<BadImage> {
        self.inner
            .skipped
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The order samples are visited in during `epoch`: a permutation derived from (seed, epoch) when
    /// shuffling, `0..samples` otherwise.
    pub fn index_array(&self, epoch: u64) -> Vec<usize> {
        self.inner.index_array(epoch)
    }

    /// Batch `index` of epoch `epoch`, built now on the calling thread's rayon pool (or the flow's own
    /// pool); Keras' `__getitem__` with the epoch made explicit.
    pub fn batch(&self, epoch: u64, index: usize) -> Result<Batch, DataError> {
        if index >= self.len() {
            return Err(DataError::invalid(
                "index",
                format!("batch {index} of an epoch of {} batches", self.len()),
            ));
        }
        let order = self.index_array(epoch);
        self.inner.build_batch(epoch, &order, index)
    }

    /// The samples `indices` (positions in the iterator's own order: its `filenames`, `classes`,
    /// or rows of `flow`'s `x`) as one batch, transformed as in epoch `epoch`. Each sample's
    /// random transform depends only on (seed, epoch, sample), so this equals the same samples
    /// taken from [`batch`](Self::batch).
    pub fn load(&self, epoch: u64, indices: &[usize]) -> Result<Batch, DataError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.inner.samples) {
            return Err(DataError::invalid(
                "index",
                format!("sample {bad} of a flow of {} samples", self.inner.samples),
            ));
        }
        self.inner.build_batch_of(epoch, indices)
    }

    /// True when the generator transforms images randomly (see
    /// [`ImageDataGenerator::is_random`]).
    pub fn is_augmented(&self) -> bool {
        self.inner.generator.is_random()
    }

    /// Hands a batch's image buffer back for reuse by the next batches of this flow, sparing their
    /// allocation and zeroing (about a tenth of the cost of an augmented batch). Optional: call it when
    /// done with a batch, e.g. at the end of a training step. At most `prefetch + 2` buffers are kept.
    pub fn recycle(&self, batch: Batch) {
        if let Ok(mut pool) = self.inner.recycled.lock()
            && pool.len() < self.inner.prefetch + 2
        {
            pool.push(batch.x);
        }
    }

    /// Epoch `epoch`: an iterator over its batches, prepared `prefetch` batches ahead in the background.
    pub fn epoch(&self, epoch: u64) -> Epoch {
        Epoch::new(self.inner.clone(), epoch)
    }

    /// Epoch 0 (same as `epoch(0)`).
    pub fn iter(&self) -> Epoch {
        self.epoch(0)
    }
}

impl IntoIterator for &Flow {
    type Item = Result<Batch, DataError>;
    type IntoIter = Epoch;
    fn into_iter(self) -> Epoch {
        self.iter()
    }
}

impl FlowInner {
    pub(crate) fn batches(&self) -> usize {
        self.samples.div_ceil(self.batch_size)
    }

    pub(crate) fn index_array(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.samples).collect();
        if self.shuffle {
            let mut rng = rng::stream(self.seed, epoch, 0, Purpose::Shuffle);
            order.shuffle(&mut rng);
        }
        order
    }

    /// Builds batch `index` of an epoch whose visiting order is `order`: its images in parallel on the
    /// flow's pool (or the caller's), then targets, weights and optional previews.
    pub(crate) fn build_batch(
        &self,
        epoch: u64,
        order: &[usize],
        index: usize,
    ) -> Result<Batch, DataError> {
        let start = index * self.batch_size;
        let indices = &order[start..(start + self.batch_size).min(order.len())];
        self.build_batch_of(epoch, indices)
    }

    /// The batch of samples `indices`.
    pub(crate) fn build_batch_of(&self, epoch: u64, indices: &[usize]) -> Result<Batch, DataError> {
        let per_image = self.image_shape.len();
        let total = indices.len() * per_image;
        let recycled = self.recycled.lock().ok().and_then(|mut pool| pool.pop());
        let mut x: Vec<f32> = recycled.unwrap_or_default();
        // Every value is overwritten below: a recycled buffer's old contents never show.
        x.truncate(total);
        let mut work = || -> Vec<Result<(), DataError>> {
            // A new buffer is zeroed on the workers, in parallel (a single-threaded 20 MB memset would
            // be a serial step of every batch).
            let missing = total - x.len();
            x.par_extend(rayon::iter::repeat_n(0.0f32, missing));
            x.par_chunks_mut(per_image.max(1))
                .zip(indices.par_iter())
                .map(|(slot, &sample)| self.load_sample(epoch, sample, slot))
                .collect()
        };
        let results = match &self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        let mut ok_positions = Vec::with_capacity(indices.len());
        let mut skipped = Vec::new();
        for (position, result) in results.into_iter().enumerate() {
            match result {
                Ok(()) => ok_positions.push(position),
                Err(error) if self.on_bad_image == OnBadImage::Error => return Err(error),
                Err(error) => skipped.push(BadImage {
                    path: self.path_of(indices[position]),
                    message: error.to_string(),
                }),
            }
        }
        if !skipped.is_empty() {
            // Close the gaps: each kept image moves up to its rank (ranks never exceed positions).
            for (rank, &position) in ok_positions.iter().enumerate() {
                if rank != position {
                    x.copy_within(
                        position * per_image..(position + 1) * per_image,
                        rank * per_image,
                    );
                }
            }
            x.truncate(ok_positions.len() * per_image);
            log::warn!(
                "skipped {} unreadable image(s) in a batch of epoch {epoch}; first: {}: {}",
                skipped.len(),
                skipped[0].path.display(),
                skipped[0].message
            );
            if let Ok(mut all) = self.skipped.lock() {
                all.extend(skipped.iter().cloned());
            }
        }
        let kept: Vec<usize> = ok_positions.iter().map(|&p| indices[p]).collect();
        let shape = self.image_shape;
        let batch = Batch {
            y: self.labels(&kept),
            sample_weight: self
                .sample_weight
                .as_ref()
                .map(|w| kept.iter().map(|&i| w[i]).collect()),
            paths: match &self.source {
                Source::Files { paths, .. } => kept.iter().map(|&i| paths[i].clone()).collect(),
                Source::Array { .. } => Vec::new(),
            },
            shape: [kept.len(), shape.height, shape.width, shape.channels],
            indices: kept,
            skipped,
            x,
        };
        if let Some(save) = &self.save {
            save.save_batch(&batch, shape, self.seed, epoch)?;
        }
        Ok(batch)
    }

    fn path_of(&self, sample: usize) -> PathBuf {
        match &self.source {
            Source::Files { paths, .. } => paths[sample].clone(),
            Source::Array { .. } => PathBuf::new(),
        }
    }

    /// Decodes (files) or reads (arrays) one sample, augments and standardises it into `slot`.
    fn load_sample(&self, epoch: u64, sample: usize, slot: &mut [f32]) -> Result<(), DataError> {
        let shape = self.image_shape;
        let params = self.generator.random_transform_params(
            shape.height,
            shape.width,
            self.seed,
            epoch,
            sample as u64,
        );
        match &self.source {
            Source::Array { x, offset } => {
                let per = shape.len();
                let range = (offset + sample) * per..(offset + sample + 1) * per;
                match x {
                    ImageArray::F32(values) => self.generator.transform_and_standardize(
                        &values[range],
                        shape,
                        &params,
                        slot,
                    ),
                    ImageArray::U8(values) => self.generator.transform_and_standardize(
                        &values[range],
                        shape,
                        &params,
                        slot,
                    ),
                }
            }
            Source::Files {
                paths,
                color_mode,
                target_size,
                interpolation,
                keep_aspect_ratio,
                decode,
            } => {
                let decoded = decode::decode_file(&paths[sample], *color_mode, decode)?;
                let source = decoded.shape();
                if let (Decoded::U8(image), Interpolation::Nearest, true) = (
                    &decoded,
                    interpolation,
                    (source.height, source.width) != *target_size,
                ) {
                    // Nearest resize straight to f32, no 8-bit intermediate (same values).
                    let crop = keep_aspect_ratio.then(|| {
                        resize::keep_aspect_ratio_box(source.width, source.height, *target_size)
                    });
                    return RESIZED.with(|cell| {
                        let mut local = Vec::new();
                        let mut borrowed = cell.try_borrow_mut();
                        let buffer = match borrowed.as_deref_mut() {
                            Ok(buffer) => buffer,
                            Err(_) => &mut local,
                        };
                        resize::resize_nearest_to_f32_into(
                            &image.data,
                            source,
                            *target_size,
                            crop,
                            buffer,
                        )?;
                        self.generator
                            .transform_and_standardize(buffer, shape, &params, slot)
                    });
                }
                let decoded = decode::resize_decoded(
                    decoded,
                    Some(*target_size),
                    *interpolation,
                    *keep_aspect_ratio,
                )?;
                match decoded {
                    Decoded::U8(image) => {
                        self.generator
                            .transform_and_standardize(&image.data, shape, &params, slot)
                    }
                    Decoded::U16(image) => {
                        self.generator
                            .transform_and_standardize(&image.data, shape, &params, slot)
                    }
                }
            }
        }
    }

    /// The targets of the samples `kept`, in order.
    fn labels(&self, kept: &[usize]) -> Labels {
        match &self.targets {
            Targets::None => Labels::None,
            Targets::Input => Labels::Input,
            Targets::Classes {
                classes,
                num_classes,
                mode,
            } => match mode {
                ClassMode::Categorical => {
                    let mut data = vec![0.0f32; kept.len() * num_classes];
                    for (row, &i) in kept.iter().enumerate() {
                        data[row * num_classes + classes[i]] = 1.0;
                    }
                    Labels::OneHot {
                        data,
                        num_classes: *num_classes,
                    }
                }
                ClassMode::Binary => {
                    Labels::Binary(kept.iter().map(|&i| classes[i] as f32).collect())
                }
                _ => Labels::Index(kept.iter().map(|&i| classes[i] as f32).collect()),
            },
            Targets::Raw { values, per_sample } => {
                let width: usize = per_sample.iter().product();
                let mut data = Vec::with_capacity(kept.len() * width);
                for &i in kept {
                    data.extend_from_slice(&values[i * width..(i + 1) * width]);
                }
                let mut shape = vec![kept.len()];
                shape.extend_from_slice(per_sample);
                Labels::Raw { data, shape }
            }
        }
    }
}
