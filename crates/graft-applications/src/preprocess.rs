//! `preprocess_input` and `decode_predictions` (`keras/src/applications/imagenet_utils.py`).

use graft_hub::Preprocessing;
use graft_ir::Tensor;

use crate::error::{ApplicationError, Result};

const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
const TORCH_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const TORCH_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Keras' `preprocess_input(x, mode=...)` on a channels-last tensor (`(h, w, 3)` or
/// `(n, h, w, 3)`; `tf` and the identity accept any shape), computed in `f32` as NumPy does:
///
/// - [`Preprocessing::Caffe`]: RGB to BGR, then minus the ImageNet BGR mean, no scaling (VGG,
///   ResNet v1);
/// - [`Preprocessing::Tf`]: `x / 127.5 - 1` (ResNetV2, MobileNet, MobileNetV2);
/// - [`Preprocessing::Torch`]: `x / 255`, minus the ImageNet mean, divided by its std;
/// - [`Preprocessing::Identity`]: unchanged (MobileNetV3 rescales inside the model).
pub fn preprocess_input(x: &Tensor, mode: Preprocessing) -> Result<Tensor> {
    if matches!(mode, Preprocessing::Caffe | Preprocessing::Torch) {
        let channels = x.shape().last().copied().unwrap_or(0);
        if !(3..=4).contains(&x.shape().len()) || channels != 3 {
            return Err(ApplicationError::Input {
                function: "preprocess_input",
                message: format!(
                    "mode '{mode}' expects channels-last images with 3 channels, \
                     (h, w, 3) or (n, h, w, 3); got shape {:?}",
                    x.shape()
                ),
            });
        }
    }
    let mut data = x.data().to_vec();
    preprocess_pixels(&mut data, mode);
    Ok(Tensor::new(x.shape().to_vec(), data)?)
}

/// [`preprocess_input`] in place on interleaved channels-last values (one image or many; RGB
/// triples for `caffe` and `torch`, where a trailing partial pixel is left alone). What an
/// `ImageDataGenerator`'s `preprocessing_function` runs on each image.
pub fn preprocess_pixels(data: &mut [f32], mode: Preprocessing) {
    match mode {
        Preprocessing::Identity => {}
        Preprocessing::Tf => {
            for v in data {
                *v = *v / 127.5 - 1.0;
            }
        }
        Preprocessing::Caffe => {
            for pixel in data.chunks_exact_mut(3) {
                pixel.swap(0, 2);
                for (v, m) in pixel.iter_mut().zip(CAFFE_MEAN_BGR) {
                    *v -= m;
                }
            }
        }
        Preprocessing::Torch => {
            for pixel in data.chunks_exact_mut(3) {
                for ((v, m), s) in pixel.iter_mut().zip(TORCH_MEAN).zip(TORCH_STD) {
                    *v = (*v / 255.0 - m) / s;
                }
            }
        }
    }
}

/// One guess of [`decode_predictions`]: Keras' `(class_name, class_description, score)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Class index in the model's output.
    pub index: usize,
    /// WordNet id (`"n01440764"`).
    pub wnid: String,
    /// Human-readable label (`"tench"`).
    pub label: String,
    /// The model's score for the class.
    pub score: f32,
}

/// Keras' `decode_predictions(preds, top)`: the `top` best classes of each row of a
/// `(samples, 1000)` batch of ImageNet predictions, best first, with the class index fetched
/// (and md5-checked) through graft-hub's cache.
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<Prediction>>> {
    let index = graft_hub::imagenet_class_index()?;
    decode_predictions_with(preds, top, &index)
}

/// [`decode_predictions`] with a class index already at hand (`(wnid, label)` per class, as
/// [`graft_hub::read_class_index`] returns it).
pub fn decode_predictions_with(
    preds: &Tensor,
    top: usize,
    index: &[(String, String)],
) -> Result<Vec<Vec<Prediction>>> {
    let shape = preds.shape();
    if shape.len() != 2 || shape[1] != index.len() {
        return Err(ApplicationError::Input {
            function: "decode_predictions",
            message: format!(
                "expects a batch of predictions of shape (samples, {}); got {shape:?}",
                index.len()
            ),
        });
    }
    let classes = shape[1];
    Ok(preds
        .data()
        .chunks(classes.max(1))
        .map(|row| {
            let mut order: Vec<usize> = (0..classes).collect();
            // Best first; ties as Keras' reversed argsort: the higher index first.
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(b.cmp(&a)));
            order
                .into_iter()
                .take(top)
                .map(|i| Prediction {
                    index: i,
                    wnid: index[i].0.clone(),
                    label: index[i].1.clone(),
                    score: row[i],
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_match_keras() {
        let x = Tensor::new(vec![1, 1, 1, 3], vec![10.0, 20.0, 30.0]).unwrap();
        let caffe = preprocess_input(&x, Preprocessing::Caffe).unwrap();
        assert_eq!(
            caffe.data(),
            &[30.0 - 103.939, 20.0 - 116.779, 10.0 - 123.68]
        );
        let tf = preprocess_input(&x, Preprocessing::Tf).unwrap();
        assert_eq!(tf.data()[0], 10.0 / 127.5 - 1.0);
        let torch = preprocess_input(&x, Preprocessing::Torch).unwrap();
        assert_eq!(torch.data()[2], (30.0 / 255.0 - 0.406) / 0.225);
        assert_eq!(
            preprocess_input(&x, Preprocessing::Identity).unwrap(),
            x.clone()
        );
        let gray = Tensor::zeros(vec![1, 2, 2, 1]);
        let err = preprocess_input(&gray, Preprocessing::Caffe).unwrap_err();
        assert!(err.to_string().contains("3 channels"), "{err}");
    }

    #[test]
    fn decodes_top_classes() {
        let index: Vec<(String, String)> = (0..4)
            .map(|i| (format!("n{i}"), format!("class {i}")))
            .collect();
        let preds = Tensor::new(vec![2, 4], vec![0.1, 0.6, 0.3, 0.0, 0.5, 0.0, 0.0, 0.5]).unwrap();
        let out = decode_predictions_with(&preds, 2, &index).unwrap();
        assert_eq!(out[0][0].label, "class 1");
        assert_eq!(out[0][1].wnid, "n2");
        assert_eq!((out[1][0].index, out[1][1].index), (3, 0));
        assert!(decode_predictions_with(&Tensor::zeros(vec![2, 3]), 1, &index).is_err());
    }
}
