//! tract as an independent ONNX runtime: runs a file graft wrote (or any ONNX file) on host
//! tensors, to check a conversion without Python (`graft convert --verify`) and in tests.
//! Inputs get concrete shapes (tract runs them much faster than symbolic ones).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{OnnxError, Reason};

/// A model loaded by tract for one set of input shapes.
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
    shapes: Vec<Vec<usize>>,
}

fn err(path: &Path) -> impl Fn(TractError) -> OnnxError + '_ {
    move |e| OnnxError::new(path, Reason::Runtime(format!("{e:#}")))
}

impl TractModel {
    /// Loads `path` and optimises it for f32 inputs of `shapes`.
    pub fn load(path: impl AsRef<Path>, shapes: &[Vec<usize>]) -> Result<Self, OnnxError> {
        let path = path.as_ref();
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(err(path))?;
        for (i, s) in shapes.iter().enumerate() {
            model = model
                .with_input_fact(i, f32::fact(s.as_slice()).into())
                .map_err(err(path))?;
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(err(path))?;
        Ok(Self {
            plan,
            shapes: shapes.to_vec(),
        })
    }

    /// Runs on `inputs` (their shapes must be the ones given to [`TractModel::load`]).
    pub fn run(&self, inputs: &[graft_ir::Tensor]) -> Result<Vec<graft_ir::Tensor>, OnnxError> {
        let path = Path::new("<tract>");
        if inputs.len() != self.shapes.len()
            || inputs
                .iter()
                .zip(&self.shapes)
                .any(|(t, s)| t.shape() != s.as_slice())
        {
            return Err(OnnxError::new(
                path,
                Reason::Runtime(format!(
                    "inputs of shapes {:?}, the model was prepared for {:?}",
                    inputs
                        .iter()
                        .map(|t| t.shape().to_vec())
                        .collect::<Vec<_>>(),
                    self.shapes
                )),
            ));
        }
        let values: TVec<TValue> = inputs
            .iter()
            .map(|t| Tensor::from_shape(t.shape(), t.data()).map(IntoTValue::into_tvalue))
            .collect::<TractResult<_>>()
            .map_err(err(path))?;
        let outputs = self.plan.run(values).map_err(err(path))?;
        outputs
            .iter()
            .map(|v| {
                let t = v.cast_to::<f32>()?;
                let view = t.try_as_plain_ram()?;
                let data = view.as_slice::<f32>()?.to_vec();
                graft_ir::Tensor::new(t.shape().to_vec(), data)
                    .map_err(|e| TractError::msg(e.to_string()))
            })
            .collect::<TractResult<Vec<_>>>()
            .map_err(err(path))
    }
}

/// Loads and runs `path` once on `inputs`.
pub fn run(
    path: impl AsRef<Path>,
    inputs: &[graft_ir::Tensor],
) -> Result<Vec<graft_ir::Tensor>, OnnxError> {
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    TractModel::load(path, &shapes)?.run(inputs)
}
