//! Load-time evaluation of ops whose inputs are all constants: the shape arithmetic exporters
//! emit (`Shape` -> `Gather` -> `Unsqueeze` -> `Concat` -> `Reshape`), constant casts, slices,
//! element-wise arithmetic on initializers, and `Gemm` of constants (any `transA`/`transB`: a
//! kernel computed from initializers). Sizes unknown until run time stay symbolic
//! (`Sym::Batch`), so a reshape target built from `x.shape[0]` still reads as "keep the batch".

use graft_ir::tensor::strides;

use super::graph::Ctx;
use super::tensor::{Const, Data, MAX_FOLDED, Sym};

/// The ops this module evaluates when all their inputs are constants.
pub(crate) fn foldable(op: &str) -> bool {
    matches!(
        op,
        "Identity"
            | "Cast"
            | "Gather"
            | "Slice"
            | "Concat"
            | "Unsqueeze"
            | "Squeeze"
            | "Reshape"
            | "Flatten"
            | "Transpose"
            | "ConstantOfShape"
            | "Range"
            | "Add"
            | "Sub"
            | "Mul"
            | "Div"
            | "Neg"
            | "Sqrt"
            | "Reciprocal"
            | "Floor"
            | "Ceil"
            | "Shape"
            | "Size"
            | "Gemm"
    )
}

fn numel(dims: &[usize]) -> Result<usize, String> {
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("shape {dims:?} is too large"))?;
    if n > MAX_FOLDED {
        return Err(format!(
            "a constant of shape {dims:?} is too large to fold at load time"
        ));
    }
    Ok(n)
}

fn axis(a: i64, rank: usize) -> Result<usize, String> {
    graft_ir::normalize_axis(a, rank)
        .ok_or_else(|| format!("axis {a} is out of range for rank {rank}"))
}

/// Picks elements of `c` by flat index.
fn pick(c: &Const, dims: Vec<usize>, idx: &[usize]) -> Const {
    match &c.data {
        Data::F32(v) => Const::f32(dims, idx.iter().map(|&i| v[i]).collect()),
        Data::Int(v) => Const::ints(dims, idx.iter().map(|&i| v[i]).collect()),
    }
}

/// Flat indices of every element of a `dims`-shaped result whose source index along each axis
/// is `map(axis, i)`.
fn gather_indices(
    src_dims: &[usize],
    out_dims: &[usize],
    map: impl Fn(usize, usize) -> usize,
) -> Result<Vec<usize>, String> {
    let n = numel(out_dims)?;
    let src_strides = strides(src_dims);
    let out_strides = strides(out_dims);
    Ok((0..n)
        .map(|flat| {
            (0..out_dims.len())
                .map(|a| map(a, flat / out_strides[a] % out_dims[a]) * src_strides[a])
                .sum()
        })
        .collect())
}

fn reshape(c: Const, dims: Vec<usize>) -> Result<Const, String> {
    if numel(&dims)? != c.len() {
        return Err(format!("cannot reshape {} values to {dims:?}", c.len()));
    }
    Ok(Const { dims, ..c })
}

fn known_usize(s: Sym) -> Result<usize, String> {
    s.known()
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| "needs a size known at load time".to_string())
}

/// numpy broadcasting of two shapes.
fn broadcast_dims(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let r = a.len().max(b.len());
    let get = |d: &[usize], i: usize| {
        if i + d.len() >= r {
            d[i + d.len() - r]
        } else {
            1
        }
    };
    (0..r)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(format!(
                "shapes {a:?} and {b:?} do not broadcast ({x} vs {y})"
            )),
        })
        .collect()
}

fn expand(c: &Const, out: &[usize]) -> Result<Const, String> {
    let r = out.len();
    let mut src = vec![1; r - c.dims.len()];
    src.extend(&c.dims);
    let idx = gather_indices(&src, out, |a, i| if src[a] == 1 { 0 } else { i })?;
    Ok(pick(
        &Const {
            dims: src.clone(),
            data: c.data.clone(),
        },
        out.to_vec(),
        &idx,
    ))
}

