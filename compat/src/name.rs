//! Rollout file names and where Codex keeps them (ROLLOUT-FORMAT.md §1.2,
//! §1.3, §1.5): `rollout-<TS>-<THREAD>[_<ROLLOUT>].jsonl[.zst]` under
//! `sessions/YYYY/MM/DD/` or flat in `archived_sessions/`.
//!
//! The rules are Codex's, so that spool sees exactly the threads Codex
//! sees: a name that does not parse is invisible (not an error); the id
//! part splits at the first `_` and both halves must be UUIDs; the
//! timestamp is wall-clock time read as if UTC (Codex writes local time and
//! reads it back as UTC; reproduce, never convert); a plain file hides its
//! `.zst` sibling; only dated directories of `sessions/` are walked, so the
//! flat layouts of 2025 stay invisible, as they are to Codex.

use std::fmt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

/// The wall-clock time in a file name, second precision, read as UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameTime {
    /// Year (4 digits).
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, valid for the month.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

/// A parsed rollout file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutName {
    /// The name's timestamp.
    pub time: NameTime,
    /// The thread the file belongs to.
    pub thread: Uuid,
    /// The rollout (file) id: the thread id for an ordinary rollout, another
    /// id for a reverted thread's or a resume's segment file.
    pub rollout: Uuid,
    /// Whether the name ends in `.zst`.
    pub compressed: bool,
}

impl RolloutName {
    /// Parses a file name by Codex's rules; `None` for anything Codex would
    /// not see.
    #[must_use]
    pub fn parse(file_name: &str) -> Option<RolloutName> {
        let (name, compressed) = match file_name.strip_suffix(".zst") {
            Some(plain) => (plain, true),
            None => (file_name, false),
        };
        let core = name.strip_prefix("rollout-")?.strip_suffix(".jsonl")?;
        let time = NameTime::parse(core.get(..19)?)?;
        let ids = core.get(19..)?.strip_prefix('-')?;
        let (thread, rollout) = ids.split_once('_').unwrap_or((ids, ids));
        Some(RolloutName {
            time,
            thread: Uuid::parse_str(thread).ok()?,
            rollout: Uuid::parse_str(rollout).ok()?,
            compressed,
        })
    }

    /// The plain (uncompressed) file name: the single-id form when the
    /// rollout id is the thread id, as Codex writes it.
    #[must_use]
    pub fn plain(&self) -> String {
        let ids = if self.thread == self.rollout {
            self.thread.hyphenated().to_string()
        } else {
            format!("{}_{}", self.thread.hyphenated(), self.rollout.hyphenated())
        };
        format!("rollout-{}-{ids}.jsonl", self.time)
    }
}

impl fmt::Display for RolloutName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.plain())?;
        if self.compressed {
            f.write_str(".zst")?;
        }
        Ok(())
    }
}

impl NameTime {
    /// Parses `YYYY-MM-DDThh-mm-ss`, checking every field's range.
    #[must_use]
    pub fn parse(text: &str) -> Option<NameTime> {
        let b = text.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b'-'
            || b[16] != b'-'
        {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u16> {
            let digits = text.get(range)?;
            digits
                .bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| digits.parse().ok())?
        };
        let time = NameTime {
            year: num(0..4)?,
            month: u8::try_from(num(5..7)?).ok()?,
            day: u8::try_from(num(8..10)?).ok()?,
            hour: u8::try_from(num(11..13)?).ok()?,
            minute: u8::try_from(num(14..16)?).ok()?,
            second: u8::try_from(num(17..19)?).ok()?,
        };
        let valid = (1..=12).contains(&time.month)
            && (1..=days_in_month(time.year, time.month)).contains(&time.day)
            && time.hour < 24
            && time.minute < 60
            && time.second < 60;
        valid.then_some(time)
    }
}

impl fmt::Display for NameTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A rollout file found in a CODEX_HOME.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its parsed name.
    pub name: RolloutName,
    /// Whether it is under `archived_sessions/`.
    pub archived: bool,
}

