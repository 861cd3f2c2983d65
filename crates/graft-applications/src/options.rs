//! The options every builder takes (Keras' keyword arguments) and Keras' checks on them.

use std::path::PathBuf;

use graft_ir::Activation;

use crate::error::{ApplicationError, Result};

/// Where the weights come from: Keras' `weights=` argument.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Weights {
    /// `weights=None`: Keras' initializers, drawn from [`Options::seed`].
    #[default]
    None,
    /// A Keras weights or model file (`.h5`, `.weights.h5`, `.keras`), loaded as
    /// `model.load_weights(path)` does: topologically for legacy `.h5` files.
    Path(PathBuf),
    /// A registry name: `"imagenet"` (the file keras.applications would download for this
    /// architecture and variant) or an entry of `models/registry.toml` such as
    /// `"resnet50/imagenet-notop"`. Fetched through graft-hub's verified cache.
    Registry(String),
}

impl Weights {
    /// `weights="imagenet"`.
    pub fn imagenet() -> Weights {
        Weights::Registry("imagenet".into())
    }

    /// True for `"imagenet"`, the value Keras' checks single out.
    pub fn is_imagenet(&self) -> bool {
        matches!(self, Weights::Registry(n) if n == "imagenet")
    }
}

/// Keras' `pooling=` for feature extraction (`include_top=False`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pooling {
    /// `None`: the output is the last 4D feature map.
    #[default]
    None,
    /// `"avg"`: global average pooling.
    Avg,
    /// `"max"`: global max pooling.
    Max,
}

/// The options shared by every builder, with Keras' defaults except `weights` (graft never
/// downloads unless asked: the default is [`Weights::None`], Keras' is `"imagenet"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Whether to include the classifier on top (`include_top`, default true).
    pub include_top: bool,
    /// Where the weights come from (default [`Weights::None`]).
    pub weights: Weights,
    /// `(height, width, channels)`, `None` for Keras' default. A `None` size accepts any size
    /// (only without the top for the fixed-size classifiers). Sizes below the architecture's
    /// minimum are refused as Keras refuses them.
    pub input_shape: Option<[Option<usize>; 3]>,
    /// Global pooling after the features when `include_top` is false.
    pub pooling: Pooling,
    /// Number of classes of the top (default 1000; must be 1000 with ImageNet weights).
    pub classes: usize,
    /// Activation of the top layer: `Some(Softmax)` by default, `None` for logits (Keras'
    /// `classifier_activation=None`). Pretrained weights allow only softmax or none.
    pub classifier_activation: Option<Activation>,
    /// Model name; `None` for Keras' (`"resnet50"`, `"mobilenet_1.00_224"`...).
    pub name: Option<String>,
    /// Seed of the initializers when `weights` is [`Weights::None`].
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            include_top: true,
            weights: Weights::None,
            input_shape: None,
            pooling: Pooling::None,
            classes: 1000,
            classifier_activation: Some(Activation::Softmax { axis: -1 }),
            name: None,
            seed: 0,
        }
    }
}

impl Options {
    /// Sets `include_top`.
    pub fn include_top(mut self, include_top: bool) -> Self {
        self.include_top = include_top;
        self
    }

    /// Sets `weights`.
    pub fn weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Sets `input_shape` to a fixed `(height, width, channels)`.
    pub fn input_shape(mut self, height: usize, width: usize, channels: usize) -> Self {
        self.input_shape = Some([Some(height), Some(width), Some(channels)]);
        self
    }

    /// Sets `pooling`.
    pub fn pooling(mut self, pooling: Pooling) -> Self {
        self.pooling = pooling;
        self
    }

    /// Sets `classes`.
    pub fn classes(mut self, classes: usize) -> Self {
        self.classes = classes;
        self
    }

    /// Sets `classifier_activation` (`None` for logits).
    pub fn classifier_activation(mut self, activation: Option<Activation>) -> Self {
        self.classifier_activation = activation;
        self
    }

    /// The top's activation, `linear` for `None`.
    pub(crate) fn top_activation(&self) -> Activation {
        self.classifier_activation.unwrap_or(Activation::Linear)
    }

    /// Keras' checks common to every builder: `classes` with ImageNet weights.
    pub(crate) fn check_common(&self, app: &str) -> Result<()> {
        if self.weights.is_imagenet() && self.include_top && self.classes != 1000 {
            return Err(ApplicationError::option(
                app,
                format!(
                    "with weights=\"imagenet\" and include_top=true, classes must be 1000 \
                     (got {})",
                    self.classes
                ),
            ));
        }
        if self.include_top && self.classes == 0 {
            return Err(ApplicationError::option(app, "classes must be at least 1"));
        }
        Ok(())
    }

