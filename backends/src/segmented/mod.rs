//! The segmented backend: spool's native, crash-safe log format.
//!
//! A log is a directory of segment files named by their first seq, each a
//! header, two commit slots and frames of the engine's frame codec, plus a
//! `LOCK` file held by the one writer (P8) and a sparse index per sealed
//! segment. The last segment is active; earlier ones are sealed (never
//! written again but for the commit slot that confirms a seal, read through
//! memory maps, and durable once confirmed; at most one is not yet). Open reads the
//! active segment only (R18), and recovery follows docs/format.md's table.
//!
//! Promises kept: P1–P8 (see the engine's crate docs).
//!
//! The fsync protocol:
//! 1. `append` encodes the batch (all frames but the last flagged "batch
//!    continues") and writes it with one positional (vectored) write at the
//!    end of the active segment, then publishes the new length to readers.
//! 2. `sync(Data)` calls `fdatasync` on the active segment, then writes the
//!    new durable length into the older commit slot (no second fsync: the
//!    next fsync carries it, and any slot that lands early is still true).
//! 3. Rolling: wait for the confirmation of the segment sealed at the
//!    previous roll (below), write the full segment's sparse index (not
//!    synced; it is rebuildable), create the next segment (preamble written
//!    and fsynced, then the directory fsynced), start the old segment's
//!    *confirmation* in the background (fdatasync, a commit slot covering
//!    all of it, fdatasync), and append to the new one at once: the
//!    appender never waits for a whole segment to reach the disk. The next
//!    roll, sync or close waits for that confirmation (or does it, if it
//!    failed or was dropped): at most one seal is ever unconfirmed, and
//!    every acknowledgement of durability comes after it. Recovery checks
//!    that one segment (docs/format.md).
//! 4. Any failed write or fsync poisons the backend: every later write or
//!    sync fails until reopen, and no fsync is retried.
//! 5. If `writeback_bytes` is set, every that many bytes written to the
//!    active segment an fdatasync of it starts in the background (one at a
//!    time), so later fsyncs find little left; it moves no durable point,
//!    every fsync of the writer waits for it first, and its failure poisons
//!    like any other (step 4). Off by default: it bounds the latency of a
//!    `sync` after a long `Buffered` burst, at a measured cost to append
//!    throughput (docs/benchmarks.md).

mod background;
mod batch;
mod index;
mod layout;
mod published;
mod recovery;
mod repair;
mod segment;
mod verify;

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod seal_window_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use spool_engine::{
    Backend, Capabilities, Durability, Error, NewRecord, OpenMode, PayloadRule, ReadRange, Record,
    Result, Seq, SeqRange, Vfs, VfsLock, frame,
};

pub use recovery::RecoveryReport;
pub use repair::repair;
pub use segment::ReadMode;
pub use verify::verify;

use crate::lifecycle::{Lifecycle, take_lock};
use background::Unsealed;
use layout::{CommitSlot, FRAMES_START, index_name, path_in};
use segment::Segment;

/// What recovery does with damage before the durable point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Refuse to open with `Corrupt { object, offset }`. Default.
    #[default]
    Strict,
    /// Cut the log at the last complete batch before the damage, saving the
    /// cut bytes to `<segment>.cut-<offset>` first.
    Salvage,
}

/// Configuration of a segmented log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentedConfig {
    /// A segment rolls when the next batch would take it past this size (a
    /// batch larger than a segment gets a segment of its own). Bounds what
    /// open has to scan after a crash. Default: 32 MiB.
    pub segment_bytes: u64,
    /// Largest payload accepted, and the bound frame decoding enforces.
    /// Default: 8 MiB.
    pub max_record_bytes: usize,
    /// How sealed segments are read. Default: `Mmap`.
    pub read_mode: ReadMode,
    /// What to do with damage before the durable point. Default: `Strict`.
    pub recovery: RecoveryMode,
    /// Start writing the active segment out in the background after this
    /// many bytes (0: never), so a later `sync` finds little to flush.
    /// Default: 0. Setting it bounds how long a `sync` after a long
    /// `Buffered` burst takes, at the cost of background fsyncs competing
    /// with the appends (docs/benchmarks.md measures both).
    pub writeback_bytes: u64,
}

