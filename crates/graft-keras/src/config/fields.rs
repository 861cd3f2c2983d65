//! Typed access to one layer's `config` object; every error names the field.

use graft_ir::{Activation, DataFormat, Padding};
use serde_json::{Map, Value};

use super::dialect::Dialect;

/// A layer's config object.
pub struct Fields<'a> {
    pub map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self { map }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn missing(key: &str) -> String {
        format!("config has no '{key}'")
    }

    pub fn usize(&self, key: &str) -> Result<usize, String> {
        let v = self.get(key).ok_or_else(|| Self::missing(key))?;
        as_usize(v).ok_or_else(|| format!("'{key}' must be a non-negative integer, found {v}"))
    }

    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize, String> {
        match self.get(key) {
            None => Ok(default),
            Some(_) => self.usize(key),
        }
    }

    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| format!("'{key}' must be a number, found {v}")),
        }
    }

    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("'{key}' must be a number, found {v}")),
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| format!("'{key}' must be true or false, found {v}")),
        }
    }

    pub fn str_or(&self, key: &str, default: &'a str) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .ok_or_else(|| format!("'{key}' must be a string, found {v}")),
        }
    }

    /// An integer or a list of them (Keras accepts `3` for `(3, 3)`), expanded to `rank` values.
    pub fn tuple(&self, key: &str, rank: usize) -> Result<Vec<usize>, String> {
        let v = self.get(key).ok_or_else(|| Self::missing(key))?;
        tuple_of(v, rank).ok_or_else(|| {
            format!("'{key}' must be an integer or a list of {rank} integers, found {v}")
        })
    }

    /// As [`Self::tuple`], with a default when the field is absent or null.
    pub fn tuple_or(
        &self,
        key: &str,
        rank: usize,
        default: &[usize],
    ) -> Result<Vec<usize>, String> {
        match self.get(key) {
            None => Ok(default.to_vec()),
            Some(_) => self.tuple(key, rank),
        }
    }

    /// A list of integers that may be negative (axes, target shapes); a lone integer is a list
    /// of one.
    pub fn i64_list(&self, key: &str) -> Result<Vec<i64>, String> {
        let v = self.get(key).ok_or_else(|| Self::missing(key))?;
        match v {
            Value::Number(n) => n
                .as_i64()
                .map(|n| vec![n])
                .ok_or_else(|| format!("'{key}' must hold integers, found {v}")),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_i64())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("'{key}' must hold integers, found {v}")),
            _ => Err(format!("'{key}' must be an integer or a list, found {v}")),
        }
    }

    /// A number or a list of numbers.
    pub fn f32_list(&self, key: &str, default: f32) -> Result<Vec<f32>, String> {
        match self.get(key) {
            None => Ok(vec![default]),
            Some(Value::Number(n)) => Ok(vec![n.as_f64().unwrap_or(f64::NAN) as f32]),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("'{key}' must hold numbers")),
            Some(v) => Err(format!("'{key}' must be a number or a list, found {v}")),
        }
    }

    /// A number or an arbitrarily nested list of numbers, flattened.
    pub fn flat_f32(&self, key: &str) -> Result<Vec<f32>, String> {
        fn walk(v: &Value, out: &mut Vec<f32>) -> bool {
            match v {
                Value::Number(n) => {
                    out.push(n.as_f64().unwrap_or(f64::NAN) as f32);
                    true
                }
                Value::Array(a) => a.iter().all(|x| walk(x, out)),
                _ => false,
            }
        }
        let v = self.get(key).ok_or_else(|| Self::missing(key))?;
        let mut out = vec![];
        if walk(v, &mut out) {
            Ok(out)
        } else {
            Err(format!("'{key}' must hold numbers, found {v}"))
        }
    }

    pub fn data_format(&self) -> Result<DataFormat, String> {
        match self.str_or("data_format", "channels_last")? {
            "channels_last" => Ok(DataFormat::ChannelsLast),
            "channels_first" => Ok(DataFormat::ChannelsFirst),
            other => Err(format!("unknown data_format '{other}'")),
        }
    }

    pub fn padding(&self) -> Result<Padding, String> {
        match self
            .str_or("padding", "valid")?
            .to_ascii_lowercase()
            .as_str()
        {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            "causal" => Ok(Padding::Causal),
            other => Err(format!("unknown padding '{other}'")),
        }
    }

    /// `activation`, default linear.
    pub fn activation(&self, dialect: Dialect) -> Result<Activation, String> {
        match self.get("activation") {
            None => Ok(Activation::Linear),
            Some(v) => super::activation::parse(v, dialect),
        }
    }

    /// Keras' padding/cropping argument of a `rank`-D layer: `n`, `(a, b)` meaning symmetric
    /// per axis (2D+) or before/after (1D), or `((before, after), ...)`.
    pub fn pairs(&self, key: &str, rank: usize) -> Result<Vec<(usize, usize)>, String> {
        let v = self.get(key).ok_or_else(|| Self::missing(key))?;
        let bad = || format!("'{key}' has an unsupported form {v}");
        if let Some(n) = as_usize(v) {
            return Ok(vec![(n, n); rank]);
        }
        let a = v.as_array().ok_or_else(bad)?;
        if rank == 1 {
            return match a.as_slice() {
                [x, y] => Ok(vec![(
                    as_usize(x).ok_or_else(bad)?,
                    as_usize(y).ok_or_else(bad)?,
                )]),
                _ => Err(bad()),
            };
        }
        if a.len() != rank {
            return Err(bad());
        }
        a.iter()
            .map(|e| match e {
                Value::Array(p) if p.len() == 2 => Ok((
                    as_usize(&p[0]).ok_or_else(bad)?,
                    as_usize(&p[1]).ok_or_else(bad)?,
                )),
                other => as_usize(other).map(|n| (n, n)).ok_or_else(bad),
            })
            .collect()
    }
}

fn as_usize(v: &Value) -> Option<usize> {
    v.as_u64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })
        .and_then(|n| usize::try_from(n).ok())
}

fn tuple_of(v: &Value, rank: usize) -> Option<Vec<usize>> {
    if let Some(n) = as_usize(v) {
        return Some(vec![n; rank]);
    }
    let a = v.as_array()?;
    let out: Vec<usize> = a.iter().map(as_usize).collect::<Option<_>>()?;
    (out.len() == rank).then_some(out)
}
