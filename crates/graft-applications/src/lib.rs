//! # graft-applications: `keras.applications` in Rust
//!
//! Builders that produce the [`Graph`] Keras 3 builds, layer for layer: the same layer names
//! (automatic ones included: `re_lu_3`, `global_average_pooling2d`), output shapes, parameter
//! counts and op configurations that graft-keras reads from a file Keras saved. So weights saved
//! by Keras load into them by name or by position, and the pretrained keras-applications files
//! load as Keras loads them.
//!
//! ```no_run
//! use graft_applications::{Options, Pooling, Weights, resnet50};
//!
//! // ResNet50(weights="imagenet", include_top=False, pooling="avg")
//! let graph = resnet50(
//!     &Options::default()
//!         .weights(Weights::imagenet())
//!         .include_top(false)
//!         .pooling(Pooling::Avg),
//! )?;
//! println!("{} layers", graph.layers.len());
//! # Ok::<(), graft_applications::ApplicationError>(())
//! ```
//!
//! Options follow Keras ([`Options`]; the family-specific ones in [`MobileNetConfig`],
//! [`MobileNetV2Config`], [`MobileNetV3Config`]) with one difference: the default `weights` is
//! [`Weights::None`], so nothing is downloaded unless asked. [`preprocess_input`] and
//! [`decode_predictions`] are Keras' `imagenet_utils` functions.

mod error;
mod mobilenet;
mod mobilenet_v3;
mod net;
mod options;
mod preprocess;
mod resnet;
mod vgg;
mod weights;

pub use error::{ApplicationError, Result};
pub use graft_hub::Preprocessing;
pub use mobilenet::{MobileNetConfig, MobileNetV2Config};
pub use mobilenet_v3::MobileNetV3Config;
pub use options::{Options, Pooling, Weights};
pub use preprocess::{
    Prediction, decode_predictions, decode_predictions_with, preprocess_input, preprocess_pixels,
};

use graft_ir::Graph;

/// One `keras.applications` architecture with its own options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Application {
    /// `VGG16`.
    Vgg16,
    /// `VGG19`.
    Vgg19,
    /// `ResNet50`.
    ResNet50,
    /// `ResNet101`.
    ResNet101,
    /// `ResNet152`.
    ResNet152,
    /// `ResNet50V2`.
    ResNet50V2,
    /// `ResNet101V2`.
    ResNet101V2,
    /// `ResNet152V2`.
    ResNet152V2,
    /// `MobileNet`.
    MobileNet(MobileNetConfig),
    /// `MobileNetV2`.
    MobileNetV2(MobileNetV2Config),
    /// `MobileNetV3Small`.
    MobileNetV3Small(MobileNetV3Config),
    /// `MobileNetV3Large`.
    MobileNetV3Large(MobileNetV3Config),
}

impl Application {
    /// Every architecture, with default family options, in Keras' documentation order.
    pub const ALL: [Application; 12] = [
        Application::Vgg16,
        Application::Vgg19,
        Application::ResNet50,
        Application::ResNet101,
        Application::ResNet152,
        Application::ResNet50V2,
        Application::ResNet101V2,
        Application::ResNet152V2,
        Application::MobileNet(MobileNetConfig {
            alpha: 1.0,
            depth_multiplier: 1,
            dropout: 1e-3,
        }),
        Application::MobileNetV2(MobileNetV2Config { alpha: 1.0 }),
        Application::MobileNetV3Small(MobileNetV3Config {
            alpha: 1.0,
            minimalistic: false,
            dropout_rate: 0.2,
            include_preprocessing: true,
        }),
        Application::MobileNetV3Large(MobileNetV3Config {
            alpha: 1.0,
            minimalistic: false,
            dropout_rate: 0.2,
            include_preprocessing: true,
        }),
    ];

