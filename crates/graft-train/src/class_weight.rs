//! Imbalanced data: class weights ("balanced" as scikit-learn computes them, or given), and an
//! oversampling wrapper that repeats minority samples.

use graft_ir::Tensor;

use crate::data::{Batch, DataSource, shuffled};
use crate::error::TrainError;

/// Keras' `class_weight`: a weight per class multiplying each sample's loss.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    /// `n_samples / (n_classes * count[c])`, scikit-learn's `compute_class_weight("balanced")`.
    Balanced,
    /// One weight per class index.
    Given(Vec<f32>),
}

impl ClassWeight {
    /// The weight of every class, given the labels of the training samples.
    pub fn resolve(&self, labels: &[usize], classes: usize) -> Result<Vec<f32>, TrainError> {
        match self {
            ClassWeight::Given(w) => {
                if w.len() < classes {
                    return Err(TrainError::Config(format!(
                        "class_weight has {} entries for {classes} classes",
                        w.len()
                    )));
                }
                Ok(w.clone())
            }
            ClassWeight::Balanced => {
                let mut counts = vec![0usize; classes];
                for &l in labels {
                    if l < classes {
                        counts[l] += 1;
                    }
                }
                let present = counts.iter().filter(|&&c| c > 0).count().max(1);
                // scikit-learn divides by the number of classes present in y.
                Ok(counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            0.0
                        } else {
                            labels.len() as f32 / (present as f32 * c as f32)
                        }
                    })
                    .collect())
            }
        }
    }
}

/// The class index of each sample of a batch's targets (`[n]` indices or `[n, k]` one-hot).
pub fn batch_labels(targets: &Tensor) -> Vec<usize> {
    match targets.shape() {
        [_] => targets.data().iter().map(|&v| v as usize).collect(),
        [n, 1] => (0..*n)
            .map(|i| (targets.data()[i] > 0.5) as usize)
            .collect(),
        [n, k] => (0..*n)
            .map(|i| {
                let row = &targets.data()[i * k..(i + 1) * k];
                (0..*k)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0)
            })
            .collect(),
        _ => vec![],
    }
}

/// Wraps a source so every class appears as often as the largest one: minority samples are
/// repeated (each epoch visits `classes * largest_count` samples).
pub struct Oversampled<'a> {
    inner: &'a dyn DataSource,
    /// Sample index per virtual slot.
    slots: Vec<usize>,
    seed: u64,
}

impl<'a> Oversampled<'a> {
    pub fn new(inner: &'a dyn DataSource, seed: u64) -> Result<Self, TrainError> {
        let labels = inner.labels().ok_or_else(|| {
            TrainError::Config("oversampling needs data that knows its labels".into())
        })?;
        let classes = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
        let mut by_class: Vec<Vec<usize>> = vec![vec![]; classes];
        for (i, &l) in labels.iter().enumerate() {
            by_class[l].push(i);
        }
        let largest = by_class.iter().map(Vec::len).max().unwrap_or(0);
        let mut slots = Vec::with_capacity(largest * classes);
        for members in by_class.iter().filter(|m| !m.is_empty()) {
            slots.extend((0..largest).map(|j| members[j % members.len()]));
        }
        Ok(Self { inner, slots, seed })
    }
}

impl DataSource for Oversampled<'_> {
    fn len(&self) -> usize {
        self.slots.len()
    }
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }
    fn order(&self, epoch: usize) -> Vec<usize> {
        shuffled(self.slots.len(), self.seed, epoch)
    }
    fn load(&self, indices: &[usize], epoch: usize) -> Result<Batch, TrainError> {
        let real: Vec<usize> = indices.iter().map(|&i| self.slots[i]).collect();
        self.inner.load(&real, epoch)
    }
    fn is_augmented(&self) -> bool {
        self.inner.is_augmented()
    }
    fn labels(&self) -> Option<Vec<usize>> {
        let inner = self.inner.labels()?;
        Some(self.slots.iter().map(|&i| inner[i]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_like_scikit_learn() {
        // compute_class_weight("balanced", classes=[0,1,2], y=[0,0,0,0,1,1,2]) -> [0.583, 1.167, 2.333]
        let w = ClassWeight::Balanced
            .resolve(&[0, 0, 0, 0, 1, 1, 2], 3)
            .unwrap();
        let expected = [7.0 / 12.0, 7.0 / 6.0, 7.0 / 3.0];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{w:?}");
        }
    }
}
