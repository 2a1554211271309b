//! Cursors: opaque, versioned tokens that name a position in one log.
//!
//! A cursor names the log (by [`LogId::fingerprint`]), a direction, a seq and a
//! backend position hint. Its string form is `v1.` followed by base64url (no
//! padding) of 30 bytes:
//!
//! ```text
//! 0  u8   version (1)       10 u64 seq
//! 1  u8   direction (0 fwd, 18 u64 position hint (backend-defined, 0 = none)
//!         1 back)           26 u32 CRC-32 of bytes 0..26
//! 2  u64  log fingerprint
//! ```
//!
//! A forward cursor at seq `s` reads `[s, s + limit)`; a backward cursor at
//! `e` reads `[e - limit, e)` newest first. The cursor fixes where a page
//! starts (the limit is the caller's), so appends never shift a page: a full
//! page reads the same forever, and a forward page that reached the end only
//! grows.
//!
//! The checksum catches a cursor that was cut, mangled or edited by hand; it is
//! not a signature. A forged cursor is still checked against the log it is
//! presented to (fingerprint, seq within the log), so it can only name a
//! position the caller could have named anyway.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::checksum::crc32;
use crate::{CursorProblem, Error, LogId, Result, Seq};

/// The cursor format version this build writes and reads.
pub const CURSOR_VERSION: u8 = 1;
const BODY_LEN: usize = 26;
const ENCODED_LEN: usize = BODY_LEN + 4;
/// Characters of base64url (no padding) for `ENCODED_LEN` bytes.
const BASE64_LEN: usize = ENCODED_LEN.div_ceil(3) * 4 - (3 - ENCODED_LEN % 3) % 3;
const _: () = assert!(BASE64_LEN == 40);
/// No cursor string is longer than this; longer input is rejected before decoding.
const STRING_MAX_LEN: usize = 64;

/// Which way a page is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Oldest first, from the cursor's seq upwards.
    Forward,
    /// Newest first, from just below the cursor's seq downwards.
    Backward,
}

/// A position in one log. Get one from a [`Log`](crate::Log) or a [`Page`](crate::Page);
/// pass it around as a string (`to_string` / `parse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    log: u64,
    direction: Direction,
    seq: Seq,
    hint: u64,
}

impl Cursor {
    /// A cursor for `log` at `seq`. Forward cursors include `seq`; backward
    /// cursors read the records below it.
    #[must_use]
    pub fn new(log: &LogId, direction: Direction, seq: Seq) -> Cursor {
        Cursor {
            log: log.fingerprint(),
            direction,
            seq,
            hint: 0,
        }
    }

    /// The same cursor carrying a backend position hint (for example a byte
    /// offset). Backends treat the hint as a shortcut and verify it.
    #[must_use]
    pub fn with_hint(self, hint: u64) -> Cursor {
        Cursor { hint, ..self }
    }

    /// The direction of the pages this cursor reads.
    #[must_use]
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The seq the cursor names.
    #[must_use]
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// The backend position hint (0 = none).
    #[must_use]
    pub fn hint(&self) -> u64 {
        self.hint
    }

    /// Whether the cursor was made for `log`.
    #[must_use]
    pub fn belongs_to(&self, log: &LogId) -> bool {
        self.log == log.fingerprint()
    }

    /// Checks that the cursor belongs to `log` and does not lie past `end`
    /// (the log's next seq).
    pub fn check(&self, log: &LogId, end: Seq) -> Result<()> {
        if !self.belongs_to(log) {
            return Err(Error::ForeignCursor { log: log.clone() });
        }
        if self.seq > end {
            return Err(Error::SeqPastEnd { seq: self.seq, end });
        }
        Ok(())
    }

    fn to_bytes(self) -> [u8; ENCODED_LEN] {
        let mut out = [0u8; ENCODED_LEN];
        out[0] = CURSOR_VERSION;
        out[1] = match self.direction {
            Direction::Forward => 0,
            Direction::Backward => 1,
        };
        out[2..10].copy_from_slice(&self.log.to_le_bytes());
        out[10..18].copy_from_slice(&self.seq.0.to_le_bytes());
        out[18..26].copy_from_slice(&self.hint.to_le_bytes());
        let crc = crc32(&[&out[..BODY_LEN]]);
        out[BODY_LEN..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Result<Cursor> {
        let malformed = Error::InvalidCursor {
            problem: CursorProblem::Malformed,
        };
        let Some(raw) = bytes.first_chunk::<ENCODED_LEN>() else {
            return Err(Error::InvalidCursor {
                problem: CursorProblem::Truncated,
            });
        };
        if bytes.len() != ENCODED_LEN {
            return Err(malformed);
        }
        let stored = u32::from_le_bytes([raw[26], raw[27], raw[28], raw[29]]);
        if stored != crc32(&[&raw[..BODY_LEN]]) {
            return Err(Error::InvalidCursor {
                problem: CursorProblem::Tampered,
            });
        }
        if raw[0] != CURSOR_VERSION {
            return Err(malformed);
        }
        let direction = match raw[1] {
            0 => Direction::Forward,
            1 => Direction::Backward,
            _ => return Err(malformed),
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[at..at + 8]);
            u64::from_le_bytes(b)
        };
        Ok(Cursor {
            log: u64_at(2),
            direction,
            seq: Seq(u64_at(10)),
            hint: u64_at(18),
        })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v{CURSOR_VERSION}.{}",
            URL_SAFE_NO_PAD.encode(self.to_bytes())
        )
    }
}

impl FromStr for Cursor {
    type Err = Error;

    /// Decodes a cursor string. Tampered, truncated and malformed strings and
    /// unknown versions are typed errors; whether the cursor fits a given log
    /// is checked when it is used.
    fn from_str(s: &str) -> Result<Cursor> {
        let malformed = Error::InvalidCursor {
            problem: CursorProblem::Malformed,
        };
        if s.len() > STRING_MAX_LEN {
            return Err(malformed);
        }
        let (version, body) = s.split_once('.').ok_or(Error::InvalidCursor {
            problem: CursorProblem::Malformed,
        })?;
        let version: u32 = version
            .strip_prefix('v')
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or(Error::InvalidCursor {
                problem: CursorProblem::Malformed,
            })?;
        if version != u32::from(CURSOR_VERSION) {
            return Err(Error::UnsupportedVersion {
                what: "cursor",
                found: version,
                supported: u32::from(CURSOR_VERSION),
            });
        }
        if body.len() < BASE64_LEN {
            return Err(Error::InvalidCursor {
                problem: CursorProblem::Truncated,
            });
        }
        if body.len() > BASE64_LEN {
            return Err(malformed);
        }
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed)?;
        Cursor::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests;
