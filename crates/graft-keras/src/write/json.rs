//! JSON as Keras writes it: Python's `json.dumps` spelling (`", "` and `": "` separators, every
//! non-ASCII character escaped, so the text fits the ASCII string attribute Keras stores it in),
//! numbers that reproduce the IR's `f32` values, and the small objects every layer config repeats
//! (dtype policies, initializers).

use std::io;

use serde_json::{Map, Value, json};

use crate::config::Dialect;

/// Serializes like Python's `json.dumps(value)` with its default `ensure_ascii=True`.
pub(crate) fn to_python_json(value: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    serde::Serialize::serialize(value, &mut ser).expect("a Value always serializes");
    String::from_utf8(out).expect("the formatter writes ASCII")
}

/// `json.dumps`' separators and `ensure_ascii`.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// A JSON number that Python reads back as exactly `x` once Keras casts it to float32: the
/// shortest decimal that round-trips (`0.1`, not `0.10000000149011612`).
pub(crate) fn f32_num(x: f32) -> Value {
    let shortest: f64 = format!("{x}").parse().unwrap_or(f64::from(x));
    let v = if shortest as f32 == x {
        shortest
    } else {
        f64::from(x)
    };
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A JSON number for an `f64` configuration value (epsilons, momenta).
pub(crate) fn f64_num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A list of sizes.
pub(crate) fn usizes(v: &[usize]) -> Value {
    Value::Array(v.iter().map(|&d| Value::from(d)).collect())
}

/// A shape with unknown dimensions as `null`.
pub(crate) fn dims(v: &[Option<usize>]) -> Value {
    Value::Array(
        v.iter()
            .map(|d| d.map_or(Value::Null, Value::from))
            .collect(),
    )
}

/// A layer's `dtype`: Keras 3 writes a `DTypePolicy` object, tf.keras a string.
pub(crate) fn dtype_policy(dialect: Dialect) -> Value {
    match dialect {
        Dialect::Keras3 => json!({
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "float32"},
            "registered_name": null
        }),
        Dialect::TfKeras2 => json!("float32"),
    }
}

/// An initializer with the arguments every Keras version accepts. Initializers do not change
/// what a saved model computes; they are written so the file looks like one Keras saved.
pub(crate) fn initializer(class: &str) -> Value {
    let config = match class {
        "GlorotUniform" => json!({"seed": null}),
        "RandomUniform" => json!({"minval": -0.05, "maxval": 0.05, "seed": null}),
        _ => json!({}),
    };
    json!({
        "module": "keras.initializers",
        "class_name": class,
        "config": config,
        "registered_name": null
    })
}

/// Adds `<prefix>_initializer`, `<prefix>_regularizer` and `<prefix>_constraint` for each
/// `(prefix, initializer class)`, in Keras' key order: all initializers, then regularizers,
/// then `activity_regularizer` (when asked), then constraints.
pub(crate) fn variable_args(
    config: &mut Map<String, Value>,
    vars: &[(&str, &str)],
    activity_regularizer: bool,
) {
    for (prefix, class) in vars {
        config.insert(format!("{prefix}_initializer"), initializer(class));
    }
    for (prefix, _) in vars {
        config.insert(format!("{prefix}_regularizer"), Value::Null);
    }
    if activity_regularizer {
        config.insert("activity_regularizer".into(), Value::Null);
    }
    for (prefix, _) in vars {
        config.insert(format!("{prefix}_constraint"), Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_spelling() {
        let v = json!({"a": [1, 2.5, "é😀"], "b": null});
        assert_eq!(
            to_python_json(&v),
            r#"{"a": [1, 2.5, "\u00e9\ud83d\ude00"], "b": null}"#
        );
    }

    #[test]
    fn f32_numbers_round_trip() {
        for x in [0.1f32, 1.0 / 6.0, 1e-7, 0.3, 1.001e-5, 255.0, -3.5e12] {
            let v = f32_num(x);
            assert_eq!(v.as_f64().unwrap() as f32, x, "{x}");
        }
        assert_eq!(f32_num(0.1).to_string(), "0.1");
    }
}