impl Default for SegmentedConfig {
    fn default() -> Self {
        SegmentedConfig {
            segment_bytes: 32 << 20,
            max_record_bytes: 8 << 20,
            read_mode: ReadMode::Mmap,
            recovery: RecoveryMode::Strict,
            writeback_bytes: 0,
        }
    }
}

impl SegmentedConfig {
    /// Checks the bounds.
    pub fn validate(&self) -> Result<()> {
        if self.segment_bytes < FRAMES_START + frame::HEADER_LEN as u64 {
            return Err(Error::InvalidConfig {
                field: "segment_bytes",
                reason: format!(
                    "must be at least {}",
                    FRAMES_START + frame::HEADER_LEN as u64
                ),
            });
        }
        if self.max_record_bytes == 0 || self.max_record_bytes > frame::PAYLOAD_MAX_BYTES {
            return Err(Error::InvalidConfig {
                field: "max_record_bytes",
                reason: format!("must be within 1..={}", frame::PAYLOAD_MAX_BYTES),
            });
        }
        Ok(())
    }
}

/// A log stored as segment files in one directory.
#[derive(Clone, Debug)]
pub struct SegmentedBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    config: SegmentedConfig,
    segments: RwLock<Vec<Arc<Segment>>>,
    writer: tokio::sync::Mutex<WriterState>,
    next_seq: AtomicU64,
    durable_seq: AtomicU64,
    life: Lifecycle,
    report: RecoveryReport,
}

#[derive(Debug)]
struct WriterState {
    active: Arc<Segment>,
    write_len: u64,
    next_seq: Seq,
    synced_len: u64,
    slot_generation: u64,
    /// A commit slot was written after the last fsync (it lands with the
    /// next one; `close` forces it).
    slot_dirty: bool,
    staging: batch::Staging,
    /// `write_len` when the last background writeback started.
    writeback_at: u64,
    /// The background writeback in flight, if any (at most one). Every
    /// fsync of the writer waits for it first: a writeback's failure is
    /// reported to one fsync only (the kernel clears it), so the writer's
    /// own fsync after it could succeed on pages that never reached the
    /// disk; the poison the writeback records is what stops that.
    writeback: Option<tokio::task::JoinHandle<()>>,
    /// The segment sealed by the last roll, whose seal is not yet confirmed
    /// durable (protocol step 3). At most one: the next roll, sync or close
    /// confirms it first.
    unsealed: Option<Unsealed>,
}

/// The name of the lock file in a log directory.
pub const LOCK_FILE: &str = "LOCK";

impl SegmentedBackend {
    /// Opens (creating if needed) the log in `dir` as its one writer,
    /// recovering it after a crash. Does blocking I/O: from async code, call
    /// it inside `spawn_blocking` if the log may be large.
    pub fn open(
        vfs: Arc<dyn Vfs>,
        dir: impl Into<PathBuf>,
        config: SegmentedConfig,
    ) -> Result<SegmentedBackend> {
        config.validate()?;
        let dir = dir.into();
        crate::lifecycle::create_dir_durably(vfs.as_ref(), &dir)?;
        let lock = take_lock(vfs.as_ref(), &dir.join(LOCK_FILE))?;
        let recovered = recovery::recover(vfs.as_ref(), &dir, &config)?;
        // Durable is what the commit slots vouch for; what recovery kept
        // beyond that becomes durable at the first sync (or close).
        let durable = recovered.durable_seq;
        Self::assemble(vfs, dir, config, recovered, durable, Some(lock))
    }

