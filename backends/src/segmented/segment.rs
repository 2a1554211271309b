//! One segment file: its handle, how far readers may read it, its sparse
//! seq -> offset index, and the frame reader that recovery, index rebuilds
//! and reads share.
//!
//! The writer appends frames, then publishes the new length and end seq with
//! `Release` stores; readers load them with `Acquire` and never read past
//! them, so they never see a half-written frame (F14). Every frame is
//! checksum-verified as it is decoded, mapped or not (P4).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use bytes::Bytes;
use spool_engine::{CorruptKind, Error, Record, Result, Seq, VfsFile, frame};

use super::layout::FRAMES_START;
use super::published::Published;

/// How sealed segments are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// Map sealed segments (zero-copy payloads). Default.
    #[default]
    Mmap,
    /// Read everything with `pread`: for file systems where mapping is
    /// unwise (network mounts) or files other processes may truncate.
    Pread,
}

/// The index holds an entry at least every this many bytes of frames.
pub(crate) const INDEX_INTERVAL_BYTES: u64 = 4096;

/// The smallest first window of a pread read; the first window covers what
/// the sparse index says the read needs, and each later one is twice the
/// last, up to `MAX_WINDOW_BYTES`: a page of a hundred records costs one
/// read, a long scan few large ones.
const WINDOW_BYTES: u64 = 64 * 1024;
const MAX_WINDOW_BYTES: u64 = 1024 * 1024;

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base: Seq,
    pub(crate) name: String,
    pub(crate) file: Box<dyn VfsFile>,
    published: Published,
    /// `(seq, offset)` pairs, ascending; the first is `(base, FRAMES_START)`.
    index: RwLock<Vec<(u64, u64)>>,
    /// Whether `index` covers the whole published segment.
    index_complete: AtomicBool,
    sealed: AtomicBool,
    mapped: OnceLock<Bytes>,
}

/// What a scan of frames found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Offset just after the last frame that ended an atomic batch.
    pub(crate) batch_end: u64,
    /// Seq after that frame.
    pub(crate) batch_end_seq: Seq,
    /// Sparse index entries for the frames up to `batch_end`.
    pub(crate) index: Vec<(u64, u64)>,
    /// Where and why decoding stopped before the end, if it did.
    pub(crate) damage: Option<(u64, CorruptKind)>,
    /// The timestamps of the first and last frames decoded (for `stat`).
    pub(crate) first_ms: Option<i64>,
    pub(crate) last_ms: Option<i64>,
}

impl Segment {
    pub(crate) fn new(
        base: Seq,
        name: String,
        file: Box<dyn VfsFile>,
        len: u64,
        end_seq: Seq,
        sealed: bool,
    ) -> Segment {
        Segment {
            base,
            name,
            file,
            published: Published::new(len, end_seq),
            index: RwLock::new(vec![(base.0, FRAMES_START)]),
            index_complete: AtomicBool::new(!sealed),
            sealed: AtomicBool::new(sealed),
            mapped: OnceLock::new(),
        }
    }

    pub(crate) fn published_len(&self) -> u64 {
        self.published.len()
    }

    pub(crate) fn end_seq(&self) -> Seq {
        self.published.end_seq()
    }

    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    pub(crate) fn seal(&self) {
        self.sealed.store(true, Ordering::Release);
    }

    /// Adds index entries for frames the writer just wrote, then publishes
    /// the new length and end seq to readers.
    pub(crate) fn publish(&self, frames: &[(u64, u64)], len: u64, end_seq: Seq) {
        {
            let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
            let mut last = index.last().map_or(0, |e| e.1);
            for &(seq, offset) in frames {
                if offset >= last + INDEX_INTERVAL_BYTES {
                    index.push((seq, offset));
                    last = offset;
                }
            }
        }
        // Length first, then end seq; readers load them in the opposite
        // order, so whoever sees an end seq also sees the bytes behind it.
        self.published.publish(len, end_seq);
    }

