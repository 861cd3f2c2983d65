//! Keras' configs of the image preprocessing layers (Resizing, CenterCrop, the Random* layers),
//! written into a layer entry by `layers::layer_json`.

use graft_ir::{DataFormat, Fill, Interpolation, Preprocessing, PreprocessingConfig};
use serde_json::{Map, Value, json};

use super::json::{f32_num, f64_num};
use super::layers::put;

/// Keras' config of an image preprocessing layer. tf.keras 2 spells these layers without
/// `data_format` and `RandomContrast` without `value_range` (it clips to [0, 255]).
pub(super) fn preprocessing(
    c: &mut Map<String, Value>,
    p: &PreprocessingConfig,
    keras3: bool,
) -> Result<(), String> {
    let pair = |(lo, hi): (f64, f64)| json!([f64_num(lo), f64_num(hi)]);
    let interpolation = |i: Interpolation| match i {
        Interpolation::Nearest => "nearest",
        Interpolation::Bilinear => "bilinear",
    };
    let fill = |c: &mut Map<String, Value>, f: &Fill| {
        put(c, "fill_mode", f.mode.keras_name());
        put(c, "fill_value", f32_num(f.value));
        put(c, "interpolation", interpolation(f.interpolation));
    };
    match &p.kind {
        Preprocessing::Resizing {
            height,
            width,
            interpolation: i,
            crop_to_aspect_ratio,
        } => {
            put(c, "height", *height);
            put(c, "width", *width);
            put(c, "interpolation", interpolation(*i));
            put(c, "crop_to_aspect_ratio", *crop_to_aspect_ratio);
        }
        Preprocessing::CenterCrop { height, width } => {
            put(c, "height", *height);
            put(c, "width", *width);
        }
        Preprocessing::RandomFlip {
            horizontal,
            vertical,
        } => {
            let mode = match (horizontal, vertical) {
                (true, true) => "horizontal_and_vertical",
                (true, false) => "horizontal",
                (false, true) => "vertical",
                (false, false) => {
                    return Err("a RandomFlip that flips nothing has no Keras form".into());
                }
            };
            put(c, "mode", mode);
        }
        Preprocessing::RandomRotation { factor, fill: f } => {
            put(c, "factor", pair(*factor));
            fill(c, f);
        }
        Preprocessing::RandomZoom {
            height_factor,
            width_factor,
            fill: f,
        } => {
            put(c, "height_factor", pair(*height_factor));
            put(c, "width_factor", width_factor.map_or(Value::Null, pair));
            fill(c, f);
        }
        Preprocessing::RandomTranslation {
            height_factor,
            width_factor,
            fill: f,
        } => {
            put(c, "height_factor", pair(*height_factor));
            put(c, "width_factor", pair(*width_factor));
            fill(c, f);
        }
        Preprocessing::RandomContrast {
            factor,
            value_range,
        } => {
            put(c, "factor", pair(*factor));
            if keras3 {
                put(c, "value_range", pair(*value_range));
            } else if *value_range != (0.0, 255.0) {
                return Err("tf.keras 2's RandomContrast clips to [0, 255] only".into());
            }
        }
        Preprocessing::RandomBrightness {
            factor,
            value_range,
        } => {
            put(c, "factor", pair(*factor));
            put(c, "value_range", pair(*value_range));
        }
    }
    if p.is_random() {
        put(c, "seed", p.seed.map_or(Value::Null, Value::from));
    }
    if keras3 {
        put(c, "data_format", p.data_format.keras_name());
    } else if p.data_format != DataFormat::ChannelsLast {
        return Err("tf.keras 2's preprocessing layers are channels-last only".into());
    }
    Ok(())
}
