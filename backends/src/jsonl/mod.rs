//! The JSONL backend: a plain file of `\n`-terminated JSON lines is a log.
//!
//! This is the format people already have (Codex rollouts, agent
//! transcripts), so the backend changes no byte of a file it reads: a
//! record's payload is its line without the `\n`, and its seq is the line's
//! index (0-based, dense, whatever the line says). Appends write whole
//! lines in one write. What open does with a damaged end follows the JSONL
//! rows of docs/format.md's recovery table ([`tail::decide`]).
//!
//! Promises kept: P2 (atomic batches: one write, and a torn batch is a torn
//! tail), P3 (a crash leaves a prefix of whole lines), P6 (open needs no
//! manual repair after a crash), P7 and P8 (the writer holds an exclusive
//! lock on the file itself, so no second file appears beside it). P4 and
//! P5 do not hold: a line carries no checksum, so a flipped bit inside a
//! JSON string is a different, valid line (docs/format.md says so too).
//!
//! Reads use `pread` only, never a memory map: another program (Codex
//! itself) may truncate or rewrite a rollout file at any time, and a mapped
//! page past a truncation is SIGBUS (R11).

mod check;
mod config;
mod image;
mod report;
mod scan;
mod sidecar;
mod tail;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use spool_engine::{
    Backend, Capabilities, CorruptKind, Durability, Error, LineFault, NewRecord, OpenMode,
    PayloadRule, ReadRange, Record, Result, Seq, SeqRange, Vfs, VfsFile, VfsLock,
};

pub use check::{repair, verify};
pub use config::{JsonlConfig, LineMode, SidecarIndex, TailPolicy};
pub use report::{InvalidLine, JsonlReport, TailAction};
pub use scan::Fragment;
pub use sidecar::SidecarMiss;
pub use tail::TornTail;

use crate::lifecycle::{Lifecycle, take_lock};
use scan::LineIndex;
use tail::Verdict;

/// A log stored as one JSONL file.
#[derive(Clone, Debug)]
pub struct JsonlBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    vfs: Arc<dyn Vfs>,
    path: PathBuf,
    sidecar: Option<PathBuf>,
    config: JsonlConfig,
    file: Box<dyn VfsFile>,
    state: RwLock<State>,
    /// Serializes appends, syncs, refreshes and close.
    writer: tokio::sync::Mutex<()>,
    next_seq: AtomicU64,
    durable_seq: AtomicU64,
    life: Lifecycle,
    report: JsonlReport,
}

#[derive(Debug)]
struct State {
    index: LineIndex,
    /// Timestamps of the lines appended since open (the file keeps none),
    /// from seq `appended_from` on.
    timestamps: Vec<i64>,
    appended_from: u64,
    /// Bytes written: the end of the last line.
    write_len: u64,
    /// Bytes made durable.
    synced_len: u64,
    /// Bytes the sidecar on disk covers.
    sidecar_len: u64,
}

