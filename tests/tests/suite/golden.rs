//! Goal: logs written by earlier releases stay readable, byte for byte
//! (RELIABILITY.md R17). Method: golden files of each format version are
//! committed under `tests/fixtures/` with the records they hold
//! (`expect.txt`: seq, timestamp, hex payload); every build opens a copy in
//! both read modes and must read exactly those records. A damaged copy must
//! be reported, not read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use spool_backends::{ReadMode, SegmentedBackend, SegmentedConfig, StdFs};
use spool_engine::{Backend, Error, ReadRange, Seq};

fn fixture(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("segmented-{version}"))
}

fn copy_log(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(version).join("log")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn expected(version: &str) -> Vec<(u64, i64, Vec<u8>)> {
    std::fs::read_to_string(fixture(version).join("expect.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let seq = parts.next().unwrap().parse().unwrap();
            let ts = parts.next().unwrap().parse().unwrap();
            let hex = parts.next().unwrap_or("");
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (seq, ts, bytes)
        })
        .collect()
}

#[tokio::test]
async fn every_golden_version_reads_back_exactly() {
    for version in ["v1"] {
        let want = expected(version);
        assert!(!want.is_empty());
        for read_mode in [ReadMode::Mmap, ReadMode::Pread] {
            let dir = copy_log(version);
            let config = SegmentedConfig {
                read_mode,
                ..SegmentedConfig::default()
            };
            let log = SegmentedBackend::open(Arc::new(StdFs), dir.path(), config).unwrap();
            assert_eq!(
                log.recovery_report().truncated_bytes,
                0,
                "{version}: a clean log needs no repair"
            );
            assert_eq!(log.next_seq(), Seq(want.len() as u64));
            let got = log.read(ReadRange::all_from(Seq(0))).await.unwrap();
            assert_eq!(got.len(), want.len());
            for (r, (seq, ts, payload)) in got.iter().zip(&want) {
                assert_eq!(
                    (r.seq.0, r.timestamp_ms, r.payload.as_ref()),
                    (*seq, *ts, &payload[..]),
                    "{version} {read_mode:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_damaged_golden_segment_is_reported_with_its_offset() {
    let dir = copy_log("v1");
    let sealed = dir.path().join("00000000000000000000.seg");
    let mut bytes = std::fs::read(&sealed).unwrap();
    // Record 0 is empty (a 32-byte frame at 1536): this byte is inside the
    // payload of record 1, whose frame starts at 1568.
    bytes[1536 + 40] ^= 0x01;
    std::fs::write(&sealed, bytes).unwrap();
    // The stale index no longer matters: damage is found on first read.
    let log =
        SegmentedBackend::open(Arc::new(StdFs), dir.path(), SegmentedConfig::default()).unwrap();
    let err = log
        .read(ReadRange {
            from: Seq(0),
            to: Seq(12),
            max_records: 12,
            max_bytes: usize::MAX,
        })
        .await
        .unwrap_err();
    match err {
        Error::Corrupt { object, offset, .. } => {
            assert_eq!(object, "00000000000000000000.seg");
            assert_eq!(offset, 1568);
        }
        other => panic!("{other:?}"),
    }
}
