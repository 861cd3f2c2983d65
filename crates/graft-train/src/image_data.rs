//! Image iterators from graft-data (Keras' `ImageDataGenerator` flows) as training data.

use graft_data::{Flow, Labels};
use graft_ir::Tensor;

use crate::data::{Batch, DataSource};
use crate::error::TrainError;

impl DataSource for Flow {
    fn len(&self) -> usize {
        self.samples()
    }

    fn batch_size(&self) -> usize {
        Flow::batch_size(self)
    }

    fn order(&self, epoch: usize) -> Vec<usize> {
        self.index_array(epoch as u64)
    }

    fn load(&self, indices: &[usize], epoch: usize) -> Result<Batch, TrainError> {
        let b =
            Flow::load(self, epoch as u64, indices).map_err(|e| TrainError::Data(e.to_string()))?;
        let n = b.len();
        let targets = match &b.y {
            Labels::OneHot { data, num_classes } => {
                Tensor::new(vec![n, *num_classes], data.clone())
            }
            Labels::Index(data) => Tensor::new(vec![n], data.clone()),
            // One sigmoid unit per sample.
            Labels::Binary(data) => Tensor::new(vec![n, 1], data.clone()),
            Labels::Raw { data, shape } => Tensor::new(shape.clone(), data.clone()),
            Labels::Input => Tensor::new(b.shape.to_vec(), b.x.clone()),
            Labels::None => {
                return Err(TrainError::Data(
                    "the image iterator yields no targets (class_mode none): it cannot train"
                        .into(),
                ));
            }
        }
        .map_err(|e| TrainError::Data(e.to_string()))?;
        let inputs =
            vec![Tensor::new(b.shape.to_vec(), b.x).map_err(|e| TrainError::Data(e.to_string()))?];
        Ok(Batch {
            inputs,
            targets,
            sample_weight: b.sample_weight,
        })
    }

    fn is_augmented(&self) -> bool {
        Flow::is_augmented(self)
    }

    fn labels(&self) -> Option<Vec<usize>> {
        let c = self.classes();
        (!c.is_empty()).then(|| c.to_vec())
    }
}
