//! The bytes of a segment file around its frames: the header, the two commit
//! slots, and the file names. Byte diagrams are in docs/format.md.
//!
//! ```text
//! sector 0 (offset    0): header  magic "\xD3SSG", version, base seq, created, crc
//! sector 1 (offset  512): slot A  generation, durable length, durable end seq, crc
//! sector 2 (offset 1024): slot B  (same)
//! offset 1536:            frames (the engine's frame codec)
//! ```
//!
//! The slots record how much of the segment is known durable, without an
//! extra fsync: after each successful `fdatasync`, the writer writes the new
//! durable length into the older slot (alternating, each in its own sector so
//! a torn write can spoil only one). Any slot that survives a crash tells the
//! truth, because it was written after the data it vouches for was durable.
//! Recovery trusts the valid slot with the highest generation.

use std::path::{Path, PathBuf};

use spool_engine::{CorruptKind, Seq, crc32};

/// Bytes of the segment header.
pub(crate) const HEADER_LEN: usize = 32;
/// Where the commit slots live.
pub(crate) const SLOT_OFFSETS: [u64; 2] = [512, 1024];
/// Bytes of a commit slot.
pub(crate) const SLOT_LEN: usize = 32;
/// Where the first frame starts.
pub(crate) const FRAMES_START: u64 = 1536;
/// The four bytes a segment file starts with.
pub(crate) const SEGMENT_MAGIC: [u8; 4] = [0xD3, b'S', b'S', b'G'];
/// The segment format version this build writes and reads.
pub(crate) const SEGMENT_VERSION: u32 = 1;
/// Segment files end in this.
pub(crate) const SEGMENT_SUFFIX: &str = ".seg";
/// Sparse index files end in this.
pub(crate) const INDEX_SUFFIX: &str = ".idx";

const _: () = assert!(HEADER_LEN <= 512 && SLOT_LEN <= 512);
const _: () = assert!(SLOT_OFFSETS[1] + 512 == FRAMES_START);

/// The header every segment starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) base: Seq,
    pub(crate) created_ms: i64,
}

/// What was wrong with a header, for the recovery table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    /// Valid bytes of a newer format.
    Version(u32),
    /// Damaged or never fully written.
    Damaged(CorruptKind),
}

impl SegmentHeader {
    /// The first sectors of a new segment: header and two empty slots.
    pub(crate) fn encode_preamble(&self) -> Vec<u8> {
        let mut out = vec![0u8; usize::try_from(FRAMES_START).unwrap_or(1536)];
        out[0..4].copy_from_slice(&SEGMENT_MAGIC);
        out[4..8].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
        out[8..16].copy_from_slice(&self.base.0.to_le_bytes());
        out[16..24].copy_from_slice(&self.created_ms.to_le_bytes());
        let crc = crc32(&[&out[..28]]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses a header from the first bytes of a segment.
    pub(crate) fn decode(bytes: &[u8]) -> Result<SegmentHeader, HeaderProblem> {
        let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(HeaderProblem::Damaged(CorruptKind::Truncated {
                needed: HEADER_LEN as u64,
                available: bytes.len() as u64,
            }));
        };
        if h[0..4] != SEGMENT_MAGIC {
            return Err(HeaderProblem::Damaged(CorruptKind::BadMagic {
                found: u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            }));
        }
        let stored = u32_at(h, 28);
        let computed = crc32(&[&h[..28]]);
        if stored != computed {
            return Err(HeaderProblem::Damaged(CorruptKind::Checksum {
                stored,
                computed,
            }));
        }
        let version = u32_at(h, 4);
        if version != SEGMENT_VERSION {
            return Err(HeaderProblem::Version(version));
        }
        Ok(SegmentHeader {
            base: Seq(u64_at(h, 8)),
            created_ms: i64::from_le_bytes(u64_at(h, 16).to_le_bytes()),
        })
    }
}

/// A commit slot: "the first `durable_len` bytes, frames up to `end_seq`
/// (exclusive), were durable when this was written".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CommitSlot {
    pub(crate) generation: u64,
    pub(crate) durable_len: u64,
    pub(crate) end_seq: Seq,
}

