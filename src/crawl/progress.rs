//! Progress on stderr: a bar when stderr is a terminal, one plain line per account otherwise
//! (CI logs), nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::snapshot::Bucket;

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    accounts_total: AtomicU64,
    accounts_done: AtomicU64,
    buckets_total: AtomicU64,
    buckets_done: AtomicU64,
    errors: AtomicU64,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            plain: !quiet && !terminal,
            accounts_total: AtomicU64::new(0),
            accounts_done: AtomicU64::new(0),
            buckets_total: AtomicU64::new(0),
            buckets_done: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    pub fn set_accounts(&self, total: u64) {
        self.accounts_total.store(total, Ordering::Relaxed);
        self.redraw();
    }

    pub fn add_buckets(&self, count: u64) {
        self.buckets_total.fetch_add(count, Ordering::Relaxed);
        self.redraw();
    }

    pub fn bucket_done(&self, bucket: &Bucket) {
        self.buckets_done.fetch_add(1, Ordering::Relaxed);
        let failed = bucket
            .sections()
            .iter()
            .filter(|(_, s)| s.failure().is_some())
            .count();
        self.errors.fetch_add(failed as u64, Ordering::Relaxed);
        self.redraw();
    }

    /// An account finished (or could not be entered: `problem`).
    pub fn account_done(&self, account_id: &str, buckets: usize, problem: Option<&str>) {
        let done = self.accounts_done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.accounts_total.load(Ordering::Relaxed);
        let line = match problem {
            Some(problem) => {
                format!("account {account_id} ({done}/{total}): not audited: {problem}")
            }
            None => format!("account {account_id} ({done}/{total}): {buckets} bucket(s) read"),
        };
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.plain => eprintln!("{line}"),
            None => {}
        }
        self.redraw();
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn redraw(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "accounts {}/{}  buckets {}/{}  unreadable sections {}",
                self.accounts_done.load(Ordering::Relaxed),
                self.accounts_total.load(Ordering::Relaxed),
                self.buckets_done.load(Ordering::Relaxed),
                self.buckets_total.load(Ordering::Relaxed),
                self.errors.load(Ordering::Relaxed),
            ));
        }
    }
}
