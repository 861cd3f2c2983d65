//! `CSVLogger`: one row per epoch in a CSV file, as Keras' `CSVLogger` writes it.

use std::path::PathBuf;

use super::Callback;
use crate::error::TrainError;
use crate::logs::{Logs, csv_row, python_float};
use crate::state::TrainState;

/// Keras' `CSVLogger(filename, separator=",", append=False)`: after every epoch, a row
/// `epoch,<metrics...>`; the file is rewritten atomically each time, so it is always complete.
///
/// The file is Keras': the columns are the first epoch's log keys, sorted (with `val_` copies,
/// `NA` in every row, when there is no validation data), values as Python prints floats, lines
/// ending `\r\n`. Without `append` the file starts afresh each `fit` (the rows of epochs a
/// `BackupAndRestore` brought back come first, so a resumed run's file is complete); with it,
/// what the file held before `fit` is kept and this run's rows follow it, under a header only
/// when the file was empty (Keras' rule).
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    /// Append mode: the file's content when training began.
    prefix: String,
    /// The columns after `epoch`, fixed at the first epoch of a run.
    keys: Option<Vec<String>>,
    /// This run's rows (append mode).
    rows: Vec<String>,
}

impl CsvLogger {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            separator: ',',
            append: false,
            prefix: String::new(),
            keys: None,
            rows: vec![],
        }
    }

    /// The field separator (Keras' `separator`, default `,`).
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }

    /// Keep the file's rows and add this run's after them (Keras' `append=True`).
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    fn row(&self, epoch: usize, logs: &Logs) -> String {
        let keys = self.keys.as_deref().unwrap_or_default();
        let values = keys
            .iter()
            .map(|k| logs.get(k).map_or_else(|| "NA".into(), python_float));
        csv_row(
            std::iter::once(epoch.to_string()).chain(values),
            self.separator,
        )
    }

    fn write(&self, text: &str) -> Result<(), TrainError> {
        crate::fsutil::write_atomic(&self.path, text.as_bytes())
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _state: &mut TrainState) -> Result<(), TrainError> {
        self.keys = None;
        self.rows.clear();
        self.prefix = String::new();
        if self.append {
            match std::fs::read_to_string(&self.path) {
                Ok(text) => self.prefix = text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(TrainError::file(&self.path, e)),
            }
            Ok(())
        } else {
            // Keras opens the file for writing here: a run that fails before its first epoch
            // ends leaves an empty log, not the previous run's.
            self.write("")
        }
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        if self.keys.is_none() {
            let mut keys: Vec<String> = logs.0.iter().map(|(k, _)| k.clone()).collect();
            keys.sort();
            if !keys.is_empty() && !keys.iter().any(|k| k.starts_with("val_")) {
                let val: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
                keys.extend(val);
            }
            self.keys = Some(keys);
        }
        // Keras writes the header unless it appends to a file whose first line is not empty.
        let header = !self.append || self.prefix.lines().next().is_none_or(str::is_empty);
        let mut text = self.prefix.clone();
        if header {
            let keys = self.keys.as_deref().unwrap_or_default();
            text.push_str(&csv_row(
                std::iter::once("epoch").chain(keys.iter().map(String::as_str)),
                self.separator,
            ));
        }
        if self.append {
            self.rows.push(self.row(epoch, logs));
            text.extend(self.rows.iter().map(String::as_str));
        } else {
            // The epochs before this one, restored ones included (the epoch's own logs go into
            // the history after the callbacks).
            for (i, &e) in state.history.epoch.iter().enumerate() {
                let past = Logs(
                    state
                        .history
                        .history
                        .iter()
                        .filter_map(|(k, v)| v.get(i).map(|v| (k.clone(), *v)))
                        .collect(),
                );
                text.push_str(&self.row(e, &past));
            }
            text.push_str(&self.row(epoch, logs));
        }
        self.write(&text)
    }
}
