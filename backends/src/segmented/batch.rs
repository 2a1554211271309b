//! How a batch reaches a segment file: each frame's header is encoded and
//! its payload copied right behind it into one staging buffer, and the
//! buffer goes to the kernel in writes of about `WRITE_CHUNK_BYTES`; only a
//! payload larger than a chunk is written straight from the caller's
//! `Bytes`. The bytes on disk are exactly the batch's frames whatever the
//! split; a crash may tear them anywhere, and the "batch continues" flags
//! let recovery drop a partial batch whole.
//!
//! Why copy: the checksum pass has just read the payload, so the copy runs
//! from the CPU cache, while handing the kernel one `iovec` per header and
//! per payload costs it more per segment than the copy does (measured,
//! docs/benchmarks.md "Appends without fsync": two iovecs per 1 KiB record
//! wrote 61 MB ~20 % slower than one contiguous buffer), and one large
//! contiguous write lets the page cache use large folios.

use std::ops::Range;

use spool_engine::{CodecKind, Error, NewRecord, Result, Seq, VfsFile, frame};

/// A batch is written in pieces of about this size (a piece closes once it
/// passes it, so the staging buffer holds at most twice this), large
/// enough that the per-call cost of a write vanishes.
pub(super) const WRITE_CHUNK_BYTES: u64 = 1 << 20;

/// Payloads up to this size (`WRITE_CHUNK_BYTES`) are copied next to their headers; larger ones
/// are written from the caller's buffer (one `iovec` per MiB costs nothing
/// measurable, and the staging buffer stays bounded).
const INLINE_PAYLOAD_BYTES: usize = 1 << 20;

/// A staging buffer grown by large batches is given back, down to this
/// floor, once `ROOMY_BATCHES` batches in a row used less than a quarter
/// of it: a log that turned to small batches should not hold megabytes per
/// writer, and one that mixes sizes should not reallocate every time.
const STAGING_KEEP_BYTES: usize = 64 << 10;
const ROOMY_BATCHES: u32 = 64;

/// The staging buffer a writer keeps between batches.
#[derive(Debug, Default)]
pub(super) struct Staging {
    buffer: Vec<u8>,
    /// Batches in a row that used less than a quarter of `buffer`.
    roomy: u32,
}

impl Staging {
    /// After a batch that staged at most `peak` bytes at once.
    fn settle(&mut self, peak: usize) {
        let capacity = self.buffer.capacity();
        if capacity <= STAGING_KEEP_BYTES || capacity / 4 <= peak {
            self.roomy = 0;
            return;
        }
        self.roomy += 1;
        if self.roomy >= ROOMY_BATCHES {
            self.buffer.shrink_to(peak.max(STAGING_KEEP_BYTES));
            self.roomy = 0;
        }
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.buffer.capacity()
    }
}

/// A piece of a batch's write: a range of the staging buffer, or the
/// payload of the batch's `i`-th record.
enum Piece {
    Staged(Range<usize>),
    Payload(usize),
}

/// Encodes the headers of `records[range]` (seqs counted from `start`, the
/// batch's first; all but the batch's last frame flagged "batch continues")
/// into `staged`, each followed by its payload unless that is larger than
/// `INLINE_PAYLOAD_BYTES`, and returns the pieces whose concatenation is
/// those frames.
fn stage(
    staged: &mut Vec<u8>,
    start: Seq,
    records: &[NewRecord],
    range: Range<usize>,
) -> Result<Vec<Piece>> {
    staged.clear();
    let mut pieces = Vec::new();
    let mut run_start = 0;
    let last = records.len().saturating_sub(1);
    for first in records.iter().skip(range.start).take(2) {
        crate::prefetch::ahead(&first.payload);
    }
    for i in range {
        let record = &records[i];
        // Two ahead: one payload's checksum is too short to hide the load.
        if let Some(next) = records.get(i + 2) {
            crate::prefetch::ahead(&next.payload);
        }
        // The checksum reads the payload; the copy below finds it cached.
        let header = frame::encode_header(&frame::Frame {
            seq: Seq(start.0 + i as u64),
            timestamp_ms: record.timestamp_ms,
            codec: CodecKind::Raw,
            batch_continues: i < last,
            payload: &record.payload,
        })?;
        staged.extend_from_slice(&header);
        if record.payload.len() <= INLINE_PAYLOAD_BYTES {
            staged.extend_from_slice(&record.payload);
        } else {
            pieces.push(Piece::Staged(run_start..staged.len()));
            pieces.push(Piece::Payload(i));
            run_start = staged.len();
        }
    }
    if run_start < staged.len() {
        pieces.push(Piece::Staged(run_start..staged.len()));
    }
    Ok(pieces)
}