impl JsonlBackend {
    /// Opens (creating if needed) the file at `path` as its one writer:
    /// takes the file's lock, indexes its lines, and handles a torn tail per
    /// `config.torn_tail`. Does blocking I/O proportional to the file's size:
    /// from async code, call it inside `spawn_blocking` if the file may be
    /// large.
    pub fn open(
        vfs: Arc<dyn Vfs>,
        path: impl Into<PathBuf>,
        config: JsonlConfig,
    ) -> Result<JsonlBackend> {
        config.validate()?;
        let path = path.into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::lifecycle::create_dir_durably(vfs.as_ref(), dir)?;
        }
        // The lock is on the file itself (it is created if missing), so
        // opening a rollout adds nothing beside it.
        let lock = take_lock(vfs.as_ref(), &path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A newly created file must not vanish in a crash after records
            // in it were acknowledged as durable.
            vfs.sync_dir(dir)
                .map_err(|e| Error::io("sync log directory", e))?;
        }
        let file = vfs
            .open(&path, OpenMode::ReadWrite)
            .map_err(|e| Error::io("open log file", e))?;
        let sidecar = sidecar_path(&path, &config);
        let (mut index, fragment, file_len, mut report) =
            Self::index(vfs.as_ref(), sidecar.as_deref(), file.as_ref(), &config)?;
        let verdict = tail::decide(&index, fragment, file_len, config.lines);
        let write_len = match verdict {
            // What a crashed writer left may still be only in the page
            // cache: make it durable before reporting it so (and before
            // the sidecar describes it).
            Verdict::Clean => {
                file.sync_data()
                    .map_err(|e| Error::io("sync log file at open", e))?;
                file_len
            }
            Verdict::Corrupt {
                line,
                offset,
                len,
                fault,
            } => return Err(corrupt(&path, line, offset, len, fault)),
            Verdict::Torn { records, tail } => {
                report.torn_tail = Some(tail);
                match config.torn_tail {
                    TailPolicy::Truncate => {
                        file.set_len(tail.offset)
                            .and_then(|()| file.sync_data())
                            .map_err(|e| Error::io("truncate torn tail", e))?;
                        index.truncate(records);
                        report.tail_action = TailAction::Truncated;
                        tail.offset
                    }
                    TailPolicy::Terminate => {
                        // Lenient mode: the tail is the fragment alone.
                        file.write_all_at(b"\n", file_len)
                            .and_then(|()| file.sync_data())
                            .map_err(|e| Error::io("end torn tail", e))?;
                        index.push(file_len + 1, tail.fault);
                        report.tail_action = TailAction::Terminated;
                        file_len + 1
                    }
                }
            }
        };
        let backend = Self::assemble(
            vfs,
            (path, sidecar),
            config,
            file,
            (index, write_len, report),
            Some(lock),
        );
        backend.store_sidecar();
        Ok(backend)
    }

    /// Opens the file as a reader beside a writer (spool's or another
    /// program's): no lock, nothing written. It sees the lines complete at
    /// open, and more after each [`refresh`](Self::refresh); a torn tail is
    /// skipped and reported.
    pub fn open_read_only(
        vfs: Arc<dyn Vfs>,
        path: impl Into<PathBuf>,
        config: JsonlConfig,
    ) -> Result<JsonlBackend> {
        config.validate()?;
        let path = path.into();
        let file = vfs
            .open(&path, OpenMode::Read)
            .map_err(|e| Error::io("open log file", e))?;
        let sidecar = sidecar_path(&path, &config);
        let (mut index, fragment, file_len, mut report) =
            Self::index(vfs.as_ref(), sidecar.as_deref(), file.as_ref(), &config)?;
        match tail::decide(&index, fragment, file_len, config.lines) {
            Verdict::Clean => {}
            Verdict::Corrupt {
                line,
                offset,
                len,
                fault,
            } => return Err(corrupt(&path, line, offset, len, fault)),
            Verdict::Torn { records, tail } => {
                index.truncate(records);
                report.torn_tail = Some(tail);
            }
        }
        let end = index.end();
        Ok(Self::assemble(
            vfs,
            (path, sidecar),
            config,
            file,
            (index, end, report),
            None,
        ))
    }

    /// Opens `image`, the whole content of a file held in memory (a
    /// decompressed `.jsonl.zst`), as a read-only log: the same lines,
    /// faults and torn-tail report as [`open_read_only`](Self::open_read_only)
    /// on a file with those bytes. `path` names it in errors. No sidecar.
    pub fn open_image(
        path: impl Into<PathBuf>,
        image: Bytes,
        config: &JsonlConfig,
    ) -> Result<JsonlBackend> {
        let path = path.into();
        let vfs = Arc::new(image::ImageVfs {
            path: path.clone(),
            image,
        });
        let config = JsonlConfig {
            sidecar: SidecarIndex::None,
            ..config.clone()
        };
        Self::open_read_only(vfs, path, config)
    }

    /// The seq of the line that starts at byte `offset`, or the count of
    /// lines if `offset` is the end of the last complete line; `None` if
    /// `offset` is not where a line starts. This is how a byte offset into
    /// a rollout (Codex's `history_base.end_byte_offset`) becomes a cut in
    /// the log's seqs.
    #[must_use]
    pub fn seq_at_offset(&self, offset: u64) -> Option<Seq> {
        let state = self.state();
        state
            .index
            .bounds()
            .binary_search(&offset)
            .ok()
            .map(|line| Seq(line as u64))
    }

    /// `len` bytes of the file from `offset`, as they are (for the bytes
    /// no record covers: a torn tail). Fails past the end of the file.
    pub fn read_bytes(&self, offset: u64, len: u64) -> Result<Bytes> {
        let len = usize::try_from(len).map_err(|_| Error::InvalidConfig {
            field: "len",
            reason: format!("{len} bytes do not fit in memory"),
        })?;
        let bytes = self
            .inner
            .file
            .read_vec_at(len, offset)
            .map_err(|e| Error::io("read log file", e))?;
        Ok(Bytes::from(bytes))
    }

    /// Where the line of `seq` starts in the file, or the end of the last
    /// complete line for the next seq; `None` past that.
    #[must_use]
    pub fn offset_of(&self, seq: Seq) -> Option<u64> {
        let state = self.state();
        usize::try_from(seq.0)
            .ok()
            .and_then(|i| state.index.bounds().get(i).copied())
    }

    /// Indexes the file: from the sidecar where it still describes the
    /// file, scanning the rest.
    fn index(
        vfs: &dyn Vfs,
        sidecar: Option<&Path>,
        file: &dyn VfsFile,
        config: &JsonlConfig,
    ) -> Result<(LineIndex, Option<Fragment>, u64, JsonlReport)> {
        let file_len = file.len().map_err(|e| Error::io("stat log file", e))?;
        let mut report = JsonlReport::default();
        let mut index = LineIndex::new();
        if let Some(sidecar) = sidecar.filter(|_| file_len >= config.sidecar_min_bytes) {
            match sidecar::load(vfs, sidecar, file, file_len, config.max_line_bytes) {
                Ok(loaded) => index = loaded,
                Err(miss) => report.sidecar_miss = Some(miss),
            }
        }
        report.sidecar_bytes = index.end();
        report.scanned_bytes = file_len - index.end();
        let fragment = scan::scan(file, &mut index, file_len, config.max_line_bytes)
            .map_err(|e| Error::io("scan log file", e))?;
        Ok((index, fragment, file_len, report))
    }

    fn assemble(
        vfs: Arc<dyn Vfs>,
        (path, sidecar): (PathBuf, Option<PathBuf>),
        config: JsonlConfig,
        file: Box<dyn VfsFile>,
        (index, write_len, report): (LineIndex, u64, JsonlReport),
        lock: Option<Box<dyn VfsLock>>,
    ) -> JsonlBackend {
        let lines = index.lines();
        let sidecar_len = report.sidecar_bytes;
        JsonlBackend {
            inner: Arc::new(Inner {
                state: RwLock::new(State {
                    index,
                    timestamps: Vec::new(),
                    appended_from: lines,
                    write_len,
                    synced_len: write_len,
                    sidecar_len,
                }),
                writer: tokio::sync::Mutex::new(()),
                next_seq: AtomicU64::new(lines),
                // Everything found at open is treated as durable: a writer
                // synced it (truncation included); a reader cannot know.
                durable_seq: AtomicU64::new(if lock.is_some() { lines } else { 0 }),
                life: Lifecycle::new(&path, lock),
                report,
                vfs,
                path,
                sidecar,
                config,
                file,
            }),
        }
    }

    /// Saves the line index as the sidecar if the file is large enough and
    /// the sidecar on disk is behind. Best effort: a sidecar that cannot be
    /// written is rebuilt by the next open's scan.
    fn store_sidecar(&self) {
        let Some(sidecar) = &self.inner.sidecar else {
            return;
        };
        let state = self.state();
        if state.write_len < self.inner.config.sidecar_min_bytes
            || state.sidecar_len == state.write_len
        {
            return;
        }
        let stored = sidecar::store(
            self.inner.vfs.as_ref(),
            sidecar,
            self.inner.file.as_ref(),
            &state.index,
            self.inner.config.max_line_bytes,
        );
        let covered = state.index.end();
        drop(state);
        if stored.is_ok() {
            self.write_state().sidecar_len = covered;
        }
    }

    /// For a read-only log: indexes the lines completed since the last look
    /// and returns the new next seq. A writer's log returns its next seq.
    pub async fn refresh(&self) -> Result<Seq> {
        self.check_open()?;
        if !self.inner.life.read_only() {
            return Ok(self.next_seq());
        }
        let _guard = self.inner.writer.lock().await;
        let file_len = self
            .inner
            .file
            .len()
            .map_err(|e| Error::io("stat log file", e))?;
        let mut index = self.state().index.clone();
        let before = index.lines();
        // The last line seen must still end where it did.
        let end = index.end();
        let mut last = [0u8; 1];
        if file_len < end
            || (end > 0
                && (self.inner.file.read_exact_at(&mut last, end - 1).is_err() || last[0] != b'\n'))
        {
            return Err(self.changed_under_us(end, file_len));
        }
        let fragment = scan::scan(
            self.inner.file.as_ref(),
            &mut index,
            file_len,
            self.inner.config.max_line_bytes,
        )
        .map_err(|e| Error::io("scan log file", e))?;
        match tail::decide(&index, fragment, file_len, self.inner.config.lines) {
            Verdict::Clean => {}
            // Strict: bad lines at the end are not records (yet or ever);
            // lines already handed out stay.
            Verdict::Torn { records, .. } => index.truncate(records.max(before)),
            Verdict::Corrupt {
                line,
                offset,
                len,
                fault,
            } => return Err(corrupt(&self.inner.path, line, offset, len, fault)),
        }
        let lines = index.lines();
        let mut state = self.write_state();
        state.write_len = index.end();
        state.appended_from = lines;
        state.index = index;
        drop(state);
        self.inner.next_seq.store(lines, Ordering::Release);
        Ok(Seq(lines))
    }

    /// What open found and did.
    #[must_use]
    pub fn report(&self) -> &JsonlReport {
        &self.inner.report
    }

    /// The log's file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The records that are not one JSON value (lenient mode; a strict log
    /// has none), in seq order.
    #[must_use]
    pub fn invalid_lines(&self) -> Vec<InvalidLine> {
        let state = self.state();
        state
            .index
            .faults()
            .iter()
            .map(|(&line, &fault)| {
                let (offset, len) = state.index.span(line);
                InvalidLine {
                    seq: Seq(line),
                    line: line + 1,
                    offset,
                    len,
                    fault,
                }
            })
            .collect()
    }

    /// What is wrong with the record at `seq`, if it is not one JSON value.
    #[must_use]
    pub fn line_fault(&self, seq: Seq) -> Option<LineFault> {
        self.state().index.fault(seq.0)
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self) -> Result<()> {
        self.inner.life.check_open()
    }

    fn check_writable(&self) -> Result<()> {
        self.inner.life.check_writable()
    }

    /// Records the first failure; every later write or sync fails (P7).
    fn poison(&self, error: Error) -> Error {
        self.inner.life.poison(error)
    }

    /// The file no longer holds the lines indexed: another program cut or
    /// rewrote it.
    fn changed_under_us(&self, offset: u64, found: u64) -> Error {
        Error::Corrupt {
            object: self.inner.path.display().to_string(),
            offset,
            kind: CorruptKind::Truncated {
                needed: offset,
                available: found,
            },
        }
    }

    /// fdatasync off the async worker threads.
    async fn sync_file(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.file.sync_data())
            .await
            .map_err(|e| Error::io("sync log file", std::io::Error::other(e.to_string())))?
            .map_err(|e| Error::io("sync log file", e))
    }

    async fn sync_locked(&self) -> Result<()> {
        let (write_len, lines) = {
            let state = self.state();
            (state.write_len, state.index.lines())
        };
        if self.state().synced_len == write_len {
            return Ok(());
        }
        self.sync_file().await.map_err(|e| self.poison(e))?;
        self.write_state().synced_len = write_len;
        self.inner.durable_seq.store(lines, Ordering::Release);
        Ok(())
    }
}

