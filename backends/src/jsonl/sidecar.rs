//! The sidecar index of a large JSONL file: its line index saved beside it,
//! so that reopening a 1 GiB file reads a few bytes per line instead of
//! scanning and parsing every byte.
//!
//! The sidecar is a cache, never a source of truth: it is written with a
//! rename and no fsync, checked against the file before use (the bytes it
//! covers, a CRC of the first and the last 4 KiB of them, and its own CRC),
//! and rebuilt by a scan whenever any check fails. Lines appended after it
//! was written are scanned on top of it.
//!
//! Layout (little-endian): magic `SPJLIDX\0`, version u32, max_line_bytes
//! u64, covered u64, lines u64, head CRC u32, tail CRC u32, fault count u64,
//! then each line's length (its `\n` included) as LEB128, then each fault as
//! (LEB128 line delta, u8 code), then a CRC-32 of everything before it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spool_engine::{LineFault, OpenMode, Vfs, VfsFile, crc32};

use super::scan::LineIndex;

const MAGIC: &[u8; 8] = b"SPJLIDX\0";
const VERSION: u32 = 1;
const FIXED_LEN: usize = 8 + 4 + 8 + 8 + 8 + 4 + 4 + 8;
/// Bytes of the file's head and tail whose CRCs tie a sidecar to its file.
const PROBE_BYTES: u64 = 4096;

/// Why a sidecar was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SidecarMiss {
    /// There is none (or it could not be read).
    Missing,
    /// It is damaged, of another version, or for another line bound.
    Invalid,
    /// It does not describe this file any more (cut or rewritten).
    Stale,
}

/// The sidecar's path for `path`: the file name with `.idx` added.
pub(crate) fn beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".idx");
    path.with_file_name(name)
}

/// Loads the sidecar at `sidecar` if it describes `file` (of `file_len`
/// bytes) under `max_line_bytes`.
pub(crate) fn load(
    vfs: &dyn Vfs,
    sidecar: &Path,
    file: &dyn VfsFile,
    file_len: u64,
    max_line_bytes: usize,
) -> Result<LineIndex, SidecarMiss> {
    let handle = vfs
        .open(sidecar, OpenMode::Read)
        .map_err(|_| SidecarMiss::Missing)?;
    let len = handle.len().map_err(|_| SidecarMiss::Missing)?;
    // A line's LEB128 length takes no more bytes than the line, and a
    // fault entry at most two per faulty line: a longer sidecar belongs to
    // another file, so never allocate for it.
    if len
        > file_len
            .saturating_mul(3)
            .saturating_add(FIXED_LEN as u64 + 4)
    {
        return Err(SidecarMiss::Stale);
    }
    let bytes = handle
        .read_vec_at(usize::try_from(len).map_err(|_| SidecarMiss::Stale)?, 0)
        .map_err(|_| SidecarMiss::Missing)?;
    let index = decode(&bytes, max_line_bytes, file_len)?;
    let covered = index.end();
    if covered > file_len {
        return Err(SidecarMiss::Stale);
    }
    let (head, tail) = probes(file, covered).map_err(|_| SidecarMiss::Stale)?;
    let fixed = Fixed::parse(&bytes).ok_or(SidecarMiss::Invalid)?;
    if (head, tail) != (fixed.head_crc, fixed.tail_crc) {
        return Err(SidecarMiss::Stale);
    }
    Ok(index)
}

/// Writes the sidecar for `index` of `file` (temp file, then rename; no
/// fsync: a sidecar lost or torn in a crash is rebuilt).
pub(crate) fn store(
    vfs: &dyn Vfs,
    sidecar: &Path,
    file: &dyn VfsFile,
    index: &LineIndex,
    max_line_bytes: usize,
) -> std::io::Result<()> {
    let (head_crc, tail_crc) = probes(file, index.end())?;
    let bytes = encode(index, max_line_bytes, head_crc, tail_crc);
    let mut tmp = sidecar.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let out = vfs.open(&tmp, OpenMode::Create)?;
    out.set_len(0)?;
    out.write_all_at(&bytes, 0)?;
    drop(out);
    vfs.rename(&tmp, sidecar)
}

