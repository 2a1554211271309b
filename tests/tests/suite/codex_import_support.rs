//! Helpers shared by the Codex suites (import, migration, writer).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every history file of a home (rollouts and the session index), by
/// relative path.
pub(crate) fn history(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files: BTreeMap<PathBuf, Vec<u8>> = spool_compat::discover(root)
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.path.strip_prefix(root).unwrap().to_owned(),
                std::fs::read(&f.path).unwrap(),
            )
        })
        .collect();
    let index = root.join("session_index.jsonl");
    if index.exists() {
        files.insert("session_index.jsonl".into(), std::fs::read(index).unwrap());
    }
    files
}

/// A temporary home holding `from`'s history files (no SQLite, no config).
pub(crate) fn copy_history(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for (relative, bytes) in history(from) {
        let path = to.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    to
}

/// Puts `bytes` into `home` as the rollout of a fresh thread (its name's
/// id; the header inside may say another), in a dated directory.
pub(crate) fn place(home: &Path, bytes: &[u8]) -> (uuid::Uuid, PathBuf) {
    let id = uuid::Uuid::now_v7();
    let dir = home.join("sessions/2026/08/13");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("rollout-2026-08-13T10-00-00-{id}.jsonl"));
    std::fs::write(&path, bytes).unwrap();
    (id, path)
}
