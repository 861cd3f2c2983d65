//! Per-epoch logs and the training history (Keras' `History`), written as JSON or CSV.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// Named values of one epoch or batch, in the order they were recorded (`loss` first).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Logs(pub Vec<(String, f64)>);

impl Logs {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    pub fn set(&mut self, key: impl Into<String>, value: f64) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Keras' progress-bar notation: ` - accuracy: 0.8125 - loss: 0.4531`.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!(" - {k}: {}", format_value(*v)))
            .collect()
    }
}

fn format_value(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// What `fit` returns: every epoch's logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Epoch numbers (0-based, as Keras' `history.epoch`).
    pub epoch: Vec<usize>,
    /// Metric name -> one value per epoch (Keras' `history.history`).
    pub history: BTreeMap<String, Vec<f64>>,
}

impl History {
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in &logs.0 {
            self.history.entry(k.clone()).or_default().push(*v);
        }
    }

    /// Appends another run's epochs (a second `fit` that continued this one).
    pub fn extend(&mut self, other: &History) {
        self.epoch.extend(&other.epoch);
        for (k, v) in &other.history {
            self.history.entry(k.clone()).or_default().extend(v);
        }
    }

    /// The values of `key`, one per epoch.
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        self.history.get(key).map(Vec::as_slice)
    }

    /// `{"epoch": [...], "loss": [...], ...}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("epoch".into(), serde_json::json!(self.epoch));
        for (k, v) in &self.history {
            map.insert(k.clone(), serde_json::json!(v));
        }
        serde_json::Value::Object(map)
    }

    /// One row per epoch, as Keras' `CSVLogger` writes them: a header `epoch,<keys sorted>`,
    /// values as Python prints floats, `NA` where an epoch has no value, lines ending `\r\n`
    /// (Python's `csv` module).
    pub fn to_csv(&self) -> String {
        let keys: Vec<&str> = self.history.keys().map(String::as_str).collect();
        let mut out = csv_row(std::iter::once("epoch").chain(keys.iter().copied()), ',');
        for (row, epoch) in self.epoch.iter().enumerate() {
            let values = keys.iter().map(|k| {
                self.history[*k]
                    .get(row)
                    .map_or("NA".into(), |v| python_float(*v))
            });
            out.push_str(&csv_row(
                std::iter::once(epoch.to_string()).chain(values),
                ',',
            ));
        }
        out
    }

    /// Reads what [`History::to_json`] writes (and Python's `json.dump(history.history, f)`,
    /// which has no `epoch` list: epochs are then numbered from 0).
    pub fn from_json(value: &serde_json::Value) -> Result<History, String> {
        let object = value
            .as_object()
            .ok_or("expected a JSON object of per-epoch lists")?;
        let mut history = History::default();
        for (key, values) in object {
            let list = values
                .as_array()
                .and_then(|a| a.iter().map(|v| v.as_f64()).collect::<Option<Vec<f64>>>())
                .ok_or_else(|| format!("\"{key}\" is not a list of numbers"))?;
            if key == "epoch" {
                history.epoch = list.iter().map(|&e| e.max(0.0) as usize).collect();
            } else {
                history.history.insert(key.clone(), list);
            }
        }
        let epochs = history.history.values().map(Vec::len).max().unwrap_or(0);
        if epochs == 0 {
            return Err("no metric values in the history".into());
        }
        if history.epoch.is_empty() {
            history.epoch = (0..epochs).collect();
        }
        Ok(history)
    }

    /// Reads a `.json` history written by [`History::save`].
    pub fn load(path: &Path) -> Result<History, TrainError> {
        let file_error = |message: String| TrainError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| file_error(format!("not valid JSON: {e}")))?;
        History::from_json(&value).map_err(file_error)
    }

    /// Writes JSON (`.json`) or CSV (anything else), atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let text = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(&self.to_json()).expect("serializable")
        } else {
            self.to_csv()
        };
        crate::fsutil::write_atomic(path, text.as_bytes())
    }
}

/// One CSV line as Python's `csv.writer` (excel dialect) writes it: fields quoted only when they
/// hold the separator, a quote or a line break; `\r\n` at the end.
pub(crate) fn csv_row<S: AsRef<str>>(
    fields: impl IntoIterator<Item = S>,
    separator: char,
) -> String {
    let mut out = String::new();
    for (i, field) in fields.into_iter().enumerate() {
        let field = field.as_ref();
        if i > 0 {
            out.push(separator);
        }
        if field.contains([separator, '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
    out
}

/// `repr(float)` in Python: the shortest digits that read back to the same value, in fixed
/// notation for decimal exponents -4 to 15 (always with a fractional part: `1.0`) and in
/// scientific notation with a signed two-digit exponent otherwise (`1e-05`, `2.5e+16`).
pub(crate) fn python_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` also gives the shortest round-trip digits: `-1.234e-5`.
    let scientific = format!("{v:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("LowerExp has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let body = if (-4..16).contains(&exponent) {
        if exponent < 0 {
            format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
        } else if exponent + 1 >= n {
            format!("{digits}{}.0", "0".repeat((exponent + 1 - n) as usize))
        } else {
            let point = (exponent + 1) as usize;
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    } else {
        let m = if n == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let e_sign = if exponent < 0 { '-' } else { '+' };
        format!("{m}e{e_sign}{:02}", exponent.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_json_round_trips_and_reads_keras_dumps() {
        let mut h = History::default();
        h.push(
            0,
            &Logs(vec![("loss".into(), 1.5), ("val_loss".into(), 2.0)]),
        );
        h.push(
            1,
            &Logs(vec![("loss".into(), 0.5), ("val_loss".into(), 1.0)]),
        );
        assert_eq!(History::from_json(&h.to_json()).unwrap(), h);
        // json.dump(model.fit(...).history, f): no "epoch" key.
        let keras = serde_json::json!({"loss": [1.5, 0.5], "val_loss": [2.0, 1.0]});
        assert_eq!(History::from_json(&keras).unwrap(), h);
        let bad = serde_json::json!({"loss": "high"});
        assert!(History::from_json(&bad).unwrap_err().contains("\"loss\""));
        assert!(History::from_json(&serde_json::json!({})).is_err());
    }

    #[test]
    fn floats_print_as_python_repr() {
        // repr() of each value in CPython 3.11.
        for (v, python) in [
            (0.4000000059604645, "0.4000000059604645"),
            (1.1227900981903076, "1.1227900981903076"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (123.0, "123.0"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (-3.25e-7, "-3.25e-07"),
            (1e16, "1e+16"),
            (2.5e16, "2.5e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e300, "1e+300"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0, "0.0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(python_float(v), python, "{v:e}");
        }
    }

    #[test]
    fn csv_rows_quote_like_python() {
        assert_eq!(csv_row(["epoch", "loss"], ','), "epoch,loss\r\n");
        assert_eq!(
            csv_row(["a,b", "say \"hi\"", "x"], ','),
            "\"a,b\",\"say \"\"hi\"\"\",x\r\n"
        );
        assert_eq!(csv_row(["a,b", "c"], ';'), "a,b;c\r\n");
    }
}