/// CRCs of the first and the last `PROBE_BYTES` of `[0, covered)`.
fn probes(file: &dyn VfsFile, covered: u64) -> std::io::Result<(u32, u32)> {
    let n = covered.min(PROBE_BYTES);
    let n_usize = usize::try_from(n).unwrap_or(0);
    let head = file.read_vec_at(n_usize, 0)?;
    let tail = file.read_vec_at(n_usize, covered - n)?;
    Ok((crc32(&[&head]), crc32(&[&tail])))
}

struct Fixed {
    max_line_bytes: u64,
    lines: u64,
    head_crc: u32,
    tail_crc: u32,
    faults: u64,
}

impl Fixed {
    fn parse(bytes: &[u8]) -> Option<Fixed> {
        let at = |i: usize, n: usize| bytes.get(i..i + n);
        if at(0, 8)? != MAGIC || u32::from_le_bytes(at(8, 4)?.try_into().ok()?) != VERSION {
            return None;
        }
        let u64_at = |i| Some(u64::from_le_bytes(at(i, 8)?.try_into().ok()?));
        let u32_at = |i| Some(u32::from_le_bytes(at(i, 4)?.try_into().ok()?));
        Some(Fixed {
            max_line_bytes: u64_at(12)?,
            // 20: covered, implied by the lengths; checked when decoding.
            lines: u64_at(28)?,
            head_crc: u32_at(36)?,
            tail_crc: u32_at(40)?,
            faults: u64_at(44)?,
        })
    }
}