    /// Opens the log in `dir` as a reader beside another process's writer:
    /// no lock, nothing repaired or written. It sees the complete batches
    /// written when it opened, and more after each [`refresh`](Self::refresh)
    /// (what the writer has written, durable or not yet). The active segment
    /// is read with pread only, so a writer's recovery that truncates it can
    /// never fault this process; sealed segments are mapped.
    pub fn open_read_only(
        vfs: Arc<dyn Vfs>,
        dir: impl Into<PathBuf>,
        config: SegmentedConfig,
    ) -> Result<SegmentedBackend> {
        config.validate()?;
        let dir = dir.into();
        let mut bases = recovery::list_bases(vfs.as_ref(), &dir)?;
        let active = loop {
            let Some(&base) = bases.last() else {
                return Err(Error::io(
                    "open log read-only",
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("no segments in {}", dir.display()),
                    ),
                ));
            };
            match recovery::observe_segment(vfs.as_ref(), &dir, base)? {
                Some(segment) => break segment,
                // A roll in flight: its predecessor is still the end.
                None => {
                    bases.pop();
                }
            }
        };
        recovery::follow(&active, frame::PAYLOAD_MAX_BYTES)?;
        let mut segments = recovery::open_sealed(vfs.as_ref(), &dir, &bases)?;
        let write_len = active.published_len();
        let next_seq = active.end_seq();
        segments.push(Arc::new(active));
        let observed = recovery::Recovered {
            segments,
            write_len,
            next_seq,
            slot_generation: 0,
            synced_len: write_len,
            durable_seq: Seq::ZERO,
            unsealed: None,
            all_durable: false,
            report: RecoveryReport::default(),
        };
        // A reader cannot know what the writer has synced.
        Self::assemble(vfs, dir, config, observed, Seq::ZERO, None)
    }

    /// Builds the handle from an opened log; `lock` is `None` for readers.
    fn assemble(
        vfs: Arc<dyn Vfs>,
        dir: PathBuf,
        config: SegmentedConfig,
        opened: recovery::Recovered,
        durable: Seq,
        lock: Option<Box<dyn VfsLock>>,
    ) -> Result<SegmentedBackend> {
        let active = opened
            .segments
            .last()
            .cloned()
            .ok_or_else(|| Error::io("open log", std::io::Error::other("no active segment")))?;
        let next = opened.next_seq;
        let writer = lock.is_some();
        let unsealed = opened.unsealed.map(|p| Unsealed {
            segment: p.segment,
            len: p.len,
            end: active.base,
            slot_generation: p.slot_generation,
            confirming: None,
        });
        Ok(SegmentedBackend {
            inner: Arc::new(Inner {
                writer: tokio::sync::Mutex::new(WriterState {
                    active,
                    write_len: opened.write_len,
                    next_seq: next,
                    synced_len: opened.synced_len,
                    slot_generation: opened.slot_generation,
                    // A writer's last slot may still be in the page cache
                    // only: close fsyncs it even if nothing is appended.
                    slot_dirty: writer,
                    staging: batch::Staging::default(),
                    writeback_at: opened.write_len,
                    writeback: None,
                    unsealed,
                }),
                segments: RwLock::new(opened.segments),
                next_seq: AtomicU64::new(next.0),
                durable_seq: AtomicU64::new(durable.0),
                life: Lifecycle::new(&dir, lock),
                report: opened.report,
                vfs,
                dir,
                config,
            }),
        })
    }

    /// For a read-only log: picks up what the writer appended since (new
    /// frames, rolled and new segments) and returns the new next seq. A
    /// writer's log returns its next seq unchanged.
    pub async fn refresh(&self) -> Result<Seq> {
        if !self.inner.life.read_only() {
            return Ok(self.next_seq());
        }
        let _guard = self.inner.writer.lock().await;
        let vfs = self.inner.vfs.as_ref();
        let max = frame::PAYLOAD_MAX_BYTES;
        let segments = self.segments();
        let Some(current) = segments.last() else {
            return Ok(self.next_seq());
        };
        recovery::follow(current, max)?;
        let newer: Vec<Seq> = recovery::list_bases(vfs, &self.inner.dir)?
            .into_iter()
            .filter(|b| *b > current.base)
            .collect();
        for base in newer {
            let Some(next) = recovery::observe_segment(vfs, &self.inner.dir, base)? else {
                break;
            };
            // The writer rolled: what it wrote before the roll is all there is.
            let last = self.segments().last().cloned();
            if let Some(last) = last {
                recovery::follow(&last, max)?;
                last.seal();
            }
            recovery::follow(&next, max)?;
            self.inner
                .segments
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Arc::new(next));
        }
        let end = self.segments().last().map_or(Seq::ZERO, |s| s.end_seq());
        self.inner.next_seq.store(end.0, Ordering::Release);
        Ok(end)
    }

    /// What recovery did when this log was opened.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The log's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Number of segment files.
    #[must_use]
    pub fn segment_count(&self) -> usize {
        self.segments().len()
    }

    /// Retention: removes every sealed segment whose records all lie below
    /// `seq`, oldest first, and returns the log's new first seq. Segments are
    /// unlinked, never shrunk, so readers holding mapped records keep them
    /// (R11); each removal is made durable before the next, so a crash can
    /// only bring back a contiguous run of the oldest ones.
    pub async fn truncate_before(&self, seq: Seq) -> Result<Seq> {
        self.check_writable()?;
        // The writer lock keeps rolls (which add segments) out meanwhile.
        let _writer = self.inner.writer.lock().await;
        loop {
            let oldest = {
                let segments = self
                    .inner
                    .segments
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                match segments.first() {
                    Some(s) if segments.len() > 1 && s.is_sealed() && s.end_seq() <= seq => {
                        Arc::clone(s)
                    }
                    _ => break,
                }
            };
            let vfs = self.inner.vfs.as_ref();
            let dir = &self.inner.dir;
            // The index first: a crash in between leaves a segment without
            // an index (rebuilt on read), never an index without a segment
            // that matters.
            match vfs.remove(&path_in(dir, &index_name(oldest.base))) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(self.poison(Error::io("remove index", e)));
                }
                _ => {}
            }
            vfs.remove(&path_in(dir, &oldest.name))
                .map_err(|e| self.poison(Error::io("remove segment", e)))?;
            vfs.sync_dir(dir)
                .map_err(|e| self.poison(Error::io("sync log directory", e)))?;
            self.inner
                .segments
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(0);
        }
        Ok(self.start_seq())
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.inner
            .segments
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn check_writable(&self) -> Result<()> {
        self.inner.life.check_writable()
    }

    /// Records the first failure; every later write or sync fails (P7).
    fn poison(&self, error: Error) -> Error {
        self.inner.life.poison(error)
    }

    /// Makes everything written durable and records it in a commit slot.
    async fn sync_locked(&self, w: &mut WriterState) -> Result<()> {
        // What is acknowledged durable includes the segment sealed before.
        self.confirm_sealed(w).await?;
        self.settle_writeback(w).await?;
        if w.synced_len == w.write_len {
            // All of it was vouched for already; what recovery could not
            // count as durable (a seal it found unconfirmed) now is.
            self.inner
                .durable_seq
                .store(w.next_seq.0, Ordering::Release);
            return Ok(());
        }
        Self::sync_segment(&w.active)
            .await
            .map_err(|e| self.poison(e))?;
        w.slot_dirty = false;
        w.synced_len = w.write_len;
        self.inner
            .durable_seq
            .store(w.next_seq.0, Ordering::Release);
        w.slot_generation += 1;
        let slot = CommitSlot {
            generation: w.slot_generation,
            durable_len: w.write_len,
            end_seq: w.next_seq,
        };
        w.active
            .file
            .write_all_at(&slot.encode(), CommitSlot::offset_for(w.slot_generation))
            .map_err(|e| self.poison(Error::io("write commit slot", e)))?;
        w.slot_dirty = true;
        Ok(())
    }

    /// Seals the active segment and starts the next one (protocol step 3).
    async fn roll(&self, w: &mut WriterState) -> Result<()> {
        // The segment sealed at the previous roll has had a whole segment's
        // time to reach the disk: confirming it now costs little, and keeps
        // at most one unconfirmed seal (the one recovery checks).
        self.confirm_sealed(w).await?;
        let old = Arc::clone(&w.active);
        let entries = old.index_snapshot();
        // Best effort: the index is rebuildable and checked before use.
        let _ = write_index(
            self.inner.vfs.as_ref(),
            &self.inner.dir,
            old.base,
            w.write_len,
            &entries,
        );
        let next = recovery::create_segment(self.inner.vfs.as_ref(), &self.inner.dir, w.next_seq)
            .map_err(|e| self.poison(e))?;
        old.seal();
        let next = Arc::new(next);
        self.inner
            .segments
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&next));
        // Its confirmation starts now, in the background: it has a whole
        // segment's appends to finish before the next roll waits for it.
        let mut unsealed = Unsealed {
            segment: old,
            len: w.write_len,
            end: w.next_seq,
            slot_generation: w.slot_generation,
            confirming: None,
        };
        unsealed.confirming = Some(Self::spawn_confirm(
            &unsealed,
            w.writeback.take(),
            Arc::downgrade(&self.inner),
        ));
        w.unsealed = Some(unsealed);
        w.active = next;
        w.write_len = FRAMES_START;
        w.writeback_at = FRAMES_START;
        w.synced_len = FRAMES_START;
        w.slot_generation = 0;
        Ok(())
    }

    /// Loads (or rebuilds) the index of a sealed segment before reading it.
    fn ensure_index(&self, segment: &Segment) -> Result<()> {
        if segment.index_is_complete() {
            return Ok(());
        }
        let len = segment.published_len();
        let path = path_in(&self.inner.dir, &index_name(segment.base));
        if let Some(entries) = index::load(self.inner.vfs.as_ref(), &path, segment.base, len) {
            segment.install_index(entries);
            return Ok(());
        }
        let scan = segment.scan(
            self.inner.config.read_mode,
            FRAMES_START,
            segment.base,
            len,
            frame::PAYLOAD_MAX_BYTES,
        )?;
        if let Some((offset, kind)) = scan.damage {
            return Err(segment.corrupt(offset, kind));
        }
        if scan.batch_end_seq != segment.end_seq() {
            return Err(segment.corrupt(
                scan.batch_end,
                spool_engine::CorruptKind::SeqMismatch {
                    expected: segment.end_seq(),
                    found: scan.batch_end_seq,
                },
            ));
        }
        let _ = write_index(
            self.inner.vfs.as_ref(),
            &self.inner.dir,
            segment.base,
            len,
            &scan.index,
        );
        segment.install_index(scan.index);
        Ok(())
    }
}

