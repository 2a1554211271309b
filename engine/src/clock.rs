//! The time seam: where timestamps and group-commit delays come from, so tests
//! can set the time and jump it (RELIABILITY.md R15) instead of sleeping.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// A source of wall-clock time and of delays.
#[async_trait]
pub trait Clock: Send + Sync + Debug + 'static {
    /// Milliseconds since the Unix epoch. May jump in either direction.
    fn now_ms(&self) -> i64;
    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The system clock, with tokio timers for delays (so `tokio::time::pause`
/// controls them in tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // Before 1970: negative milliseconds, saturating.
            Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        }
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock whose time is set by hand; delays still use tokio timers, so pair
/// it with `tokio::time::pause` for fully deterministic tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    /// A clock reading `now_ms`.
    #[must_use]
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock {
            now_ms: AtomicI64::new(now_ms),
        }
    }

    /// Sets the time (it may go backwards).
    pub fn set(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time by `delta_ms` (negative goes back), saturating.
    pub fn advance(&self, delta_ms: i64) {
        let _ = self
            .now_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(delta_ms))
            });
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_jumps_both_ways_and_saturates() {
        let c = ManualClock::new(1_000);
        c.advance(-3_600_000);
        assert_eq!(c.now_ms(), 1_000 - 3_600_000);
        c.set(i64::MAX - 1);
        c.advance(10);
        assert_eq!(c.now_ms(), i64::MAX);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
