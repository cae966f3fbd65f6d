//! Progress bars for long work (features, epochs), drawn with indicatif, optionally kept in a
//! log file too (a run's `train.log`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use raga_train::{EpochMetrics, Progress};

/// Draws one bar per phase and a line per epoch on stderr.
#[derive(Debug, Default)]
pub struct Bars {
    bar: Option<ProgressBar>,
    log: Option<std::fs::File>,
}

impl Bars {
    /// Bars that also write every phase, epoch line and note to `path` (created or truncated).
    pub fn logging_to(path: &Path) -> Result<Self> {
        let file =
            std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(Self { bar: None, log: Some(file) })
    }

    /// Appends a line to the log file, if any (a full disk only costs the log).
    pub fn log(&mut self, line: &str) {
        if let Some(file) = &mut self.log {
            let _ = writeln!(file, "{line}");
        }
    }
}

impl Progress for Bars {
    fn start(&mut self, phase: &str, total: u64) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let style =
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} {elapsed} (eta {eta}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bar = ProgressBar::new(total).with_style(style).with_prefix(phase.to_string());
        self.bar = Some(bar);
        self.log(&format!("{phase}: {total} steps"));
    }

    fn advance(&mut self, n: u64, message: &str) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
            if !message.is_empty() {
                bar.set_message(message.to_string());
            }
        }
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        let line = format!(
            "epoch {:>3}  train loss {:.3} acc {:.3} | val loss {:.3} acc {:.3} f1 {:.3} | {:.1}s{}",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            m.val_loss,
            m.val_accuracy,
            m.val_macro_f1,
            m.epoch_seconds,
            if m.best { "  *best" } else { "" }
        );
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("{line}");
        self.log(&line);
    }

    fn note(&mut self, text: &str) {
        self.log(&format!("note: {text}"));
        match &self.bar {
            // A hidden bar (stderr is not a terminal) would swallow the line.
            Some(bar) if !bar.is_hidden() => bar.println(format!("note: {text}")),
            _ => eprintln!("note: {text}"),
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
