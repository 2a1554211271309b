//! The frame codec: how one record is laid out in a segment file.
//!
//! ```text
//! offset size field         value
//!   0     4   magic         D3 53 50 4C  ("\xD3SPL"; never zero, never ASCII-led)
//!   4     4   payload_len   u32 LE, ≤ the reader's bound
//!   8     8   seq           u64 LE
//!  16     8   timestamp_ms  i64 LE
//!  24     1   codec         0 raw, 1 json, 2 msgpack
//!  25     1   flags         bit 0: more frames of this atomic batch follow
//!  26     2   reserved      0
//!  28     4   crc32         CRC-32 (IEEE) of bytes 0..28 then the payload
//!  32     n   payload
//! ```
//!
//! Decoding is the parser of untrusted bytes: it checks the length against the
//! caller's bound before looking at the payload, never allocates (it returns a
//! view into the input) and never panics. An all-zero buffer fails at the
//! magic, so a zero-filled tail is never taken for a frame. The full layout and
//! the recovery table live in docs/format.md.

use crate::checksum::crc32;
use crate::{CodecKind, CorruptKind, Error, Result, Seq};

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 32;
/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = [0xD3, b'S', b'P', b'L'];
/// The largest payload the format can describe, whatever the configuration:
/// 1 GiB, so that a frame length always fits a `u32` with room to spare and a
/// corrupt length can never ask for more than this.
pub const PAYLOAD_MAX_BYTES: usize = 1 << 30;

const MAGIC_AT: usize = 0;
const LEN_AT: usize = 4;
const SEQ_AT: usize = 8;
const TIMESTAMP_AT: usize = 16;
const CODEC_AT: usize = 24;
const FLAGS_AT: usize = 25;
const RESERVED_AT: usize = 26;
const CRC_AT: usize = 28;

/// Flag bit: the frame is not the last of its atomic batch. Recovery keeps a
/// torn batch out entirely by cutting back to the last frame without it.
pub const FLAG_BATCH_CONTINUES: u8 = 0x01;
const FLAGS_KNOWN: u8 = FLAG_BATCH_CONTINUES;

// The layout is part of the format: pin it.
const _: () = assert!(CRC_AT + 4 == HEADER_LEN);
const _: () = assert!(RESERVED_AT + 2 == CRC_AT);
const _: () = assert!(PAYLOAD_MAX_BYTES <= u32::MAX as usize);

/// One frame: what [`encode_into`] writes and [`decode`] returns (then as a
/// view into the buffer it was decoded from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The record's seq.
    pub seq: Seq,
    /// The record's timestamp.
    pub timestamp_ms: i64,
    /// How the payload is encoded.
    pub codec: CodecKind,
    /// More frames of the same atomic batch follow this one.
    pub batch_continues: bool,
    /// The payload bytes (checksum-verified when decoded).
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Bytes this frame occupies when encoded.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

/// Bytes a frame with a payload of `payload_len` bytes occupies.
#[must_use]
pub fn encoded_len(payload_len: usize) -> usize {
    HEADER_LEN + payload_len
}

