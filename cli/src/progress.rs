//! Progress bars for the long commands (import, export, migrate, verify,
//! stat, repair): on stderr, only when stderr is a terminal and the output
//! is not `--json`, so scripts and pipes never see them. Cleared when done.

use std::io::IsTerminal as _;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar, or nothing when quiet.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar counting `unit`s (`files`, `logs`, `threads`); none when `quiet`
    /// or stderr is not a terminal.
    pub(crate) fn new(unit: &str, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} {{msg}}");
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress { bar }
    }

    /// Sets the total.
    pub(crate) fn set_len(&self, len: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(len as u64);
        }
    }

    /// One more done, now working on `what`.
    pub(crate) fn step(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_owned());
            bar.inc(1);
        }
    }

    /// The callback spool-compat's bulk operations take.
    pub(crate) fn callback(&self) -> Option<spool_compat::ProgressFn> {
        self.bar.clone().map(|bar| {
            Arc::new(move |p: spool_compat::ImportProgress| {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
            }) as spool_compat::ProgressFn
        })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
