//! One line per resource with its action and elapsed time: indicatif spinners on a terminal,
//! plain lines otherwise (CI logs).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Where step progress goes (standard error).
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    quiet: bool,
}

/// The progress of one running step.
pub struct Step {
    bar: Option<ProgressBar>,
    label: String,
    started: Instant,
    quiet: bool,
}

impl Progress {
    /// Spinners if stderr is a terminal (and not `quiet`), else plain lines (none if `quiet`).
    pub fn new(quiet: bool) -> Self {
        let multi = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi, quiet }
    }

    /// A reporter that prints nothing.
    pub fn silent() -> Self {
        Self {
            multi: None,
            quiet: true,
        }
    }

    /// Announces a step, e.g. `("s3_bucket.lake", "creating")`.
    pub fn start(&self, address: &str, verb: &str) -> Step {
        let label = format!("{address}: {verb}");
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .expect("static template is valid"),
            );
            bar.set_message(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() && !self.quiet {
            eprintln!("{label}...");
        }
        Step {
            bar,
            label,
            started: Instant::now(),
            quiet: self.quiet,
        }
    }

    /// Prints a line without disturbing the spinners.
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }
}

impl Step {
    /// Ends the step with its outcome (`done` text or an error) and elapsed time.
    pub fn finish(self, outcome: Result<&str, &str>) -> Duration {
        let elapsed = self.started.elapsed();
        let line = match outcome {
            Ok(done) => format!(
                "{} -> {done} after {:.1}s",
                self.label,
                elapsed.as_secs_f64()
            ),
            Err(err) => format!(
                "{} -> FAILED after {:.1}s: {err}",
                self.label,
                elapsed.as_secs_f64()
            ),
        };
        match self.bar {
            Some(bar) => bar.finish_with_message(line),
            None if !self.quiet || outcome.is_err() => eprintln!("{line}"),
            None => {}
        }
        elapsed
    }
}
