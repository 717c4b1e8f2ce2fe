//! Progress on stderr: bars only when stderr is a terminal and the user did not ask for quiet,
//! plain one-line stage messages otherwise (never on stdout, which belongs to results).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How chatty the run is.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    quiet: bool,
    bars: bool,
}

impl Progress {
    /// Bars when stderr is a terminal; nothing at all when `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self { quiet, bars: !quiet && std::io::stderr().is_terminal() }
    }

    /// A progress bar over `len` items (hidden unless stderr is a terminal).
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.bars {
            return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        bar
    }

    /// A one-line message on stderr, unless quiet.
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("harmonomics: {}", message.as_ref());
        }
    }
}
