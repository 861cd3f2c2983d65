//! User feedback on stderr: one-line messages and an indicatif progress bar.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints messages and makes progress bars, or stays silent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reporter {
    quiet: bool,
}

impl Reporter {
    pub(crate) fn new(quiet: bool) -> Reporter {
        Reporter { quiet }
    }

    /// A one-line note on stderr (like Keras' "Downloading data from ..."), unless quiet.
    pub(crate) fn message(&self, text: &str) {
        if !self.quiet {
            eprintln!("graft: {text}");
        }
    }

    /// A byte progress bar (bytes, rate, ETA) on stderr, starting at `position` of `total`.
    /// Hidden when quiet or when stderr is not a terminal.
    pub(crate) fn bar(&self, file_name: &str, total: Option<u64>, position: u64) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                if let Ok(style) =
                    ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}")
                {
                    bar.set_style(style);
                }
                bar
            }
        };
        bar.set_message(file_name.to_string());
        bar.set_position(position);
        bar.reset_eta();
        bar
    }
}
