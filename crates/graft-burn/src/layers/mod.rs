//! burn modules for the IR layers that own weights. They hold parameters only; what to compute
//! comes from the op in the plan.

mod constant;
mod conv;
mod conv_transpose;
mod dense;
mod norm;

pub use constant::ConstantModule;
pub use conv::{
    Affine, ConvGeometry, ConvModule, SeparableModule, from_nchw, resolve_padding, to_nchw,
};
pub use conv_transpose::ConvTransposeModule;
pub use dense::{DenseModule, EmbeddingModule};
pub use norm::{BatchNormModule, LayerNormModule, NormalizationModule};

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use graft_ir::{Layer, Op};

use crate::error::ExecError;
use crate::graph_module::GraphModule;

/// The parameters of one IR layer.
#[derive(Module, Debug)]
pub enum LayerModule {
    Dense(DenseModule),
    Conv(ConvModule),
    Separable(SeparableModule),
    BatchNorm(BatchNormModule),
    LayerNorm(LayerNormModule),
    Normalization(NormalizationModule),
    Embedding(EmbeddingModule),
    /// A nested model.
    Graph(GraphModule),
    ConvTranspose(ConvTransposeModule),
    Constant(ConstantModule),
}

impl LayerModule {
    /// The module for `layer`, or `None` when it owns no weights. A layer that is not
    /// trainable (itself or through an enclosing model) is built frozen: no gradients, and
    /// BatchNormalization in inference mode.
    pub fn from_layer(
        layer: &mut Layer,
        device: &Device,
        trainable: bool,
    ) -> Result<Option<Self>, ExecError> {
        let module = Self::build(layer, device, trainable && layer.trainable)?;
        Ok(match module {
            Some(m) if !(trainable && layer.trainable) => Some(m.freeze()),
            other => other,
        })
    }

    fn build(
        layer: &mut Layer,
        device: &Device,
        trainable: bool,
    ) -> Result<Option<Self>, ExecError> {
        if let Op::Model(inner) = &mut layer.op {
            return Ok(Some(LayerModule::Graph(GraphModule::build_nested(
                inner, device, trainable,
            )?)));
        }
        // Cheap: configurations only (nested models returned above).
        let op = layer.op.clone();
        let name = layer.name.clone();
        let unsupported = |message: &str| ExecError::Layer {
            layer: name.clone(),
            type_name: op.type_name(),
            message: message.to_string(),
        };
        Ok(Some(match &op {
            Op::Dense(_) => LayerModule::Dense(DenseModule::from_layer(layer, device)),
            Op::Conv(c) if c.kernel_size.len() <= 2 => {
                LayerModule::Conv(ConvModule::from_layer(layer, device))
            }
            Op::DepthwiseConv(c) if c.kernel_size.len() <= 2 => {
                LayerModule::Conv(ConvModule::from_layer(layer, device))
            }
            Op::SeparableConv(c) if c.kernel_size.len() <= 2 => {
                LayerModule::Separable(SeparableModule::from_layer(layer, device))
            }
            Op::ConvTranspose(c) if c.kernel_size.len() <= 2 => {
                LayerModule::ConvTranspose(ConvTransposeModule::from_layer(layer, device))
            }
            Op::Constant(_) => LayerModule::Constant(ConstantModule::from_layer(layer, device)),
            Op::Conv(_) | Op::DepthwiseConv(_) | Op::SeparableConv(_) | Op::ConvTranspose(_) => {
                return Err(unsupported(
                    "3D convolutions are not supported by the burn executor",
                ));
            }
            Op::BatchNorm(_) => LayerModule::BatchNorm(BatchNormModule::from_layer(layer, device)),
            Op::LayerNorm(_) => LayerModule::LayerNorm(LayerNormModule::from_layer(layer, device)),
            Op::Normalization(c) => {
                LayerModule::Normalization(NormalizationModule::from_layer(layer, c, device))
            }
            Op::Embedding(_) => LayerModule::Embedding(EmbeddingModule::from_layer(layer, device)),
            _ => return Ok(None),
        }))
    }

    /// The weights in IR layout and canonical order, read back from the parameters.
    pub fn export(&self, layer: &Layer) -> Vec<(&'static str, graft_ir::Tensor)> {
        match self {
            LayerModule::Dense(m) => m.export(),
            LayerModule::Conv(m) => m.export(&layer.op),
            LayerModule::Separable(m) => m.export(matches!(
                &layer.op,
                Op::SeparableConv(c) if c.kernel_size.len() == 1
            )),
            LayerModule::BatchNorm(m) => m.export(),
            LayerModule::LayerNorm(m) => m.export(layer),
            LayerModule::Normalization(m) => m.export(layer),
            LayerModule::Embedding(m) => m.export(),
            LayerModule::Graph(_) => vec![],
            LayerModule::ConvTranspose(m) => match &layer.op {
                Op::ConvTranspose(c) => m.export(c),
                _ => vec![],
            },
            LayerModule::Constant(m) => m.export(),
        }
    }
}

/// Uploads a host tensor as a parameter of rank `D` (its rank must be `D`).
pub(crate) fn upload<const D: usize>(t: graft_ir::Tensor, device: &Device) -> Param<Tensor<D>> {
    let (shape, data) = t.into_parts();
    let shape: [usize; D] = shape
        .as_slice()
        .try_into()
        .unwrap_or_else(|_| panic!("weight of shape {shape:?} is not rank {D}"));
    Param::from_tensor(Tensor::from_data(TensorData::new(data, shape), device))
}

/// True when the layer has a weight named `name`.
pub(crate) fn has(layer: &Layer, name: &str) -> bool {
    layer.weight(name).is_some()
}

/// Moves the weight `name` out of a validated layer (its data now lives in burn).
fn take(layer: &mut Layer, name: &str) -> (graft_ir::Tensor, bool) {
    let w = layer
        .weights
        .iter_mut()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("layer '{}' was validated but has no '{name}'", layer.name));
    (
        std::mem::replace(&mut w.tensor, graft_ir::Tensor::zeros(vec![0])),
        w.trainable,
    )
}

/// The weight `name` of a validated layer as a rank-`D` parameter, moved out of the layer.
pub(crate) fn param<const D: usize>(
    layer: &mut Layer,
    name: &str,
    device: &Device,
) -> Param<Tensor<D>> {
    let (tensor, trainable) = take(layer, name);
    let p = upload::<D>(tensor, device);
    if trainable {
        p
    } else {
        p.set_require_grad(false)
    }
}

/// As [`param`], giving 1D convolution kernels `[o, i, k]` a unit height: `[o, i, 1, k]`.
pub(crate) fn param_shaped<const D: usize>(
    layer: &mut Layer,
    name: &str,
    device: &Device,
) -> Param<Tensor<D>> {
    let (tensor, trainable) = take(layer, name);
    let tensor = if tensor.shape().len() + 1 == D && D == 4 {
        let s = tensor.shape().to_vec();
        tensor
            .reshaped(vec![s[0], s[1], 1, s[2]])
            .expect("same size")
    } else {
        tensor
    };
    let p = upload::<D>(tensor, device);
    if trainable {
        p
    } else {
        p.set_require_grad(false)
    }
}

/// Downloads a tensor.
pub(crate) fn host<const D: usize>(t: &Tensor<D>) -> graft_ir::Tensor {
    let dims = t.dims().to_vec();
    let data = t
        .to_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float data");
    graft_ir::Tensor::new(dims, data).expect("consistent")
}
