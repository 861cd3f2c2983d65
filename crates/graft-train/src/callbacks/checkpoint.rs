//! `ModelCheckpoint`: save the model (or its weights) after epochs, optionally only on
//! improvement, to paths from a Keras-style template such as `ckpt-{epoch:02d}-{val_loss:.2f}.keras`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use graft_ir::Graph;

use super::Callback;
use super::monitor::{Mode, Monitor};
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// Writes a model file: `(graph, path, weights_only)`. The facade provides one that dispatches
/// on the extension (`.keras`, `.h5`, `.onnx`); without one, only burn records (`.bpk`) are
/// written. Its error message is shown as it is, so it names the file (the facade's errors do).
pub type ModelSaver = Arc<dyn Fn(&Graph, &Path, bool) -> Result<(), String> + Send + Sync>;

/// Saves after every epoch, or only when `monitor` improves (`save_best_only`).
pub struct ModelCheckpoint {
    template: String,
    key: String,
    mode: Mode,
    save_best_only: bool,
    save_weights_only: bool,
    saver: Option<ModelSaver>,
    monitor: Monitor,
    best: Option<f64>,
    /// Every file written, in order.
    pub saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Keras' defaults: `monitor="val_loss"`, every epoch.
    pub fn new(template: impl Into<String>) -> Self {
        Self {
            template: template.into(),
            key: "val_loss".into(),
            mode: Mode::Auto,
            save_best_only: false,
            save_weights_only: false,
            saver: None,
            monitor: Monitor::new("val_loss", Mode::Auto, 0.0),
            best: None,
            saved: vec![],
        }
    }

    pub fn monitor(mut self, key: &str) -> Self {
        self.key = key.to_string();
        self
    }
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }
    pub fn save_weights_only(mut self, yes: bool) -> Self {
        self.save_weights_only = yes;
        self
    }
    /// How to write `.keras`, `.h5` and `.onnx` files.
    pub fn saver(mut self, saver: ModelSaver) -> Self {
        self.saver = Some(saver);
        self
    }

    fn save(&mut self, path: &Path, state: &TrainState) -> Result<(), TrainError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| TrainError::file(dir, e))?;
        }
        if path.extension().is_some_and(|e| e == "bpk") {
            state.save_weights_record(path)?;
        } else {
            let saver = self.saver.as_ref().ok_or_else(|| {
                TrainError::file(
                    path,
                    "checkpoints other than burn records (.bpk) need a model saver: build the callback with \
                     `graft::model_checkpoint(...)` or give it `.saver(graft::checkpoint_saver())`",
                )
            })?;
            // The saver's message names the file already: prefixing the path would say it twice.
            saver(&state.to_graph(), path, self.save_weights_only).map_err(TrainError::Config)?;
        }
        self.saved.push(path.to_path_buf());
        Ok(())
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _state: &mut TrainState) -> Result<(), TrainError> {
        self.monitor = Monitor::new(&self.key, self.mode, 0.0);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        if self.save_best_only {
            let Some(current) = logs.get(&self.key) else {
                return Ok(());
            };
            if !self.monitor.is_improvement(current, self.best) {
                return Ok(());
            }
            self.best = Some(current);
        }
        let path = PathBuf::from(fill_template(&self.template, epoch + 1, logs)?);
        self.save(&path, state)
    }
}

/// Python-style `{name:spec}` fields: `epoch` (1-based, as Keras numbers them in file names) and
/// any log key; specs `d`/`0Nd` for integers, `.Nf`/`.Ne` for floats.
pub fn fill_template(template: &str, epoch: usize, logs: &Logs) -> Result<String, TrainError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
            TrainError::Config(format!("unclosed '{{' in checkpoint path '{template}'"))
        })?;
        let field = &rest[open + 1..close];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let value =
            if name == "epoch" {
                epoch as f64
            } else {
                logs.get(name).ok_or_else(|| {
                TrainError::Config(format!(
                    "checkpoint path '{template}' uses '{name}', which the logs do not have ({})",
                    logs.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?
            };
        out.push_str(&format_spec(value, spec, template)?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn format_spec(value: f64, spec: &str, template: &str) -> Result<String, TrainError> {
    let bad = || TrainError::Config(format!("unsupported format '{spec}' in '{template}'"));
    if spec.is_empty() {
        return Ok(if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{}", value as i64)
        } else {
            format!("{value}")
        });
    }
    if let Some(digits) = spec.strip_suffix('d') {
        let zero = digits.starts_with('0');
        let width: usize = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad())?
        };
        let v = value as i64;
        return Ok(if zero {
            format!("{v:0width$}")
        } else {
            format!("{v:width$}")
        });
    }
    if let Some(p) = spec.strip_prefix('.') {
        let (digits, kind) = p.split_at(p.len().saturating_sub(1));
        let precision: usize = digits.parse().map_err(|_| bad())?;
        return match kind {
            "f" => Ok(format!("{value:.precision$}")),
            "e" => Ok(format!("{value:.precision$e}")),
            _ => Err(bad()),
        };
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_templates() {
        let mut logs = Logs::default();
        logs.set("val_loss", 0.123456);
        assert_eq!(
            fill_template("ckpt-{epoch:02d}-{val_loss:.2f}.keras", 3, &logs).unwrap(),
            "ckpt-03-0.12.keras"
        );
        assert_eq!(fill_template("m{epoch}.bpk", 12, &logs).unwrap(), "m12.bpk");
        assert!(fill_template("{nope:.2f}", 1, &logs).is_err());
        assert!(fill_template("{epoch", 1, &logs).is_err());
    }
}
