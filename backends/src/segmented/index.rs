//! The sparse index file of a sealed segment: `(seq, offset)` about every
//! 4 KiB, so a read at any seq decodes at most ~4 KiB of frames before the
//! ones it wants.
//!
//! The index is an optimisation, never a source of truth: it is written
//! without an fsync when a segment seals, checked (magic, version, base,
//! segment length, entry count, CRC) before use, and rebuilt from the segment
//! whenever it is missing, stale or damaged.
//!
//! ```text
//! 0  4  magic "\xD3SIX"   16 8 segment length it covers
//! 4  4  version (1)       24 8 entry count n
//! 8  8  base seq          32 16·n entries: seq u64, offset u64
//!                         32+16n 4 CRC-32 of everything before
//! ```

use std::path::Path;

use spool_engine::{OpenMode, Seq, Vfs, crc32};

const MAGIC: [u8; 4] = [0xD3, b'S', b'I', b'X'];
const VERSION: u32 = 1;
const HEAD: usize = 32;
const ENTRY: usize = 16;

/// Encodes an index of `entries` for the segment at `base` of `segment_len` bytes.
pub(crate) fn encode(base: Seq, segment_len: u64, entries: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + ENTRY * entries.len() + 4);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&base.0.to_le_bytes());
    out.extend_from_slice(&segment_len.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (seq, offset) in entries {
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    }
    let crc = crc32(&[&out]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes an index, or `None` if it is not a valid index of exactly this
/// segment (then the caller rebuilds it).
pub(crate) fn decode(bytes: &[u8], base: Seq, segment_len: u64) -> Option<Vec<(u64, u64)>> {
    let (body, crc) = bytes.split_last_chunk::<4>()?;
    if crc32(&[body]) != u32::from_le_bytes(*crc) {
        return None;
    }
    let head = body.first_chunk::<HEAD>()?;
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[at..at + 8]);
        u64::from_le_bytes(b)
    };
    if head[0..4] != MAGIC
        || head[4..8] != VERSION.to_le_bytes()
        || word(8) != base.0
        || word(16) != segment_len
    {
        return None;
    }
    let count = usize::try_from(word(24)).ok()?;
    if body.len() != HEAD + count.checked_mul(ENTRY)? {
        return None;
    }
    let entries: Vec<(u64, u64)> = body[HEAD..]
        .chunks_exact(ENTRY)
        .map(|e| {
            let mut s = [0u8; 8];
            let mut o = [0u8; 8];
            s.copy_from_slice(&e[..8]);
            o.copy_from_slice(&e[8..]);
            (u64::from_le_bytes(s), u64::from_le_bytes(o))
        })
        .collect();
    // Entries must ascend and stay inside the segment, starting at its base.
    let ordered = entries
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1);
    let first_ok = entries.first().is_some_and(|e| e.0 == base.0);
    let inside = entries.iter().all(|e| e.1 < segment_len.max(1));
    (ordered && first_ok && inside).then_some(entries)
}

/// Reads and checks the index file at `path`; `None` if missing or invalid.
pub(crate) fn load(
    vfs: &dyn Vfs,
    path: &Path,
    base: Seq,
    segment_len: u64,
) -> Option<Vec<(u64, u64)>> {
    let file = vfs.open(path, OpenMode::Read).ok()?;
    let len = usize::try_from(file.len().ok()?).ok()?;
    // Bound the read by what an index of this segment can possibly hold.
    let most = HEAD + 4 + ENTRY * (usize::try_from(segment_len / 32).ok()? + 2);
    if len > most {
        return None;
    }
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, 0).ok()?;
    decode(&bytes, base, segment_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_anything_else() {
        let entries = vec![(10, 1536), (40, 6000), (90, 12_000)];
        let bytes = encode(Seq(10), 20_000, &entries);
        assert_eq!(decode(&bytes, Seq(10), 20_000), Some(entries));
        assert_eq!(decode(&bytes, Seq(11), 20_000), None, "other segment");
        assert_eq!(decode(&bytes, Seq(10), 20_001), None, "stale length");
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert_eq!(decode(&bad, Seq(10), 20_000), None, "flip at {at}");
        }
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], Seq(10), 20_000), None, "cut at {cut}");
        }
        let unordered = encode(Seq(10), 20_000, &[(10, 1536), (9, 2000)]);
        assert_eq!(decode(&unordered, Seq(10), 20_000), None);
    }
}
