//! The fsyncs the segmented writer runs off its append path, and how it
//! waits for them: the confirmation of a segment's seal (started at the
//! roll, or from the first append after an open that found one pending)
//! and the optional periodic writeback of the active segment. Every fsync
//! that acknowledges durability waits for these first, and any failure
//! among them poisons the log where it is seen (P7; docs/format.md,
//! "Confirming a seal" and "Background writeback").

use std::sync::Arc;

use spool_engine::{Error, Result, Seq};

use super::layout::CommitSlot;
use super::segment::Segment;
use super::{Inner, SegmentedBackend, WriterState};

/// A sealed segment not yet confirmed durable, and what its confirming
/// commit slot will say.
#[derive(Debug)]
pub(super) struct Unsealed {
    pub(super) segment: Arc<Segment>,
    pub(super) len: u64,
    pub(super) end: Seq,
    pub(super) slot_generation: u64,
    /// The confirmation the roll started in the background: `Ok` once the
    /// slot is written and synced; its error (already the log's poison)
    /// otherwise. Kept until it is awaited to the end, so a caller that
    /// drops `confirm_sealed` midway leaves it to the next.
    pub(super) confirming: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl Unsealed {
    /// The commit slot that confirms the seal: all of the segment durable.
    fn slot(&self) -> CommitSlot {
        CommitSlot {
            generation: self.slot_generation + 1,
            durable_len: self.len,
            end_seq: self.end,
        }
    }
}

impl SegmentedBackend {
    /// Starts writing the active segment's dirty pages out in the
    /// background once `writeback_bytes` more have been written, so the
    /// fsync a roll (or a `Data` sync) must wait for has little left to do.
    /// Durability is unchanged: only `sync_locked` moves the durable point;
    /// a failed background sync poisons the log like any other (P7).
    pub(super) fn start_writeback(&self, w: &mut WriterState) {
        let every = self.inner.config.writeback_bytes;
        if every == 0
            || w.write_len < w.writeback_at + every
            || w.writeback.as_ref().is_some_and(|h| !h.is_finished())
        {
            return;
        }
        w.writeback_at = w.write_len;
        w.writeback = Some(Self::spawn_sync(&w.active, Arc::downgrade(&self.inner)));
    }

    /// An fdatasync of `segment` on the blocking pool. Weak: a dropped
    /// backend releases its lock at once, whatever the sync is doing. A
    /// failure is recorded as the log's poison before the task ends, so
    /// whoever waits for it sees it.
    fn spawn_sync(
        segment: &Arc<Segment>,
        inner: std::sync::Weak<Inner>,
    ) -> tokio::task::JoinHandle<()> {
        let segment = Arc::clone(segment);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = segment.file.sync_data()
                && let Some(inner) = inner.upgrade()
            {
                inner.life.poison(Error::io("background writeback", e));
            }
        })
    }

    /// Starts confirming `u`'s seal in the background (protocol step 3):
    /// after any writeback in flight (its failure must poison before a slot
    /// may vouch for those pages), fdatasync, the covering commit slot,
    /// fdatasync. Weak like [`Self::spawn_sync`]; a failure poisons, and is
    /// what the task returns, so whoever waits for it sees the I/O error
    /// itself, as if the confirmation had run inline.
    pub(super) fn spawn_confirm(
        u: &Unsealed,
        writeback: Option<tokio::task::JoinHandle<()>>,
        inner: std::sync::Weak<Inner>,
    ) -> tokio::task::JoinHandle<Result<()>> {
        let (segment, slot) = (Arc::clone(&u.segment), u.slot());
        tokio::spawn(async move {
            if let Some(handle) = writeback {
                let _ = handle.await;
            }
            match inner.upgrade().map(|inner| inner.life.poisoned()) {
                None => return Err(Error::Closed),
                Some(Some(cause)) => {
                    return Err(Error::Poisoned {
                        cause: cause.to_string(),
                    });
                }
                Some(None) => {}
            }
            tokio::task::spawn_blocking(move || {
                let done = segment.file.sync_data().and_then(|()| {
                    segment
                        .file
                        .write_all_at(&slot.encode(), CommitSlot::offset_for(slot.generation))
                });
                let done = done.and_then(|()| segment.file.sync_data());
                // Poisoned here, where the error is seen: nothing may append
                // or fsync after it, even if this task's waiter is gone.
                done.map_err(|e| {
                    let error = Error::io("confirm sealed segment", e);
                    match inner.upgrade() {
                        Some(inner) => inner.life.poison(error),
                        None => error,
                    }
                })
            })
            .await
            .unwrap_or_else(|e| {
                Err(Error::io(
                    "confirm sealed segment",
                    std::io::Error::other(e.to_string()),
                ))
            })
        })
    }

    /// Makes the segment sealed by the last roll durable and records it in
    /// its commit slot (synced too, so recovery need not read it again):
    /// waits for the confirmation the roll started, or does it here. The
    /// pending seal stays recorded until its last fsync succeeded: a caller
    /// that drops this future midway leaves it to the next one.
    pub(super) async fn confirm_sealed(&self, w: &mut WriterState) -> Result<()> {
        let Some(u) = &mut w.unsealed else {
            return Ok(());
        };
        if let Some(task) = u.confirming.as_mut() {
            // A JoinHandle is polled by reference: dropping this future
            // leaves it in place for the next caller.
            let outcome = task.await;
            u.confirming = None;
            return match outcome {
                Ok(Ok(())) => {
                    w.unsealed = None;
                    Ok(())
                }
                // Already the log's poison: the first to wait reports it.
                Ok(Err(e)) => Err(e),
                // Lost with its runtime, perhaps after an fsync failed: never
                // fsync again to find out (P7).
                Err(e) => Err(self.poison(Error::io(
                    "confirm sealed segment",
                    std::io::Error::other(format!("the confirmation was lost: {e}")),
                ))),
            };
        }
        let (segment, slot) = (Arc::clone(&u.segment), u.slot());
        self.settle_writeback(w).await?;
        Self::sync_segment(&segment)
            .await
            .map_err(|e| self.poison(e))?;
        segment
            .file
            .write_all_at(&slot.encode(), CommitSlot::offset_for(slot.generation))
            .map_err(|e| self.poison(Error::io("write commit slot", e)))?;
        Self::sync_segment(&segment)
            .await
            .map_err(|e| self.poison(e))?;
        w.unsealed = None;
        Ok(())
    }

    /// Waits for the background writeback in flight, then fails if it (or
    /// anything else) poisoned the log: no fsync may report success after
    /// an earlier one failed (P7).
    pub(super) async fn settle_writeback(&self, w: &mut WriterState) -> Result<()> {
        if let Some(handle) = w.writeback.take() {
            let _ = handle.await;
        }
        match self.inner.life.poisoned() {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// fdatasync off the async worker threads. (`block_in_place` saves the
    /// two thread wake-ups of the blocking pool per sync, but was measured
    /// to slow every later append on the runtime: each call hands the
    /// worker's core to another thread, so the runtime churns threads.)
    pub(super) async fn sync_segment(segment: &Arc<Segment>) -> Result<()> {
        let segment = Arc::clone(segment);
        tokio::task::spawn_blocking(move || segment.file.sync_data())
            .await
            .map_err(|e| Error::io("sync segment", std::io::Error::other(e.to_string())))?
            .map_err(|e| Error::io("sync segment", e))
    }
}
