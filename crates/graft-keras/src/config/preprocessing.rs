//! Keras 3's image preprocessing layers (`Resizing`, `CenterCrop`, `RandomFlip`, ...) to the IR's
//! `Op::Preprocessing`. Factors follow Keras: a number `f` is the range `(-f, f)` (for
//! `RandomContrast`, `(f, f)` around 1), a pair is taken as given.

use graft_ir::{Fill, FillMode, Interpolation, Op, Preprocessing, PreprocessingConfig};
use serde_json::Value;

use super::fields::Fields;

/// The op for `class`, or `None` when `class` is not a preprocessing layer.
pub fn preprocessing_op(class: &str, cfg: &Fields) -> Option<Result<Op, String>> {
    let kind = match class {
        "Resizing" => resizing(cfg),
        "CenterCrop" => (|| {
            Ok(Preprocessing::CenterCrop {
                height: cfg.usize("height")?,
                width: cfg.usize("width")?,
            })
        })(),
        "RandomFlip" => match cfg.str_or("mode", "horizontal_and_vertical") {
            Ok("horizontal") => Ok(Preprocessing::RandomFlip {
                horizontal: true,
                vertical: false,
            }),
            Ok("vertical") => Ok(Preprocessing::RandomFlip {
                horizontal: false,
                vertical: true,
            }),
            Ok("horizontal_and_vertical") => Ok(Preprocessing::RandomFlip {
                horizontal: true,
                vertical: true,
            }),
            Ok(other) => Err(format!("unknown mode '{other}'")),
            Err(e) => Err(e),
        },
        "RandomRotation" => (|| {
            Ok(Preprocessing::RandomRotation {
                factor: range(cfg, "factor", false)?,
                fill: fill(cfg)?,
            })
        })(),
        "RandomZoom" => (|| {
            let width_factor = match cfg.get("width_factor") {
                None | Some(Value::Null) => None,
                Some(_) => Some(range(cfg, "width_factor", false)?),
            };
            Ok(Preprocessing::RandomZoom {
                height_factor: range(cfg, "height_factor", false)?,
                width_factor,
                fill: fill(cfg)?,
            })
        })(),
        "RandomTranslation" => (|| {
            Ok(Preprocessing::RandomTranslation {
                height_factor: range(cfg, "height_factor", false)?,
                width_factor: range(cfg, "width_factor", false)?,
                fill: fill(cfg)?,
            })
        })(),
        "RandomContrast" => (|| {
            Ok(Preprocessing::RandomContrast {
                factor: range(cfg, "factor", true)?,
                value_range: value_range(cfg)?,
            })
        })(),
        "RandomBrightness" => (|| {
            Ok(Preprocessing::RandomBrightness {
                factor: range(cfg, "factor", false)?,
                value_range: value_range(cfg)?,
            })
        })(),
        _ => return None,
    };
    Some(kind.and_then(|kind| {
        Ok(Op::Preprocessing(PreprocessingConfig {
            kind,
            data_format: cfg.data_format()?,
            seed: cfg.opt_f64("seed")?.map(|s| s as u64),
        }))
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
