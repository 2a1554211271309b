//! The crash simulation shared by the R5a suite and the `ops` fuzz target:
//! a workload of batches, syncs, closes and reopens on a segmented log on
//! `SimFs`, a power loss at its end (sometimes again during recovery), then
//! checks that the recovered log is a prefix of what was appended, holds
//! everything synced, keeps batches whole, and reopens the same.
//!
//! Every choice comes from a [`Choices`] source: a seeded `SimRng` in tests
//! (so `SEED=n` replays a run), the fuzzer's input bytes in fuzzing.

use std::sync::Arc;

use bytes::Bytes;
use spool_backends::{Fault, FaultMode, SegmentedBackend, SegmentedConfig, SimFs, SimRng};
use spool_engine::{Backend, Durability, NewRecord, ReadRange, Seq, Vfs};

/// Where the simulation's choices come from.
pub trait Choices {
    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64;
}

impl Choices for SimRng {
    fn below(&mut self, bound: u64) -> u64 {
        SimRng::below(self, bound)
    }
}

/// Choices read from bytes (a fuzzer's input); zeros once they run out.
#[derive(Debug)]
pub struct ByteChoices<'a>(pub &'a [u8]);

impl Choices for ByteChoices<'_> {
    fn below(&mut self, bound: u64) -> u64 {
        let Some((first, rest)) = self.0.split_first_chunk::<2>() else {
            self.0 = &[];
            return 0;
        };
        self.0 = rest;
        u64::from(u16::from_le_bytes(*first)) % bound.max(1)
    }
}

const DIR: &str = "/log";

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 2048,
        ..SegmentedConfig::default()
    }
}

/// The payload of seq `i`: its bytes depend only on `i`.
#[must_use]
pub fn payload(i: u64) -> Bytes {
    let len = usize::try_from(i * 37 % 200).unwrap_or(0);
    Bytes::from(
        (0..len)
            .map(|j| u8::try_from((i + j as u64) % 251).unwrap_or(0))
            .collect::<Vec<_>>(),
    )
}

fn record(i: u64) -> NewRecord {
    NewRecord {
        timestamp_ms: i64::try_from(i).unwrap_or(0),
        payload: payload(i),
    }
}

fn open(vfs: &Arc<dyn Vfs>) -> spool_engine::Result<SegmentedBackend> {
    SegmentedBackend::open(vfs.clone(), DIR, config())
}

/// Runs one simulation; panics (naming `label`) if a promise is broken.
pub fn simulate(choices: &mut dyn Choices, label: &str) {
    let fs = Arc::new(SimFs::new(choices.below(u64::MAX)));
    let vfs: Arc<dyn Vfs> = fs.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut b = open(&vfs).unwrap();
        let mut appended = 0u64; // acknowledged by append
        let mut synced = 0u64; // acknowledged by a successful Data sync
        let mut batches = vec![0u64]; // batch boundaries
        for _ in 0..choices.below(60) {
            match choices.below(10) {
                0..=6 => {
                    let n = 1 + choices.below(6);
                    let batch: Vec<NewRecord> = (appended..appended + n).map(record).collect();
                    b.append(Seq(appended), &batch).await.unwrap();
                    appended += n;
                    batches.push(appended);
                }
                7 | 8 => {
                    b.sync(Durability::Data).await.unwrap();
                    synced = appended;
                }
                _ => {
                    b.close().await.unwrap();
                    synced = appended;
                    b = open(&vfs).unwrap();
                }
            }
        }
        drop(b);
        fs.crash(choices.below(u64::MAX));
        if choices.below(20) == 0 {
            // Crash again while recovering: fail a mutation of the open
            // partway through, then lose power once more.
            fs.fail_after(choices.below(4), Fault::Eio, FaultMode::Persistent);
            let _ = open(&vfs);
            fs.crash(choices.below(u64::MAX));
        }
        let b = open(&vfs).unwrap_or_else(|e| panic!("{label}: open after crash: {e}"));
        let n = b.next_seq().0;
        assert!(
            n >= synced && n <= appended,
            "{label}: {n} records, synced {synced}, appended {appended}"
        );
        assert!(
            batches.contains(&n),
            "{label}: recovered {n} cuts a batch ({batches:?})"
        );
        let records = b
            .read(ReadRange {
                from: Seq(0),
                to: Seq(n),
                max_records: usize::MAX,
                max_bytes: usize::MAX,
            })
            .await
            .unwrap();
        assert_eq!(records.len() as u64, n, "{label}");
        for r in &records {
            assert_eq!(
                r.payload,
                payload(r.seq.0),
                "{label}: payload of seq {}",
                r.seq
            );
        }
        // Recovery is idempotent: opening again changes nothing.
        drop(b);
        let again = open(&vfs).unwrap();
        assert_eq!(again.next_seq().0, n, "{label}: second open");
    });
}