impl CommitSlot {
    pub(crate) fn encode(&self) -> [u8; SLOT_LEN] {
        let mut out = [0u8; SLOT_LEN];
        out[0..8].copy_from_slice(&self.generation.to_le_bytes());
        out[8..16].copy_from_slice(&self.durable_len.to_le_bytes());
        out[16..24].copy_from_slice(&self.end_seq.0.to_le_bytes());
        let crc = crc32(&[&out[..28]]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// A valid slot, or `None` for a damaged, torn or never-written one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<CommitSlot> {
        let s = bytes.first_chunk::<SLOT_LEN>()?;
        let crc = crc32(&[&s[..28]]);
        let slot = CommitSlot {
            generation: u64_at(s, 0),
            durable_len: u64_at(s, 8),
            end_seq: Seq(u64_at(s, 16)),
        };
        (u32_at(s, 28) == crc && slot.generation > 0 && slot.durable_len >= FRAMES_START)
            .then_some(slot)
    }

    /// Where the slot of `generation` is written (they alternate).
    pub(crate) fn offset_for(generation: u64) -> u64 {
        SLOT_OFFSETS[usize::from(generation % 2 == 1)]
    }
}

/// The file name of the segment whose first seq is `base`.
pub(crate) fn segment_name(base: Seq) -> String {
    format!("{:020}{SEGMENT_SUFFIX}", base.0)
}

/// The file name of a segment's sparse index.
pub(crate) fn index_name(base: Seq) -> String {
    format!("{:020}{INDEX_SUFFIX}", base.0)
}

/// The base seq a segment file name encodes, if it is one.
pub(crate) fn parse_segment_name(name: &Path) -> Option<Seq> {
    let name = name.to_str()?;
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok().map(Seq))
        .flatten()
}

/// `dir/name`.
pub(crate) fn path_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn u32_at<const N: usize>(b: &[u8; N], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at<const N: usize>(b: &[u8; N], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = SegmentHeader {
            base: Seq(42),
            created_ms: -5,
        };
        let bytes = h.encode_preamble();
        assert_eq!(bytes.len() as u64, FRAMES_START);
        assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        for at in 0..HEADER_LEN {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(SegmentHeader::decode(&bad).is_err(), "flip at {at}");
        }
        assert!(SegmentHeader::decode(&bytes[..31]).is_err());
        assert!(SegmentHeader::decode(&[0u8; 64]).is_err());
        // Empty slots in a fresh preamble are not valid slots.
        assert_eq!(CommitSlot::decode(&bytes[512..]), None);
    }

    #[test]
    fn newer_versions_are_reported_as_such() {
        let mut bytes = SegmentHeader {
            base: Seq(0),
            created_ms: 0,
        }
        .encode_preamble();
        bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32(&[&bytes[..28]]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            SegmentHeader::decode(&bytes),
            Err(HeaderProblem::Version(2))
        );
    }

    #[test]
    fn slots_round_trip_alternate_and_reject_damage() {
        let slot = CommitSlot {
            generation: 3,
            durable_len: 4096,
            end_seq: Seq(17),
        };
        let bytes = slot.encode();
        assert_eq!(CommitSlot::decode(&bytes), Some(slot));
        for at in 0..SLOT_LEN {
            let mut bad = bytes;
            bad[at] ^= 1;
            assert_eq!(CommitSlot::decode(&bad), None, "flip at {at}");
        }
        assert_ne!(CommitSlot::offset_for(1), CommitSlot::offset_for(2));
        assert_eq!(CommitSlot::offset_for(1), CommitSlot::offset_for(3));
    }

    #[test]
    fn names_sort_by_base_and_parse_back() {
        assert_eq!(segment_name(Seq(7)), "00000000000000000007.seg");
        assert!(segment_name(Seq(9)) < segment_name(Seq(10)));
        assert_eq!(
            parse_segment_name(Path::new(&segment_name(Seq(u64::MAX)))),
            Some(Seq(u64::MAX))
        );
        for bad in [
            "7.seg",
            "0000000000000000000a.seg",
            "00000000000000000007.idx",
            "LOCK",
        ] {
            assert_eq!(parse_segment_name(Path::new(bad)), None, "{bad}");
        }
    }
}
