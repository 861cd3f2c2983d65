//! Where training data comes from.
//!
//! A [`DataSource`] is indexed: it says in which order to visit its samples in a given epoch and
//! loads any set of them as a [`Batch`]. Batches are therefore reproducible (the order is a
//! function of the seed and the epoch, augmentation a function of the seed, the epoch and the
//! sample), which is what lets feature caching reuse base outputs, and a resumed run see the same
//! batches as an uninterrupted one.

use graft_ir::Tensor;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::TrainError;

/// A batch: one tensor per model input (in the model's own layout), the targets, and optional
/// per-sample weights.
#[derive(Clone, Debug)]
pub struct Batch {
    pub inputs: Vec<Tensor>,
    /// `[n]` class indices (sparse losses), `[n, k]` one-hot/multi-label/regression targets.
    pub targets: Tensor,
    pub sample_weight: Option<Vec<f32>>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.shape().first().copied().unwrap_or(0)
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Indexed training or validation data.
pub trait DataSource: Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples per batch.
    fn batch_size(&self) -> usize;

    /// The order samples are visited in during `epoch` (a permutation of `0..len`).
    fn order(&self, epoch: usize) -> Vec<usize>;

    /// Loads the samples `indices` as one batch; `epoch` seeds any augmentation.
    fn load(&self, indices: &[usize], epoch: usize) -> Result<Batch, TrainError>;

    /// True when loading applies random augmentation (then a sample's batch differs between
    /// epochs, and base outputs cannot be cached).
    fn is_augmented(&self) -> bool;

    /// Class index of every sample, when the data knows it (for `class_weight = "balanced"` and
    /// oversampling).
    fn labels(&self) -> Option<Vec<usize>> {
        None
    }

    /// Batches per epoch: `ceil(len / batch_size)`, as Keras counts steps.
    fn steps(&self) -> usize {
        self.len().div_ceil(self.batch_size().max(1))
    }
}

/// The permutation Keras-style shuffling gives epoch `epoch` under `seed`.
pub fn shuffled(len: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    order.shuffle(&mut rng);
    order
}

/// In-memory arrays (Keras' `fit(x, y)`): inputs `[n, ...]`, targets `[n]` or `[n, k]`.
#[derive(Clone, Debug)]
pub struct ArrayData {
    inputs: Vec<Tensor>,
    targets: Tensor,
    sample_weight: Option<Vec<f32>>,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
}

impl ArrayData {
    /// Arrays of `n` samples each; batch size 32, shuffled each epoch, as Keras' defaults.
    pub fn new(inputs: Vec<Tensor>, targets: Tensor) -> Result<Self, TrainError> {
        let n = targets.shape().first().copied().unwrap_or(0);
        for (i, x) in inputs.iter().enumerate() {
            if x.shape().first() != Some(&n) {
                return Err(TrainError::Data(format!(
                    "input {i} has {} samples, the targets {n}",
                    x.shape().first().copied().unwrap_or(0)
                )));
            }
        }
        Ok(Self {
            inputs,
            targets,
            sample_weight: None,
            batch_size: 32,
            shuffle: true,
            seed: 0,
        })
    }

    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Per-sample weights (Keras' `sample_weight`).
    pub fn sample_weight(mut self, weights: Vec<f32>) -> Result<Self, TrainError> {
        if weights.len() != self.len() {
            return Err(TrainError::Data(format!(
                "{} sample weights for {} samples",
                weights.len(),
                self.len()
            )));
        }
        self.sample_weight = Some(weights);
        Ok(self)
    }

    /// Keras' `validation_split`: the LAST `fraction` of the samples (before any shuffling)
    /// become validation data, the rest training data.
    pub fn split(self, fraction: f32) -> Result<(ArrayData, ArrayData), TrainError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(TrainError::Config(format!(
                "validation_split must be in [0, 1), got {fraction}"
            )));
        }
        let n = self.len();
        let cut = n - ((n as f32 * fraction) as usize).min(n);
        let take = |range: std::ops::Range<usize>| -> Result<ArrayData, TrainError> {
            let idx: Vec<usize> = range.collect();
            let b = self.load(&idx, 0)?;
            let mut d = ArrayData::new(b.inputs, b.targets)?;
            d.sample_weight = b.sample_weight;
            d.batch_size = self.batch_size;
            d.shuffle = self.shuffle;
            d.seed = self.seed;
            Ok(d)
        };
        Ok((take(0..cut)?, take(cut..n)?))
    }
}

