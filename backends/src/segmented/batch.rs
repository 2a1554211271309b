//! How a batch reaches a segment file: frames encoded with headers and
//! small payloads staged in one buffer, larger payloads written straight
//! from the caller's `Bytes`, all handed to the kernel with vectored writes
//! in pieces of about `WRITE_CHUNK_BYTES`. The bytes on disk are exactly the
//! batch's frames whatever the split; a crash may tear them anywhere, and
//! the "batch continues" flags let recovery drop a partial batch whole.

use std::ops::Range;

use spool_engine::{CodecKind, Error, NewRecord, Result, Seq, VfsFile, frame};

/// Payloads up to this size are copied next to their headers; larger ones
/// are written from the caller's buffer. Below it, a separate `iovec` costs
/// more than the copy.
const INLINE_PAYLOAD_BYTES: usize = 512;

/// A large batch is written in pieces of about this size, so that the bytes
/// the checksum pass just read are still in the CPU cache when the kernel
/// copies them.
pub(super) const WRITE_CHUNK_BYTES: u64 = 256 << 10;

/// A piece of a batch's write: a range of the staging buffer, or the
/// payload of the batch's `i`-th record.
enum Piece {
    Staged(Range<usize>),
    Payload(usize),
}

/// Encodes the headers of `records[range]` (seqs counted from `start`, the
/// batch's first; all but the batch's last frame flagged "batch continues")
/// into `staged`, with the small payloads, and returns the pieces whose
/// concatenation is those frames.
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
    while first < records.len() {
        let mut end = first;
        let mut chunk_bytes = 0u64;
        while end < records.len() && (end == first || chunk_bytes < WRITE_CHUNK_BYTES) {
            chunk_bytes += frame::encoded_len(records[end].payload.len()) as u64;
            end += 1;
        }
        let pieces = stage(staged, start, records, first..end)?;
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
    Ok(())
}
