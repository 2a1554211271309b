//! Backend wrappers for tests: [`Faulty`] fails the n-th append or sync with a
//! chosen I/O error, counts calls, can hold appends at a gate, and can lie
//! about seqs, so the log's poisoning, group commit and read checks can be
//! observed from outside.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use spool_backends::MemoryBackend;
use spool_engine::{
    Backend, Capabilities, Durability, Error, NewRecord, ReadRange, Record, Result, Seq, SeqRange,
};
use spool_engine::{Log, LogConfig, LogId};
use tokio::sync::Semaphore;

/// What to break, and when.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Fail the append call with this (0-based) index.
    pub fail_append: Option<(usize, io::ErrorKind)>,
    /// Fail the sync call with this (0-based) index.
    pub fail_sync: Option<(usize, io::ErrorKind)>,
    /// Add this to every seq `read` returns (a lying backend).
    pub shift_read_seqs: u64,
    /// Refuse (with `InvalidPayload`, writing nothing) every append batch
    /// holding this payload: a backend stricter than its capabilities say.
    pub reject_payload: Option<Vec<u8>>,
    /// Answer this many appends with `Conflict`, as if another writer had
    /// appended one record first (which it then does, on the inner backend).
    pub foreign_appends: usize,
    /// Return no records from every read (a backend that lost data).
    pub empty_reads: bool,
    /// Retention racing a reader: every read behaves as if the records below
    /// this seq were dropped just before it, and `start_seq` reports it only
    /// from the first such read on (the reader saw the old start).
    pub retain_during_read: Option<u64>,
}

/// A backend wrapper that injects faults and counts calls.
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Backend>,
    faults: Mutex<Faults>,
    appends: AtomicUsize,
    appended_records: AtomicUsize,
    syncs: AtomicUsize,
    gate: Option<Arc<Semaphore>>,
    at_gate: AtomicUsize,
    retained: AtomicU64,
}

impl Faulty {
    /// Wraps `inner` with `faults`.
    #[must_use]
    pub fn new(inner: Arc<dyn Backend>, faults: Faults) -> Faulty {
        Faulty {
            inner,
            faults: Mutex::new(faults),
            appends: AtomicUsize::new(0),
            appended_records: AtomicUsize::new(0),
            syncs: AtomicUsize::new(0),
            gate: None,
            at_gate: AtomicUsize::new(0),
            retained: AtomicU64::new(0),
        }
    }

    /// Makes every append wait for a permit of `gate` first.
    #[must_use]
    pub fn with_gate(mut self, gate: Arc<Semaphore>) -> Faulty {
        self.gate = Some(gate);
        self
    }

    /// Records in append calls waiting at the gate right now.
    pub fn records_at_gate(&self) -> usize {
        self.at_gate.load(Ordering::SeqCst)
    }

    /// Append calls that reached the backend.
    pub fn append_calls(&self) -> usize {
        self.appends.load(Ordering::SeqCst)
    }

    /// Records handed to the backend in successful appends.
    pub fn appended_records(&self) -> usize {
        self.appended_records.load(Ordering::SeqCst)
    }

    /// Sync calls that reached the backend.
    pub fn sync_calls(&self) -> usize {
        self.syncs.load(Ordering::SeqCst)
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }
}

/// A log (default config) over a `Faulty` wrapper of a fresh memory
/// backend; returns the wrapper to steer and count, and the memory backend
/// to reopen.
///
/// # Panics
///
/// Outside a tokio runtime.
#[must_use]
pub fn faulty_log(faults: Faults) -> (Log, Arc<Faulty>, MemoryBackend) {
    let memory = MemoryBackend::new();
    let faulty = Arc::new(Faulty::new(Arc::new(memory.clone()), faults));
    let log = Log::open(
        LogId::new("faulty").expect("a valid id"),
        faulty.clone(),
        LogConfig::default(),
    )
    .expect("the default config is valid");
    (log, faulty, memory)
}

fn injected(kind: io::ErrorKind, op: &'static str) -> Error {
    Error::io(op, io::Error::new(kind, "injected fault"))
}

#[async_trait]
impl Backend for Faulty {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange> {
        if let Some(gate) = &self.gate {
            self.at_gate.fetch_add(records.len(), Ordering::SeqCst);
            gate.acquire().await.unwrap().forget();
            self.at_gate.fetch_sub(records.len(), Ordering::SeqCst);
        }
        let call = self.appends.fetch_add(1, Ordering::SeqCst);
        let (fault, reject, foreign) = {
            let mut faults = self.faults.lock().unwrap();
            let foreign = faults.foreign_appends > 0;
            faults.foreign_appends = faults.foreign_appends.saturating_sub(1);
            (faults.fail_append, faults.reject_payload.clone(), foreign)
        };
        if let Some((at, kind)) = fault
            && at == call
        {
            return Err(injected(kind, "append"));
        }
        if let Some(bad) = reject
            && records.iter().any(|r| r.payload[..] == bad[..])
        {
            return Err(Error::InvalidPayload {
                reason: "refused by the test backend".into(),
            });
        }
        if foreign {
            let end = self.inner.next_seq();
            let other = NewRecord {
                timestamp_ms: 0,
                payload: bytes::Bytes::from_static(b"foreign"),
            };
            let actual = self.inner.append(end, &[other]).await?.end;
            return Err(Error::Conflict {
                expected: expected_next,
                actual,
            });
        }
        let range = self.inner.append(expected_next, records).await?;
        self.appended_records
            .fetch_add(records.len(), Ordering::SeqCst);
        Ok(range)
    }

    async fn read(&self, range: ReadRange) -> Result<Vec<Record>> {
        let (shift, empty, retain) = {
            let faults = self.faults.lock().unwrap();
            (
                faults.shift_read_seqs,
                faults.empty_reads,
                faults.retain_during_read,
            )
        };
        if empty {
            return Ok(Vec::new());
        }
        let mut range = range;
        if let Some(below) = retain {
            self.retained.fetch_max(below, Ordering::SeqCst);
            range.from = range.from.max(Seq(below));
        }
        let mut records = self.inner.read(range).await?;
        for r in &mut records {
            r.seq = Seq(r.seq.0 + shift);
        }
        Ok(records)
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        let call = self.syncs.fetch_add(1, Ordering::SeqCst);
        let fault = self.faults.lock().unwrap().fail_sync;
        if let Some((at, kind)) = fault
            && at == call
        {
            return Err(injected(kind, "sync"));
        }
        self.inner.sync(level).await
    }

    fn start_seq(&self) -> Seq {
        self.inner
            .start_seq()
            .max(Seq(self.retained.load(Ordering::SeqCst)))
    }

    fn next_seq(&self) -> Seq {
        self.inner.next_seq()
    }

    fn durable_seq(&self) -> Seq {
        self.inner.durable_seq()
    }

    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}