    /// The architecture Keras calls `name` (case-insensitive: `"resnet50"`, `"MobileNetV2"`),
    /// with default family options.
    pub fn from_name(name: &str) -> Option<Application> {
        Application::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The same architecture with the width multiplier `alpha` (Keras' `alpha=`); `None` for
    /// the architectures that have none (all but the MobileNets).
    pub fn with_alpha(self, alpha: f64) -> Option<Application> {
        Some(match self {
            Application::MobileNet(c) => Application::MobileNet(MobileNetConfig { alpha, ..c }),
            Application::MobileNetV2(_) => Application::MobileNetV2(MobileNetV2Config { alpha }),
            Application::MobileNetV3Small(c) => {
                Application::MobileNetV3Small(MobileNetV3Config { alpha, ..c })
            }
            Application::MobileNetV3Large(c) => {
                Application::MobileNetV3Large(MobileNetV3Config { alpha, ..c })
            }
            _ => return None,
        })
    }

    /// Keras' builder name (`"ResNet50V2"`), also the registry's `architecture`.
    pub fn name(&self) -> &'static str {
        match self {
            Application::Vgg16 => "VGG16",
            Application::Vgg19 => "VGG19",
            Application::ResNet50 => "ResNet50",
            Application::ResNet101 => "ResNet101",
            Application::ResNet152 => "ResNet152",
            Application::ResNet50V2 => "ResNet50V2",
            Application::ResNet101V2 => "ResNet101V2",
            Application::ResNet152V2 => "ResNet152V2",
            Application::MobileNet(_) => "MobileNet",
            Application::MobileNetV2(_) => "MobileNetV2",
            Application::MobileNetV3Small(_) => "MobileNetV3Small",
            Application::MobileNetV3Large(_) => "MobileNetV3Large",
        }
    }

    /// The input preprocessing its ImageNet weights expect (`preprocess_input`'s mode).
    pub fn preprocessing(&self) -> Preprocessing {
        match self {
            Application::Vgg16
            | Application::Vgg19
            | Application::ResNet50
            | Application::ResNet101
            | Application::ResNet152 => Preprocessing::Caffe,
            Application::ResNet50V2
            | Application::ResNet101V2
            | Application::ResNet152V2
            | Application::MobileNet(_)
            | Application::MobileNetV2(_) => Preprocessing::Tf,
            Application::MobileNetV3Small(c) | Application::MobileNetV3Large(c) => {
                if c.include_preprocessing {
                    Preprocessing::Identity
                } else {
                    Preprocessing::Tf
                }
            }
        }
    }

    /// Keras' default input size (square) with the top.
    pub fn default_size(&self) -> usize {
        224
    }

    /// The graph without weights: every layer, shape and op as Keras builds them, after Keras'
    /// checks of `options` (weights are neither drawn nor loaded, so this is cheap even for
    /// VGG19).
    pub fn architecture(&self, options: &Options) -> Result<Graph> {
        use resnet::{RESNET50, RESNET101, RESNET152};
        let o = options;
        let graph = match *self {
            Application::Vgg16 => vgg::vgg("VGG16", "vgg16", [2, 2, 3, 3, 3], o)?,
            Application::Vgg19 => vgg::vgg("VGG19", "vgg19", [2, 2, 4, 4, 4], o)?,
            Application::ResNet50 => resnet::resnet("ResNet50", "resnet50", RESNET50, false, o)?,
            Application::ResNet101 => {
                resnet::resnet("ResNet101", "resnet101", RESNET101, false, o)?
            }
            Application::ResNet152 => {
                resnet::resnet("ResNet152", "resnet152", RESNET152, false, o)?
            }
            Application::ResNet50V2 => {
                resnet::resnet("ResNet50V2", "resnet50v2", RESNET50, true, o)?
            }
            Application::ResNet101V2 => {
                resnet::resnet("ResNet101V2", "resnet101v2", RESNET101, true, o)?
            }
            Application::ResNet152V2 => {
                resnet::resnet("ResNet152V2", "resnet152v2", RESNET152, true, o)?
            }
            Application::MobileNet(c) => mobilenet::mobilenet_v1(o, c)?,
            Application::MobileNetV2(c) => mobilenet::mobilenet_v2(o, c)?,
            Application::MobileNetV3Small(c) => mobilenet_v3::mobilenet_v3(o, c, false)?,
            Application::MobileNetV3Large(c) => mobilenet_v3::mobilenet_v3(o, c, true)?,
        };
        Ok(graph)
    }

    /// The model as Keras' builder returns it: [`Application::architecture`] with its weights
    /// drawn (`Weights::None`) or loaded (a file, or registry weights fetched through the
    /// cache).
    pub fn build(&self, options: &Options) -> Result<Graph> {
        self.build_inner(options, None)
    }

    /// [`Application::build`] with registry weights fetched by `downloader` (its own cache
    /// folders and options, e.g. offline) instead of the environment's.
    pub fn build_with(
        &self,
        options: &Options,
        downloader: &graft_hub::Downloader,
    ) -> Result<Graph> {
        self.build_inner(options, Some(downloader))
    }

    fn build_inner(
        &self,
        options: &Options,
        downloader: Option<&graft_hub::Downloader>,
    ) -> Result<Graph> {
        let mut graph = self.architecture(options)?;
        let rows = graph.input_shapes().first().and_then(|s| {
            let d = s.dims();
            (d.len() == 4 && d[1] == d[2]).then_some(d[1]).flatten()
        });
        let (alpha, minimalistic) = match self {
            Application::MobileNet(c) => (Some(c.alpha), false),
            Application::MobileNetV2(c) => (Some(c.alpha), false),
            Application::MobileNetV3Small(c) | Application::MobileNetV3Large(c) => {
                (Some(c.alpha), c.minimalistic)
            }
            _ => (None, false),
        };
        let variant = weights::Variant {
            architecture: self.name(),
            include_top: options.include_top,
            alpha,
            rows,
            minimalistic,
        };
        weights::fill(
            &mut graph,
            &options.weights,
            options.seed,
            &variant,
            downloader,
        )?;
        Ok(graph)
    }
}

/// Parameter counts of a graph as Keras counts them, from its ops' weight specs: works on an
/// [`Application::architecture`] without allocating any weights.
pub fn count_params(graph: &Graph) -> Result<graft_ir::ParamCounts> {
    let shapes = graph.infer_shapes()?;
    let mut counts = graft_ir::ParamCounts::default();
    for layer in &graph.layers {
        let Some(node) = layer.nodes.first() else {
            continue;
        };
        let inputs: Vec<graft_ir::Shape> = node
            .inputs
            .iter()
            .map(|r| shapes.get(r).cloned().unwrap_or_default())
            .collect();
        let specs = layer
            .op
            .weight_specs(&inputs)
            .map_err(|message| graft_ir::IrError::Shape {
                layer: layer.name.clone(),
                type_name: layer.op.type_name(),
                message,
            })?;
        for spec in specs {
            let n: usize = spec.shape.iter().product();
            if spec.trainable && layer.trainable {
                counts.trainable += n;
            } else {
                counts.non_trainable += n;
            }
        }
    }
    Ok(counts)
}

/// `keras.applications.VGG16`.
pub fn vgg16(options: &Options) -> Result<Graph> {
    Application::Vgg16.build(options)
}

/// `keras.applications.VGG19`.
pub fn vgg19(options: &Options) -> Result<Graph> {
    Application::Vgg19.build(options)
}

/// `keras.applications.ResNet50`.
pub fn resnet50(options: &Options) -> Result<Graph> {
    Application::ResNet50.build(options)
}

/// `keras.applications.ResNet101`.
pub fn resnet101(options: &Options) -> Result<Graph> {
    Application::ResNet101.build(options)
}

/// `keras.applications.ResNet152`.
pub fn resnet152(options: &Options) -> Result<Graph> {
    Application::ResNet152.build(options)
}

/// `keras.applications.ResNet50V2`.
pub fn resnet50_v2(options: &Options) -> Result<Graph> {
    Application::ResNet50V2.build(options)
}

/// `keras.applications.ResNet101V2`.
pub fn resnet101_v2(options: &Options) -> Result<Graph> {
    Application::ResNet101V2.build(options)
}

/// `keras.applications.ResNet152V2`.
pub fn resnet152_v2(options: &Options) -> Result<Graph> {
    Application::ResNet152V2.build(options)
}

/// `keras.applications.MobileNet(alpha, depth_multiplier, dropout, ...)`.
pub fn mobilenet(options: &Options, config: MobileNetConfig) -> Result<Graph> {
    Application::MobileNet(config).build(options)
}

/// `keras.applications.MobileNetV2(alpha, ...)`.
pub fn mobilenet_v2(options: &Options, config: MobileNetV2Config) -> Result<Graph> {
    Application::MobileNetV2(config).build(options)
}

/// `keras.applications.MobileNetV3Small(alpha, minimalistic, ...)`.
pub fn mobilenet_v3_small(options: &Options, config: MobileNetV3Config) -> Result<Graph> {
    Application::MobileNetV3Small(config).build(options)
}

/// `keras.applications.MobileNetV3Large(alpha, minimalistic, ...)`.
pub fn mobilenet_v3_large(options: &Options, config: MobileNetV3Config) -> Result<Graph> {
    Application::MobileNetV3Large(config).build(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(app: Application, options: &Options) -> usize {
        let mut g = app.architecture(options).unwrap();
        g.initialize_missing_weights(0).unwrap();
        g.validate().unwrap();
        g.param_counts().total()
    }

    #[test]
    fn keras_sizes() {
        let o = Options::default();
        assert_eq!(params(Application::ResNet50, &o), 25_636_712);
        let vgg = Application::Vgg16.architecture(&o).unwrap();
        assert_eq!(count_params(&vgg).unwrap().total(), 138_357_544);
        let v2 = Application::ResNet50V2.architecture(&o).unwrap();
        assert_eq!(count_params(&v2).unwrap().non_trainable, 45_440);
        assert_eq!(params(Application::ResNet50V2, &o), 25_613_800);
        let mobilenet = Application::from_name("mobilenet").unwrap();
        assert_eq!(params(mobilenet, &o), 4_253_864);
        let v2 = Application::from_name("MobileNetV2").unwrap();
        assert_eq!(params(v2, &o), 3_538_984);
        assert_eq!(
            Application::ResNet50.architecture(&o).unwrap().layers.len(),
            177
        );
    }

    #[test]
    fn refuses_what_keras_refuses() {
        let small = Options::default().include_top(false).input_shape(31, 64, 3);
        let err = Application::Vgg16.architecture(&small).unwrap_err();
        assert!(err.to_string().contains("at least 32x32"), "{err}");
        let classes = Options::default().weights(Weights::imagenet()).classes(10);
        assert!(Application::ResNet50.architecture(&classes).is_err());
        let alpha = Application::MobileNet(MobileNetConfig {
            alpha: 0.3,
            ..Default::default()
        });
        assert!(
            alpha
                .architecture(&Options::default().weights(Weights::imagenet()))
                .is_err()
        );
    }
}