    pub(crate) fn index_snapshot(&self) -> Vec<(u64, u64)> {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn index_is_complete(&self) -> bool {
        self.index_complete.load(Ordering::Acquire)
    }

    pub(crate) fn install_index(&self, entries: Vec<(u64, u64)>) {
        *self.index.write().unwrap_or_else(PoisonError::into_inner) = entries;
        self.index_complete.store(true, Ordering::Release);
    }

    /// The greatest indexed position at or before `seq`.
    fn seek(&self, seq: Seq) -> (Seq, u64) {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let i = index.partition_point(|e| e.0 <= seq.0);
        index
            .get(i.saturating_sub(1))
            .map_or((self.base, FRAMES_START), |e| (Seq(e.0), e.1))
    }

    /// An offset at or after the end of the frames before seq `last`: the
    /// first index entry at `last` or later, else `end`.
    fn span_end(&self, last: Seq, end: u64) -> u64 {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let i = index.partition_point(|e| e.0 < last.0);
        index.get(i).map_or(end, |e| e.1)
    }

    /// A reader of this segment's bytes up to `end`: the whole mapping for a
    /// sealed segment in mmap mode, pread windows otherwise, the first one
    /// about `span` bytes (what the read is expected to need, from the
    /// sparse index), within `WINDOW_BYTES..=MAX_WINDOW_BYTES`.
    pub(crate) fn source(&self, mode: ReadMode, end: u64, span: u64) -> Result<Source<'_>> {
        if mode == ReadMode::Mmap && self.is_sealed() {
            if let Some(map) = self.mapped.get() {
                return Ok(Source::Mapped(map.clone()));
            }
            let len = usize::try_from(end).map_err(|_| {
                self.corrupt(
                    0,
                    CorruptKind::TooLarge {
                        len: end,
                        max: usize::MAX as u64,
                    },
                )
            })?;
            // SAFETY: the segment is sealed: the writer never writes to or
            // truncates a sealed segment again; recovery truncates in place
            // only a segment that was active when it crashed (read by pread
            // only), and a formerly sealed one (row 6c) or a salvaged one it
            // rewrites into a new file renamed over the old; retention
            // unlinks. Renames and unlinks leave mapped pages valid.
            // External truncation is the documented exception
            // (docs/format.md).
            #[expect(unsafe_code, reason = "maps a sealed, immutable segment")]
            let map = unsafe { self.file.map(0, len) }.map_err(|e| Error::io("map segment", e))?;
            let map = self.mapped.get_or_init(|| map).clone();
            return Ok(Source::Mapped(map));
        }
        Ok(Source::Pread {
            file: self.file.as_ref(),
            window: Bytes::new(),
            window_at: 0,
            next_window: span.clamp(WINDOW_BYTES, MAX_WINDOW_BYTES),
            end,
        })
    }

    pub(crate) fn corrupt(&self, offset: u64, kind: CorruptKind) -> Error {
        Error::Corrupt {
            object: self.name.clone(),
            offset,
            kind,
        }
    }

    /// Reads records `[from, to)` (bounded by what is published), at most
    /// `max_records`, stopping after `max_bytes` of payload (but returning at
    /// least one record when one is available).
    pub(crate) fn read(
        &self,
        mode: ReadMode,
        range: (Seq, Seq),
        max_records: usize,
        max_bytes: usize,
        max_payload: usize,
    ) -> Result<Vec<Record>> {
        // End seq before length (see `publish`).
        let to = range.1.min(self.end_seq());
        let end = self.published_len();
        let (from, mut out) = (range.0, Vec::new());
        if from >= to {
            return Ok(out);
        }
        let (mut seq, mut offset) = self.seek(from);
        let last = Seq(to.0.min(from.0.saturating_add(max_records as u64)));
        let span = self.span_end(last, end).saturating_sub(offset);
        let mut source = self.source(mode, end, span)?;
        let mut bytes = 0usize;
        while seq < to && out.len() < max_records && (out.is_empty() || bytes < max_bytes) {
            let Some((window, at)) = source.frame_bytes(offset, max_payload)? else {
                return Err(self.corrupt(
                    offset,
                    CorruptKind::Truncated {
                        needed: offset + 1,
                        available: end,
                    },
                ));
            };
            let (f, used) =
                frame::decode(&window[at..], max_payload).map_err(|k| self.corrupt(offset, k))?;
            if f.seq != seq {
                return Err(self.corrupt(
                    offset,
                    CorruptKind::SeqMismatch {
                        expected: seq,
                        found: f.seq,
                    },
                ));
            }
            if seq >= from {
                let start = at + frame::HEADER_LEN;
                bytes += f.payload.len();
                out.push(Record {
                    seq,
                    timestamp_ms: f.timestamp_ms,
                    payload: window.slice(start..start + f.payload.len()),
                });
            }
            seq = Seq(seq.0 + 1);
            offset += used as u64;
        }
        Ok(out)
    }

    /// Decodes every frame of the segment's first `len` bytes by pread
    /// (what verify, repair and index rebuilds read), stopping at damage.
    pub(crate) fn scan_all(&self, len: u64) -> Result<Scan> {
        self.scan(
            ReadMode::Pread,
            FRAMES_START,
            self.base,
            len,
            frame::PAYLOAD_MAX_BYTES,
        )
    }

