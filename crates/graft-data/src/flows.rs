//! The constructors of iterators: `flow`, `flow_from_directory`, `flow_from_list`.

use crate::directory::{self, scan_directory};
use crate::error::DataError;
use crate::generator::ImageDataGenerator;
use crate::image::{ImageArray, ImageShape};
use crate::iterator::{Flow, FlowInner, Source, Targets};
use crate::options::{
    ClassMode, FlowFromDirectoryOptions, FlowFromListOptions, FlowOptions, ListLabels, OnBadImage,
};
use crate::previews::SaveTo;
use crate::rng;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

impl ImageDataGenerator {
    /// Keras' `flow(x, y, ...)`: batches of augmented images from an in-memory NHWC array.
    ///
    /// `x` holds `shape = [n, height, width, channels]` values: a `Vec<f32>` (Keras' float32) or a
    /// `Vec<u8>` (kept as bytes, read as 0-255 f32 values). `y`, if any, holds `n * k` values: k per sample (yielded with shape `[n]` when
    /// k = 1, `[n, k]` otherwise). Sample weights and the rest are in `options`.
    pub fn flow(
        &self,
        x: impl Into<ImageArray>,
        shape: [usize; 4],
        y: Option<Vec<f32>>,
        options: FlowOptions,
    ) -> Result<Flow, DataError> {
        self.validate()?;
        let x = x.into();
        let [n, h, w, c] = shape;
        let image_shape = ImageShape::new(h, w, c);
        if x.len() != n * image_shape.len() || image_shape.is_empty() {
            return Err(DataError::Shape(format!(
                "x has {} values, shape {shape:?} needs {}",
                x.len(),
                n * image_shape.len()
            )));
        }
        if ![1, 3, 4].contains(&c) {
            log::warn!("flow: images have {c} channels; Keras expects 1, 3 or 4");
        }
        check_batch_size(options.batch_size)?;
        let per_target = match &y {
            Some(y) if n == 0 || y.len() % n != 0 || y.is_empty() => {
                return Err(DataError::Shape(format!(
                    "`x` (images) and `y` (labels) should have the same length: {n} images, {} \
                     label values",
                    y.len()
                )));
            }
            Some(y) => y.len() / n,
            None => 0,
        };
        if let Some(weights) = options.sample_weight.as_ref().filter(|w| w.len() != n) {
            return Err(DataError::Shape(format!(
                "`x` (images) and `sample_weight` should have the same length: {n} and {}",
                weights.len()
            )));
        }
        let (start, stop) = match options.subset {
            None => (0, n),
            Some(subset) => {
                let split = (n as f64 * self.validation_split) as usize;
                if let (Some(y), false) = (&y, options.ignore_class_split) {
                    let (head, tail) = y.split_at(split * per_target);
                    if unique(head) != unique(tail) {
                        return Err(DataError::invalid(
                            "subset",
                            "training and validation subsets have different label values after \
                             the split; if your arrays are sorted by label, shuffle them (or set \
                             ignore_class_split)",
                        ));
                    }
                }
                match subset {
                    crate::Subset::Validation => (0, split),
                    crate::Subset::Training => (split, n),
                }
            }
        };
        let targets = match y {
            None => Targets::None,
            Some(y) => Targets::Raw {
                values: y[start * per_target..stop * per_target].to_vec(),
                per_sample: if per_target == 1 {
                    vec![]
                } else {
                    vec![per_target]
                },
            },
        };
        let sample_weight = options.sample_weight.map(|w| w[start..stop].to_vec());
        let save = SaveTo::new(
            options.save_to_dir,
            options.save_prefix,
            &options.save_format,
            10_000,
        )?;
        Ok(Flow {
            inner: Arc::new(FlowInner {
                generator: self.clone(),
                source: Source::Array { x, offset: start },
                targets,
                sample_weight,
                samples: stop - start,
                image_shape,
                batch_size: options.batch_size,
                shuffle: options.shuffle,
                seed: options.seed.unwrap_or_else(rng::entropy_seed),
                prefetch: options.prefetch,
                pool: thread_pool(options.num_threads)?,
                save,
                on_bad_image: OnBadImage::Error,
                class_names: Vec::new(),
                filenames: Vec::new(),
                skipped: Mutex::new(Vec::new()),
                recycled: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Keras' `flow_from_directory(directory, ...)`: one subdirectory per class, listed in Keras' order
    /// (see [`crate::directory`]), decoded, resized, augmented and standardised in parallel.
    pub fn flow_from_directory(
        &self,
        directory: impl AsRef<Path>,
        options: FlowFromDirectoryOptions,
    ) -> Result<Flow, DataError> {
        self.validate()?;
        check_batch_size(options.batch_size)?;
        check_target(options.target_size)?;
        if options.class_mode == ClassMode::Raw {
            return Err(DataError::invalid(
                "class_mode",
                "raw targets need flow_from_list; flow_from_directory accepts categorical, \
                 binary, sparse, input and none",
            ));
        }
        let split = options.subset.map(|s| s.split(self.validation_split));
        let listing = scan_directory(
            directory.as_ref(),
            options.classes.as_deref(),
            &options.white_list_formats,
            split,
            options.follow_links,
        )?;
        log::info!(
            "Found {} images belonging to {} classes.",
            listing.filepaths.len(),
            listing.class_names.len()
        );
        let targets = class_targets(
            options.class_mode,
            listing.classes,
            listing.class_names.len(),
        );
        let image_shape = ImageShape::new(
            options.target_size.0,
            options.target_size.1,
            options.color_mode.channels(),
        );
        Ok(Flow {
            inner: Arc::new(FlowInner {
                generator: self.clone(),
                samples: listing.filepaths.len(),
                source: Source::Files {
                    paths: listing.filepaths,
                    color_mode: options.color_mode,
                    target_size: options.target_size,
                    interpolation: options.interpolation,
                    keep_aspect_ratio: options.keep_aspect_ratio,
                    decode: options.decode,
                },
                targets,
                sample_weight: None,
                image_shape,
                batch_size: options.batch_size,
                shuffle: options.shuffle,
                seed: options.seed.unwrap_or_else(rng::entropy_seed),
                prefetch: options.prefetch,
                pool: thread_pool(options.num_threads)?,
                save: SaveTo::new(
                    options.save_to_dir,
                    options.save_prefix,
                    &options.save_format,
                    10_000_000,
                )?,
                on_bad_image: options.on_bad_image,
                class_names: listing.class_names,
                filenames: listing.filenames,
                skipped: Mutex::new(Vec::new()),
                recycled: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Keras' `flow_from_dataframe` without the dataframe: image paths and their labels.
    ///
    /// Class names are indexed in sorted order unless `options.classes` is given (paths whose class is
    /// not in it are dropped); `subset` splits the whole list in order; with `validate_filenames`,
    /// paths that are not existing files with a white-listed suffix are dropped with a warning.
    pub fn flow_from_list(
        &self,
        paths: Vec<PathBuf>,
        labels: ListLabels,
        options: FlowFromListOptions,
    ) -> Result<Flow, DataError> {
        self.validate()?;
        check_batch_size(options.batch_size)?;
        check_target(options.target_size)?;
        let n = paths.len();
        let mode = options.class_mode;
        let wants_classes = matches!(
            mode,
            ClassMode::Categorical | ClassMode::Binary | ClassMode::Sparse
        );
        let (names, raw) = match (labels, mode) {
            (ListLabels::Classes(names), _) if wants_classes => (Some(names), None),
            (ListLabels::Raw { values, per_sample }, ClassMode::Raw) => {
                (None, Some((values, per_sample)))
            }
            (_, ClassMode::Input | ClassMode::None) => (None, None),
            (_, mode) => {
                return Err(DataError::invalid(
                    "class_mode",
                    format!(
                        "{mode} needs {} labels",
                        if wants_classes { "class-name" } else { "raw" }
                    ),
                ));
            }
        };
        if let Some(names) = &names {
            check_len("labels", names.len(), n)?;
        }
        if let Some((values, per_sample)) = &raw {
            let width: usize = per_sample.iter().product();
            check_len("labels", values.len(), n * width)?;
        }
        if let Some(weights) = &options.sample_weight {
            check_len("sample_weight", weights.len(), n)?;
        }
        // Rows kept after filename validation and class filtering, in order.
        let mut rows: Vec<usize> = (0..n).collect();
        if options.validate_filenames {
            let before = rows.len();
            rows.retain(|&i| directory::validate_filename(&paths[i], &options.white_list_formats));
            if rows.len() < before {
                log::warn!(
                    "found {} invalid image filename(s); they will be ignored",
                    before - rows.len()
                );
            }
        }
        let mut class_names = Vec::new();
        if let Some(names) = &names {
            class_names = match &options.classes {
                Some(given) if !given.is_empty() => {
                    let mut seen = std::collections::HashSet::new();
                    given.iter().filter(|c| seen.insert(*c)).cloned().collect()
                }
                _ => {
                    let mut all: Vec<String> = rows.iter().map(|&i| names[i].clone()).collect();
                    all.sort();
                    all.dedup();
                    all
                }
            };
            rows.retain(|&i| class_names.contains(&names[i]));
            if mode == ClassMode::Binary && class_names.len() != 2 {
                return Err(DataError::invalid(
                    "class_mode",
                    format!(
                        "binary needs exactly 2 classes, found {}",
                        class_names.len()
                    ),
                ));
            }
        }
        if let Some(subset) = options.subset {
            let (start, stop) = subset.split(self.validation_split);
            let count = rows.len() as f64;
            let (start, stop) = ((start * count) as usize, (stop * count) as usize);
            rows = rows[start.min(stop)..stop.min(rows.len())].to_vec();
        }
        let targets = if let Some(names) = &names {
            let classes = rows
                .iter()
                .map(|&i| class_names.iter().position(|c| *c == names[i]).unwrap_or(0))
                .collect();
            class_targets(mode, classes, class_names.len())
        } else if let Some((values, per_sample)) = raw {
            let width: usize = per_sample.iter().product();
            Targets::Raw {
                values: rows
                    .iter()
                    .flat_map(|&i| values[i * width..(i + 1) * width].iter().copied())
                    .collect(),
                per_sample,
            }
        } else {
            class_targets(mode, Vec::new(), 0)
        };
        let kept_paths: Vec<PathBuf> = rows.iter().map(|&i| paths[i].clone()).collect();
        let image_shape = ImageShape::new(
            options.target_size.0,
            options.target_size.1,
            options.color_mode.channels(),
        );
        Ok(Flow {
            inner: Arc::new(FlowInner {
                generator: self.clone(),
                samples: kept_paths.len(),
                filenames: kept_paths.clone(),
                source: Source::Files {
                    paths: kept_paths,
                    color_mode: options.color_mode,
                    target_size: options.target_size,
                    interpolation: options.interpolation,
                    keep_aspect_ratio: options.keep_aspect_ratio,
                    decode: options.decode,
                },
                targets,
                sample_weight: options
                    .sample_weight
                    .map(|w| rows.iter().map(|&i| w[i]).collect()),
                image_shape,
                batch_size: options.batch_size,
                shuffle: options.shuffle,
                seed: options.seed.unwrap_or_else(rng::entropy_seed),
                prefetch: options.prefetch,
                pool: thread_pool(options.num_threads)?,
                save: SaveTo::new(
                    options.save_to_dir,
                    options.save_prefix,
                    &options.save_format,
                    10_000_000,
                )?,
                on_bad_image: options.on_bad_image,
                class_names,
                skipped: Mutex::new(Vec::new()),
                recycled: Mutex::new(Vec::new()),
            }),
        })
    }
}

fn class_targets(mode: ClassMode, classes: Vec<usize>, num_classes: usize) -> Targets {
    match mode {
        ClassMode::Input => Targets::Input,
        ClassMode::None | ClassMode::Raw => Targets::None,
        mode => Targets::Classes {
            classes,
            num_classes,
            mode,
        },
    }
}

fn check_batch_size(batch_size: usize) -> Result<(), DataError> {
    if batch_size == 0 {
        return Err(DataError::invalid("batch_size", "must be at least 1"));
    }
    Ok(())
}

fn check_target(target: (usize, usize)) -> Result<(), DataError> {
    if target.0 == 0 || target.1 == 0 || target.0.saturating_mul(target.1) > 1 << 28 {
        return Err(DataError::invalid(
            "target_size",
            format!("{target:?}: both sides must be at least 1, the area at most 2^28"),
        ));
    }
    Ok(())
}

fn check_len(name: &'static str, got: usize, want: usize) -> Result<(), DataError> {
    if got != want {
        return Err(DataError::Shape(format!(
            "`{name}` has {got} values, expected {want}"
        )));
    }
    Ok(())
}

/// The sorted distinct values (numpy's `unique`), bit patterns compared.
fn unique(values: &[f32]) -> Vec<u32> {
    let mut bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
    bits.sort_unstable();
    bits.dedup();
    bits
}

fn thread_pool(threads: Option<usize>) -> Result<Option<Arc<rayon::ThreadPool>>, DataError> {
    threads
        .map(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .thread_name(|i| format!("graft-data-{i}"))
                .build()
                .map(Arc::new)
                .map_err(|e| DataError::Worker(format!("cannot start {n} threads: {e}")))
        })
        .transpose()
}