/// Rows `indices` of a `[n, ...]` tensor.
pub fn gather_rows(t: &Tensor, indices: &[usize]) -> Tensor {
    let row: usize = t.shape()[1..].iter().product();
    let mut data = Vec::with_capacity(row * indices.len());
    for &i in indices {
        data.extend_from_slice(&t.data()[i * row..(i + 1) * row]);
    }
    let mut shape = t.shape().to_vec();
    shape[0] = indices.len();
    Tensor::new(shape, data).expect("rows of a tensor")
}

impl DataSource for ArrayData {
    fn len(&self) -> usize {
        self.targets.shape().first().copied().unwrap_or(0)
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn order(&self, epoch: usize) -> Vec<usize> {
        if self.shuffle {
            shuffled(self.len(), self.seed, epoch)
        } else {
            (0..self.len()).collect()
        }
    }

    fn load(&self, indices: &[usize], _epoch: usize) -> Result<Batch, TrainError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(TrainError::Data(format!(
                "sample {bad} out of {}",
                self.len()
            )));
        }
        Ok(Batch {
            inputs: self
                .inputs
                .iter()
                .map(|x| gather_rows(x, indices))
                .collect(),
            targets: gather_rows(&self.targets, indices),
            sample_weight: self
                .sample_weight
                .as_ref()
                .map(|w| indices.iter().map(|&i| w[i]).collect()),
        })
    }

    fn is_augmented(&self) -> bool {
        false
    }

    fn labels(&self) -> Option<Vec<usize>> {
        match self.targets.shape() {
            [_] => Some(self.targets.data().iter().map(|&v| v as usize).collect()),
            [_, 1] => Some(
                self.targets
                    .data()
                    .iter()
                    .map(|&v| v.round() as usize)
                    .collect(),
            ),
            [n, k] => Some(
                (0..*n)
                    .map(|i| {
                        let row = &self.targets.data()[i * k..(i + 1) * k];
                        (0..*k)
                            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                            .unwrap_or(0)
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// A contiguous range of another source's samples (Keras' `validation_split`: the last fraction
/// of the samples, before any shuffling, is validation data). The range keeps the source's
/// per-epoch order, restricted to its samples; validation is never augmented.
pub struct Split<'a> {
    inner: &'a dyn DataSource,
    start: usize,
    end: usize,
    validation: bool,
}

impl<'a> Split<'a> {
    /// `(training, validation)` views of `data` with the last `fraction` of it as validation.
    pub fn validation_split(
        data: &'a dyn DataSource,
        fraction: f32,
    ) -> Result<(Self, Self), TrainError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(TrainError::Config(format!(
                "validation_split must be in [0, 1), got {fraction}"
            )));
        }
        let n = data.len();
        let cut = n - ((n as f32 * fraction) as usize).min(n);
        if cut == 0 || cut == n {
            return Err(TrainError::Config(format!(
                "validation_split {fraction} of {n} samples leaves an empty training or validation set"
            )));
        }
        let view = |start, end, validation| Split {
            inner: data,
            start,
            end,
            validation,
        };
        Ok((view(0, cut, false), view(cut, n, true)))
    }
}

impl DataSource for Split<'_> {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }

    fn order(&self, epoch: usize) -> Vec<usize> {
        if self.validation {
            return (0..self.len()).collect();
        }
        self.inner
            .order(epoch)
            .into_iter()
            .filter(|&i| i >= self.start && i < self.end)
            .map(|i| i - self.start)
            .collect()
    }

    fn load(&self, indices: &[usize], epoch: usize) -> Result<Batch, TrainError> {
        let inner: Vec<usize> = indices.iter().map(|&i| i + self.start).collect();
        self.inner.load(&inner, epoch)
    }

    fn is_augmented(&self) -> bool {
        !self.validation && self.inner.is_augmented()
    }

    fn labels(&self) -> Option<Vec<usize>> {
        self.inner
            .labels()
            .map(|l| l[self.start..self.end].to_vec())
    }
}