    /// Decodes frames from `offset` to `end`, expecting seqs from `seq`,
    /// stopping at the first damaged frame; for recovery and index rebuilds.
    pub(crate) fn scan(
        &self,
        mode: ReadMode,
        mut offset: u64,
        mut seq: Seq,
        end: u64,
        max_payload: usize,
    ) -> Result<Scan> {
        let mut source = self.source(mode, end, MAX_WINDOW_BYTES)?;
        let mut scan = Scan {
            batch_end: offset,
            batch_end_seq: seq,
            index: vec![(seq.0, offset)],
            damage: None,
            first_ms: None,
            last_ms: None,
        };
        let mut last_indexed = offset;
        let mut pending = Vec::new();
        while offset < end {
            let Some((window, at)) = source.frame_bytes(offset, max_payload)? else {
                break;
            };
            match frame::decode(&window[at..], max_payload) {
                Err(kind) => {
                    scan.damage = Some((offset, kind));
                    break;
                }
                Ok((f, _)) if f.seq != seq => {
                    scan.damage = Some((
                        offset,
                        CorruptKind::SeqMismatch {
                            expected: seq,
                            found: f.seq,
                        },
                    ));
                    break;
                }
                Ok((f, used)) => {
                    scan.first_ms.get_or_insert(f.timestamp_ms);
                    scan.last_ms = Some(f.timestamp_ms);
                    if offset >= last_indexed + INDEX_INTERVAL_BYTES {
                        pending.push((seq.0, offset));
                        last_indexed = offset;
                    }
                    offset += used as u64;
                    seq = Seq(seq.0 + 1);
                    if !f.batch_continues {
                        scan.batch_end = offset;
                        scan.batch_end_seq = seq;
                        scan.index.append(&mut pending);
                    }
                }
            }
        }
        if scan.damage.is_none() && scan.batch_end < end && offset >= end {
            // The bytes ran out inside a batch: its last frame never arrived.
            scan.damage = Some((
                scan.batch_end,
                CorruptKind::Truncated {
                    needed: end + 1,
                    available: end,
                },
            ));
        }
        Ok(scan)
    }
}

/// Where frame bytes come from.
pub(crate) enum Source<'a> {
    Mapped(Bytes),
    Pread {
        file: &'a dyn VfsFile,
        window: Bytes,
        window_at: u64,
        end: u64,
        /// The size of the next fresh window.
        next_window: u64,
    },
}

impl Source<'_> {
    /// Bytes holding the whole frame at `offset` (as far as they exist below
    /// the end), and where in them it starts; `None` at the end.
    fn frame_bytes(&mut self, offset: u64, max_payload: usize) -> Result<Option<(Bytes, usize)>> {
        match self {
            Source::Mapped(map) => {
                let at = usize::try_from(offset).unwrap_or(usize::MAX);
                Ok((at < map.len()).then(|| (map.clone(), at)))
            }
            Source::Pread {
                file,
                window,
                window_at,
                end,
                next_window,
            } => {
                if offset >= *end {
                    return Ok(None);
                }
                let available = *end - offset;
                if offset >= *window_at && offset < *window_at + window.len() as u64 {
                    let at = usize::try_from(offset - *window_at).unwrap_or(usize::MAX);
                    if covers(&window[at..], available, max_payload) {
                        return Ok(Some((window.clone(), at)));
                    }
                }
                // A fresh window at `offset`; grown to the frame's declared
                // size only once that size is known to be within the bound.
                let mut size = (*next_window).min(available);
                *next_window = (*next_window * 2).min(MAX_WINDOW_BYTES);
                loop {
                    let buf = file
                        .read_vec_at(usize::try_from(size).unwrap_or(0), offset)
                        .map_err(|e| Error::io("read segment", e))?;
                    *window = Bytes::from(buf);
                    *window_at = offset;
                    if covers(window, available, max_payload) {
                        return Ok(Some((window.clone(), 0)));
                    }
                    size = declared_len(window).map_or(available, |n| n.min(available));
                }
            }
        }
    }
}

/// The length a frame header at the start of `bytes` declares, if present.
fn declared_len(bytes: &[u8]) -> Option<u64> {
    let h = bytes.first_chunk::<{ frame::HEADER_LEN }>()?;
    Some(frame::HEADER_LEN as u64 + u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]])))
}

/// Whether `rest` holds everything needed to decide on the frame at its
/// start: all remaining bytes, or the whole declared frame, or a declared
/// length over the bound (which decoding rejects without more bytes).
fn covers(rest: &[u8], available: u64, max_payload: usize) -> bool {
    if rest.len() as u64 >= available {
        return true;
    }
    match declared_len(rest) {
        None => false,
        Some(n) => n - frame::HEADER_LEN as u64 > max_payload as u64 || rest.len() as u64 >= n,
    }
}
