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

    /// One row per epoch, Keras' CSVLogger layout: `epoch,<keys sorted>`.
    pub fn to_csv(&self) -> String {
        let keys: Vec<&String> = self.history.keys().collect();
        let mut out = String::from("epoch");
        for k in &keys {
            out.push(',');
            out.push_str(k);
        }
        out.push('\n');
        for (row, epoch) in self.epoch.iter().enumerate() {
            out.push_str(&epoch.to_string());
            for k in &keys {
                out.push(',');
                if let Some(v) = self.history[*k].get(row) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
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
}
