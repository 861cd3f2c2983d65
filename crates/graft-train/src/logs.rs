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