/// Where the sidecar of the file at `path` lives, if it has one.
pub(crate) fn sidecar_path(path: &Path, config: &JsonlConfig) -> Option<PathBuf> {
    match &config.sidecar {
        SidecarIndex::None => None,
        SidecarIndex::Beside => Some(sidecar::beside(path)),
        SidecarIndex::At(at) => Some(at.clone()),
    }
}

/// The strict-mode error for a bad line that records follow.
fn corrupt(path: &Path, line: u64, offset: u64, len: u64, fault: LineFault) -> Error {
    Error::Corrupt {
        object: path.display().to_string(),
        offset,
        kind: CorruptKind::InvalidLine {
            line: line + 1,
            len,
            fault,
        },
    }
}

#[async_trait]
impl Backend for JsonlBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            payload: PayloadRule::JsonLine,
            persists_timestamps: false,
            max_record_bytes: self.inner.config.max_line_bytes,
            max_batch_bytes: usize::MAX,
        }
    }

    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange> {
        self.check_writable()?;
        // Every line is checked before anything is written.
        for record in records {
            if record.payload.len() > self.inner.config.max_line_bytes {
                return Err(Error::RecordTooLarge {
                    len: record.payload.len(),
                    max: self.inner.config.max_line_bytes,
                });
            }
            PayloadRule::JsonLine.check(&record.payload)?;
        }
        let _guard = self.inner.writer.lock().await;
        self.check_writable()?;
        let next = self.next_seq();
        if next != expected_next {
            return Err(Error::Conflict {
                expected: expected_next,
                actual: next,
            });
        }
        if records.is_empty() {
            return Ok(SeqRange {
                start: next,
                end: next,
            });
        }
        let offset = self.state().write_len;
        // Another program that ignores the lock (Codex does not flock its
        // rollouts) may have written since: never write over its bytes.
        match self.inner.file.len() {
            Ok(len) if len == offset => {}
            Ok(len) => {
                return Err(self.poison(Error::io(
                    "append lines",
                    std::io::Error::other(format!(
                        "{} is {len} bytes, not the {offset} this writer wrote: another \
                         program changed it without the lock; reopen the log",
                        self.inner.path.display()
                    )),
                )));
            }
            Err(e) => return Err(self.poison(Error::io("stat log file", e))),
        }
        let mut parts: Vec<&[u8]> = Vec::with_capacity(records.len() * 2);
        for record in records {
            parts.push(&record.payload);
            parts.push(b"\n");
        }
        // One write for the whole batch: a crash leaves a prefix of it,
        // whose partial last line is a torn tail (P2, P3).
        self.inner
            .file
            .write_vectored_all_at(&parts, offset)
            .map_err(|e| self.poison(Error::io("append lines", e)))?;
        let mut state = self.write_state();
        let mut end = offset;
        for record in records {
            end += record.payload.len() as u64 + 1;
            state.index.push(end, None);
            state.timestamps.push(record.timestamp_ms);
        }
        state.write_len = end;
        let lines = state.index.lines();
        drop(state);
        self.inner.next_seq.store(lines, Ordering::Release);
        Ok(SeqRange {
            start: next,
            end: Seq(lines),
        })
    }

    async fn read(&self, range: ReadRange) -> Result<Vec<Record>> {
        self.check_open()?;
        // Pick the lines under the lock; read them without it.
        let (first, spans, stamps) = {
            let state = self.state();
            let end = range.to.0.min(state.index.lines());
            let mut spans = Vec::new();
            let mut stamps = Vec::new();
            let mut bytes = 0u64;
            let mut line = range.from.0;
            while line < end
                && spans.len() < range.max_records
                && (spans.is_empty() || bytes < range.max_bytes as u64)
            {
                let (offset, len) = state.index.span(line);
                let fault = state.index.fault(line);
                spans.push((offset, len, fault));
                bytes += len;
                let stamp = line
                    .checked_sub(state.appended_from)
                    .and_then(|i| state.timestamps.get(usize::try_from(i).ok()?))
                    .copied()
                    .unwrap_or(0);
                stamps.push(stamp);
                line += 1;
            }
            (range.from.0, spans, stamps)
        };
        let Some(&(start, _, _)) = spans.first() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(spans.len());
        // Consecutive lines are read with one pread; an over-long line is
        // never read (its payload is empty; `line_fault` flags it).
        let mut run_start = start;
        let mut run: Vec<(u64, u64)> = Vec::new();
        let mut seq = first;
        for (i, &(offset, len, fault)) in spans.iter().enumerate() {
            if fault == Some(LineFault::TooLong) {
                self.read_run(run_start, &run, &mut out, (first, &stamps), &mut seq)?;
                run.clear();
                out.push(Record {
                    seq: Seq(seq),
                    timestamp_ms: stamps[i],
                    payload: Bytes::new(),
                });
                seq += 1;
                run_start = offset + len + 1;
                continue;
            }
            run.push((offset, len));
        }
        self.read_run(run_start, &run, &mut out, (first, &stamps), &mut seq)?;
        Ok(out)
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        self.check_writable()?;
        if level.needs_sync() {
            let _guard = self.inner.writer.lock().await;
            self.check_writable()?;
            self.sync_locked().await?;
        }
        Ok(self.durable_seq())
    }

    fn start_seq(&self) -> Seq {
        Seq::ZERO
    }

    fn next_seq(&self) -> Seq {
        Seq(self.inner.next_seq.load(Ordering::Acquire))
    }

    fn durable_seq(&self) -> Seq {
        Seq(self.inner.durable_seq.load(Ordering::Acquire))
    }

    async fn close(&self) -> Result<()> {
        self.inner.life.check_open()?;
        let _guard = self.inner.writer.lock().await;
        self.inner.life.close()?;
        let result = match (self.inner.life.poisoned(), self.inner.life.read_only()) {
            (Some(cause), _) => Err(Error::Poisoned {
                cause: cause.to_string(),
            }),
            (None, true) => Ok(()),
            // A clean close leaves everything durable, and the sidecar
            // current so the next open scans nothing.
            (None, false) => self.sync_locked().await.inspect(|()| self.store_sidecar()),
        };
        self.inner.life.release_lock();
        result
    }
}

