//! What a JSONL log tells its caller about the file: what open found and
//! did, and which records are not JSON, so an upper layer (spool-compat)
//! can skip them the way Codex does without re-parsing a line.

use spool_engine::{LineFault, Seq};

use super::{SidecarMiss, TornTail};

/// A line that is not one JSON value (lenient mode keeps it as a record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidLine {
    /// Its record's seq.
    pub seq: Seq,
    /// Its line number, 1-based as editors count.
    pub line: u64,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its length without the `\n`.
    pub len: u64,
    /// What is wrong with it.
    pub fault: LineFault,
}

/// What open found and did, for operators and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonlReport {
    /// Bytes scanned for line ends at open (those the sidecar did not cover).
    pub scanned_bytes: u64,
    /// Bytes whose lines came from the sidecar index.
    pub sidecar_bytes: u64,
    /// Why a configured sidecar was not used, if it was not.
    pub sidecar_miss: Option<SidecarMiss>,
    /// The damaged end found at open, if any.
    pub torn_tail: Option<TornTail>,
    /// What the writer did with it.
    pub tail_action: TailAction,
}

/// What open did with a torn tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TailAction {
    /// There was none, or a reader left it alone (and skips it).
    #[default]
    None,
    /// The writer cut it off.
    Truncated,
    /// The writer ended it with a `\n`; it is a record now.
    Terminated,
}
