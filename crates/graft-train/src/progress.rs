//! Keras' progress display: `Epoch 3/10` then `16/16 ━━━━━━━━━━ 2s 98ms/step - loss: ...`,
//! one line per epoch when stderr is not a terminal, nothing when quiet.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::logs::Logs;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// A bar on a terminal, one line per epoch otherwise (Keras' `verbose="auto"`).
    #[default]
    Auto,
    /// One line per epoch (`verbose=2`).
    PerEpoch,
    /// Nothing (`verbose=0`).
    Quiet,
}

pub(crate) struct EpochProgress {
    bar: Option<ProgressBar>,
    line: bool,
    started: Instant,
    steps: usize,
    header: String,
}

impl EpochProgress {
    pub fn new(verbosity: Verbosity, epoch: usize, epochs: usize, steps: usize) -> Self {
        let header = format!("Epoch {}/{epochs}", epoch + 1);
        let terminal = std::io::stderr().is_terminal();
        let (bar, line) = match verbosity {
            Verbosity::Quiet => (None, false),
            Verbosity::PerEpoch => (None, true),
            Verbosity::Auto if terminal => {
                eprintln!("{header}");
                let bar = ProgressBar::new(steps as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{pos}/{len} {bar:20.green/dim} {elapsed} {per_step}{msg}",
                    )
                    .expect("valid template")
                    .with_key(
                        "per_step",
                        |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let per = s.elapsed().as_millis() as f64 / s.pos().max(1) as f64;
                            let _ = write!(w, "{per:.0}ms/step");
                        },
                    )
                    .progress_chars("━━─"),
                );
                (Some(bar), false)
            }
            Verbosity::Auto => (None, true),
        };
        Self {
            bar,
            line,
            started: Instant::now(),
            steps,
            header,
        }
    }

    pub fn batch(&self, step: usize, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.set_position((step + 1) as u64);
            bar.set_message(logs.render());
        }
    }

    pub fn finish(&self, logs: &Logs) {
        let elapsed = self.started.elapsed();
        if let Some(bar) = &self.bar {
            bar.set_message(logs.render());
            bar.finish();
        }
        if self.line {
            eprintln!(
                "{} - {}/{} - {} {}{}",
                self.header,
                self.steps,
                self.steps,
                human(elapsed),
                per_step(elapsed, self.steps),
                logs.render()
            );
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.0}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

fn per_step(d: Duration, steps: usize) -> String {
    format!("{:.0}ms/step", d.as_millis() as f64 / steps.max(1) as f64)
}
