//! JSONL backend unit tests: appends and reopen, rejection before writing,
//! the writer lock beside readers, refresh, the sidecar index (used, stale,
//! damaged, extended), poisoning, and a file cut under a reader. The
//! line-level outcomes (R13), torn tails (R2/R3) and the Codex examples are
//! suites in spool-tests.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use spool_engine::{Backend, Durability, Error, NewRecord, OpenMode, ReadRange, Seq, Vfs};

use super::*;
use crate::sim::{Fault, FaultMode, SimFs};

fn line(i: u64) -> NewRecord {
    NewRecord {
        timestamp_ms: i64::try_from(i).unwrap() + 1,
        payload: Bytes::from(format!(
            r#"{{"i":{i},"pad":"{}"}}"#,
            "x".repeat((i % 40) as usize)
        )),
    }
}

async fn append_n(b: &JsonlBackend, from: u64, n: u64) {
    let batch: Vec<NewRecord> = (from..from + n).map(line).collect();
    assert_eq!(
        b.append(Seq(from), &batch).await.unwrap().end,
        Seq(from + n)
    );
}

async fn read_all(b: &JsonlBackend) -> Vec<spool_engine::Record> {
    b.read(ReadRange::all_from(Seq(0))).await.unwrap()
}

fn file_bytes(vfs: &SimFs, path: &Path) -> Vec<u8> {
    let f = vfs.open(path, OpenMode::Read).unwrap();
    f.read_vec_at(usize::try_from(f.len().unwrap()).unwrap(), 0)
        .unwrap()
}

fn put(vfs: &SimFs, path: &Path, bytes: &[u8]) {
    let f = vfs.open(path, OpenMode::Create).unwrap();
    f.set_len(0).unwrap();
    f.write_all_at(bytes, 0).unwrap();
}

#[tokio::test]
async fn appends_are_whole_lines_and_survive_reopen() {
    let sim = Arc::new(SimFs::new(1));
    let vfs: Arc<dyn Vfs> = sim.clone();
    let path = Path::new("/d/log.jsonl");
    let b = JsonlBackend::open(vfs.clone(), path, JsonlConfig::owned()).unwrap();
    append_n(&b, 0, 10).await;
    assert_eq!(b.sync(Durability::Data).await.unwrap(), Seq(10));
    let expected: Vec<u8> = (0..10)
        .flat_map(|i| [line(i).payload.to_vec(), b"\n".to_vec()].concat())
        .collect();
    assert_eq!(file_bytes(&sim, path), expected);
    let before = read_all(&b).await;
    assert_eq!(before[3].timestamp_ms, 4, "timestamps kept until reopen");
    b.close().await.unwrap();
    let b = JsonlBackend::open(vfs, path, JsonlConfig::owned()).unwrap();
    let after = read_all(&b).await;
    assert_eq!(after.len(), 10);
    for (a, b) in before.iter().zip(&after) {
        assert_eq!((a.seq, &a.payload), (b.seq, &b.payload));
        assert_eq!(b.timestamp_ms, 0, "JSONL keeps no timestamps");
    }
    assert_eq!(b.report().tail_action, TailAction::None);
}

#[tokio::test]
async fn bad_payloads_are_refused_before_anything_is_written() {
    let sim = Arc::new(SimFs::new(2));
    let path = Path::new("/log.jsonl");
    let b = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    append_n(&b, 0, 2).await;
    let len = file_bytes(&sim, path).len();
    for bad in [&b"{\"a\":\n1}"[..], b"{", b"", b"\xff", b"\"\xff\""] {
        let batch = [
            line(2),
            NewRecord {
                timestamp_ms: 0,
                payload: Bytes::copy_from_slice(bad),
            },
        ];
        let err = b.append(Seq(2), &batch).await.unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }), "{err}");
    }
    let config = JsonlConfig {
        max_line_bytes: 64,
        ..JsonlConfig::owned()
    };
    let small = JsonlBackend::open(sim.clone(), "/small.jsonl", config).unwrap();
    let long = NewRecord {
        timestamp_ms: 0,
        payload: Bytes::from(format!("\"{}\"", "y".repeat(63))),
    };
    assert!(matches!(
        small.append(Seq(0), &[long]).await,
        Err(Error::RecordTooLarge { len: 65, max: 64 })
    ));
    assert_eq!(file_bytes(&sim, path).len(), len);
    assert_eq!(b.next_seq(), Seq(2));
    append_n(&b, 2, 1).await;
}

