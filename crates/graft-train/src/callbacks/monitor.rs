//! The "is this value better?" rule Keras' monitoring callbacks share (MonitorCallback).

/// Whether the monitored value should go down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Down for losses, up for accuracy, AUC, precision and recall (Keras' `"auto"`).
    #[default]
    Auto,
    Min,
    Max,
}

/// A monitored log key with its direction and minimum improvement.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub key: String,
    maximize: bool,
    min_delta: f64,
}

impl Monitor {
    pub fn new(key: &str, mode: Mode, min_delta: f64) -> Self {
        let name = key.strip_prefix("val_").unwrap_or(key);
        let maximize = match mode {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => ["accuracy", "auc", "precision", "recall"].iter().any(|m| {
                name == *m || name.ends_with(&format!("_{m}")) || name.ends_with("accuracy")
            }),
        };
        Self {
            key: key.to_string(),
            maximize,
            min_delta: min_delta.abs(),
        }
    }

    /// Keras' `_is_improvement`: better than `reference` by more than `min_delta`.
    pub fn is_improvement(&self, value: f64, reference: Option<f64>) -> bool {
        match reference {
            None => true,
            Some(r) if self.maximize => value - self.min_delta > r,
            Some(r) => value + self.min_delta < r,
        }
    }
}
