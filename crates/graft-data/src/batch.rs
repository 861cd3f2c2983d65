//! What the iterators yield: a batch of NHWC f32 images with its targets.

use std::path::PathBuf;

/// The targets of a batch, one variant per class mode; arrays are f32 like Keras'.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// `categorical`: one-hot rows, shape `[n, num_classes]`.
    OneHot {
        /// `n * num_classes` values.
        data: Vec<f32>,
        /// Row length.
        num_classes: usize,
    },
    /// `sparse`: class indices as f32, shape `[n]`.
    Index(Vec<f32>),
    /// `binary`: class indices (0 or 1) as f32, shape `[n]`.
    Binary(Vec<f32>),
    /// `input`: the targets are the images (`batch.x`; not copied).
    Input,
    /// No targets (`class_mode` none, or `flow` without `y`).
    None,
    /// Targets given by the caller (`flow`'s `y`, `flow_from_list`'s raw labels), shape
    /// `[n, ...per_sample]`.
    Raw {
        /// The values.
        data: Vec<f32>,
        /// The full shape, batch dimension first.
        shape: Vec<usize>,
    },
}

/// A file that could not be used, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadImage {
    /// The file.
    pub path: PathBuf,
    /// The error, as displayed.
    pub message: String,
}

/// One batch: images in Keras' `channels_last` layout, targets, weights and provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// `shape.iter().product()` values, NHWC.
    pub x: Vec<f32>,
    /// `[n, height, width, channels]`.
    pub shape: [usize; 4],
    /// The targets.
    pub y: Labels,
    /// The weights of the samples, when the iterator has some.
    pub sample_weight: Option<Vec<f32>>,
    /// The files the images come from (empty for in-memory arrays).
    pub paths: Vec<PathBuf>,
    /// The samples' indices in the iterator (its `filenames`/`classes` order, or rows of `flow`'s `x`).
    pub indices: Vec<usize>,
    /// Files of this batch that could not be read and were left out (with `OnBadImage::Skip`).
    pub skipped: Vec<BadImage>,
}

impl Batch {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Whether the batch holds no image (every file of it was unreadable).
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// Image `i` of the batch (HWC values).
    pub fn image(&self, i: usize) -> &[f32] {
        let per = self.shape[1] * self.shape[2] * self.shape[3];
        &self.x[i * per..(i + 1) * per]
    }

    /// The targets as one f32 array and its shape (`Input` gives `x` itself); None without targets.
    pub fn y_array(&self) -> Option<(&[f32], Vec<usize>)> {
        let n = self.shape[0];
        match &self.y {
            Labels::OneHot { data, num_classes } => Some((data, vec![n, *num_classes])),
            Labels::Index(data) | Labels::Binary(data) => Some((data, vec![n])),
            Labels::Input => Some((&self.x, self.shape.to_vec())),
            Labels::Raw { data, shape } => Some((data, shape.clone())),
            Labels::None => None,
        }
    }
}
