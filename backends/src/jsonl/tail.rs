//! What open makes of the end of a JSONL file: the JSONL rows of
//! docs/format.md's recovery table, mirrored by [`decide`] as one `match`.
//!
//! JSONL has no checksums and no record of what was synced, so the rules
//! rest on what spool writes: whole lines, each one JSON value, in one
//! write. A crash can leave a partial last line, zero fill (NUL bytes
//! where unwritten blocks were), or garbage after the last whole line;
//! nothing spool writes looks like that in the middle of a file.

use spool_engine::LineFault;

use super::LineMode;
use super::scan::{Fragment, LineIndex};

/// The damaged end of a file: bytes that are not records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Where it starts (the end of the last record's line).
    pub offset: u64,
    /// Its length, to the end of the file.
    pub len: u64,
    /// Complete (`\n`-terminated) lines inside it: non-JSON lines after the
    /// last JSON line, in strict mode. Lenient mode keeps those as records.
    pub lines: u64,
    /// What its first line is: `None` for a JSON value whose `\n` never
    /// reached the disk.
    pub fault: Option<LineFault>,
}

/// What open found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every byte belongs to a record's line.
    Clean,
    /// The first `records` lines are records; the rest is a torn tail.
    Torn { records: u64, tail: TornTail },
    /// Strict mode: a bad line with records after it, or a line over the
    /// bound (which may be real data: never cut it). Nothing is changed.
    Corrupt {
        line: u64,
        offset: u64,
        len: u64,
        fault: LineFault,
    },
}

/// The decision table: what the lines of `index` and the unterminated
/// `fragment` after them mean in `mode`.
pub(crate) fn decide(
    index: &LineIndex,
    fragment: Option<Fragment>,
    file_len: u64,
    mode: LineMode,
) -> Verdict {
    let records = match mode {
        LineMode::Strict => index.last_json().map_or(0, |line| line + 1),
        LineMode::Lenient => index.lines(),
    };
    let blocking = index
        .faults()
        .iter()
        .find(|(line, fault)| **line < records || **fault == LineFault::TooLong);
    match (mode, blocking, fragment) {
        (LineMode::Strict, Some((&line, &fault)), _) => {
            let (offset, len) = index.span(line);
            Verdict::Corrupt {
                line,
                offset,
                len,
                fault,
            }
        }
        _ if records == index.lines() && fragment.is_none() => Verdict::Clean,
        _ => {
            let offset = index.start(records);
            let fault = if records < index.lines() {
                index.fault(records)
            } else {
                fragment.and_then(|f| f.fault)
            };
            Verdict::Torn {
                records,
                tail: TornTail {
                    offset,
                    len: file_len - offset,
                    lines: index.lines() - records,
                    fault,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(lines: &[(u64, Option<LineFault>)]) -> LineIndex {
        let mut index = LineIndex::new();
        for &(end, fault) in lines {
            index.push(end, fault);
        }
        index
    }

    #[test]
    fn the_table() {
        let json = |end| (end, None);
        let bad = |end, fault| (end, Some(fault));
        let clean = index(&[json(4), json(8)]);
        for mode in [LineMode::Strict, LineMode::Lenient] {
            assert_eq!(decide(&clean, None, 8, mode), Verdict::Clean);
        }
        let fragment = Fragment {
            offset: 8,
            len: 3,
            fault: Some(LineFault::NotJson),
        };
        let torn = Verdict::Torn {
            records: 2,
            tail: TornTail {
                offset: 8,
                len: 3,
                lines: 0,
                fault: Some(LineFault::NotJson),
            },
        };
        for mode in [LineMode::Strict, LineMode::Lenient] {
            assert_eq!(decide(&clean, Some(fragment), 11, mode), torn);
        }
        // Non-JSON lines after the last JSON line: torn in strict mode,
        // records in lenient mode.
        let trailing = index(&[json(4), bad(6, LineFault::Nul), bad(7, LineFault::Blank)]);
        assert_eq!(
            decide(&trailing, None, 7, LineMode::Strict),
            Verdict::Torn {
                records: 1,
                tail: TornTail {
                    offset: 4,
                    len: 3,
                    lines: 2,
                    fault: Some(LineFault::Nul)
                }
            }
        );
        assert_eq!(
            decide(&trailing, None, 7, LineMode::Lenient),
            Verdict::Clean
        );
        // A bad line with a record after it.
        let middle = index(&[json(4), bad(6, LineFault::NotJson), json(9)]);
        assert_eq!(
            decide(&middle, None, 9, LineMode::Strict),
            Verdict::Corrupt {
                line: 1,
                offset: 4,
                len: 1,
                fault: LineFault::NotJson
            }
        );
        assert_eq!(decide(&middle, None, 9, LineMode::Lenient), Verdict::Clean);
        // An over-long last line is never cut in strict mode.
        let long = index(&[json(4), bad(100, LineFault::TooLong)]);
        assert!(matches!(
            decide(&long, None, 100, LineMode::Strict),
            Verdict::Corrupt {
                fault: LineFault::TooLong,
                ..
            }
        ));
        // Nothing but damage: no records.
        let only = index(&[bad(3, LineFault::NotJson)]);
        assert!(matches!(
            decide(&only, None, 3, LineMode::Strict),
            Verdict::Torn { records: 0, .. }
        ));
    }
}