fn encode(index: &LineIndex, max_line_bytes: usize, head_crc: u32, tail_crc: u32) -> Vec<u8> {
    let bounds = index.bounds();
    let mut out = Vec::with_capacity(FIXED_LEN + bounds.len() * 2 + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(max_line_bytes as u64).to_le_bytes());
    out.extend_from_slice(&index.end().to_le_bytes());
    out.extend_from_slice(&index.lines().to_le_bytes());
    out.extend_from_slice(&head_crc.to_le_bytes());
    out.extend_from_slice(&tail_crc.to_le_bytes());
    out.extend_from_slice(&(index.faults().len() as u64).to_le_bytes());
    for pair in bounds.windows(2) {
        put_leb128(&mut out, pair[1] - pair[0]);
    }
    let mut previous = 0;
    for (&line, &fault) in index.faults() {
        put_leb128(&mut out, line - previous);
        previous = line;
        out.push(fault_code(fault));
    }
    let crc = crc32(&[&out]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a sidecar for a file of `file_len` bytes, refusing anything a
/// scan of that file could not have produced.
fn decode(bytes: &[u8], max_line_bytes: usize, file_len: u64) -> Result<LineIndex, SidecarMiss> {
    let (body, crc) = bytes.split_last_chunk::<4>().ok_or(SidecarMiss::Invalid)?;
    if crc32(&[body]) != u32::from_le_bytes(*crc) {
        return Err(SidecarMiss::Invalid);
    }
    let fixed = Fixed::parse(body).ok_or(SidecarMiss::Invalid)?;
    if fixed.max_line_bytes != max_line_bytes as u64 {
        return Err(SidecarMiss::Invalid);
    }
    let covered = u64::from_le_bytes(body[20..28].try_into().map_err(|_| SidecarMiss::Invalid)?);
    if covered > file_len || fixed.lines > covered {
        return Err(SidecarMiss::Stale);
    }
    let mut rest = body.get(FIXED_LEN..).ok_or(SidecarMiss::Invalid)?;
    // Every line takes at least one byte here: bound the allocation by it.
    let lines = usize::try_from(fixed.lines).map_err(|_| SidecarMiss::Invalid)?;
    if lines > rest.len() {
        return Err(SidecarMiss::Invalid);
    }
    let mut bounds = Vec::with_capacity(lines + 1);
    bounds.push(0u64);
    let mut end = 0u64;
    for _ in 0..lines {
        let len = take_leb128(&mut rest).ok_or(SidecarMiss::Invalid)?;
        end = end
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(SidecarMiss::Invalid)?;
        bounds.push(end);
    }
    if end != covered {
        return Err(SidecarMiss::Invalid);
    }
    let mut faults = BTreeMap::new();
    let mut line = 0u64;
    for i in 0..fixed.faults {
        let delta = take_leb128(&mut rest).ok_or(SidecarMiss::Invalid)?;
        line = line.checked_add(delta).ok_or(SidecarMiss::Invalid)?;
        let (&code, tail) = rest.split_first().ok_or(SidecarMiss::Invalid)?;
        rest = tail;
        let fault = fault_from_code(code).ok_or(SidecarMiss::Invalid)?;
        if line >= fixed.lines || (i > 0 && delta == 0) {
            return Err(SidecarMiss::Invalid);
        }
        faults.insert(line, fault);
    }
    if !rest.is_empty() {
        return Err(SidecarMiss::Invalid);
    }
    // A line is flagged too long exactly when it is: otherwise a read would
    // load an over-long line whole, or hide a short one.
    for (pair, line) in bounds.windows(2).zip(0u64..) {
        let over = pair[1] - pair[0] - 1 > max_line_bytes as u64;
        if over != (faults.get(&line) == Some(&LineFault::TooLong)) {
            return Err(SidecarMiss::Invalid);
        }
    }
    Ok(LineIndex::from_parts(bounds, faults))
}

fn fault_code(fault: LineFault) -> u8 {
    match fault {
        LineFault::Blank => 1,
        LineFault::InvalidUtf8 => 2,
        LineFault::Nul => 3,
        LineFault::TooLong => 5,
        // NotJson, and any kind a later engine adds: the scan that made
        // the index knew it as not-JSON at least.
        _ => 4,
    }
}

fn fault_from_code(code: u8) -> Option<LineFault> {
    Some(match code {
        1 => LineFault::Blank,
        2 => LineFault::InvalidUtf8,
        3 => LineFault::Nul,
        4 => LineFault::NotJson,
        5 => LineFault::TooLong,
        _ => return None,
    })
}

fn put_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn take_leb128(rest: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in (0u32..10).zip(rest.iter()) {
        let bits = u64::from(byte & 0x7f);
        // The tenth byte may carry only the top bit of a u64.
        if i == 9 && bits > 1 {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            *rest = &rest[i as usize + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips_and_rejects_overlong() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_leb128(&mut out, value);
            let mut rest = &out[..];
            assert_eq!(take_leb128(&mut rest), Some(value));
            assert!(rest.is_empty());
        }
        let mut rest = &[0x80u8; 11][..];
        assert_eq!(take_leb128(&mut rest), None);
    }

    #[test]
    fn encode_decode_round_trip_and_every_damage_is_refused() {
        let mut index = LineIndex::new();
        index.push(10, None);
        index.push(11, Some(LineFault::Blank));
        index.push(400, Some(LineFault::TooLong));
        index.push(405, None);
        let bytes = encode(&index, 64, 1, 2);
        assert_eq!(decode(&bytes, 64, 405), Ok(index.clone()));
        assert_eq!(decode(&bytes, 65, 405), Err(SidecarMiss::Invalid));
        // For a shorter file it is stale, whatever it holds.
        assert_eq!(decode(&bytes, 64, 404), Err(SidecarMiss::Stale));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad, 64, 405).is_err(), "flip at {i}");
            assert!(decode(&bytes[..i], 64, 405).is_err(), "cut at {i}");
        }
        // A well-formed sidecar whose flags disagree with the lengths (a
        // long line not flagged, or a short one flagged) is refused.
        for bound in [1000, 3] {
            let lied = encode(&index, bound, 1, 2);
            assert_eq!(decode(&lied, bound, 405), Err(SidecarMiss::Invalid));
        }
    }
}