#[tokio::test]
async fn one_writer_many_readers_and_refresh_sees_new_lines() {
    let sim = Arc::new(SimFs::new(3));
    let path = Path::new("/log.jsonl");
    let w = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    assert!(matches!(
        JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()),
        Err(Error::Locked { .. })
    ));
    append_n(&w, 0, 3).await;
    let r = JsonlBackend::open_read_only(sim.clone(), path, JsonlConfig::owned()).unwrap();
    assert_eq!(r.next_seq(), Seq(3));
    assert!(matches!(
        r.append(Seq(3), &[line(3)]).await,
        Err(Error::ReadOnly { .. })
    ));
    append_n(&w, 3, 4).await;
    assert_eq!(r.next_seq(), Seq(3));
    assert_eq!(r.refresh().await.unwrap(), Seq(7));
    assert_eq!(read_all(&r).await.len(), 7);
    // A partial line in flight is not a record yet.
    let f = sim.open(path, OpenMode::ReadWrite).unwrap();
    let end = f.len().unwrap();
    f.write_all_at(b"{\"half\":", end).unwrap();
    assert_eq!(r.refresh().await.unwrap(), Seq(7));
    w.close().await.unwrap();
    JsonlBackend::open(sim, path, JsonlConfig::owned()).unwrap();
}

