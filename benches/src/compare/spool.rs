//! spool's backends as a user reaches them: through the public `Log` API
//! (the group-commit writer task, checksums, seqs, cursors), from a task on
//! a two-worker tokio runtime, the way an async application calls it. Each
//! phase runs as one task, so the numbers carry no per-call hand-off from
//! outside the runtime (benchmarks.md explains that cost).
//!
//! The JetStream contenders run against real `nats-server` processes on
//! loopback, started by the contender (one node, or three with a replicated
//! stream) and kept for all its phases; each phase is a new log (subject).
//! They hold no files of their own (the servers' are elsewhere), so like the
//! memory log they have no open-after-crash or bytes-on-disk row.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spool_backends::{
    JetStream, JetStreamBackend, JetStreamConfig, JsonlBackend, JsonlConfig, MemoryBackend,
    SegmentedBackend, SegmentedConfig, StdFs,
};
use spool_engine::{Backend, Direction, Durability, Log, LogConfig, LogId, Seq};

use super::{Contender, Records, Result};

/// Which backend.
#[derive(Clone, Copy)]
enum Kind {
    Memory,
    Jsonl,
    Segmented,
    /// On a stream with this many replicas (as many servers).
    JetStream(usize),
}

/// A spool `Log` on one backend.
pub struct Spool {
    kind: Kind,
    runtime: tokio::runtime::Runtime,
    log: Option<Log>,
    /// The servers and the connection of a JetStream contender, once started.
    nats: Option<(Servers, JetStream)>,
    /// Phases run so far: each gets a log of its own.
    phase: u64,
}

/// The bench servers' `max_payload`: 8 MiB (the most NATS recommends), so a
/// batch of 1,024 records of the workload (~1.25 MB) is one message, as the
/// other contenders write it in one piece; with the 1 MiB default the log
/// refuses such a batch (`BatchBytesTooLarge`).
const BENCH_MAX_PAYLOAD: usize = 8 << 20;

/// The `nats-server` processes a JetStream contender runs against.
#[expect(
    dead_code,
    reason = "held only so that the servers live as long as the contender"
)]
enum Servers {
    One(spool_tests::nats::NatsServer),
    Cluster(spool_tests::nats::NatsCluster),
}

impl Spool {
    fn new(kind: Kind) -> Spool {
        Spool {
            kind,
            runtime: crate::harness::runtime(),
            log: None,
            nats: None,
            phase: 0,
        }
    }

    /// The JetStream backend on one local server; `None` (after a loud
    /// notice) where `nats-server` is not installed, and a panic under CI.
    #[must_use]
    pub fn jetstream() -> Option<Spool> {
        spool_tests::nats::binary("the JetStream contenders")
            .map(|_| Spool::new(Kind::JetStream(1)))
    }

    /// The JetStream backend on a 3-node loopback cluster, stream R=3.
    #[must_use]
    pub fn jetstream_r3() -> Option<Spool> {
        spool_tests::nats::binary("the JetStream contenders")
            .map(|_| Spool::new(Kind::JetStream(3)))
    }

    /// The connection, starting the servers on first use.
    fn nats(&mut self, replicas: usize) -> Result<JetStream> {
        if let Some((_, js)) = &self.nats {
            return Ok(js.clone());
        }
        let (servers, urls) = if replicas == 1 {
            let server = spool_tests::nats::NatsServer::start("bench", Some(BENCH_MAX_PAYLOAD))
                .ok_or("nats-server is not installed")?;
            let urls = vec![server.url()];
            (Servers::One(server), urls)
        } else {
            let cluster =
                spool_tests::nats::NatsCluster::start("bench", replicas, Some(BENCH_MAX_PAYLOAD))
                    .ok_or("nats-server is not installed")?;
            let urls = cluster.urls();
            (Servers::Cluster(cluster), urls)
        };
        let mut config = JetStreamConfig::new(urls, "bench");
        config.replicas = replicas;
        let js = self
            .runtime
            .block_on(spool_tests::nats::connect_with(config));
        self.nats = Some((servers, js.clone()));
        Ok(js)
    }

    /// The in-memory backend.
    #[must_use]
    pub fn memory() -> Spool {
        Spool::new(Kind::Memory)
    }

    /// The JSONL backend (spool's own strict JSONL, sidecar index).
    #[must_use]
    pub fn jsonl() -> Spool {
        Spool::new(Kind::Jsonl)
    }

