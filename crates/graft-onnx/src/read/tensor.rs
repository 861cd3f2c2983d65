//! Constants: initializers and `Constant` attributes decoded from `TensorProto` (inline typed
//! fields, `raw_data`, or external data files), as f32 values or integers.

use std::path::Path;

use tract_onnx::pb::TensorProto;
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};

use super::external;

/// An integer known at load time, or one of the sizes only known when the model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sym {
    Known(i64),
    /// The batch size (axis 0 of a computed tensor).
    Batch,
    /// Any other size unknown until run time.
    Unknown,
}

impl Sym {
    pub(crate) fn known(self) -> Option<i64> {
        match self {
            Sym::Known(v) => Some(v),
            _ => None,
        }
    }
}

/// The values of a constant.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    F32(Vec<f32>),
    Int(Vec<Sym>),
}

/// A tensor known at load time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Const {
    pub dims: Vec<usize>,
    pub data: Data,
}

/// Constants folded at load time may not grow past this many values (a `ConstantOfShape` with
/// a huge shape must not exhaust memory).
pub(crate) const MAX_FOLDED: usize = 1 << 26;

impl Const {
    pub(crate) fn f32(dims: Vec<usize>, values: Vec<f32>) -> Self {
        Self {
            dims,
            data: Data::F32(values),
        }
    }

    pub(crate) fn ints(dims: Vec<usize>, values: Vec<Sym>) -> Self {
        Self {
            dims,
            data: Data::Int(values),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::Int(v) => v.len(),
        }
    }

    /// The values as f32 (integers converted; symbolic ones refused).
    pub(crate) fn to_f32(&self) -> Result<Vec<f32>, String> {
        match &self.data {
            Data::F32(v) => Ok(v.clone()),
            Data::Int(v) => v
                .iter()
                .map(|s| {
                    s.known()
                        .map(|i| i as f32)
                        .ok_or_else(|| "depends on a size only known at run time".to_string())
                })
                .collect(),
        }
    }

    /// The values as integers (floats truncated), symbolic ones kept.
    pub(crate) fn to_syms(&self) -> Vec<Sym> {
        match &self.data {
            Data::F32(v) => v.iter().map(|&f| Sym::Known(f as i64)).collect(),
            Data::Int(v) => v.clone(),
        }
    }

    /// The values as known integers.
    pub(crate) fn to_i64(&self) -> Result<Vec<i64>, String> {
        self.to_syms()
            .into_iter()
            .map(|s| {
                s.known()
                    .ok_or_else(|| "depends on a size only known at run time".to_string())
            })
            .collect()
    }

    /// The single value of a one-element constant.
    pub(crate) fn scalar_f32(&self) -> Option<f32> {
        (self.len() == 1).then(|| self.to_f32().ok()?.first().copied())?
    }

    /// The single value when every value is the same (a broadcast constant).
    pub(crate) fn uniform_f32(&self) -> Option<f32> {
        let v = self.to_f32().ok()?;
        let first = *v.first()?;
        v.iter().all(|&x| x == first).then_some(first)
    }

    /// An IR tensor of these values.
    pub(crate) fn to_tensor(&self) -> Result<graft_ir::Tensor, String> {
        graft_ir::Tensor::new(self.dims.clone(), self.to_f32()?).map_err(|e| e.to_string())
    }
}

fn dims_of(t: &TensorProto) -> Result<(Vec<usize>, usize), String> {
    let dims = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<Vec<_>, _>>()?;
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("shape {dims:?} is too large"))?;
    Ok((dims, n))
}

