//! How an urgent record batch shares the core with the gateway's event loop.
//!
//! A thread at normal priority that writes for a millisecond keeps the event loop off its core
//! for that long: the kernels servers run (`PREEMPT_NONE`, 250 Hz) switch between two busy
//! threads only at a tick, every 4 ms, and under EEVDF `sched_yield` hands the CPU straight
//! back. So an urgent batch sleeps briefly after every [`WORK`] of work, and the event loop
//! runs meanwhile (measured in bench/results/2026-12-06-tail.md: JSON p99 at 16 connections
//! 2.05 ms unpaced, 1.22 ms paced, same run).

use std::time::{Duration, Instant};

/// Work between two pauses: a few multi-row INSERTs.
const WORK: Duration = Duration::from_micros(200);
/// One pause: twice the work before it, so a saturated event loop keeps two thirds of the
/// core while records are behind. The writer then still writes ~3x what one core of gateway
/// calls produce (~4 µs of writing a call against ~28 µs of serving it).
const PAUSE: Duration = Duration::from_micros(400);

pub(super) enum Pace {
    /// The idle-priority writer: any thread that wakes preempts it.
    Free,
    /// An urgent batch on tokio's blocking pool, at normal priority.
    Shared { since: Instant },
}

impl Pace {
    pub(super) fn shared() -> Pace {
        #[cfg(target_os = "linux")]
        {
            // The default timer slack (50 µs) would stretch each pause by up to that much.
            // SAFETY: prctl on the calling thread with an integer argument.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
        }
        Pace::Shared {
            since: Instant::now(),
        }
    }

    /// Called between steps of a write: pauses once [`WORK`] has passed since the last pause.
    pub(super) fn step(&mut self) {
        if let Pace::Shared { since } = self
            && since.elapsed() >= WORK
        {
            std::thread::sleep(PAUSE);
            *since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Busy work for `total`, stepping the pace as a write does between statements.
    fn busy(pace: &mut Pace, total: Duration) -> Duration {
        let start = Instant::now();
        let mut worked = Duration::ZERO;
        while worked < total {
            let t = Instant::now();
            while t.elapsed() < Duration::from_micros(20) {
                std::hint::spin_loop();
            }
            worked += t.elapsed();
            pace.step();
        }
        start.elapsed()
    }

    #[test]
    fn an_urgent_write_leaves_the_core_for_twice_its_work() {
        let took = busy(&mut Pace::shared(), Duration::from_millis(4));
        // 4 ms of work is up to 20 steps of WORK, each followed by a PAUSE; fewer if the
        // thread was preempted mid-step, but never none.
        assert!(
            took >= Duration::from_millis(4) + PAUSE * 5,
            "took {took:?}"
        );
    }

    #[test]
    fn the_idle_writer_never_pauses() {
        let took = busy(&mut Pace::Free, Duration::from_millis(4));
        assert!(took < Duration::from_millis(4) + PAUSE * 5, "took {took:?}");
    }
}
