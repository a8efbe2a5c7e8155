//! The gateway's background tasks, owned in one place: the pollers, the fan-out sweeper, the
//! reload watchers, the OTLP exporter, and one-shot jobs that must finish (an event's insert,
//! a served model's write, a limits re-seed). [`crate::Running::shutdown`] signals them once
//! the calls and their records are done, and awaits them all, bounded: a task still running
//! at the bound is aborted and logged by name.
//!
//! Owned elsewhere: the accept loop and the connection tasks (the server, which ends them
//! first), the record writer and its journal ([`crate::record::RecordWriter`], which drains
//! them before the signal), and Redis settles (fire-and-forget per call: an unsettled
//! reservation expires with its window).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The owner; clones share the tasks and the signal.
#[derive(Clone)]
pub struct Tasks {
    inner: Arc<Inner>,
}

struct Inner {
    stop: watch::Sender<bool>,
    running: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

/// A task's view of the shutdown signal.
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once the gateway is stopping (or its owner is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    /// Whether the gateway is stopping (or its owner is gone), without waiting: for a loop
    /// between two steps of a long piece of work.
    pub fn stopping(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}

/// What a shutdown ended, by task name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Tasks that ended within the bound.
    pub stopped: Vec<&'static str>,
    /// Tasks still running at the bound, aborted.
    pub aborted: Vec<&'static str>,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks::new()
    }
}

impl Tasks {
    pub fn new() -> Tasks {
        Tasks {
            inner: Arc::new(Inner {
                stop: watch::Sender::new(false),
                running: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Starts a long-lived loop; it must return soon after `Stop::wait` resolves (select on
    /// it wherever the loop waits).
    pub fn spawn<F, Fut>(&self, name: &'static str, task: F)
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = Stop(self.inner.stop.subscribe());
        self.track(name, tokio::spawn(task(stop)));
    }

    /// Starts a one-shot job that must finish: not signalled, awaited at shutdown (bounded).
    pub fn job(&self, name: &'static str, job: impl Future<Output = ()> + Send + 'static) {
        self.track(name, tokio::spawn(job));
    }

    fn track(&self, name: &'static str, handle: JoinHandle<()>) {
        let mut running = self.running();
        // Jobs come and go: what has ended is forgotten here, so the list stays short.
        running.retain(|(_, h)| !h.is_finished());
        running.push((name, handle));
    }

    fn running(&self) -> MutexGuard<'_, Vec<(&'static str, JoinHandle<()>)>> {
        match self.inner.running.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Signals every task, then awaits them until `within` has passed; what is still running
    /// then is aborted and logged. Jobs started meanwhile (a loop's last event) are awaited too.
    pub async fn shutdown(&self, within: Duration) -> Stopped {
        self.inner.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Stopped::default();
        loop {
            let batch = std::mem::take(&mut *self.running());
            if batch.is_empty() {
                return out;
            }
            for (name, mut handle) in batch {
                // A task that has ended counts as stopped even past the deadline: the timeout
                // polls it first.
                match tokio::time::timeout_at(deadline, &mut handle).await {
                    Ok(Ok(())) => out.stopped.push(name),
                    Ok(Err(e)) => {
                        tracing::error!(task = name, error = %e, "a background task failed before shutdown");
                        out.stopped.push(name);
                    }
                    Err(_) => {
                        handle.abort();
                        tracing::warn!(
                            task = name,
                            within_secs = within.as_secs(),
                            "a background task did not stop within the shutdown bound; aborted it"
                        );
                        out.aborted.push(name);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_loop_stops_on_the_signal_and_a_stuck_task_is_aborted_by_name() {
        let tasks = Tasks::new();
        let ticks = Arc::new(AtomicU64::new(0));
        let counted = ticks.clone();
        tasks.spawn("poller", move |mut stop| async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => counted.fetch_add(1, Ordering::SeqCst),
                    _ = stop.wait() => return,
                };
            }
        });
        tasks.spawn("stuck", |_stop| std::future::pending());
        tasks.job("job", async {
            tokio::time::sleep(Duration::from_millis(500)).await;
        });
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), 4, "ticks at 0, 1, 2 and 3 s");
        let stopped = tasks.shutdown(Duration::from_secs(5)).await;
        assert_eq!(stopped.stopped, vec!["poller", "job"]);
        assert_eq!(stopped.aborted, vec!["stuck"]);
        let after = ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), after, "the poller is gone");
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_is_awaited_and_one_started_during_shutdown_too() {
        let tasks = Tasks::new();
        let done = Arc::new(AtomicU64::new(0));
        let (d, t) = (done.clone(), tasks.clone());
        tasks.spawn("loop", move |mut stop| async move {
            stop.wait().await;
            // A last event, written on the way out.
            t.job("last event", async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                d.fetch_add(1, Ordering::SeqCst);
            });
        });
        let stopped = tasks.shutdown(Duration::from_secs(5)).await;
        assert_eq!(stopped.stopped, vec!["loop", "last event"]);
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_started_after_shutdown_ends_at_once() {
        let tasks = Tasks::new();
        tasks.shutdown(Duration::from_secs(1)).await;
        let (tx, rx) = tokio::sync::oneshot::channel();
        tasks.spawn("late", |mut stop| async move {
            stop.wait().await;
            let _ = tx.send(());
        });
        assert!(rx.await.is_ok());
    }
}
