//! Arbitrary bytes as a JSONL file: every mode and policy must give a log or
//! a typed error, never a panic or an allocation driven by the input. A
//! lenient reader keeps every complete line (so the records and the torn
//! tail are the file again); an owning writer cuts back to whole JSON lines
//! and takes appends; a foreign writer only ends a torn line with `\n`; a
//! sidecar index, once written, gives the same lines as a scan.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use spool_backends::{JsonlBackend, JsonlConfig, SimFs};
use spool_engine::{Backend, LineFault, NewRecord, OpenMode, ReadRange, Seq, Vfs};

const PATH: &str = "/log.jsonl";

fn fresh(data: &[u8]) -> Arc<dyn Vfs> {
    let fs: Arc<dyn Vfs> = Arc::new(SimFs::new(0));
    let file = fs.open(Path::new(PATH), OpenMode::Create).unwrap();
    file.write_all_at(data, 0).unwrap();
    fs
}

fn everything() -> ReadRange {
    ReadRange::all_from(Seq(0))
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    // Small bounds keep the over-long path and the sidecar hot.
    let small = |base: JsonlConfig| JsonlConfig { max_line_bytes: 256, sidecar_min_bytes: 1, ..base };
    runtime.block_on(async {
        // Lenient reader: lossless.
        let vfs = fresh(data);
        let reader = JsonlBackend::open_read_only(vfs.clone(), PATH, small(JsonlConfig::foreign())).unwrap();
        let lines = memchr_count(data);
        assert_eq!(reader.next_seq(), Seq(lines));
        let records = reader.read(everything()).await.unwrap();
        let mut rebuilt = Vec::new();
        for record in &records {
            if reader.line_fault(record.seq) == Some(LineFault::TooLong) {
                assert!(record.payload.is_empty());
                let at = rebuilt.len();
                let end = at + data[at..].iter().position(|b| *b == b'\n').unwrap();
                rebuilt.extend_from_slice(&data[at..end]);
            } else {
                rebuilt.extend_from_slice(&record.payload);
            }
            rebuilt.push(b'\n');
        }
        rebuilt.extend_from_slice(&data[rebuilt.len()..]);
        assert_eq!(rebuilt, data);

        // Strict reader: records or a typed error.
        let _ = JsonlBackend::open_read_only(vfs.clone(), PATH, small(JsonlConfig::owned()));

        // Owning writer: whole JSON lines, appends, a sidecar that agrees.
        if let Ok(writer) = JsonlBackend::open(vfs.clone(), PATH, small(JsonlConfig::owned())) {
            let n = writer.next_seq();
            let before = writer.read(everything()).await.unwrap();
            let extra = NewRecord { timestamp_ms: 0, payload: bytes::Bytes::from_static(b"{\"after\":1}") };
            writer.append(n, &[extra]).await.expect("a recovered log takes appends");
            writer.close().await.expect("and closes");
            let again = JsonlBackend::open(vfs.clone(), PATH, small(JsonlConfig::owned())).expect("and reopens");
            assert_eq!(again.next_seq(), Seq(n.0 + 1));
            assert_eq!(again.report().scanned_bytes, 0, "the sidecar covered it");
            let after = again.read(everything()).await.unwrap();
            assert_eq!(&after[..before.len()], &before[..]);
        }

        // Foreign writer: the file gains at most one `\n`.
        let vfs = fresh(data);
        let writer = JsonlBackend::open(vfs.clone(), PATH, small(JsonlConfig::foreign())).unwrap();
        let torn = !data.is_empty() && data[data.len() - 1] != b'\n';
        assert_eq!(writer.next_seq(), Seq(lines + u64::from(torn)));
        let file = vfs.open(Path::new(PATH), OpenMode::Read).unwrap();
        assert_eq!(file.len().unwrap(), data.len() as u64 + u64::from(torn));
    });
});

fn memchr_count(data: &[u8]) -> u64 {
    data.iter().filter(|b| **b == b'\n').count() as u64
}