fn sym_op(op: &str, x: Sym, y: Sym) -> Sym {
    match (x, y) {
        (Sym::Known(a), Sym::Known(b)) => match op {
            "Add" => Sym::Known(a.wrapping_add(b)),
            "Sub" => Sym::Known(a.wrapping_sub(b)),
            "Mul" => Sym::Known(a.wrapping_mul(b)),
            _ if b != 0 => Sym::Known(a.div_euclid(b)),
            _ => Sym::Unknown,
        },
        (s, Sym::Known(1)) if op == "Mul" || op == "Div" => s,
        (Sym::Known(1), s) if op == "Mul" => s,
        (s, Sym::Known(0)) if op == "Add" || op == "Sub" => s,
        (Sym::Known(0), s) if op == "Add" => s,
        _ => Sym::Unknown,
    }
}

fn binary(op: &str, a: &Const, b: &Const) -> Result<Const, String> {
    let dims = broadcast_dims(&a.dims, &b.dims)?;
    let (a, b) = (expand(a, &dims)?, expand(b, &dims)?);
    match (&a.data, &b.data) {
        (Data::Int(x), Data::Int(y)) => Ok(Const::ints(
            dims,
            x.iter().zip(y).map(|(&p, &q)| sym_op(op, p, q)).collect(),
        )),
        _ => {
            let (x, y) = (a.to_f32()?, b.to_f32()?);
            let f = |p: f32, q: f32| match op {
                "Add" => p + q,
                "Sub" => p - q,
                "Mul" => p * q,
                _ => p / q,
            };
            Ok(Const::f32(
                dims,
                x.iter().zip(&y).map(|(&p, &q)| f(p, q)).collect(),
            ))
        }
    }
}

/// `Gemm` of constants: `alpha * op(A) . op(B) + beta * C`, `op` transposing when `transA` /
/// `transB` is set, C broadcast to `[M, N]` (numpy rules, as ONNX's unidirectional broadcast).
fn gemm(cx: &Ctx, a: &Const, b: &Const, c: Option<&Const>) -> Result<Const, String> {
    let at = cx.attrs.int("transA", 0) != 0;
    let bt = cx.attrs.int("transB", 0) != 0;
    let (alpha, beta) = (cx.attrs.float("alpha", 1.0), cx.attrs.float("beta", 1.0));
    if a.dims.len() != 2 || b.dims.len() != 2 {
        return Err(format!(
            "A {:?} and B {:?} are not both matrices",
            a.dims, b.dims
        ));
    }
    let (m, k) = if at {
        (a.dims[1], a.dims[0])
    } else {
        (a.dims[0], a.dims[1])
    };
    let (kb, n) = if bt {
        (b.dims[1], b.dims[0])
    } else {
        (b.dims[0], b.dims[1])
    };
    if k != kb {
        return Err(format!(
            "op(A) has {k} columns and op(B) {kb} rows (A {:?}, transA={}, B {:?}, transB={})",
            a.dims,
            u8::from(at),
            b.dims,
            u8::from(bt)
        ));
    }
    numel(&[m, n])?;
    let (av, bv) = (a.to_f32()?, b.to_f32()?);
    // Element (i, j) of op(A) and of op(B), from the row-major stored matrices.
    let ea = |i: usize, j: usize| if at { av[j * m + i] } else { av[i * k + j] };
    let eb = |i: usize, j: usize| if bt { bv[j * k + i] } else { bv[i * n + j] };
    let cv = match c {
        Some(c) => {
            if c.dims.len() > 2 {
                return Err(format!("C has shape {:?}, more than a matrix", c.dims));
            }
            Some(expand(c, &broadcast_dims(&[m, n], &c.dims)?)?.to_f32()?)
        }
        None => None,
    };
    if let Some(cv) = &cv
        && cv.len() != m * n
    {
        return Err(format!("C does not broadcast to [{m}, {n}]"));
    }
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let dot: f64 = (0..k)
                .map(|p| f64::from(ea(i, p)) * f64::from(eb(p, j)))
                .sum();
            let bias = cv.as_ref().map_or(0.0, |c| beta * c[i * n + j]);
            out[i * n + j] = alpha * dot as f32 + bias;
        }
    }
    Ok(Const::f32(vec![m, n], out))
}