    /// The segmented backend (default configuration: 32 MiB segments,
    /// mapped reads of sealed segments).
    #[must_use]
    pub fn segmented() -> Spool {
        Spool::new(Kind::Segmented)
    }

    fn log(&self) -> Result<Log> {
        self.log.clone().ok_or_else(|| "spool: not open".into())
    }

    /// Runs `work` as one task on the runtime.
    fn in_task<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.runtime.block_on(self.runtime.spawn(work))?
    }
}

impl Contender for Spool {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Memory => "spool-memory",
            Kind::Jsonl => "spool-jsonl",
            Kind::Segmented => "spool-segmented",
            Kind::JetStream(1) => "spool-jetstream",
            Kind::JetStream(_) => "spool-jetstream-r3",
        }
    }

    fn on_disk(&self) -> bool {
        matches!(self.kind, Kind::Jsonl | Kind::Segmented)
    }

    fn can_sync(&self) -> bool {
        // In memory there is nothing to make durable.
        !matches!(self.kind, Kind::Memory)
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.open(dir)
    }

    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()> {
        let log = self.log()?;
        let payloads = Arc::clone(&records.payloads);
        let durability = if sync {
            Durability::Data
        } else {
            Durability::Buffered
        };
        self.in_task(async move {
            for chunk in payloads.chunks(batch) {
                log.append_with(durability, chunk.iter().cloned()).await?;
            }
            Ok(())
        })
    }

    fn concurrent_durable(&mut self, records: &Records) -> Option<Result<()>> {
        if !self.can_sync() {
            return None;
        }
        let log = match self.log() {
            Ok(log) => log,
            Err(e) => return Some(Err(e)),
        };
        let payloads = Arc::clone(&records.payloads);
        Some(self.in_task(async move {
            // Each writer appends every WRITERS-th record, one at a time.
            let writers: Vec<_> = (0..super::WRITERS)
                .map(|w| {
                    let (log, payloads) = (log.clone(), Arc::clone(&payloads));
                    tokio::spawn(async move {
                        for p in payloads.iter().skip(w).step_by(super::WRITERS) {
                            log.append_with(Durability::Data, [p.clone()]).await?;
                        }
                        Ok::<(), spool_engine::Error>(())
                    })
                })
                .collect();
            for w in writers {
                w.await??;
            }
            Ok(())
        }))
    }

    fn close(&mut self) -> Result<()> {
        if let Some(log) = self.log.take() {
            self.runtime.block_on(log.close())?;
        }
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        let vfs = Arc::new(StdFs);
        let backend: Arc<dyn Backend> = match self.kind {
            Kind::JetStream(replicas) => {
                let js = self.nats(replicas)?;
                self.phase += 1;
                let id = LogId::new(format!("phase-{}", self.phase))?;
                Arc::new(self.runtime.block_on(JetStreamBackend::open(&js, &id))?)
            }
            Kind::Memory => Arc::new(MemoryBackend::new()),
            Kind::Jsonl => Arc::new(JsonlBackend::open(
                vfs,
                dir.join("log.jsonl"),
                JsonlConfig::owned(),
            )?),
            Kind::Segmented => Arc::new(SegmentedBackend::open(
                vfs,
                dir.join("log"),
                SegmentedConfig::default(),
            )?),
        };
        let _guard = self.runtime.enter();
        self.log = Some(Log::open(
            LogId::new("bench")?,
            backend,
            LogConfig::default(),
        )?);
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let log = self.log()?;
        self.in_task(async move {
            let (mut count, mut bytes) = (0, 0);
            let mut cursor = log.first_cursor();
            loop {
                let page = log.read_page(&cursor, 1_000).await?;
                count += page.records.len() as u64;
                bytes += page
                    .records
                    .iter()
                    .map(|r| r.payload.len() as u64)
                    .sum::<u64>();
                match page.next {
                    Some(next) => cursor = next,
                    None => return Ok((count, bytes)),
                }
            }
        })
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        let log = self.log()?;
        let starts = starts.to_vec();
        self.in_task(async move {
            let mut times = Vec::with_capacity(starts.len());
            for start in starts {
                let began = Instant::now();
                let cursor = log.cursor_at(Seq(start), Direction::Forward);
                let page = log.read_page(&cursor, len).await?;
                times.push(began.elapsed());
                if page.records.len() != len {
                    return Err(format!(
                        "spool: a page at {start} held {} records",
                        page.records.len()
                    )
                    .into());
                }
            }
            Ok(times)
        })
    }
}
