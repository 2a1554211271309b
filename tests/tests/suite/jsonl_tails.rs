//! Goal: a JSONL log cut anywhere in its last three lines, or cut and
//! followed by zeros, 0xFF, random bytes or an older line, reopens with
//! exactly the whole lines before the cut (RELIABILITY.md R2 and R3 for the
//! JSONL tail), and takes appends after.
//! Method: a log written through the backend; for every byte offset of its
//! last three lines, the file is cut there (on SimFs and on a real file),
//! optionally filled, and reopened by the owning writer; the records must be
//! the lines wholly before the cut, the file must end at the last of them,
//! and one append and a reopen must work. An older line written after a
//! cut that falls exactly between lines is a valid line again: JSONL has no
//! checksum or seq to tell it apart, and the last case pins that down
//! (docs/format.md says so).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use spool_backends::{JsonlBackend, JsonlConfig, SimFs, SimRng, StdFs};
use spool_engine::{Backend, NewRecord, OpenMode, ReadRange, Seq, Vfs};

const LINES: u64 = 12;
const PATH: &str = "/log.jsonl";

fn line(i: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"i":{i},"text":"{}"}}"#,
        "ab".repeat((i % 9) as usize)
    ))
}

/// The log's bytes, and where each line starts (then the end).
fn log_bytes() -> (Vec<u8>, Vec<u64>) {
    let mut bytes = Vec::new();
    let mut starts = vec![0u64];
    for i in 0..LINES {
        bytes.extend_from_slice(&line(i));
        bytes.push(b'\n');
        starts.push(bytes.len() as u64);
    }
    (bytes, starts)
}

fn whole_lines(starts: &[u64], cut: u64) -> u64 {
    starts.iter().filter(|s| **s <= cut).count() as u64 - 1
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Reopens as the owner and checks: `expected` lines, the file cut back to
/// them, then one append and a clean reopen.
fn check(vfs: &Arc<dyn Vfs>, path: &Path, expected: u64, end: u64, context: &str) {
    let rt = runtime();
    rt.block_on(async {
        let b = JsonlBackend::open(vfs.clone(), path, JsonlConfig::owned())
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(b.next_seq(), Seq(expected), "{context}");
        let got = b.read(ReadRange::all_from(Seq(0))).await.unwrap();
        for (i, record) in got.iter().enumerate() {
            assert_eq!(record.payload, line(i as u64), "{context}: line {i}");
        }
        let file = vfs.open(path, OpenMode::Read).unwrap();
        assert_eq!(file.len().unwrap(), end, "{context}: file not cut back");
        b.append(
            Seq(expected),
            &[NewRecord {
                timestamp_ms: 0,
                payload: line(expected),
            }],
        )
        .await
        .unwrap();
        b.close().await.unwrap();
        let again = JsonlBackend::open(vfs.clone(), path, JsonlConfig::owned()).unwrap();
        assert_eq!(
            again.next_seq(),
            Seq(expected + 1),
            "{context}: after append"
        );
        assert_eq!(again.report().torn_tail, None, "{context}");
    });
}

fn sim_log(bytes: &[u8]) -> Arc<dyn Vfs> {
    let sim = Arc::new(SimFs::new(0));
    let f = sim.open(Path::new(PATH), OpenMode::Create).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    f.sync_data().unwrap();
    sim
}

#[test]
fn r2_a_cut_at_every_byte_of_the_last_three_lines_keeps_the_whole_lines() {
    let (bytes, starts) = log_bytes();
    let from = starts[starts.len() - 4];
    for cut in from..=bytes.len() as u64 {
        let vfs = sim_log(&bytes[..usize::try_from(cut).unwrap()]);
        let expected = whole_lines(&starts, cut);
        let end = starts[usize::try_from(expected).unwrap()];
        check(
            &vfs,
            Path::new(PATH),
            expected,
            end,
            &format!("SimFs cut {cut}"),
        );
    }
}

#[test]
fn r2_on_real_files_a_cut_at_every_byte_keeps_the_whole_lines() {
    let (bytes, starts) = log_bytes();
    let dir = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let from = starts[starts.len() - 4];
    for cut in from..=bytes.len() as u64 {
        let path = dir.path().join(format!("{cut}.jsonl"));
        std::fs::write(&path, &bytes[..usize::try_from(cut).unwrap()]).unwrap();
        let expected = whole_lines(&starts, cut);
        let end = starts[usize::try_from(expected).unwrap()];
        let vfs: Arc<dyn Vfs> = Arc::new(StdFs);
        check(&vfs, &path, expected, end, &format!("real file cut {cut}"));
    }
}

#[test]
fn r3_zero_garbage_and_stale_tails_are_never_taken_for_lines() {
    let (bytes, starts) = log_bytes();
    let stale = [&line(3)[..], b"\n"].concat();
    let mut rng = SimRng::new(0x0051_0015);
    let from = starts[starts.len() - 4];
    for cut in from..=bytes.len() as u64 {
        let on_boundary = starts.contains(&cut);
        for fill in 0..4 {
            let filler: Vec<u8> = match fill {
                0 => vec![0; 300],
                1 => vec![0xFF; 300],
                2 => (0..300)
                    .map(|_| u8::try_from(rng.below(256)).unwrap())
                    .collect(),
                _ => stale.clone(),
            };
            let mut damaged = bytes[..usize::try_from(cut).unwrap()].to_vec();
            damaged.extend_from_slice(&filler);
            let vfs = sim_log(&damaged);
            let expected = whole_lines(&starts, cut);
            let context = format!("cut {cut} fill {fill}");
            if fill == 3 && on_boundary {
                // The documented limit: a whole older line after a whole
                // line is a valid line. It is kept, not mistaken for data
                // of its own seq: it gets the next one.
                let b = JsonlBackend::open(vfs.clone(), PATH, JsonlConfig::owned()).unwrap();
                assert_eq!(b.next_seq(), Seq(expected + 1), "{context}");
                continue;
            }
            let end = starts[usize::try_from(expected).unwrap()];
            check(&vfs, Path::new(PATH), expected, end, &context);
        }
    }
}
