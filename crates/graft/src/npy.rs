//! NumPy `.npy` files in and out: what `graft run` reads and writes.

use std::io::BufReader;
use std::path::Path;

use graft_ir::Tensor;
use npyz::{DType, NpyFile, TypeChar, WriterBuilder};

use crate::error::{Error, Result};
use crate::fs::write_atomic;

/// Reads a `.npy` array as f32 (float64 and integer arrays are converted). The declared shape
/// is checked against the file's size before the data is read.
pub fn read(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let err = |m: String| Error::file(path, m);
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let npy =
        NpyFile::new(BufReader::new(file)).map_err(|e| err(format!("not a .npy file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err(format!("shape {shape:?} is too large")))?;
    let DType::Plain(ty) = npy.dtype() else {
        return Err(err("structured arrays are not supported".into()));
    };
    let width = ty.num_bytes().unwrap_or(0) as u64;
    if (numel as u64).saturating_mul(width) > size {
        return Err(err(format!(
            "declares shape {shape:?} but holds only {size} bytes"
        )));
    }
    let data: Vec<f32> = match (ty.type_char(), width) {
        (TypeChar::Float, 4) => npy.into_vec::<f32>(),
        (TypeChar::Float, 8) => npy
            .into_vec::<f64>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        (TypeChar::Int, 8) => npy
            .into_vec::<i64>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        (TypeChar::Int, 4) => npy
            .into_vec::<i32>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        (TypeChar::Uint, 1) => npy
            .into_vec::<u8>()
            .map(|v| v.into_iter().map(f32::from).collect()),
        (TypeChar::Bool, 1) => npy
            .into_vec::<bool>()
            .map(|v| v.into_iter().map(|b| b as u8 as f32).collect()),
        (c, w) => return Err(err(format!("unsupported dtype {c:?} of {w} bytes"))),
    }
    .map_err(|e| err(format!("cannot read the data: {e}")))?;
    Tensor::new(shape, data).map_err(|e| err(e.to_string()))
}

/// Writes a float32 `.npy` file, atomically (a temporary file renamed into place).
pub fn write(path: impl AsRef<Path>, tensor: &Tensor) -> Result<()> {
    let path = path.as_ref();
    write_atomic(path, |file| {
        let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(file)
            .begin_nd()?;
        writer.extend(tensor.data().iter().copied())?;
        writer.finish()
    })
}
