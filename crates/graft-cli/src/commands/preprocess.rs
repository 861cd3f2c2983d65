//! keras.applications' `preprocess_input` modes, applied to each image (HWC, RGB, 0-255) after
//! augmentation, as Keras runs an ImageDataGenerator's `preprocessing_function`.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preprocess {
    /// Leave the 0-255 values as they are (a base with its own Rescaling layer).
    None,
    /// VGG, ResNet: RGB to BGR, then subtract the ImageNet mean per channel.
    Caffe,
    /// MobileNet, ResNetV2, ...: scale to [-1, 1].
    Tf,
    /// DenseNet, PyTorch models: scale to [0, 1], then normalise by the ImageNet mean and std.
    Torch,
}

impl FromStr for Preprocess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "caffe" => Ok(Self::Caffe),
            "tf" => Ok(Self::Tf),
            "torch" => Ok(Self::Torch),
            other => Err(format!("\"{other}\": expected caffe, tf, torch or none")),
        }
    }
}

impl Preprocess {
    /// Applies the mode in place to interleaved RGB pixels (other channel counts: per value).
    pub fn apply(self, x: &mut [f32]) {
        match self {
            Preprocess::None => {}
            Preprocess::Tf => x.iter_mut().for_each(|v| *v = *v / 127.5 - 1.0),
            Preprocess::Caffe => {
                const MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
                for px in x.chunks_exact_mut(3) {
                    px.swap(0, 2);
                    for (v, m) in px.iter_mut().zip(MEAN_BGR) {
                        *v -= m;
                    }
                }
            }
            Preprocess::Torch => {
                const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
                const STD: [f32; 3] = [0.229, 0.224, 0.225];
                for px in x.chunks_exact_mut(3) {
                    for ((v, m), s) in px.iter_mut().zip(MEAN).zip(STD) {
                        *v = (*v / 255.0 - m) / s;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_match_keras() {
        let mut x = [255.0, 0.0, 127.5];
        Preprocess::Tf.apply(&mut x);
        assert_eq!(x, [1.0, -1.0, 0.0]);
        let mut x = [10.0, 20.0, 30.0];
        Preprocess::Caffe.apply(&mut x);
        assert_eq!(x, [30.0 - 103.939, 20.0 - 116.779, 10.0 - 123.68]);
        let mut x = [255.0, 0.0, 0.0];
        Preprocess::Torch.apply(&mut x);
        assert!((x[0] - (1.0 - 0.485) / 0.229).abs() < 1e-6);
    }
}
