//! Goal: what a JSONL log promises under power loss (docs/format.md, "What
//! JSONL cannot promise"): synced lines survive every crash; what a crash
//! leaves past the synced point is whole appended lines or damage, never a
//! changed line; a strict open either succeeds with a prefix of what was
//! appended or refuses with `Corrupt` past the synced point; a lenient open
//! always succeeds.
//! Method: seeded runs on SimFs (whose crash tears, reorders and zero-fills
//! unsynced writes by 512-byte sector): appends in batches, some synced,
//! then a crash, then opens in every mode, and an append after. 3,000 seeds
//! per run; `SEED=<n>` replays one.

use std::sync::Arc;

use bytes::Bytes;
use spool_backends::{JsonlBackend, JsonlConfig, SimFs, SimRng};
use spool_engine::{Backend, Durability, Error, NewRecord, ReadRange, Record, Seq, Vfs};

const PATH: &str = "/log.jsonl";

fn line(i: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"i":{i},"pad":"{}"}}"#,
        "q".repeat((i * 37 % 300) as usize)
    ))
}

async fn read_all(b: &JsonlBackend) -> Vec<Record> {
    b.read(ReadRange::all_from(Seq(0))).await.unwrap()
}

/// Runs one seed; returns whether the strict open refused the crashed file.
fn simulate(seed: u64) -> bool {
    let context = format!("SEED={seed}");
    let mut rng = SimRng::new(seed);
    let sim = Arc::new(SimFs::new(seed));
    let vfs: Arc<dyn Vfs> = sim.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let b = JsonlBackend::open(vfs.clone(), PATH, JsonlConfig::owned()).unwrap();
        let (mut next, mut durable, mut durable_len, mut len) = (0u64, 0u64, 0u64, 0u64);
        for _ in 0..=rng.below(12) {
            let n = rng.below(5) + 1;
            let batch: Vec<NewRecord> = (next..next + n)
                .map(|i| NewRecord {
                    timestamp_ms: 0,
                    payload: line(i),
                })
                .collect();
            b.append(Seq(next), &batch).await.unwrap();
            next += n;
            len += batch
                .iter()
                .map(|r| r.payload.len() as u64 + 1)
                .sum::<u64>();
            if rng.chance(1, 3) {
                assert_eq!(b.sync(Durability::Data).await.unwrap(), Seq(next));
                (durable, durable_len) = (next, len);
            }
        }
        sim.crash(rng.next_u64());

        // Lenient: always opens; the synced lines are there, unchanged, in
        // their places. Past them, every JSON line is an appended line, in
        // order, but not always at its own seq: a lost sector can take the
        // `\n` of earlier lines with it (merging them into one flagged
        // line), and a line carries no seq to tell (the documented limit;
        // Codex's ordinals catch it, and strict mode refuses it below).
        let lenient =
            JsonlBackend::open_read_only(vfs.clone(), PATH, JsonlConfig::foreign()).unwrap();
        let records = read_all(&lenient).await;
        assert!(
            records.len() as u64 >= durable,
            "{context}: lost synced lines"
        );
        let mut next_possible = durable;
        for r in &records {
            let fault = lenient.line_fault(r.seq);
            if r.seq.0 < durable {
                assert_eq!(fault, None, "{context}: damage in synced lines");
                assert_eq!(r.payload, line(r.seq.0), "{context}: seq {}", r.seq);
            } else if fault.is_none() {
                let k = (next_possible..next)
                    .find(|k| line(*k) == r.payload)
                    .unwrap_or_else(|| panic!("{context}: seq {} is no appended line", r.seq));
                assert!(k >= r.seq.0, "{context}: a line moved to a later seq");
                next_possible = k + 1;
            }
        }

        // Strict writer: a prefix of the appended lines (cut back to the
        // last whole one), or Corrupt past the synced point.
        match JsonlBackend::open(vfs.clone(), PATH, JsonlConfig::owned()) {
            Ok(w) => {
                let records = read_all(&w).await;
                let n = records.len() as u64;
                assert!(n >= durable && n <= next, "{context}: {n} records");
                for r in &records {
                    assert_eq!(r.payload, line(r.seq.0), "{context}: seq {}", r.seq);
                }
                w.append(
                    Seq(n),
                    &[NewRecord {
                        timestamp_ms: 0,
                        payload: line(n),
                    }],
                )
                .await
                .unwrap();
                w.close().await.unwrap();
                let again = JsonlBackend::open(vfs.clone(), PATH, JsonlConfig::owned()).unwrap();
                assert_eq!(again.next_seq(), Seq(n + 1), "{context}");
                false
            }
            Err(Error::Corrupt { offset, .. }) => {
                assert!(
                    offset >= durable_len,
                    "{context}: corrupt at {offset} < {durable_len}"
                );
                true
            }
            Err(e) => panic!("{context}: {e}"),
        }
    })
}

#[test]
fn synced_lines_survive_every_crash_and_damage_lies_past_them() {
    if let Ok(seed) = std::env::var("SEED") {
        simulate(seed.parse().expect("SEED must be a number"));
        return;
    }
    let mut refused = 0;
    for seed in 0..3_000 {
        let was_refused = std::panic::catch_unwind(|| simulate(seed)).unwrap_or_else(|_| {
            panic!(
                "JSONL crash simulation failed; replay with SEED={seed} cargo test -p spool-tests --test suite jsonl_crash"
            )
        });
        refused += u32::from(was_refused);
    }
    // Both outcomes of a strict open are exercised.
    assert!(
        (30..2_970).contains(&refused),
        "{refused} of 3,000 strict opens refused"
    );
}