impl JsonlBackend {
    /// Reads the lines `run` (consecutive, starting at `run_start`) with one
    /// pread and appends them to `out` as views of one buffer, checking that
    /// each still ends in its `\n`.
    fn read_run(
        &self,
        run_start: u64,
        run: &[(u64, u64)],
        out: &mut Vec<Record>,
        (first, stamps): (u64, &[i64]),
        seq: &mut u64,
    ) -> Result<()> {
        let Some(&(last_offset, last_len)) = run.last() else {
            return Ok(());
        };
        let end = last_offset + last_len + 1;
        let len = usize::try_from(end - run_start).map_err(|_| {
            Error::io(
                "read lines",
                std::io::Error::other("read span exceeds the address space"),
            )
        })?;
        let buf = match self.inner.file.read_vec_at(len, run_start) {
            Ok(buf) => Bytes::from(buf),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let found = self.inner.file.len().unwrap_or(0);
                return Err(self.changed_under_us(end, found));
            }
            Err(e) => return Err(Error::io("read lines", e)),
        };
        for &(offset, len) in run {
            let at = usize::try_from(offset - run_start).unwrap_or(usize::MAX);
            let line_end = at + usize::try_from(len).unwrap_or(usize::MAX);
            // The line must still end where the index says, and nowhere
            // before: a file rewritten under a reader (or a forged
            // sidecar) must not turn two lines into one record.
            if buf.get(line_end) != Some(&b'\n')
                || memchr::memchr(b'\n', &buf[at..line_end]).is_some()
            {
                return Err(self.changed_under_us(offset + len, offset + len));
            }
            out.push(Record {
                seq: Seq(*seq),
                timestamp_ms: stamps[usize::try_from(*seq - first).unwrap_or(usize::MAX)],
                payload: buf.slice(at..line_end),
            });
            *seq += 1;
        }
        Ok(())
    }
}
