//! How a JSONL log treats its lines and its tail: one configuration for
//! the files spool owns and one for the files it only reads and extends
//! (Codex rollouts), because the two must answer damage differently.

use std::path::PathBuf;

use spool_engine::{Error, Result};

/// How lines that are not one JSON value are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineMode {
    /// Every line is one JSON value: a bad line with records after it is
    /// `Corrupt { line, offset }`; bad lines at the end are a torn tail.
    /// Default, for files spool owns.
    #[default]
    Strict,
    /// Every complete line is a record; bad ones are flagged and counted
    /// ([`JsonlBackend::invalid_lines`]) so upper layers skip them the way
    /// Codex does. For files spool does not own.
    Lenient,
}

/// What the writer does, on open, with a torn tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TailPolicy {
    /// Cut it off (made durable before the open returns). Default.
    #[default]
    Truncate,
    /// Keep it and end it with a `\n`, so it becomes a (flagged) line of its
    /// own and new records start clean: the Codex convention for files it
    /// does not own. Lenient mode only.
    Terminate,
}

/// Configuration of a JSONL log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonlConfig {
    /// Strict or lenient lines.
    pub lines: LineMode,
    /// What the writer does with a torn tail.
    pub torn_tail: TailPolicy,
    /// Longest line read into memory, and the largest payload accepted. A
    /// longer line in a file is measured, never read: lenient mode flags it
    /// [`LineFault::TooLong`] (with an empty payload), strict mode refuses
    /// to open. Default: 8 MiB.
    pub max_line_bytes: usize,
    /// Where the line index is kept between opens.
    pub sidecar: SidecarIndex,
    /// Files shorter than this are scanned at open and get no sidecar.
    /// Default: 4 MiB.
    pub sidecar_min_bytes: u64,
}

/// Where a JSONL log keeps its sidecar line index (a rebuildable cache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SidecarIndex {
    /// No sidecar: every open scans the whole file.
    None,
    /// Beside the file, with `.idx` added to its name. Default.
    Beside,
    /// At this path (for files in directories spool must not write to).
    At(PathBuf),
}

impl JsonlConfig {
    /// For files spool owns: strict lines, torn tails truncated.
    #[must_use]
    pub fn owned() -> JsonlConfig {
        JsonlConfig {
            lines: LineMode::Strict,
            torn_tail: TailPolicy::Truncate,
            max_line_bytes: 8 << 20,
            sidecar: SidecarIndex::Beside,
            sidecar_min_bytes: 4 << 20,
        }
    }

    /// For files spool does not own (Codex rollouts): lenient lines, a torn
    /// tail ended with a `\n` before the first append, and no sidecar
    /// written into the owner's directory (set [`SidecarIndex::At`] to keep
    /// one elsewhere).
    #[must_use]
    pub fn foreign() -> JsonlConfig {
        JsonlConfig {
            lines: LineMode::Lenient,
            torn_tail: TailPolicy::Terminate,
            sidecar: SidecarIndex::None,
            ..JsonlConfig::owned()
        }
    }

    /// Checks the combination.
    pub fn validate(&self) -> Result<()> {
        if self.max_line_bytes == 0 {
            return Err(Error::InvalidConfig {
                field: "max_line_bytes",
                reason: "must be at least 1".into(),
            });
        }
        if self.lines == LineMode::Strict && self.torn_tail == TailPolicy::Terminate {
            return Err(Error::InvalidConfig {
                field: "torn_tail",
                reason: "Terminate keeps a bad line, which a strict log would then \
                         refuse as corrupt once records follow it; use Lenient lines"
                    .into(),
            });
        }
        Ok(())
    }
}

impl Default for JsonlConfig {
    fn default() -> Self {
        JsonlConfig::owned()
    }
}