/// Every rollout file Codex would see in `codex_home`: `sessions/YYYY/MM/DD/`
/// and `archived_sessions/`, names that parse, plain files hiding their
/// `.zst` siblings; sorted by path. Unreadable or missing directories are
/// skipped, as Codex's walker skips them. As in Codex, `sessions/` and
/// `archived_sessions/` themselves may be symlinks; a symlinked dated
/// directory or rollout file below them is not followed.
pub fn discover(codex_home: &Path) -> std::io::Result<Vec<RolloutFile>> {
    let mut found = Vec::new();
    let sessions = codex_home.join("sessions");
    for year in dated(&sessions, 4)? {
        for month in dated(&year, 2)? {
            for day in dated(&month, 2)? {
                collect(&day, false, &mut found)?;
            }
        }
    }
    collect(&codex_home.join("archived_sessions"), true, &mut found)?;
    // A plain file hides its compressed sibling (§1.5).
    let plain: std::collections::HashSet<PathBuf> = found
        .iter()
        .filter(|f| !f.name.compressed)
        .map(|f| f.path.clone())
        .collect();
    found.retain(|f| !(f.name.compressed && plain.contains(&f.path.with_extension(""))));
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The subdirectories of `dir` whose names are `width` digits.
fn dated(dir: &Path, width: usize) -> std::io::Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir()
            && name.len() == width
            && name.bytes().all(|b| b.is_ascii_digit())
        {
            out.push(entry.path());
        }
    }
    Ok(out)
}

fn collect(dir: &Path, archived: bool, out: &mut Vec<RolloutFile>) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str().and_then(RolloutName::parse) {
            out.push(RolloutFile {
                path: entry.path(),
                name,
                archived,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b";
    const B: &str = "019f2b00-1111-7222-8333-444455556666";

    #[test]
    fn names_parse_by_codexs_rules() {
        // §8 case 49.
        let both =
            RolloutName::parse(&format!("rollout-2026-08-13T11-12-13-{A}_{B}.jsonl")).unwrap();
        assert_eq!(
            (both.thread.to_string(), both.rollout.to_string()),
            (A.into(), B.into())
        );
        assert_eq!(
            both.time,
            NameTime {
                year: 2026,
                month: 8,
                day: 13,
                hour: 11,
                minute: 12,
                second: 13
            }
        );
        let one =
            RolloutName::parse(&format!("rollout-2026-08-13T11-12-13-{A}.jsonl.zst")).unwrap();
        assert_eq!(one.thread, one.rollout);
        assert!(one.compressed);
        // Rendering gives the names back (single-id form when ids agree).
        assert_eq!(
            both.to_string(),
            format!("rollout-2026-08-13T11-12-13-{A}_{B}.jsonl")
        );
        assert_eq!(
            one.to_string(),
            format!("rollout-2026-08-13T11-12-13-{A}.jsonl.zst")
        );
        // Invisible to Codex, so to spool.
        for bad in [
            format!("rollout-2025-05-07-{A}.jsonl"), // 2025-05 name: 10-char date
            format!("rollout-2026-08-13T11-12-13-{A}.json"), // not .jsonl
            format!("rollout-2026-13-13T11-12-13-{A}.jsonl"), // month 13
            format!("rollout-2026-02-30T11-12-13-{A}.jsonl"), // 30 February
            format!("rollout-2026-08-13T24-00-00-{A}.jsonl"), // hour 24
            format!("rollout-2026-08-13T11-12-13_{A}.jsonl"), // `_` where `-` belongs
            "rollout-2026-08-13T11-12-13-not-a-uuid.jsonl".to_owned(),
            format!("rollout-2026-08-13T11-12-13-{A}_junk.jsonl"),
            format!("session-2026-08-13T11-12-13-{A}.jsonl"),
        ] {
            assert_eq!(RolloutName::parse(&bad), None, "{bad}");
        }
        assert!(RolloutName::parse(&format!("rollout-2024-02-29T00-00-00-{A}.jsonl")).is_some());
    }
}
