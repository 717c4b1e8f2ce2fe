//! Progress on stderr (never on stdout, which belongs to results), in one of three modes:
//! - a terminal: indicatif bars;
//! - a log (SLURM, a workflow manager, a pipe): one line when each stage starts and ends, with
//!   its counts and elapsed time, and a heartbeat at least every 30 s inside a stage, carrying
//!   the item count of its bar when it has one (`quantify: 412/858 done, 60 s`);
//! - `--quiet`: nothing.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether this process writes log lines (set once by [`Progress::new`]).
static LOG_LINES: AtomicBool = AtomicBool::new(false);

/// What the running stage's bar has counted, for the heartbeat: (what, done, of).
static CURRENT: Mutex<Option<(String, u64, u64)>> = Mutex::new(None);

/// How chatty the run is.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    quiet: bool,
    bars: bool,
}

impl Progress {
    /// Bars when stderr is a terminal, log lines when it is not, nothing at all when `quiet`.
    pub fn new(quiet: bool) -> Self {
        let bars = !quiet && std::io::stderr().is_terminal();
        LOG_LINES.store(!quiet && !bars, Ordering::Relaxed);
        Self { quiet, bars }
    }

    /// A counter over `len` items: a bar on a terminal; in a log, what the heartbeat reports.
    pub fn bar(&self, len: u64, what: &str) -> Bar {
        if !self.bars {
            if LOG_LINES.load(Ordering::Relaxed)
                && let Ok(mut current) = CURRENT.lock()
            {
                *current = Some((what.to_string(), 0, len));
            }
            return Bar { bar: ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden()), logged: true };
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        Bar { bar, logged: false }
    }

    /// A one-line message on stderr, unless quiet.
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("harmonomics: {}", message.as_ref());
        }
    }
}

/// A counter of finished items (samples, files) inside a stage.
pub struct Bar {
    bar: ProgressBar,
    /// Whether the heartbeat reports the count (no bar is drawn).
    logged: bool,
}

impl Bar {
    /// One more item done (callable from any worker thread).
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        if self.logged
            && LOG_LINES.load(Ordering::Relaxed)
            && let Ok(mut current) = CURRENT.lock()
            && let Some((_, done, _)) = current.as_mut()
        {
            *done += n;
        }
    }

    /// Removes the bar (and the heartbeat's count).
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
        if self.logged
            && let Ok(mut current) = CURRENT.lock()
        {
            *current = None;
        }
    }
}

/// Whether stage lines go to stderr.
pub(crate) fn logging() -> bool {
    LOG_LINES.load(Ordering::Relaxed)
}

/// The heartbeat interval: 30 s, or `HARMONOMICS_HEARTBEAT_SECONDS` (for tests and impatient
/// operators).
pub(crate) fn heartbeat_interval() -> Duration {
    let seconds = std::env::var("HARMONOMICS_HEARTBEAT_SECONDS").ok().and_then(|s| s.parse::<f64>().ok());
    Duration::from_secs_f64(seconds.filter(|s| *s > 0.0).unwrap_or(30.0))
}

/// The heartbeat line of stage `name`, `elapsed` seconds in.
pub(crate) fn heartbeat(name: &str, elapsed: f64) {
    let count = CURRENT.lock().ok().and_then(|c| c.as_ref().map(|(_, done, of)| format!("{done}/{of} done, ")));
    eprintln!("harmonomics: {name}: {}{elapsed:.0} s", count.unwrap_or_default());
}
