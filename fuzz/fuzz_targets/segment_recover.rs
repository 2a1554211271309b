//! Arbitrary bytes as the only segment of a log: open (strict and salvage)
//! must give a log or a typed error, never a panic or an allocation driven by
//! the input; an opened log must read back exactly `next_seq` records and
//! keep working (append, close, reopen).
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use spool_backends::{RecoveryMode, SegmentedBackend, SegmentedConfig, SimFs};
use spool_engine::{Backend, NewRecord, OpenMode, ReadRange, Seq, Vfs};

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for recovery in [RecoveryMode::Strict, RecoveryMode::Salvage] {
        let fs = Arc::new(SimFs::new(0));
        let vfs: Arc<dyn Vfs> = fs.clone();
        vfs.create_dir_all(Path::new("/log")).unwrap();
        let file = vfs.open(Path::new("/log/00000000000000000000.seg"), OpenMode::CreateNew).unwrap();
        file.write_all_at(data, 0).unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/log")).unwrap();
        drop(file);
        // Small bounds keep the length checks hot.
        let config = SegmentedConfig { segment_bytes: 4096, max_record_bytes: 1024, recovery, ..SegmentedConfig::default() };
        let Ok(log) = SegmentedBackend::open(vfs.clone(), "/log", config.clone()) else { continue };
        runtime.block_on(async {
            let n = log.next_seq();
            let records = log
                .read(ReadRange { from: Seq(0), to: n, max_records: usize::MAX, max_bytes: usize::MAX })
                .await
                .expect("a recovered log reads back");
            assert_eq!(records.len() as u64, n.0);
            let extra = NewRecord { timestamp_ms: 0, payload: bytes::Bytes::from_static(b"after") };
            log.append(n, &[extra]).await.expect("a recovered log takes appends");
            log.close().await.expect("and closes");
            let again = SegmentedBackend::open(vfs.clone(), "/log", config).expect("and reopens");
            assert_eq!(again.next_seq(), Seq(n.0 + 1));
        });
    }
});
