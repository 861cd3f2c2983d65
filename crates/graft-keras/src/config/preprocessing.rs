//! Keras 3's image preprocessing layers (`Resizing`, `CenterCrop`, `RandomFlip`, ...) to the IR's
//! `Op::Preprocessing`. Factors follow Keras: a number `f` is the range `(-f, f)` (for
//! `RandomContrast`, `(f, f)` around 1), a pair is taken as given.

use graft_ir::{Fill, FillMode, Interpolation, Op, Preprocessing, PreprocessingConfig};
use serde_json::Value;

use super::fields::Fields;

/// The op for `class`, or `None` when `class` is not a preprocessing layer.
pub fn preprocessing_op(class: &str, cfg: &Fields) -> Option<Result<Op, String>> {
    kind(class, cfg).transpose().map(|kind| {
        Ok(Op::Preprocessing(PreprocessingConfig {
            kind: kind?,
            data_format: cfg.data_format()?,
            seed: cfg.opt_f64("seed")?.map(|s| s as u64),
        }))
    })
}

fn kind(class: &str, cfg: &Fields) -> Result<Option<Preprocessing>, String> {
    Ok(Some(match class {
        "Resizing" => resizing(cfg)?,
        "CenterCrop" => Preprocessing::CenterCrop {
            height: cfg.usize("height")?,
            width: cfg.usize("width")?,
        },
        "RandomFlip" => {
            let (horizontal, vertical) = match cfg.str_or("mode", "horizontal_and_vertical")? {
                "horizontal" => (true, false),
                "vertical" => (false, true),
                "horizontal_and_vertical" => (true, true),
                other => return Err(format!("unknown mode '{other}'")),
            };
            Preprocessing::RandomFlip {
                horizontal,
                vertical,
            }
        }
        "RandomRotation" => Preprocessing::RandomRotation {
            factor: range(cfg, "factor", false)?,
            fill: fill(cfg)?,
        },
        "RandomZoom" => Preprocessing::RandomZoom {
            height_factor: range(cfg, "height_factor", false)?,
            width_factor: match cfg.get("width_factor") {
                None | Some(Value::Null) => None,
                Some(_) => Some(range(cfg, "width_factor", false)?),
            },
            fill: fill(cfg)?,
        },
        "RandomTranslation" => Preprocessing::RandomTranslation {
            height_factor: range(cfg, "height_factor", false)?,
            width_factor: range(cfg, "width_factor", false)?,
            fill: fill(cfg)?,
        },
        "RandomContrast" => Preprocessing::RandomContrast {
            factor: range(cfg, "factor", true)?,
            value_range: value_range(cfg)?,
        },
        "RandomBrightness" => Preprocessing::RandomBrightness {
            factor: range(cfg, "factor", false)?,
            value_range: value_range(cfg)?,
        },
        _ => return Ok(None),
    }))
}

fn resizing(cfg: &Fields) -> Result<Preprocessing, String> {
    if cfg.bool_or("pad_to_aspect_ratio", false)? {
        return Err("pad_to_aspect_ratio=True is not supported".into());
    }
    Ok(Preprocessing::Resizing {
        height: cfg.usize("height")?,
        width: cfg.usize("width")?,
        interpolation: interpolation(cfg)?,
        crop_to_aspect_ratio: cfg.bool_or("crop_to_aspect_ratio", false)?,
    })
}

fn interpolation(cfg: &Fields) -> Result<Interpolation, String> {
    match cfg.str_or("interpolation", "bilinear")? {
        "bilinear" => Ok(Interpolation::Bilinear),
        "nearest" => Ok(Interpolation::Nearest),
        other => Err(format!(
            "interpolation '{other}' is not supported (bilinear and nearest are)"
        )),
    }
}

fn fill(cfg: &Fields) -> Result<Fill, String> {
    let name = cfg.str_or("fill_mode", "reflect")?;
    Ok(Fill {
        mode: FillMode::from_keras_name(name)
            .ok_or_else(|| format!("unknown fill_mode '{name}'"))?,
        value: cfg.f64_or("fill_value", 0.0)? as f32,
        interpolation: interpolation(cfg)?,
    })
}

/// `key` as `(lower, upper)`: a number `f` is `(-f, f)`, or `(f, f)` when `symmetric_magnitude`.
fn range(cfg: &Fields, key: &str, symmetric_magnitude: bool) -> Result<(f64, f64), String> {
    let bad = || format!("'{key}' must be a number or a pair of numbers");
    match cfg.get(key) {
        Some(Value::Number(n)) => {
            let f = n.as_f64().ok_or_else(bad)?.abs();
            Ok(if symmetric_magnitude { (f, f) } else { (-f, f) })
        }
        Some(Value::Array(a)) if a.len() == 2 => {
            let lo = a[0].as_f64().ok_or_else(bad)?;
            let hi = a[1].as_f64().ok_or_else(bad)?;
            Ok((lo, hi))
        }
        _ => Err(bad()),
    }
}

fn value_range(cfg: &Fields) -> Result<(f64, f64), String> {
    match cfg.get("value_range") {
        None | Some(Value::Null) => Ok((0.0, 255.0)),
        Some(Value::Array(a)) if a.len() == 2 => match (a[0].as_f64(), a[1].as_f64()) {
            (Some(lo), Some(hi)) if lo < hi => Ok((lo, hi)),
            _ => Err("'value_range' must be [low, high] with low < high".into()),
        },
        Some(v) => Err(format!("'value_range' must be [low, high], found {v}")),
    }
}
