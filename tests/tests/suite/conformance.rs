//! Goal: every backend keeps the `Backend` contract as seen through `Log`.
//! Method: the shared proptest suite in `spool_tests::conformance`, ≥ 10,000
//! generated workloads per backend (RELIABILITY.md R14). A backend joins with
//! one `Subject` impl and one `#[test]` line below.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use spool_backends::{
    JetStream, JetStreamBackend, JsonlBackend, JsonlConfig, MemoryBackend, ReadMode,
    SegmentedBackend, SegmentedConfig, SimFs, StdFs,
};
use spool_engine::{Backend, Capabilities, LogId, PayloadRule, Result, Vfs};
use spool_tests::conformance::{Subject, run};
use spool_tests::nats::{self, NatsServer};

/// The memory backend, storing any bytes or only JSON lines.
struct Memory(PayloadRule);

#[async_trait]
impl Subject for Memory {
    type Handle = MemoryBackend;

    fn name(&self) -> &'static str {
        match self.0 {
            PayloadRule::JsonLine => "memory (json lines)",
            _ => "memory",
        }
    }

    fn capabilities(&self) -> Capabilities {
        MemoryBackend::with_payload_rule(self.0).capabilities()
    }

    async fn create(&self) -> Result<(MemoryBackend, Arc<dyn Backend>)> {
        let backend = MemoryBackend::with_payload_rule(self.0);
        Ok((backend.clone(), Arc::new(backend)))
    }

    async fn reopen(&self, handle: &MemoryBackend) -> Option<Result<Arc<dyn Backend>>> {
        Some(Ok(Arc::new(handle.reopen())))
    }
}

#[test]
fn memory_backend_conforms() {
    run(&Memory(PayloadRule::Any), 10_000);
}

#[test]
fn memory_backend_with_json_line_payloads_conforms() {
    run(&Memory(PayloadRule::JsonLine), 2_000);
}

/// The segmented backend on a simulated file system, with tiny segments so
/// every workload rolls, seals, maps and indexes segments.
struct SegmentedOnSim(ReadMode);

#[async_trait]
impl Subject for SegmentedOnSim {
    type Handle = Arc<dyn Vfs>;

    fn name(&self) -> &'static str {
        match self.0 {
            ReadMode::Pread => "segmented on SimFs (pread)",
            ReadMode::Mmap => "segmented on SimFs (mmap)",
        }
    }

    fn capabilities(&self) -> Capabilities {
        let vfs: Arc<dyn Vfs> = Arc::new(SimFs::new(0));
        SegmentedBackend::open(vfs, "/log", tiny(self.0))
            .unwrap()
            .capabilities()
    }

    async fn create(&self) -> Result<(Arc<dyn Vfs>, Arc<dyn Backend>)> {
        let vfs: Arc<dyn Vfs> = Arc::new(SimFs::new(0));
        let backend = SegmentedBackend::open(vfs.clone(), "/log", tiny(self.0))?;
        Ok((vfs, Arc::new(backend)))
    }

    async fn reopen(&self, vfs: &Arc<dyn Vfs>) -> Option<Result<Arc<dyn Backend>>> {
        Some(
            SegmentedBackend::open(vfs.clone(), "/log", tiny(self.0))
                .map(|b| Arc::new(b) as Arc<dyn Backend>),
        )
    }
}

fn tiny(read_mode: ReadMode) -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 8 * 1024,
        read_mode,
        ..SegmentedConfig::default()
    }
}

/// The segmented backend on the real disk, in a private temporary directory.
struct SegmentedOnDisk(tempfile::TempDir);

#[async_trait]
impl Subject for SegmentedOnDisk {
    type Handle = PathBuf;

    fn name(&self) -> &'static str {
        "segmented on StdFs"
    }

    fn capabilities(&self) -> Capabilities {
        let dir = self.0.path().join("caps");
        SegmentedBackend::open(Arc::new(StdFs), dir, tiny(ReadMode::Mmap))
            .unwrap()
            .capabilities()
    }

    async fn create(&self) -> Result<(PathBuf, Arc<dyn Backend>)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = self
            .0
            .path()
            .join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
        let backend = SegmentedBackend::open(Arc::new(StdFs), &dir, tiny(ReadMode::Mmap))?;
        Ok((dir, Arc::new(backend)))
    }

    async fn reopen(&self, dir: &PathBuf) -> Option<Result<Arc<dyn Backend>>> {
        Some(
            SegmentedBackend::open(Arc::new(StdFs), dir, tiny(ReadMode::Mmap))
                .map(|b| Arc::new(b) as Arc<dyn Backend>),
        )
    }
}

#[test]
fn segmented_backend_on_sim_fs_conforms() {
    run(&SegmentedOnSim(ReadMode::Mmap), 10_000);
}

#[test]
fn segmented_backend_with_pread_reads_conforms() {
    run(&SegmentedOnSim(ReadMode::Pread), 2_000);
}

#[test]
fn segmented_backend_on_disk_conforms() {
    run(&SegmentedOnDisk(tempfile::tempdir().unwrap()), 300);
}

/// The JSONL backend on a simulated file system, in either line mode.
struct JsonlOnSim(JsonlConfig);

#[async_trait]
impl Subject for JsonlOnSim {
    type Handle = Arc<dyn Vfs>;