    /// Keras' `validate_activation`: pretrained weights allow only softmax or no activation.
    pub(crate) fn check_activation(&self, app: &str) -> Result<()> {
        let ok = matches!(
            self.classifier_activation,
            None | Some(Activation::Linear) | Some(Activation::Softmax { axis: -1 })
        );
        if self.weights != Weights::None && !ok {
            return Err(ApplicationError::option(
                app,
                format!(
                    "only softmax or no classifier_activation is allowed with pretrained \
                     weights (got {})",
                    self.top_activation()
                ),
            ));
        }
        Ok(())
    }
}

/// Keras' `imagenet_utils.obtain_input_shape` (channels last): the input shape a builder uses,
/// or why the given one is refused.
pub(crate) fn obtain_input_shape(
    app: &str,
    input_shape: Option<[Option<usize>; 3]>,
    default_size: usize,
    min_size: usize,
    require_flatten: bool,
    weights: &Weights,
) -> Result<[Option<usize>; 3]> {
    let imagenet = weights.is_imagenet();
    let default_shape = match input_shape {
        Some([_, _, c]) if !imagenet => [Some(default_size), Some(default_size), c],
        _ => [Some(default_size), Some(default_size), Some(3)],
    };
    let show = |s: &[Option<usize>; 3]| {
        let d = |v: &Option<usize>| v.map_or("None".to_string(), |n| n.to_string());
        format!("({}, {}, {})", d(&s[0]), d(&s[1]), d(&s[2]))
    };
    if imagenet && require_flatten {
        if let Some(given) = input_shape
            && given != default_shape
        {
            return Err(ApplicationError::option(
                app,
                format!(
                    "with include_top=true and weights=\"imagenet\", input_shape must be {} \
                     (got {})",
                    show(&default_shape),
                    show(&given)
                ),
            ));
        }
        return Ok(default_shape);
    }
    let shape = match input_shape {
        Some(given) => {
            if given[2] != Some(3) && imagenet {
                return Err(ApplicationError::option(
                    app,
                    format!(
                        "ImageNet weights need 3 input channels (input_shape {})",
                        show(&given)
                    ),
                ));
            }
            if given[2].is_none() {
                return Err(ApplicationError::option(
                    app,
                    format!("input_shape {} needs a channel count", show(&given)),
                ));
            }
            if given[..2].iter().any(|d| d.is_some_and(|n| n < min_size)) {
                return Err(ApplicationError::option(
                    app,
                    format!(
                        "input size must be at least {min_size}x{min_size} (input_shape {})",
                        show(&given)
                    ),
                ));
            }
            given
        }
        None if require_flatten => default_shape,
        None => [None, None, Some(3)],
    };
    if require_flatten && shape.contains(&None) {
        return Err(ApplicationError::option(
            app,
            format!(
                "with include_top=true the input_shape must be static (got {})",
                show(&shape)
            ),
        ));
    }
    Ok(shape)
}

/// Keras' `imagenet_utils.correct_pad`: the zero padding before a stride-2 `valid` convolution
/// that reproduces TensorFlow's `same` (the odd pixel after).
pub(crate) fn correct_pad(size: [Option<usize>; 2], kernel: usize) -> Vec<(usize, usize)> {
    let correct = kernel / 2;
    size.iter()
        .map(|d| {
            let adjust = match d {
                None => 1,
                Some(n) => 1 - n % 2,
            };
            (correct - adjust, correct)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_shape_rules() {
        let none = Weights::None;
        let imagenet = Weights::imagenet();
        assert_eq!(
            obtain_input_shape("X", None, 224, 32, true, &none).unwrap(),
            [Some(224), Some(224), Some(3)]
        );
        assert_eq!(
            obtain_input_shape("X", None, 224, 32, false, &none).unwrap(),
            [None, None, Some(3)]
        );
        let err = obtain_input_shape(
            "X",
            Some([Some(31), Some(64), Some(3)]),
            224,
            32,
            false,
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at least 32x32"), "{err}");
        assert!(
            obtain_input_shape(
                "X",
                Some([Some(96), Some(96), Some(3)]),
                224,
                32,
                true,
                &imagenet
            )
            .is_err()
        );
        assert!(
            obtain_input_shape("X", Some([None, None, Some(3)]), 224, 32, true, &none).is_err()
        );
        assert!(
            obtain_input_shape(
                "X",
                Some([Some(64), Some(64), Some(1)]),
                224,
                32,
                false,
                &imagenet
            )
            .is_err()
        );
    }

    #[test]
    fn correct_pad_matches_keras() {
        assert_eq!(correct_pad([Some(224), Some(224)], 3), vec![(0, 1), (0, 1)]);
        assert_eq!(correct_pad([Some(225), Some(224)], 3), vec![(1, 1), (0, 1)]);
        assert_eq!(correct_pad([None, None], 5), vec![(1, 2), (1, 2)]);
    }
}