pub(crate) fn write_index(
    vfs: &dyn Vfs,
    dir: &Path,
    base: Seq,
    len: u64,
    entries: &[(u64, u64)],
) -> std::io::Result<()> {
    let name = index_name(base);
    let tmp = path_in(dir, &format!("{name}.tmp"));
    let file = vfs.open(&tmp, OpenMode::Create)?;
    file.set_len(0)?;
    file.write_all_at(&index::encode(base, len, entries), 0)?;
    drop(file);
    vfs.rename(&tmp, &path_in(dir, &name))
}

#[async_trait]
impl Backend for SegmentedBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            payload: PayloadRule::Any,
            persists_timestamps: true,
            max_record_bytes: self.inner.config.max_record_bytes,
            max_batch_bytes: usize::MAX,
        }
    }

    async fn append(&self, expected_next: Seq, records: &[NewRecord]) -> Result<SeqRange> {
        self.check_writable()?;
        let mut w = self.inner.writer.lock().await;
        self.check_writable()?;
        if expected_next != w.next_seq {
            return Err(Error::Conflict {
                expected: expected_next,
                actual: w.next_seq,
            });
        }
        let start = w.next_seq;
        if records.is_empty() {
            return Ok(SeqRange { start, end: start });
        }
        // A seal recovery found unconfirmed is confirmed in the background
        // from the first append on (open itself is not async).
        if let Some(u) = &mut w.unsealed
            && u.confirming.is_none()
        {
            u.confirming = Some(Self::spawn_confirm(u, None, Arc::downgrade(&self.inner)));
        }
        let max = self.inner.config.max_record_bytes;
        if let Some(r) = records.iter().find(|r| r.payload.len() > max) {
            return Err(Error::RecordTooLarge {
                len: r.payload.len(),
                max,
            });
        }
        let batch_bytes: u64 = records
            .iter()
            .map(|r| frame::encoded_len(r.payload.len()) as u64)
            .sum();
        if w.write_len > FRAMES_START && w.write_len + batch_bytes > self.inner.config.segment_bytes
        {
            self.roll(&mut w).await?;
        }
        let mut staging = std::mem::take(&mut w.staging);
        let written = batch::write(
            w.active.file.as_ref(),
            &mut staging,
            w.write_len,
            start,
            records,
        );
        w.staging = staging;
        // Any failure may leave part of the batch written: poison (P7).
        written.map_err(|e| self.poison(e))?;
        let offsets = batch::frame_offsets(w.write_len, start, records);
        w.write_len += batch_bytes;
        w.next_seq = Seq(start.0 + records.len() as u64);
        w.active.publish(&offsets, w.write_len, w.next_seq);
        self.inner.next_seq.store(w.next_seq.0, Ordering::Release);
        self.start_writeback(&mut w);
        Ok(SeqRange {
            start,
            end: w.next_seq,
        })
    }

    async fn read(&self, range: ReadRange) -> Result<Vec<Record>> {
        self.inner.life.check_open()?;
        let segments = self.segments();
        let mut out: Vec<Record> = Vec::new();
        let mut from = range.from;
        let mut bytes = 0usize;
        let first = segments
            .partition_point(|s| s.base <= from)
            .saturating_sub(1);
        for segment in segments.iter().skip(first) {
            if from >= range.to
                || out.len() >= range.max_records
                || (!out.is_empty() && bytes >= range.max_bytes)
            {
                break;
            }
            if segment.end_seq() <= from {
                continue;
            }
            if segment.is_sealed() {
                self.ensure_index(segment)?;
            }
            let got = segment.read(
                self.inner.config.read_mode,
                (from, range.to),
                range.max_records - out.len(),
                range.max_bytes.saturating_sub(bytes),
                frame::PAYLOAD_MAX_BYTES,
            )?;
            bytes += got.iter().map(|r| r.payload.len()).sum::<usize>();
            if let Some(last) = got.last() {
                from = Seq(last.seq.0 + 1);
            }
            let done = from < segment.end_seq();
            out.extend(got);
            if done {
                break;
            }
        }
        Ok(out)
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        self.check_writable()?;
        if level.needs_sync() {
            let mut w = self.inner.writer.lock().await;
            self.check_writable()?;
            self.sync_locked(&mut w).await?;
        }
        Ok(self.durable_seq())
    }

    fn start_seq(&self) -> Seq {
        self.segments().first().map_or(Seq::ZERO, |s| s.base)
    }

    fn next_seq(&self) -> Seq {
        Seq(self.inner.next_seq.load(Ordering::Acquire))
    }

    fn durable_seq(&self) -> Seq {
        Seq(self.inner.durable_seq.load(Ordering::Acquire))
    }

    async fn close(&self) -> Result<()> {
        self.inner.life.check_open()?;
        let mut w = self.inner.writer.lock().await;
        self.inner.life.close()?;
        // A clean close leaves everything durable, so the next open has
        // nothing to recover; a poisoned log reports why instead.
        let result = match self.inner.life.poisoned() {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.to_string(),
            }),
            None => match self.sync_locked(&mut w).await {
                // The last slot must not be left to chance: a power loss
                // after a clean close must not turn later bit rot in the
                // last batch into a "torn tail" that recovery would cut.
                Ok(()) if w.slot_dirty => Self::sync_segment(&w.active)
                    .await
                    .map_err(|e| self.poison(e)),
                other => other,
            },
        };
        self.inner.life.release_lock();
        result
    }
}