/// IEEE half precision to f32.
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise.
            let shift = f.leading_zeros() - 21;
            let f = (f << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (f << 13)
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// Decodes a tensor. `model_dir` resolves external data.
pub(crate) fn decode(t: &TensorProto, model_dir: &Path) -> Result<Const, String> {
    let (dims, n) = dims_of(t)?;
    let dtype = DataType::try_from(t.data_type)
        .map_err(|_| format!("unknown data type {}", t.data_type))?;
    let size = match dtype {
        DataType::Float | DataType::Int32 | DataType::Uint32 => 4,
        DataType::Double | DataType::Int64 | DataType::Uint64 => 8,
        DataType::Float16 | DataType::Bfloat16 | DataType::Int16 | DataType::Uint16 => 2,
        DataType::Int8 | DataType::Uint8 | DataType::Bool => 1,
        other => {
            return Err(format!(
                "data type {} is not supported",
                other.as_str_name()
            ));
        }
    };
    let external = t.data_location == Some(DataLocation::External as i32);
    let raw_owned;
    let raw: Option<&[u8]> = if external {
        let loc = external::location(t, model_dir)?;
        let expected = (n as u64).checked_mul(size).ok_or("tensor is too large")?;
        raw_owned = external::read(&loc, Some(expected))?;
        Some(&raw_owned)
    } else if !t.raw_data.is_empty() || n == 0 {
        Some(&t.raw_data)
    } else {
        None
    };
    if let Some(raw) = raw {
        if raw.len() as u64 != n as u64 * size {
            return Err(format!(
                "holds {} bytes of raw data, shape {dims:?} of {} needs {}",
                raw.len(),
                dtype.as_str_name(),
                n as u64 * size
            ));
        }
        let chunks = |k: usize| raw.chunks_exact(k);
        let ints = |v: Vec<i64>| {
            Ok(Const::ints(
                dims.clone(),
                v.into_iter().map(Sym::Known).collect(),
            ))
        };
        return match dtype {
            DataType::Float => Ok(Const::f32(
                dims.clone(),
                chunks(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )),
            DataType::Double => Ok(Const::f32(
                dims.clone(),
                chunks(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                    .collect(),
            )),
            DataType::Float16 => Ok(Const::f32(
                dims.clone(),
                chunks(2)
                    .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            )),
            DataType::Bfloat16 => Ok(Const::f32(
                dims.clone(),
                chunks(2)
                    .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
                    .collect(),
            )),
            DataType::Int64 => ints(
                chunks(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
            ),
            DataType::Uint64 => ints(
                chunks(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as i64)
                    .collect(),
            ),
            DataType::Int32 => ints(
                chunks(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                    .collect(),
            ),
            DataType::Uint32 => ints(
                chunks(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                    .collect(),
            ),
            DataType::Int16 => ints(
                chunks(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                    .collect(),
            ),
            DataType::Uint16 => ints(
                chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                    .collect(),
            ),
            DataType::Int8 => ints(raw.iter().map(|&b| b as i8 as i64).collect()),
            _ => ints(raw.iter().map(|&b| b as i64).collect()),
        };
    }
    // Typed fields.
    let check = |len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(format!("holds {len} values, shape {dims:?} needs {n}"))
        }
    };
    match dtype {
        DataType::Float => {
            check(t.float_data.len())?;
            Ok(Const::f32(dims.clone(), t.float_data.clone()))
        }
        DataType::Double => {
            check(t.double_data.len())?;
            Ok(Const::f32(
                dims.clone(),
                t.double_data.iter().map(|&v| v as f32).collect(),
            ))
        }
        DataType::Float16 | DataType::Bfloat16 => {
            check(t.int32_data.len())?;
            let bf = dtype == DataType::Bfloat16;
            Ok(Const::f32(
                dims.clone(),
                t.int32_data
                    .iter()
                    .map(|&b| {
                        if bf {
                            f32::from_bits((b as u32 & 0xffff) << 16)
                        } else {
                            f16_to_f32(b as u16)
                        }
                    })
                    .collect(),
            ))
        }
        DataType::Int64 => {
            check(t.int64_data.len())?;
            Ok(Const::ints(
                dims.clone(),
                t.int64_data.iter().map(|&v| Sym::Known(v)).collect(),
            ))
        }
        DataType::Uint64 | DataType::Uint32 => {
            check(t.uint64_data.len())?;
            Ok(Const::ints(
                dims.clone(),
                t.uint64_data
                    .iter()
                    .map(|&v| Sym::Known(v as i64))
                    .collect(),
            ))
        }
        _ => {
            check(t.int32_data.len())?;
            Ok(Const::ints(
                dims.clone(),
                t.int32_data.iter().map(|&v| Sym::Known(v as i64)).collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn raw_and_typed_floats() {
        let mut t = TensorProto {
            dims: vec![2],
            data_type: DataType::Float as i32,
            ..Default::default()
        };
        t.raw_data = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode(&t, Path::new(".")).unwrap(),
            Const::f32(vec![2], vec![1.5, -2.0])
        );
        t.raw_data.clear();
        t.float_data = vec![3.0, 4.0];
        assert_eq!(
            decode(&t, Path::new(".")).unwrap(),
            Const::f32(vec![2], vec![3.0, 4.0])
        );
        t.float_data = vec![3.0];
        assert!(decode(&t, Path::new(".")).is_err());
    }

    #[test]
    fn escaping_locations_are_refused() {
        let dir = std::env::temp_dir();
        for loc in ["../x.bin", "/etc/passwd", "a/../../b", ""] {
            assert!(external::resolve(&dir, loc).is_err(), "{loc}");
        }
    }
}
