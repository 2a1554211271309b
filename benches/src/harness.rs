//! What every criterion bench of a file backend shares: where files go,
//! the runtime spool runs on, and the timing loop that keeps setup and
//! close out of the measurement.

use std::time::{Duration, Instant};

use bytes::Bytes;

/// A private directory under `BENCH_DIR` (default: the system temp dir).
///
/// # Panics
///
/// If it cannot be created: a bench cannot run without it.
#[must_use]
pub fn bench_dir() -> tempfile::TempDir {
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    };
    dir.unwrap_or_else(|e| panic!("cannot create a bench directory: {e}"))
}

/// The runtime spool runs on: two workers, or one thread with
/// `SPOOL_BENCH_CURRENT_THREAD=1`.
///
/// # Panics
///
/// If the runtime cannot start.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    let mut builder = if std::env::var_os("SPOOL_BENCH_CURRENT_THREAD").is_some() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    builder
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a runtime: {e}"))
}

/// Times `run` over `iters` fresh states from `setup`, and `finish`es each
/// one untimed before the next starts. A spool log's close fsyncs what it
/// wrote; left to a background drop it would overlap (and slow) the next
/// timed iteration, which is not what an append costs.
pub fn fresh_timed<S>(
    iters: u64,
    setup: impl Fn() -> S,
    run: impl Fn(&mut S),
    finish: impl Fn(S),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut state = setup();
        let started = Instant::now();
        run(&mut state);
        total += started.elapsed();
        finish(state);
    }
    total
}

/// The payloads in batches of `size`, built untimed: handing a log owned
/// `Bytes` is the caller's part, not the append's.
#[must_use]
pub fn batches(payloads: &[Bytes], size: usize) -> Vec<Vec<Bytes>> {
    payloads.chunks(size).map(<[Bytes]>::to_vec).collect()
}

/// p50, p99 and p99.9 of `times` (sorted in place; not empty).
pub fn percentiles(times: &mut [Duration]) -> [Duration; 3] {
    times.sort_unstable();
    let at = |per_mille: usize| times[(times.len() - 1) * per_mille / 1000];
    [at(500), at(990), at(999)]
}

/// What the baselines share: buffered appends, a flush to the OS, an
/// fdatasync.
pub trait Baseline {
    /// Buffers one record.
    fn append(&mut self, payload: &[u8]) -> std::io::Result<()>;
    /// Hands buffered bytes to the OS.
    fn flush(&mut self) -> std::io::Result<()>;
    /// Flushes and makes durable.
    fn sync(&mut self) -> std::io::Result<()>;
}

/// How each batch of a baseline ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchEnd {
    /// A flush (what spool's `Buffered` promises).
    Flush,
    /// An fdatasync (what spool's `Data` promises).
    Sync,
}

/// Appends `payloads` to `log` in batches of `batch`, ending each batch as
/// `end` says.
///
/// # Panics
///
/// If the baseline's I/O fails: a bench cannot go on without its limit.
pub fn write_batches<B: Baseline>(log: &mut B, payloads: &[Bytes], batch: usize, end: BatchEnd) {
    try_write_batches(log, payloads, batch, end)
        .unwrap_or_else(|e| panic!("baseline {end:?}: {e}"));
}

/// [`write_batches`], returning the first I/O error.
pub fn try_write_batches<B: Baseline + ?Sized>(
    log: &mut B,
    payloads: &[Bytes],
    batch: usize,
    end: BatchEnd,
) -> std::io::Result<()> {
    for chunk in payloads.chunks(batch) {
        for p in chunk {
            log.append(p)?;
        }
        match end {
            BatchEnd::Flush => log.flush(),
            BatchEnd::Sync => log.sync(),
        }?;
    }
    Ok(())
}
