//! The side-by-side harness (`cargo run --release -p spool-benches --bin
//! compare`): spool's backends, the peers a storage team would weigh them
//! against, and the raw limit, on one deterministic mixed workload, in one
//! process, interleaved so that machine drift hits every contender alike.
//!
//! Every contender implements [`Contender`]: create a log, append a phase's
//! records in batches (optionally durable per batch), open an existing log,
//! scan it, and read pages at given seqs. The runner ([`run_rep`]) times
//! each phase from outside (pages are timed inside, so an async contender
//! is not charged a runtime hand-off per page); [`report`] takes the medians
//! of the repetitions and prints the ratios to the raw limit.

// Rates and ratios of counts: f64 is what they are reported in.
#![expect(clippy::cast_precision_loss, reason = "counts become rates")]

pub mod commitlog;
pub mod files;
pub mod fjall;
pub mod report;
pub mod spool;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{BenchEvent, mixed_events};

/// What a contender's operations return.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The records of a phase: the events (for writers that serialize, as
/// Codex does) and the same events as JSON payloads (for the others).
/// Cheap to clone (shared), so an async contender can move them into a
/// task without copying.
#[derive(Clone)]
pub struct Records {
    /// The events.
    pub events: Arc<[BenchEvent]>,
    /// Each event as one JSON payload.
    pub payloads: Arc<[Bytes]>,
}

impl Records {
    /// `count` records of the mixed workload from `seed`.
    #[must_use]
    pub fn mixed(count: usize, seed: u64) -> Records {
        let events = mixed_events(count, seed);
        let payloads = events
            .iter()
            .map(|e| Bytes::from(serde_json::to_vec(e).unwrap_or_default()))
            .collect();
        Records {
            events: events.into(),
            payloads,
        }
    }

    /// Payload bytes in all.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.payloads.iter().map(|p| p.len() as u64).sum()
    }
}

/// A log implementation under test.
pub trait Contender {
    /// Its name in the table.
    fn name(&self) -> &'static str;
    /// Whether it keeps files (the in-memory log does not: no open, no bytes
    /// on disk).
    fn on_disk(&self) -> bool {
        true
    }
    /// Whether it can make appends durable (commitlog cannot: it never
    /// calls fsync).
    fn can_sync(&self) -> bool {
        true
    }
    /// Whether a page costs a read of the whole log (the Codex-style
    /// reader): the runner then times fewer pages.
    fn pages_read_everything(&self) -> bool {
        false
    }
    /// Creates an empty log in `dir` (an existing directory) and opens it.
    fn create(&mut self, dir: &Path) -> Result<()>;
    /// Appends `records` in batches of `batch`, each batch durable before
    /// the next when `sync`.
    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()>;
    /// Flushes and closes the open log.
    fn close(&mut self) -> Result<()>;
    /// Opens the existing log in `dir` (recovering it, if it needs that).
    fn open(&mut self, dir: &Path) -> Result<()>;
    /// Reads every record; returns how many and their payload bytes.
    fn scan(&mut self) -> Result<(u64, u64)>;
    /// Reads `len` records from each seq of `starts`; returns each page's
    /// time. Checks that every page has its `len` records.
    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>>;
    /// Appends `records` one by one from `WRITERS` concurrent writers, each
    /// record durable before its writer goes on; `None` where the contender
    /// has no concurrent writers of one log. The raw limit answers with
    /// what the target compares against: one writer, write + fdatasync per
    /// record.
    fn concurrent_durable(&mut self, _records: &Records) -> Option<Result<()>> {
        None
    }
}

/// Writers of the concurrent durable phase.
pub const WRITERS: usize = 16;

/// How much each phase does.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Records appended per no-fsync phase (each batch size).
    pub records: usize,
    /// Records appended per fsync phase, by batch size 1, 64, 1024.
    pub synced: [usize; 3],
    /// Records of the concurrent durable phase.
    pub concurrent: usize,
    /// Random pages read.
    pub pages: usize,
    /// Records per page.
    pub page_len: usize,
}