/// `(seq, offset)` of every frame of a batch written at `at`.
pub(super) fn frame_offsets(mut at: u64, start: Seq, records: &[NewRecord]) -> Vec<(u64, u64)> {
    let mut offsets = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        offsets.push((start.0 + i as u64, at));
        at += frame::encoded_len(record.payload.len()) as u64;
    }
    offsets
}

/// Writes `records` (seqs from `start`) as frames at offset `at` of `file`.
/// `staging` is scratch space, kept by the caller between batches. The
/// records were checked against the backend's record limit (at most
/// `frame::PAYLOAD_MAX_BYTES`), so only I/O can fail; after a failure part
/// of the batch may be written.
pub(super) fn write(
    file: &dyn VfsFile,
    staging: &mut Staging,
    mut at: u64,
    start: Seq,
    records: &[NewRecord],
) -> Result<()> {
    let staged = &mut staging.buffer;
    let mut first = 0;
    // The most this batch staged at once.
    let mut peak = 0;
    while first < records.len() {
        let mut end = first;
        let mut chunk_bytes = 0u64;
        while end < records.len() && (end == first || chunk_bytes < WRITE_CHUNK_BYTES) {
            chunk_bytes += frame::encoded_len(records[end].payload.len()) as u64;
            end += 1;
        }
        let pieces = stage(staged, start, records, first..end)?;
        peak = peak.max(staged.len());
        let slices: Vec<&[u8]> = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Staged(range) => &staged[range.clone()],
                Piece::Payload(i) => &records[*i].payload[..],
            })
            .collect();
        file.write_vectored_all_at(&slices, at)
            .map_err(|e| Error::io("append", e))?;
        at += chunk_bytes;
        first = end;
    }
    staging.settle(peak);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use bytes::Bytes;
    use spool_engine::{NewRecord, OpenMode, Seq, Vfs};

    use super::{ROOMY_BATCHES, STAGING_KEEP_BYTES, Staging, write};
    use crate::sim::SimFs;

    fn records(n: usize, len: usize) -> Vec<NewRecord> {
        (0..n)
            .map(|_| NewRecord {
                timestamp_ms: 0,
                payload: Bytes::from(vec![7u8; len]),
            })
            .collect()
    }

    /// Large batches grow the staging buffer; it is given back only after
    /// a run of small batches, so mixed sizes do not reallocate each time.
    #[test]
    fn a_staging_buffer_shrinks_only_after_a_run_of_small_batches() {
        let fs = SimFs::new(1);
        let file = fs.open(Path::new("/f"), OpenMode::Create).unwrap();
        let (big, small) = (records(20, 100_000), records(1, 10));
        let mut staging = Staging::default();
        let mut at = 0;
        let mut put = |staging: &mut Staging, batch: &[NewRecord]| {
            write(file.as_ref(), staging, at, Seq(0), batch).unwrap();
            at += batch
                .iter()
                .map(|r| spool_engine::frame::encoded_len(r.payload.len()) as u64)
                .sum::<u64>();
        };
        put(&mut staging, &big);
        let grown = staging.capacity();
        assert!(grown >= 1 << 20, "grew to {grown}");
        for _ in 1..ROOMY_BATCHES {
            put(&mut staging, &small);
        }
        put(&mut staging, &big);
        for _ in 1..ROOMY_BATCHES {
            put(&mut staging, &small);
        }
        assert_eq!(staging.capacity(), grown, "a big batch resets the run");
        put(&mut staging, &small);
        assert!(
            staging.capacity() <= STAGING_KEEP_BYTES,
            "kept {} after {ROOMY_BATCHES} small batches",
            staging.capacity()
        );
    }
}