/// Builds the header of `frame`, checksum included, so a writer can hand
/// header and payload to a vectored write without copying the payload.
pub fn encode_header(frame: &Frame<'_>) -> Result<[u8; HEADER_LEN]> {
    let payload = frame.payload;
    let too_large = || Error::RecordTooLarge {
        len: payload.len(),
        max: PAYLOAD_MAX_BYTES,
    };
    if payload.len() > PAYLOAD_MAX_BYTES {
        return Err(too_large());
    }
    let len = u32::try_from(payload.len()).map_err(|_| too_large())?;
    let mut header = [0u8; HEADER_LEN];
    header[MAGIC_AT..LEN_AT].copy_from_slice(&MAGIC);
    header[LEN_AT..SEQ_AT].copy_from_slice(&len.to_le_bytes());
    header[SEQ_AT..TIMESTAMP_AT].copy_from_slice(&frame.seq.0.to_le_bytes());
    header[TIMESTAMP_AT..CODEC_AT].copy_from_slice(&frame.timestamp_ms.to_le_bytes());
    header[CODEC_AT] = frame.codec as u8;
    header[FLAGS_AT] = if frame.batch_continues {
        FLAG_BATCH_CONTINUES
    } else {
        0
    };
    // Reserved bytes stay zero.
    let crc = crc32(&[&header[..CRC_AT], payload]);
    header[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    Ok(header)
}

/// Appends `frame` encoded to `out` and returns its length.
pub fn encode_into(out: &mut Vec<u8>, frame: &Frame<'_>) -> Result<usize> {
    let header = encode_header(frame)?;
    let len = encoded_len(frame.payload.len());
    out.reserve(len);
    out.extend_from_slice(&header);
    out.extend_from_slice(frame.payload);
    // Pair check: what we wrote decodes to what we were given.
    debug_assert!(
        decode(&out[out.len() - len..], PAYLOAD_MAX_BYTES).is_ok_and(|(f, _)| f == *frame)
    );
    Ok(len)
}

/// Decodes the frame at the start of `buf`, accepting payloads of at most
/// `max_payload_bytes`. Returns the frame and the bytes it occupies.
///
/// The checks run in this order, so a torn or zero-filled tail is told apart
/// cheaply: header present, magic, declared length within the bound, whole
/// frame present, checksum, then field values.
pub fn decode(buf: &[u8], max_payload_bytes: usize) -> Result<(Frame<'_>, usize), CorruptKind> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Err(CorruptKind::Truncated {
            needed: HEADER_LEN as u64,
            available: buf.len() as u64,
        });
    };
    let magic = [header[0], header[1], header[2], header[3]];
    if magic != MAGIC {
        return Err(CorruptKind::BadMagic {
            found: u32::from_le_bytes(magic),
        });
    }
    let len = u32_at(header, LEN_AT) as usize;
    let bound = max_payload_bytes.min(PAYLOAD_MAX_BYTES);
    if len > bound {
        return Err(CorruptKind::TooLarge {
            len: len as u64,
            max: bound as u64,
        });
    }
    let total = HEADER_LEN + len;
    let Some(payload) = buf.get(HEADER_LEN..total) else {
        return Err(CorruptKind::Truncated {
            needed: total as u64,
            available: buf.len() as u64,
        });
    };
    let stored = u32_at(header, CRC_AT);
    let computed = crc32(&[&header[..CRC_AT], payload]);
    if stored != computed {
        return Err(CorruptKind::Checksum { stored, computed });
    }
    // Checksummed but unknown values come from a newer writer, not from damage.
    let codec = CodecKind::from_u8(header[CODEC_AT]).ok_or(CorruptKind::BadField {
        field: "codec",
        value: u64::from(header[CODEC_AT]),
    })?;
    if header[FLAGS_AT] & !FLAGS_KNOWN != 0 {
        return Err(CorruptKind::BadField {
            field: "flags",
            value: u64::from(header[FLAGS_AT]),
        });
    }
    let reserved = u16::from_le_bytes([header[RESERVED_AT], header[RESERVED_AT + 1]]);
    if reserved != 0 {
        return Err(CorruptKind::BadField {
            field: "reserved",
            value: u64::from(reserved),
        });
    }
    let frame = Frame {
        seq: Seq(u64_at(header, SEQ_AT)),
        timestamp_ms: i64::from_le_bytes(u64_at(header, TIMESTAMP_AT).to_le_bytes()),
        codec,
        batch_continues: header[FLAGS_AT] & FLAG_BATCH_CONTINUES != 0,
        payload,
    };
    Ok((frame, total))
}

/// Decodes frames back to back from the start of `buf` until it is used up,
/// stopping at the first damaged one: returns the frames and, if the buffer did
/// not end on a frame boundary, the offset and kind of the damage.
#[must_use]
pub fn decode_all(
    buf: &[u8],
    max_payload_bytes: usize,
) -> (Vec<Frame<'_>>, Option<(usize, CorruptKind)>) {
    let mut frames = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        match decode(&buf[offset..], max_payload_bytes) {
            Ok((frame, used)) => {
                frames.push(frame);
                offset += used;
            }
            Err(kind) => return (frames, Some((offset, kind))),
        }
    }
    (frames, None)
}

fn u32_at(header: &[u8; HEADER_LEN], at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&header[at..at + 4]);
    u32::from_le_bytes(bytes)
}

fn u64_at(header: &[u8; HEADER_LEN], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&header[at..at + 8]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests;
