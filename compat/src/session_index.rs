//! `session_index.jsonl`: Codex's append-only file of thread names
//! (ROLLOUT-FORMAT.md §1.7). The latest line for an id wins; lines that do
//! not parse are skipped (and counted), as Codex's readers skip them; an
//! empty or whitespace name means "no name".

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use spool_backends::{JsonlBackend, JsonlConfig, StdFs};
use spool_engine::{Backend, ReadRange, Result, Seq};
use uuid::Uuid;

/// Thread names, as Codex resolves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionIndex {
    /// The latest name of each thread (absent: none, or the latest was
    /// blank).
    names: HashMap<Uuid, String>,
    /// Lines that were not a name entry.
    skipped: usize,
}

impl SessionIndex {
    /// Reads the index file at `path` (read-only: the file is Codex's; a
    /// torn last line is not an entry). A missing file is an empty index.
    pub async fn read(path: &Path) -> Result<SessionIndex> {
        if !path.exists() {
            return Ok(SessionIndex::default());
        }
        let log = JsonlBackend::open_read_only(Arc::new(StdFs), path, JsonlConfig::foreign())?;
        let records = log.read(ReadRange::all_from(Seq(0))).await?;
        Ok(SessionIndex::from_lines(
            records.iter().map(|r| &r.payload[..]),
        ))
    }

    /// Builds the index from the file's lines, oldest first.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> SessionIndex {
        let mut index = SessionIndex::default();
        for line in lines {
            match entry(line) {
                Some((id, name)) if name.trim().is_empty() => {
                    index.names.remove(&id);
                }
                Some((id, name)) => {
                    index.names.insert(id, name);
                }
                None => index.skipped += 1,
            }
        }
        index
    }

    /// The latest name of `thread`.
    #[must_use]
    pub fn name(&self, thread: &Uuid) -> Option<&str> {
        self.names.get(thread).map(String::as_str)
    }

    /// The threads whose latest name is `name` (an older name finds
    /// nothing, as in Codex), sorted.
    #[must_use]
    pub fn lookup(&self, name: &str) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .names
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// Lines skipped because they were not a name entry.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// `{"id": <uuid>, "thread_name": <string>, …}`, through a generic value.
fn entry(line: &[u8]) -> Option<(Uuid, String)> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let id = Uuid::parse_str(value.get("id")?.as_str()?).ok()?;
    let name = value.get("thread_name")?.as_str()?.to_owned();
    Some((id, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_wins_blank_clears_and_junk_is_counted() {
        let a = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b";
        let lines = [
            format!(r#"{{"id":"{a}","thread_name":"first","updated_at":"t"}}"#),
            format!(r#"{{"id":"{a}","thread_name":"second"}}"#),
            r#"{"id":"not-a-uuid","thread_name":"x"}"#.to_owned(),
            "not json".to_owned(),
        ];
        let index = SessionIndex::from_lines(lines.iter().map(String::as_bytes));
        let id = Uuid::parse_str(a).unwrap();
        assert_eq!(index.name(&id), Some("second"));
        assert_eq!(index.lookup("first"), Vec::<Uuid>::new());
        assert_eq!(index.lookup("second"), vec![id]);
        assert_eq!(index.skipped(), 2);
        let cleared = SessionIndex::from_lines([
            lines[0].as_bytes(),
            format!(r#"{{"id":"{a}","thread_name":"  "}}"#).as_bytes(),
        ]);
        assert_eq!(cleared.name(&id), None);
    }
}
