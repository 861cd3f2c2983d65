//! `Dense` and `Embedding`: the matrix layers.

use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor};
use graft_ir::{DenseConfig, Layer};

use super::{host, param};
use crate::ops::activation::activate;
use crate::value::{Dyn, Value};

/// `activation(x . kernel + bias)` over the last axis.
#[derive(Module, Debug)]
pub struct DenseModule {
    /// `[in, units]`.
    pub kernel: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
}

impl DenseModule {
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        Self {
            kernel: param(layer, "kernel", device),
            bias: super::has(layer, "bias").then(|| param(layer, "bias", device)),
        }
    }

    pub fn export(&self) -> Vec<(&'static str, graft_ir::Tensor)> {
        let mut out = vec![("kernel", host(&self.kernel.val()))];
        if let Some(b) = &self.bias {
            out.push(("bias", host(&b.val())));
        }
        out
    }

    pub fn forward(&self, config: &DenseConfig, x: Value) -> Value {
        let dims = x.logical_dims();
        let features = *dims.last().expect("rank >= 2");
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let x2 = x.into_logical().reshape(&[rows, features]).r2();
        let mut y = x2.matmul(self.kernel.val());
        if let Some(b) = &self.bias {
            y = y.add(b.val().unsqueeze_dim::<2>(0));
        }
        let mut out_dims = dims;
        *out_dims.last_mut().expect("rank >= 2") = config.units;
        let y = Value::logical(Dyn::R2(y).reshape(&out_dims));
        activate(y, &config.activation)
    }
}

/// Integer indices to table rows.
#[derive(Module, Debug)]
pub struct EmbeddingModule {
    /// `[input_dim, output_dim]`.
    pub embeddings: Param<Tensor<2>>,
}

impl EmbeddingModule {
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        Self {
            embeddings: param(layer, "embeddings", device),
        }
    }

    pub fn export(&self) -> Vec<(&'static str, graft_ir::Tensor)> {
        vec![("embeddings", host(&self.embeddings.val()))]
    }

    pub fn forward(&self, x: Value) -> Value {
        let dims = x.logical_dims();
        let [_, dim] = self.embeddings.val().dims();
        let n: usize = dims.iter().product();
        // Indices arrive as floats (inputs are f32 on the host); they are exact integers.
        let idx: Tensor<2, Int> = x.into_logical().reshape(&[1, n]).r2().int();
        let rows = burn::tensor::module::embedding(self.embeddings.val(), idx);
        let mut out = dims;
        out.push(dim);
        Value::logical(Dyn::R3(rows).reshape(&out))
    }
}