    fn name(&self) -> &'static str {
        match self.0.lines {
            spool_backends::LineMode::Strict => "jsonl on SimFs (strict)",
            spool_backends::LineMode::Lenient => "jsonl on SimFs (lenient)",
        }
    }

    fn capabilities(&self) -> Capabilities {
        let vfs: Arc<dyn Vfs> = Arc::new(SimFs::new(0));
        JsonlBackend::open(vfs, "/log.jsonl", self.0.clone())
            .unwrap()
            .capabilities()
    }

    async fn create(&self) -> Result<(Arc<dyn Vfs>, Arc<dyn Backend>)> {
        let vfs: Arc<dyn Vfs> = Arc::new(SimFs::new(0));
        let backend = JsonlBackend::open(vfs.clone(), "/log.jsonl", self.0.clone())?;
        Ok((vfs, Arc::new(backend)))
    }

    async fn reopen(&self, vfs: &Arc<dyn Vfs>) -> Option<Result<Arc<dyn Backend>>> {
        Some(
            JsonlBackend::open(vfs.clone(), "/log.jsonl", self.0.clone())
                .map(|b| Arc::new(b) as Arc<dyn Backend>),
        )
    }
}

/// The JSONL backend on the real disk.
struct JsonlOnDisk(tempfile::TempDir);

#[async_trait]
impl Subject for JsonlOnDisk {
    type Handle = PathBuf;

    fn name(&self) -> &'static str {
        "jsonl on StdFs"
    }

    fn capabilities(&self) -> Capabilities {
        let path = self.0.path().join("caps.jsonl");
        JsonlBackend::open(Arc::new(StdFs), path, JsonlConfig::owned())
            .unwrap()
            .capabilities()
    }

    async fn create(&self) -> Result<(PathBuf, Arc<dyn Backend>)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = self
            .0
            .path()
            .join(format!("{}.jsonl", NEXT.fetch_add(1, Ordering::Relaxed)));
        let backend = JsonlBackend::open(Arc::new(StdFs), &path, JsonlConfig::owned())?;
        Ok((path, Arc::new(backend)))
    }

    async fn reopen(&self, path: &PathBuf) -> Option<Result<Arc<dyn Backend>>> {
        Some(
            JsonlBackend::open(Arc::new(StdFs), path, JsonlConfig::owned())
                .map(|b| Arc::new(b) as Arc<dyn Backend>),
        )
    }
}

#[test]
fn jsonl_backend_on_sim_fs_conforms() {
    run(&JsonlOnSim(JsonlConfig::owned()), 5_000);
}

#[test]
fn jsonl_backend_in_lenient_mode_conforms() {
    run(&JsonlOnSim(JsonlConfig::foreign()), 1_000);
}

#[test]
fn jsonl_backend_on_disk_conforms() {
    run(&JsonlOnDisk(tempfile::tempdir().unwrap()), 300);
}

/// The JetStream backend on a real `nats-server` (one node on loopback):
/// every case is a new log (subject) of one stream, reached through a new
/// connection.
struct OnJetStream {
    server: NatsServer,
    stream: &'static str,
    caps: Capabilities,
}

impl OnJetStream {
    /// Reads the capabilities once (they depend on the server's
    /// `max_payload`), outside the suite's runtime.
    fn new(server: NatsServer, stream: &'static str) -> OnJetStream {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let caps = runtime.block_on(async {
            let js = nats::connect(vec![server.url()], stream, 1).await;
            let probe = LogId::new("caps").unwrap();
            JetStreamBackend::open(&js, &probe)
                .await
                .unwrap()
                .capabilities()
        });
        OnJetStream {
            server,
            stream,
            caps,
        }
    }
}

#[async_trait]
impl Subject for OnJetStream {
    type Handle = (JetStream, LogId);

    fn name(&self) -> &'static str {
        self.stream
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    async fn create(&self) -> Result<((JetStream, LogId), Arc<dyn Backend>)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let js = nats::connect(vec![self.server.url()], self.stream, 1).await;
        let id = LogId::new(format!("case-{}", NEXT.fetch_add(1, Ordering::Relaxed)))?;
        let backend = JetStreamBackend::open(&js, &id).await?;
        Ok(((js, id), Arc::new(backend)))
    }

    async fn reopen(&self, (js, id): &(JetStream, LogId)) -> Option<Result<Arc<dyn Backend>>> {
        Some(
            JetStreamBackend::open(js, id)
                .await
                .map(|b| Arc::new(b) as Arc<dyn Backend>),
        )
    }
}

#[test]
fn jetstream_backend_conforms() {
    let Some(server) = NatsServer::start("jetstream conformance", None) else {
        return;
    };
    run(&OnJetStream::new(server, "jetstream-conformance"), 300);
}

/// With a 16 KiB `max_payload`, generated batches often exceed one
/// message: the log refuses those whole (`BatchBytesTooLarge`) and splits
/// group commits across messages, and every property still holds.
#[test]
fn jetstream_backend_with_small_messages_conforms() {
    let Some(server) = NatsServer::start("jetstream conformance (16 KiB messages)", Some(16 << 10))
    else {
        return;
    };
    run(&OnJetStream::new(server, "jetstream-small-messages"), 200);
}
