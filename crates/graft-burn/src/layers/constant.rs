//! Constant tensors used as operands (ONNX initializers such as a `[1, C, 1, 1]` scale).

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use graft_ir::Layer;

use super::{host, param};
use crate::value::{Dyn, Value};

/// The constant's value, held at its own rank (1 to 5).
#[derive(Module, Debug)]
pub enum ConstantModule {
    R1(Param<Tensor<1>>),
    R2(Param<Tensor<2>>),
    R3(Param<Tensor<3>>),
    R4(Param<Tensor<4>>),
    R5(Param<Tensor<5>>),
}

impl ConstantModule {
    /// From a validated `Constant` layer (rank 1 to 5, checked by shape inference).
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        let rank = layer.weight("value").map_or(0, |w| w.tensor.shape().len());
        match rank {
            1 => Self::R1(param(layer, "value", device)),
            2 => Self::R2(param(layer, "value", device)),
            3 => Self::R3(param(layer, "value", device)),
            4 => Self::R4(param(layer, "value", device)),
            _ => Self::R5(param(layer, "value", device)),
        }
    }

    pub fn export(&self) -> Vec<(&'static str, graft_ir::Tensor)> {
        let t = match self {
            Self::R1(p) => host(&p.val()),
            Self::R2(p) => host(&p.val()),
            Self::R3(p) => host(&p.val()),
            Self::R4(p) => host(&p.val()),
            Self::R5(p) => host(&p.val()),
        };
        vec![("value", t)]
    }

    /// The value, in logical layout.
    pub fn forward(&self) -> Value {
        Value::logical(match self {
            Self::R1(p) => Dyn::R1(p.val()),
            Self::R2(p) => Dyn::R2(p.val()),
            Self::R3(p) => Dyn::R3(p.val()),
            Self::R4(p) => Dyn::R4(p.val()),
            Self::R5(p) => Dyn::R5(p.val()),
        })
    }
}
