//! Goal: fail-stop under I/O errors (P7; RELIABILITY.md R6). Method: the
//! error-injection countdown of SQLite's test suite: run a standard workload
//! with the i-th file-system mutation failing (EIO or ENOSPC, once or from
//! then on) for i = 0, 1, 2, … until a run completes without hitting the
//! fault. Every operation must return `Ok` or a clean error, every write or
//! sync after a failure must fail until reopen, and after the faults stop
//! (with or without a power loss on top) the log must reopen holding a
//! prefix of what was appended that includes everything synced.

use std::sync::Arc;

use spool_backends::{Fault, FaultMode, SegmentedBackend, SegmentedConfig, SimFs};
use spool_engine::{Backend, Durability, Error, NewRecord, ReadRange, Seq, Vfs};

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 2048,
        ..SegmentedConfig::default()
    }
}

fn record(i: u64) -> NewRecord {
    NewRecord {
        timestamp_ms: 0,
        payload: vec![u8::try_from(i % 251).unwrap(); usize::try_from(i * 13 % 150).unwrap()]
            .into(),
    }
}

struct Outcome {
    fault_hit: bool,
    synced: u64,
    boundaries: Vec<u64>,
}

/// The workload: open, 40 batches with a sync every 4, close. Stops writing
/// at the first error, after checking the log refuses further writes.
async fn workload(vfs: &Arc<dyn Vfs>) -> Outcome {
    let mut out = Outcome {
        fault_hit: false,
        synced: 0,
        boundaries: vec![0],
    };
    let b = match SegmentedBackend::open(vfs.clone(), "/log", config()) {
        Ok(b) => b,
        Err(e) => {
            assert!(
                matches!(e, Error::Io { .. } | Error::NoSpace { .. }),
                "open: {e:?}"
            );
            out.fault_hit = true;
            return out;
        }
    };
    let mut next = 0u64;
    for k in 0..40u64 {
        let batch: Vec<NewRecord> = (next..next + 1 + k % 3).map(record).collect();
        let end = next + batch.len() as u64;
        let result = match b.append(Seq(next), &batch).await {
            Ok(_) if k % 4 == 3 => b.sync(Durability::Data).await.map(|_| ()),
            other => other.map(|_| ()),
        };
        // A batch that failed may still be on disk whole (never in part).
        out.boundaries.push(end);
        match result {
            Ok(()) => {
                next = end;
                if k % 4 == 3 {
                    out.synced = next;
                }
            }
            Err(e) => {
                assert!(
                    matches!(e, Error::Io { .. } | Error::NoSpace { .. }),
                    "batch {k}: {e:?}"
                );
                out.fault_hit = true;
                // Fail-stop: nothing more is accepted, and no sync "succeeds".
                assert!(matches!(
                    b.append(Seq(next), &[record(0)]).await,
                    Err(Error::Poisoned { .. })
                ));
                assert!(matches!(
                    b.sync(Durability::Data).await,
                    Err(Error::Poisoned { .. })
                ));
                assert!(b.close().await.is_err());
                return out;
            }
        }
    }
    match b.close().await {
        Ok(()) => out.synced = next,
        Err(e) => {
            assert!(
                matches!(e, Error::Io { .. } | Error::NoSpace { .. }),
                "close: {e:?}"
            );
            out.fault_hit = true;
        }
    }
    out
}

#[test]
fn r6_an_io_error_at_every_mutation_fails_cleanly_and_recovers() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut points = 0;
    for fault in [Fault::Eio, Fault::NoSpace] {
        for mode in [FaultMode::Once, FaultMode::Persistent] {
            for power_loss in [false, true] {
                for at in 0.. {
                    let fs = Arc::new(SimFs::new(at));
                    let vfs: Arc<dyn Vfs> = fs.clone();
                    fs.fail_after(at, fault, mode);
                    let outcome = runtime.block_on(workload(&vfs));
                    if !outcome.fault_hit {
                        break; // past the last mutation of the workload
                    }
                    points += 1;
                    fs.clear_faults();
                    if power_loss {
                        fs.crash(at);
                    }
                    let context =
                        format!("{fault:?} {mode:?} at mutation {at}, power loss {power_loss}");
                    runtime.block_on(async {
                        let b = SegmentedBackend::open(vfs.clone(), "/log", config())
                            .unwrap_or_else(|e| panic!("{context}: reopen: {e}"));
                        let n = b.next_seq().0;
                        assert!(
                            n >= outcome.synced,
                            "{context}: lost synced records ({n} < {})",
                            outcome.synced
                        );
                        assert!(
                            outcome.boundaries.contains(&n),
                            "{context}: {n} is not a batch boundary"
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
                        for (i, r) in records.iter().enumerate() {
                            assert_eq!(r.payload, record(i as u64).payload, "{context}: seq {i}");
                        }
                        assert_eq!(records.len() as u64, n, "{context}");
                        // And it takes writes again.
                        b.append(Seq(n), &[record(n)]).await.unwrap();
                        b.sync(Durability::Data).await.unwrap();
                    });
                }
            }
        }
    }
    println!("{points} injection points");
    assert!(points > 100, "only {points} injection points exercised");
}
