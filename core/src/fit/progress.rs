//! Progress output for `fit`: an indicatif bar per epoch on a terminal, one line per epoch
//! otherwise, nothing when quiet.

use std::io::IsTerminal;

#[cfg(not(target_arch = "wasm32"))]
use indicatif::{ProgressBar, ProgressStyle};

/// On WebAssembly (no terminal, and indicatif needs a JavaScript host) a bar is never made:
/// [`Verbosity::Bar`] prints lines.
#[cfg(target_arch = "wasm32")]
struct ProgressBar;

#[cfg(target_arch = "wasm32")]
impl ProgressBar {
    fn set_message(&self, _: String) {}
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}

use super::history::EpochLogs;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
///
/// ```
/// use shapeflow_core::fit::{FitConfig, Verbosity};
/// let quiet = FitConfig { verbosity: Verbosity::Quiet, ..Default::default() };
/// assert_eq!(quiet.verbosity, Verbosity::Quiet);
/// ```
pub enum Verbosity {
    /// A progress bar when stdout is a terminal, else one line per epoch.
    #[default]
    Auto,
    /// A progress bar per epoch.
    Bar,
    /// One line per epoch.
    Lines,
    /// Nothing.
    Quiet,
}

pub(crate) struct Progress {
    mode: Verbosity,
    bar: Option<ProgressBar>,
    seen: usize,
    /// What the rate counts: `samples`, or `tokens` for sequences.
    unit: &'static str,
}

fn format_logs<'a>(logs: impl Iterator<Item = (&'a String, &'a f64)>) -> String {
    logs.filter(|(k, _)| k.as_str() != "time_s")
        .map(|(k, v)| if k == "lr" { format!("{k} {v:.2e}") } else { format!("{k} {v:.4}") })
        .collect::<Vec<_>>()
        .join(" | ")
}

impl Progress {
    pub(crate) fn new(mode: Verbosity) -> Self {
        let mode = match mode {
            Verbosity::Auto if std::io::stdout().is_terminal() => Verbosity::Bar,
            Verbosity::Auto => Verbosity::Lines,
            m => m,
        };
        Progress { mode, bar: None, seen: 0, unit: "samples" }
    }

    pub(crate) fn start_epoch(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.seen = 0;
        #[cfg(target_arch = "wasm32")]
        let _ = (epoch, epochs, batches);
        #[cfg(not(target_arch = "wasm32"))]
        if self.mode == Verbosity::Bar {
            let bar = ProgressBar::new(batches as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(format!("{epoch}/{epochs}"));
            self.bar = Some(bar);
        }
    }

    /// Reports tokens/s (the valid steps of sequence batches) instead of samples/s.
    pub(crate) fn count_tokens(&mut self) {
        self.unit = "tokens";
    }

    pub(crate) fn batch(&mut self, running: &[(String, f64)], samples: usize, secs: f64) {
        self.seen += samples;
        if let Some(bar) = &self.bar {
            let values = running.iter().map(|(k, v)| (k, v));
            bar.set_message(format!(
                "{} | {:.0} {}/s",
                format_logs(values),
                self.seen as f64 / secs.max(1e-9),
                self.unit
            ));
            bar.inc(1);
        }
    }

    pub(crate) fn end_epoch(&mut self, epoch: usize, epochs: usize, logs: &EpochLogs) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        if self.mode != Verbosity::Quiet {
            let secs = logs.get("time_s").copied().unwrap_or(0.0);
            println!("epoch {epoch}/{epochs} ({secs:.1} s): {}", format_logs(logs.iter()));
        }
    }
}
