//! Sequence numbers: the dense, 0-based position of a record in its log.
//!
//! A newtype rather than a bare `u64` so that a record index, a byte offset and
//! a count can never be mixed up at a call site.

use std::fmt;

/// The position of a record in its log. Dense: the records of a log are
/// numbered `start, start + 1, …` with no holes, and a log without a base
/// starts at 0.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// The first seq of a log that has no base.
    pub const ZERO: Seq = Seq(0);

    /// The seq `n` records later, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, n: u64) -> Option<Seq> {
        self.0.checked_add(n).map(Seq)
    }

    /// The seq `n` records earlier, saturating at 0.
    #[must_use]
    pub fn saturating_sub(self, n: u64) -> Seq {
        Seq(self.0.saturating_sub(n))
    }

    /// The number of records from `earlier` (inclusive) up to `self` (exclusive).
    #[must_use]
    pub fn distance_from(self, earlier: Seq) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u64> for Seq {
    fn from(value: u64) -> Self {
        Seq(value)
    }
}

/// A half-open range of seqs `[start, end)`: what an atomic batch append was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// The first seq of the range.
    pub start: Seq,
    /// One past the last seq of the range.
    pub end: Seq,
}

impl SeqRange {
    /// The number of seqs in the range.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.end.distance_from(self.start)
    }

    /// Whether the range holds no seq.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `seq` lies inside the range.
    #[must_use]
    pub fn contains(&self, seq: Seq) -> bool {
        self.start <= seq && seq < self.end
    }
}

impl fmt::Display for SeqRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}