/// Evaluates node `cx` on constant inputs (`None` for absent optional inputs).
pub(crate) fn eval(cx: &Ctx, inputs: &[Option<Const>]) -> Result<Const, String> {
    let a = &cx.attrs;
    let arg = |i: usize| -> Result<&Const, String> {
        inputs
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("input {i} is missing"))
    };
    let opt_ints = |i: usize, attr: &str| -> Result<Option<Vec<i64>>, String> {
        match inputs.get(i).and_then(Option::as_ref) {
            Some(c) => c.to_i64().map(Some),
            None => Ok(a.ints(attr)),
        }
    };
    match cx.op() {
        "Identity" => Ok(arg(0)?.clone()),
        "Cast" => {
            let c = arg(0)?;
            let to = a.int("to", 1);
            // FLOAT, FLOAT16, DOUBLE, BFLOAT16 -> floats; everything else integers.
            if matches!(to, 1 | 10 | 11 | 16) {
                Ok(Const::f32(c.dims.clone(), c.to_f32()?))
            } else if to == 9 {
                Ok(Const::ints(
                    c.dims.clone(),
                    c.to_f32()?
                        .iter()
                        .map(|&v| Sym::Known(i64::from(v != 0.0)))
                        .collect(),
                ))
            } else {
                Ok(Const::ints(c.dims.clone(), c.to_syms()))
            }
        }
        "Shape" => {
            let c = arg(0)?;
            let d: Vec<Sym> = c.dims.iter().map(|&d| Sym::Known(d as i64)).collect();
            Ok(Const::ints(vec![d.len()], d))
        }
        "Size" => Ok(Const::ints(vec![], vec![Sym::Known(arg(0)?.len() as i64)])),
        "Gather" => {
            let (data, idx) = (arg(0)?, arg(1)?);
            let r = data.dims.len().max(1);
            let ax = axis(a.int("axis", 0), r)?;
            let n = *data.dims.get(ax).unwrap_or(&1) as i64;
            let indices = idx
                .to_i64()?
                .into_iter()
                .map(|i| {
                    let j = if i < 0 { i + n } else { i };
                    usize::try_from(j)
                        .ok()
                        .filter(|&j| (j as i64) < n)
                        .ok_or_else(|| format!("index {i} is out of range for size {n}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = data.dims[..ax].to_vec();
            out.extend(&idx.dims);
            out.extend(&data.dims[ax + 1..]);
            // Treat the gathered axis as `idx`'s axes flattened.
            let mut flat_out = data.dims[..ax].to_vec();
            flat_out.push(indices.len());
            flat_out.extend(&data.dims[ax + 1..]);
            let map = gather_indices(&data.dims, &flat_out, |axis_i, i| {
                if axis_i == ax { indices[i] } else { i }
            })?;
            Ok(pick(data, out, &map))
        }
        "Slice" => {
            let data = arg(0)?;
            let r = data.dims.len();
            let starts = opt_ints(1, "starts")?.ok_or("has no starts")?;
            let ends = opt_ints(2, "ends")?.ok_or("has no ends")?;
            let axes = opt_ints(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps = opt_ints(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
            let mut begin = vec![0i64; r];
            let mut step = vec![1i64; r];
            let mut out = data.dims.clone();
            for (k, &ax) in axes.iter().enumerate() {
                let ax = axis(ax, r)?;
                let n = data.dims[ax] as i64;
                let s = *steps.get(k).unwrap_or(&1);
                if s == 0 {
                    return Err("has a zero step".into());
                }
                let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
                let fix = |v: i64| if v < 0 { v + n } else { v };
                let (st, en) = (fix(starts[k]), fix(ends[k]));
                let (st, en) = if s > 0 {
                    (clamp(st, 0, n), clamp(en, 0, n))
                } else {
                    (clamp(st, 0, n - 1), clamp(en, -1, n - 1))
                };
                let len = if s > 0 {
                    ((en - st).max(0) + s - 1) / s
                } else {
                    ((st - en).max(0) + (-s) - 1) / (-s)
                };
                begin[ax] = st;
                step[ax] = s;
                out[ax] = len as usize;
            }
            let map = gather_indices(&data.dims, &out, |ax, i| {
                (begin[ax] + i as i64 * step[ax]) as usize
            })?;
            Ok(pick(data, out, &map))
        }
        "Concat" => {
            let parts: Vec<&Const> = inputs.iter().flatten().collect();
            let first = parts.first().ok_or("has no inputs")?;
            let r = first.dims.len();
            let ax = axis(a.int("axis", 0), r)?;
            let mut out = first.dims.clone();
            out[ax] = parts
                .iter()
                .map(|p| p.dims.get(ax).copied().unwrap_or(0))
                .sum();
            numel(&out)?;
            let outer: usize = first.dims[..ax].iter().product();
            let all_int = parts.iter().all(|p| matches!(p.data, Data::Int(_)));
            let mut f = Vec::new();
            let mut s = Vec::new();
            for o in 0..outer {
                for p in &parts {
                    if p.dims.len() != r {
                        return Err("concatenates constants of different ranks".into());
                    }
                    let inner: usize = p.dims[ax..].iter().product();
                    if all_int {
                        s.extend_from_slice(&p.to_syms()[o * inner..(o + 1) * inner]);
                    } else {
                        f.extend_from_slice(&p.to_f32()?[o * inner..(o + 1) * inner]);
                    }
                }
            }
            Ok(if all_int {
                Const::ints(out, s)
            } else {
                Const::f32(out, f)
            })
        }
        "Unsqueeze" => {
            let c = arg(0)?.clone();
            let axes = opt_ints(1, "axes")?.ok_or("has no axes")?;
            let r = c.dims.len() + axes.len();
            let mut axes = axes
                .iter()
                .map(|&x| axis(x, r))
                .collect::<Result<Vec<_>, _>>()?;
            axes.sort_unstable();
            let mut dims = c.dims.clone();
            for ax in axes {
                dims.insert(ax.min(dims.len()), 1);
            }
            reshape(c, dims)
        }
        "Squeeze" => {
            let c = arg(0)?.clone();
            let r = c.dims.len();
            let dims = match opt_ints(1, "axes")? {
                Some(axes) => {
                    let axes = axes
                        .iter()
                        .map(|&x| axis(x, r))
                        .collect::<Result<Vec<_>, _>>()?;
                    c.dims
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !axes.contains(i))
                        .map(|(_, &d)| d)
                        .collect()
                }
                None => c.dims.iter().copied().filter(|&d| d != 1).collect(),
            };
            reshape(c, dims)
        }
        "Reshape" | "Flatten" => {
            let c = arg(0)?.clone();
            let dims: Vec<usize> = if cx.op() == "Flatten" {
                let ax = a.int("axis", 1);
                let ax = if ax < 0 { ax + c.dims.len() as i64 } else { ax } as usize;
                let ax = ax.min(c.dims.len());
                vec![c.dims[..ax].iter().product(), c.dims[ax..].iter().product()]
            } else {
                let target = arg(1)?.to_i64()?;
                let mut known = 1usize;
                let mut dims = Vec::with_capacity(target.len());
                for (i, &t) in target.iter().enumerate() {
                    let d = match t {
                        0 if a.int("allowzero", 0) == 0 => {
                            *c.dims.get(i).ok_or("copies a missing axis")?
                        }
                        -1 => 0,
                        t if t >= 0 => t as usize,
                        t => return Err(format!("has a negative size {t}")),
                    };
                    if t != -1 {
                        known = known.saturating_mul(d);
                    }
                    dims.push(d);
                }
                if let Some(p) = target.iter().position(|&t| t == -1) {
                    dims[p] = c.len() / known.max(1);
                }
                dims
            };
            reshape(c, dims)
        }
        "Transpose" => {
            let c = arg(0)?;
            let r = c.dims.len();
            let perm: Vec<usize> = match a.ints("perm") {
                Some(p) => p.iter().map(|&x| axis(x, r)).collect::<Result<_, _>>()?,
                None => (0..r).rev().collect(),
            };
            let out: Vec<usize> = perm.iter().map(|&p| c.dims[p]).collect();
            let src_strides = strides(&c.dims);
            let out_strides = strides(&out);
            let n = numel(&out)?;
            let idx: Vec<usize> = (0..n)
                .map(|flat| {
                    (0..r)
                        .map(|k| (flat / out_strides[k] % out[k]) * src_strides[perm[k]])
                        .sum()
                })
                .collect();
            Ok(pick(c, out, &idx))
        }
        "ConstantOfShape" => {
            let dims = arg(0)?
                .to_syms()
                .into_iter()
                .map(known_usize)
                .collect::<Result<Vec<_>, _>>()?;
            let n = numel(&dims)?;
            match a.tensor("value") {
                Some(t) => {
                    let v = super::tensor::decode(t, std::path::Path::new(""))?;
                    match v.data {
                        Data::F32(f) => Ok(Const::f32(dims, vec![*f.first().unwrap_or(&0.0); n])),
                        Data::Int(i) => Ok(Const::ints(
                            dims,
                            vec![*i.first().unwrap_or(&Sym::Known(0)); n],
                        )),
                    }
                }
                None => Ok(Const::f32(dims, vec![0.0; n])),
            }
        }
        "Range" => {
            let (s, l, d) = (arg(0)?, arg(1)?, arg(2)?);
            let ints = [s, l, d].iter().all(|c| matches!(c.data, Data::Int(_)));
            let (s, l, d) = (
                s.scalar_f32().ok_or("start is not a scalar")? as f64,
                l.scalar_f32().ok_or("limit is not a scalar")? as f64,
                d.scalar_f32().ok_or("delta is not a scalar")? as f64,
            );
            if d == 0.0 {
                return Err("has a zero delta".into());
            }
            let n = ((l - s) / d).ceil().max(0.0) as usize;
            numel(&[n])?;
            let v: Vec<f64> = (0..n).map(|i| s + i as f64 * d).collect();
            Ok(if ints {
                Const::ints(vec![n], v.iter().map(|&x| Sym::Known(x as i64)).collect())
            } else {
                Const::f32(vec![n], v.iter().map(|&x| x as f32).collect())
            })
        }
        "Add" | "Sub" | "Mul" | "Div" => binary(cx.op(), arg(0)?, arg(1)?),
        "Gemm" => gemm(cx, arg(0)?, arg(1)?, inputs.get(2).and_then(Option::as_ref)),
        "Neg" | "Sqrt" | "Reciprocal" | "Floor" | "Ceil" => {
            let c = arg(0)?;
            if let (Data::Int(v), "Neg") = (&c.data, cx.op()) {
                return Ok(Const::ints(
                    c.dims.clone(),
                    v.iter()
                        .map(|s| s.known().map_or(Sym::Unknown, |x| Sym::Known(-x)))
                        .collect(),
                ));
            }
            let f = |x: f32| match cx.op() {
                "Neg" => -x,
                "Sqrt" => x.sqrt(),
                "Reciprocal" => 1.0 / x,
                "Floor" => x.floor(),
                _ => x.ceil(),
            };
            Ok(Const::f32(
                c.dims.clone(),
                c.to_f32()?.into_iter().map(f).collect(),
            ))
        }
        other => Err(format!("cannot fold {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(dims: Vec<usize>, v: &[i64]) -> Const {
        Const::ints(dims, v.iter().map(|&x| Sym::Known(x)).collect())
    }

    #[test]
    fn broadcasting_arithmetic() {
        let a = Const::f32(vec![2, 1], vec![1.0, 2.0]);
        let b = Const::f32(vec![3], vec![10.0, 20.0, 30.0]);
        let c = binary("Add", &a, &b).unwrap();
        assert_eq!(c.dims, vec![2, 3]);
        assert_eq!(
            c.to_f32().unwrap(),
            vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]
        );
        let s = Const::ints(vec![2], vec![Sym::Batch, Sym::Known(4)]);
        let m = binary("Mul", &s, &ints(vec![1], &[1])).unwrap();
        assert_eq!(m.to_syms(), vec![Sym::Batch, Sym::Known(4)]);
    }

    #[test]
    fn transpose_indices() {
        let src = gather_indices(&[2, 3], &[2, 2], |a, i| if a == 1 { i + 1 } else { i }).unwrap();
        assert_eq!(src, vec![1, 2, 4, 5]);
    }
}