#[tokio::test]
async fn a_failed_write_poisons_and_keeps_what_was_acknowledged() {
    let sim = Arc::new(SimFs::new(4));
    let path = Path::new("/log.jsonl");
    let b = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    append_n(&b, 0, 3).await;
    b.sync(Durability::Data).await.unwrap();
    sim.fail_after(0, Fault::Eio, FaultMode::Once);
    assert!(b.append(Seq(3), &[line(3)]).await.is_err());
    sim.clear_faults();
    assert!(matches!(
        b.append(Seq(3), &[line(3)]).await,
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(
        b.sync(Durability::Data).await,
        Err(Error::Poisoned { .. })
    ));
    assert_eq!(read_all(&b).await.len(), 3);
    assert!(matches!(b.close().await, Err(Error::Poisoned { .. })));
    let b = JsonlBackend::open(sim, path, JsonlConfig::owned()).unwrap();
    assert_eq!(b.next_seq(), Seq(3));
}

#[tokio::test]
async fn a_file_cut_under_a_reader_is_an_error_not_bad_bytes() {
    let sim = Arc::new(SimFs::new(5));
    let path = Path::new("/log.jsonl");
    let w = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    append_n(&w, 0, 5).await;
    w.close().await.unwrap();
    let r = JsonlBackend::open_read_only(sim.clone(), path, JsonlConfig::owned()).unwrap();
    let f = sim.open(path, OpenMode::ReadWrite).unwrap();
    f.set_len(10).unwrap();
    assert!(matches!(
        r.read(ReadRange {
            from: Seq(2),
            to: Seq(5),
            max_records: 10,
            max_bytes: usize::MAX,
        })
        .await,
        Err(Error::Corrupt { .. })
    ));
    // Same length, different bytes where a `\n` was: also caught.
    put(&sim, path, &vec![b'7'; 400]);
    assert!(matches!(
        r.read(ReadRange {
            from: Seq(0),
            to: Seq(1),
            max_records: 1,
            max_bytes: usize::MAX,
        })
        .await,
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(r.refresh().await, Err(Error::Corrupt { .. })));
}

fn sidecar_config() -> JsonlConfig {
    JsonlConfig {
        sidecar_min_bytes: 1,
        ..JsonlConfig::owned()
    }
}

#[tokio::test]
async fn the_sidecar_spares_the_scan_and_is_checked_before_use() {
    let sim = Arc::new(SimFs::new(6));
    let path = Path::new("/log.jsonl");
    let idx = Path::new("/log.jsonl.idx");
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    append_n(&b, 0, 50).await;
    b.close().await.unwrap();
    let len = file_bytes(&sim, path).len() as u64;

    // Current: nothing scanned.
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(
        (b.report().sidecar_bytes, b.report().scanned_bytes),
        (len, 0)
    );
    let all = read_all(&b).await;
    assert_eq!(all.len(), 50);
    // Lines appended after it are scanned on top of it.
    append_n(&b, 50, 5).await;
    drop(b); // no clean close: the sidecar stays behind
    let b = JsonlBackend::open_read_only(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(b.report().sidecar_bytes, len);
    assert!(b.report().scanned_bytes > 0);
    assert_eq!(read_all(&b).await.len(), 55);
    // The writer's open scans what the sidecar lacks and brings it up to
    // date, so the open after it scans nothing.
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    assert!(b.report().scanned_bytes > 0);
    drop(b);
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(b.report().scanned_bytes, 0);
    b.close().await.unwrap();

    // Damaged: refused, rebuilt by a scan.
    sim.flip_bit(idx, 100).unwrap();
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(b.report().sidecar_miss, Some(SidecarMiss::Invalid));
    assert_eq!(read_all(&b).await.len(), 55);
    b.close().await.unwrap();

    // Stale: the file was rewritten behind spool's back, same length.
    let n = file_bytes(&sim, path).len();
    let mut bytes = Vec::new();
    while n - bytes.len() >= 22 {
        bytes.extend_from_slice(b"{\"k\":\"ab\"}\n");
    }
    let rest = n - bytes.len();
    bytes.extend_from_slice(format!("\"{}\"\n", "z".repeat(rest - 3)).as_bytes());
    assert_eq!(bytes.len(), n);
    let lines = memchr::memchr_iter(b'\n', &bytes).count();
    put(&sim, path, &bytes);
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(b.report().sidecar_miss, Some(SidecarMiss::Stale));
    assert_eq!(b.next_seq(), Seq(lines as u64));
    b.close().await.unwrap();

    // Missing, or for another line bound.
    sim.remove(idx).unwrap();
    let b = JsonlBackend::open(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(b.report().sidecar_miss, Some(SidecarMiss::Missing));
    b.close().await.unwrap();
    let other = JsonlConfig {
        max_line_bytes: 1000,
        ..sidecar_config()
    };
    let b = JsonlBackend::open(sim.clone(), path, other).unwrap();
    assert_eq!(b.report().sidecar_miss, Some(SidecarMiss::Invalid));
}

#[tokio::test]
async fn foreign_files_get_no_sidecar_unless_told_where() {
    let sim = Arc::new(SimFs::new(7));
    let path = Path::new("/home/rollout.jsonl");
    let config = JsonlConfig {
        sidecar_min_bytes: 1,
        ..JsonlConfig::foreign()
    };
    let b = JsonlBackend::open(sim.clone(), path, config.clone()).unwrap();
    append_n(&b, 0, 5).await;
    b.close().await.unwrap();
    assert_eq!(
        sim.list(Path::new("/home")).unwrap(),
        vec![std::path::PathBuf::from("rollout.jsonl")]
    );
    let elsewhere = JsonlConfig {
        sidecar: SidecarIndex::At("/cache/rollout.idx".into()),
        ..config
    };
    sim.create_dir_all(Path::new("/cache")).unwrap();
    let b = JsonlBackend::open(sim.clone(), path, elsewhere.clone()).unwrap();
    b.close().await.unwrap();
    let b = JsonlBackend::open_read_only(sim.clone(), path, elsewhere).unwrap();
    assert_eq!(b.report().scanned_bytes, 0);
}

#[test]
fn strict_lines_cannot_keep_a_torn_tail() {
    let config = JsonlConfig {
        torn_tail: TailPolicy::Terminate,
        ..JsonlConfig::owned()
    };
    assert!(matches!(
        config.validate(),
        Err(Error::InvalidConfig {
            field: "torn_tail",
            ..
        })
    ));
    JsonlConfig::foreign().validate().unwrap();
}

#[tokio::test]
async fn a_clean_open_makes_what_a_crashed_writer_left_durable() {
    let sim = Arc::new(SimFs::new(8));
    let path = Path::new("/log.jsonl");
    let b = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    append_n(&b, 0, 6).await;
    drop(b); // the writer dies; its lines are written, never synced
    assert_ne!(sim.durable_bytes(path).unwrap(), file_bytes(&sim, path));
    let b = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    assert_eq!(b.durable_seq(), Seq(6));
    // Reported durable, so it is: the durable image is the whole file.
    assert_eq!(sim.durable_bytes(path).unwrap(), file_bytes(&sim, path));
}

#[tokio::test]
async fn a_program_writing_without_the_lock_is_never_overwritten() {
    let sim = Arc::new(SimFs::new(9));
    let path = Path::new("/log.jsonl");
    let b = JsonlBackend::open(sim.clone(), path, JsonlConfig::owned()).unwrap();
    append_n(&b, 0, 2).await;
    let f = sim.open(path, OpenMode::ReadWrite).unwrap();
    let end = f.len().unwrap();
    f.write_all_at(b"{\"codex\":1}\n", end).unwrap();
    let err = b.append(Seq(2), &[line(2)]).await.unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(matches!(
        b.append(Seq(2), &[line(2)]).await,
        Err(Error::Poisoned { .. })
    ));
    let bytes = file_bytes(&sim, path);
    assert!(bytes.ends_with(b"{\"codex\":1}\n"), "its line is intact");
}

#[tokio::test]
async fn a_forged_sidecar_cannot_merge_two_lines_into_one_record() {
    let sim = Arc::new(SimFs::new(10));
    let path = Path::new("/log.jsonl");
    put(&sim, path, b"{\"a\":1}\n{\"b\":2}\n");
    // A well-formed sidecar (right CRCs, right probes) that claims one
    // line of 16 bytes where the file has two.
    let file = sim.open(path, OpenMode::Read).unwrap();
    let forged = scan::LineIndex::from_parts(vec![0, 16], std::collections::BTreeMap::new());
    sidecar::store(
        sim.as_ref(),
        Path::new("/log.jsonl.idx"),
        file.as_ref(),
        &forged,
        JsonlConfig::owned().max_line_bytes,
    )
    .unwrap();
    let b = JsonlBackend::open_read_only(sim.clone(), path, sidecar_config()).unwrap();
    assert_eq!(
        b.report().sidecar_bytes,
        16,
        "the forgery passed the checks"
    );
    let err = b
        .read(ReadRange {
            from: Seq(0),
            to: Seq(1),
            max_records: 1,
            max_bytes: usize::MAX,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn refresh_after_close_is_closed() {
    let sim = Arc::new(SimFs::new(11));
    let w = JsonlBackend::open(sim.clone(), "/log.jsonl", JsonlConfig::owned()).unwrap();
    let r = JsonlBackend::open_read_only(sim, "/log.jsonl", JsonlConfig::owned()).unwrap();
    r.close().await.unwrap();
    assert!(matches!(r.refresh().await, Err(Error::Closed)));
    w.close().await.unwrap();
    assert!(matches!(w.refresh().await, Err(Error::Closed)));
}

#[tokio::test]
async fn verify_finds_a_torn_tail_and_a_bad_line_and_repair_saves_what_it_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let vfs: Arc<dyn Vfs> = Arc::new(crate::StdFs);
    let b = JsonlBackend::open(Arc::clone(&vfs), &path, JsonlConfig::owned()).unwrap();
    append_n(&b, 0, 10).await;
    b.close().await.unwrap();
    let clean = std::fs::read(&path).unwrap();
    let config = JsonlConfig::owned();
    let check = verify(&vfs, &path, &config).unwrap();
    assert!(check.findings.is_empty(), "{check:?}");
    assert_eq!((check.end_seq, check.bytes), (Seq(10), clean.len() as u64));

    // A torn tail: found where the writer's open cuts; repair saves it.
    let mut torn = clean.clone();
    torn.extend_from_slice(br#"{"i":10,"pa"#);
    std::fs::write(&path, &torn).unwrap();
    let check = verify(&vfs, &path, &config).unwrap();
    let f = &check.findings[0];
    let at = clean.len() as u64;
    assert_eq!((f.offset, f.remedy), (at, crate::Remedy::Truncate { at }));
    let report = repair(&vfs, &path, &config, false).unwrap();
    assert!(report.after.findings.is_empty(), "{:?}", report.after);
    assert_eq!(std::fs::read(&report.saved[0]).unwrap(), br#"{"i":10,"pa"#);
    assert_eq!(std::fs::read(&path).unwrap(), clean);

    // A bad line with records after it: corruption; only salvage cuts it.
    let lines: Vec<&[u8]> = clean.split_inclusive(|b| *b == b'\n').collect();
    let mut bad = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        bad.extend_from_slice(if i == 6 { b"not json\n" } else { l });
    }
    std::fs::write(&path, &bad).unwrap();
    let check = verify(&vfs, &path, &config).unwrap();
    let at: u64 = lines[..6].iter().map(|l| l.len() as u64).sum();
    assert_eq!(check.findings[0].offset, at);
    assert_eq!(check.end_seq, Seq(6));
    assert!(matches!(
        repair(&vfs, &path, &config, false),
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), bad);
    let report = repair(&vfs, &path, &config, true).unwrap();
    assert_eq!(report.after.end_seq, Seq(6));
    assert!(report.after.findings.is_empty());
    assert_eq!(
        std::fs::read(&report.saved[0]).unwrap(),
        bad[usize::try_from(at).unwrap()..]
    );
}
