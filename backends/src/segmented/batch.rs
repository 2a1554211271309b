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

/// A batch is written in pieces of about this size: the staging buffer's
/// bound, and large enough that the per-call cost of a write vanishes.
pub(super) const WRITE_CHUNK_BYTES: u64 = 1 << 20;

/// Payloads up to this size (`WRITE_CHUNK_BYTES`) are copied next to their headers; larger ones
/// are written from the caller's buffer (one `iovec` per MiB costs nothing
/// measurable, and the staging buffer stays bounded).
const INLINE_PAYLOAD_BYTES: usize = 1 << 20;

/// A staging buffer grown by a large batch is given back once batches use
/// less than a quarter of it, down to this floor: a log that idles or
/// writes small batches should not hold a megabyte per writer.
const STAGING_KEEP_BYTES: usize = 64 << 10;

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
    for i in range {
        let record = &records[i];
        if let Some(next) = records.get(i + 1) {
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
/// `staged` is scratch space, kept by the caller between batches. The
/// records were checked against the backend's record limit (at most
/// `frame::PAYLOAD_MAX_BYTES`), so only I/O can fail; after a failure part
/// of the batch may be written.
pub(super) fn write(
    file: &dyn VfsFile,
    staged: &mut Vec<u8>,
    mut at: u64,
    start: Seq,
    records: &[NewRecord],
) -> Result<()> {
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
    if staged.capacity() > STAGING_KEEP_BYTES && staged.capacity() / 4 > peak {
        staged.shrink_to(peak.max(STAGING_KEEP_BYTES));
    }
    Ok(())
}