impl Plan {
    /// The full plan: 50,000 records (about 60 MB) per phase.
    #[must_use]
    pub fn full() -> Plan {
        Plan {
            records: 50_000,
            synced: [300, 64 * 60, 1024 * 10],
            concurrent: 1_600,
            pages: 10_000,
            page_len: 100,
        }
    }

    /// A tenth of it, for a look in a minute.
    #[must_use]
    pub fn quick() -> Plan {
        Plan {
            records: 5_000,
            synced: [50, 64 * 10, 1024 * 2],
            concurrent: 320,
            pages: 1_000,
            page_len: 100,
        }
    }
}

/// The batch sizes every append phase runs.
pub const BATCHES: [usize; 3] = [1, 64, 1024];

/// Times an open of a log a crashed process left in the directory.
pub type CrashOpen<'a> = &'a dyn Fn(&mut dyn Contender, &Path) -> Result<Duration>;

/// One repetition's numbers for one contender, by metric name (see
/// [`report::METRICS`]).
pub type Sample = Vec<(String, f64)>;

/// Runs every phase once for `contender` in a fresh directory under `root`;
/// `crash_open` times an open after a crash (a child process wrote the log
/// and exited without closing it) when the caller supplies one.
pub fn run_rep(
    contender: &mut dyn Contender,
    records: &Records,
    plan: &Plan,
    root: &Path,
    crash_open: Option<CrashOpen<'_>>,
) -> Result<Sample> {
    let mut sample = Sample::new();
    let mut phase = 0;
    let mut fresh = |contender: &mut dyn Contender| -> Result<std::path::PathBuf> {
        phase += 1;
        let dir = root.join(format!("{}-{phase}", contender.name()));
        std::fs::create_dir_all(&dir)?;
        contender.create(&dir)?;
        Ok(dir)
    };
    {
        let dir = fresh(contender)?;
        let phase_records = prefix(records, plan.concurrent);
        let started = Instant::now();
        if let Some(done) = contender.concurrent_durable(&phase_records) {
            done?;
            let took = started.elapsed();
            sample.push((
                "append_16w_fsync".into(),
                plan.concurrent as f64 / took.as_secs_f64(),
            ));
        }
        contender.close()?;
        std::fs::remove_dir_all(&dir)?;
    }
    for sync in [false, true] {
        if sync && !contender.can_sync() {
            continue;
        }
        for (i, batch) in BATCHES.into_iter().enumerate() {
            let count = if sync { plan.synced[i] } else { plan.records };
            let phase_records = prefix(records, count);
            let dir = fresh(contender)?;
            let started = Instant::now();
            contender.append(&phase_records, batch, sync)?;
            let elapsed = started.elapsed();
            let reads_next = !sync && batch == 1024;
            // The in-memory log is gone once closed: its reads use it open.
            if contender.on_disk() || !reads_next {
                contender.close()?;
            }
            let name = format!("append_b{batch}{}", if sync { "_fsync" } else { "" });
            sample.push((name, count as f64 / elapsed.as_secs_f64()));
            if !reads_next {
                std::fs::remove_dir_all(&dir)?;
                continue;
            }
            // The batch-1024 log is the one the reads use.
            read_phases(contender, &dir, records, plan, &mut sample)?;
            std::fs::remove_dir_all(&dir)?;
        }
    }
    if let Some(crash_open) = crash_open
        && contender.on_disk()
    {
        let dir = root.join(format!("{}-crash", contender.name()));
        std::fs::create_dir_all(&dir)?;
        let took = crash_open(contender, &dir)?;
        sample.push(("open_after_crash_ms".into(), took.as_secs_f64() * 1e3));
        contender.close()?;
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(sample)
}

/// Scan, pages and bytes on disk of the log in `dir` (just closed).
fn read_phases(
    contender: &mut dyn Contender,
    dir: &Path,
    records: &Records,
    plan: &Plan,
    sample: &mut Sample,
) -> Result<()> {
    if contender.on_disk() {
        let written = prefix_bytes(records, plan.records) as f64;
        sample.push((
            "disk_bytes_per_payload_byte".into(),
            disk_bytes(dir)? as f64 / written,
        ));
        contender.open(dir)?;
    }
    let started = Instant::now();
    let (count, bytes) = contender.scan()?;
    let took = started.elapsed();
    if count != plan.records as u64 || bytes != prefix_bytes(records, plan.records) {
        return Err(format!(
            "{}: scan read {count} records / {bytes} bytes, wrote {} / {}",
            contender.name(),
            plan.records,
            prefix_bytes(records, plan.records)
        )
        .into());
    }
    sample.push(("scan_mb_s".into(), bytes as f64 / took.as_secs_f64() / 1e6));
    let pages = if contender.pages_read_everything() {
        plan.pages.min(20)
    } else {
        plan.pages
    };
    let starts = page_starts(pages, plan.records - plan.page_len);
    let mut times = contender.pages(&starts, plan.page_len)?;
    times.sort_unstable();
    let at = |percent: usize| times[(times.len() - 1) * percent / 100].as_secs_f64() * 1e6;
    sample.push(("page_p50_us".into(), at(50)));
    sample.push(("page_p99_us".into(), at(99)));
    contender.close()
}

/// The first `count` records.
fn prefix(records: &Records, count: usize) -> Records {
    let count = count.min(records.payloads.len());
    Records {
        events: records.events[..count].into(),
        payloads: records.payloads[..count].into(),
    }
}

fn prefix_bytes(records: &Records, count: usize) -> u64 {
    records.payloads[..count.min(records.payloads.len())]
        .iter()
        .map(|p| p.len() as u64)
        .sum()
}

/// Random page starts, the same every run.
fn page_starts(count: usize, below: usize) -> Vec<u64> {
    let mut rng = spool_backends::SimRng::new(crate::SEED ^ 0xA5A5);
    (0..count).map(|_| rng.below(below as u64)).collect()
}

/// Bytes allocated on disk to every file under `dir` (blocks, not
/// lengths: a preallocated or sparse file counts what it takes).
pub fn disk_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            disk_bytes(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}

/// Every contender, the raw limit first; the JetStream ones only where
/// `nats-server` is installed (always under CI).
#[must_use]
pub fn all() -> Vec<Box<dyn Contender>> {
    let local: Vec<Box<dyn Contender>> = vec![
        Box::new(files::Raw::default()),
        Box::new(files::CodexJsonl::default()),
        Box::new(files::BatchedJsonl::default()),
        Box::new(sqlite::Sqlite::default()),
        Box::new(commitlog::Commitlog::default()),
        Box::new(fjall::Fjall::default()),
        Box::new(spool::Spool::memory()),
        Box::new(spool::Spool::jsonl()),
        Box::new(spool::Spool::segmented()),
    ];
    local
        .into_iter()
        .chain(
            [spool::Spool::jetstream(), spool::Spool::jetstream_r3()]
                .into_iter()
                .flatten()
                .map(|c| Box::new(c) as Box<dyn Contender>),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contender stores and returns exactly what it was given: the
    /// runner checks every scan's count and bytes and every page's length,
    /// so a contender that loses or invents records fails here, not in a
    /// published table.
    #[test]
    fn every_contender_round_trips_the_workload() {
        let plan = Plan {
            records: 1_500,
            synced: [3, 128, 1024],
            concurrent: 64,
            pages: 30,
            page_len: 100,
        };
        let records = Records::mixed(plan.records, crate::SEED);
        let root = tempfile::tempdir().unwrap();
        for mut contender in all() {
            let sample = run_rep(contender.as_mut(), &records, &plan, root.path(), None)
                .unwrap_or_else(|e| panic!("{}: {e}", contender.name()));
            let has = |m: &str| sample.iter().any(|(k, v)| k == m && *v > 0.0);
            for metric in [
                "append_b1",
                "append_b64",
                "append_b1024",
                "scan_mb_s",
                "page_p99_us",
            ] {
                assert!(has(metric), "{}: {metric} in {sample:?}", contender.name());
            }
            assert_eq!(
                has("append_b64_fsync"),
                contender.can_sync(),
                "{}",
                contender.name()
            );
            assert_eq!(
                has("disk_bytes_per_payload_byte"),
                contender.on_disk(),
                "{}",
                contender.name()
            );
        }
    }
}
