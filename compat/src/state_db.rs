//! The one write spool makes to Codex's SQLite state: promoting a migrated
//! thread's `threads.history_mode` to `paginated`.
//!
//! Codex decides some outcomes from its `state_5.sqlite` row, and a row
//! saying `legacy` beside a file saying `paginated` makes Codex refuse the
//! thread (`list_turns is not supported yet`, even on resume; the interop
//! suite shows it). `codex migrate-rollouts` sets the row; so does spool's
//! migration, with the same one-way rule Codex's own upsert has ("paginated
//! history is a one-way promotion"). Nothing else in Codex's databases is
//! read or written: without a row, or without the database, there is
//! nothing to do. The database lives in CODEX_HOME, or in
//! `$CODEX_SQLITE_HOME` when that is set (§1.1).

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::home::CodexHome;

/// Where Codex keeps `state_5.sqlite` for `home`.
#[must_use]
pub fn state_db_path(home: &CodexHome) -> PathBuf {
    let dir =
        std::env::var_os("CODEX_SQLITE_HOME").map_or_else(|| home.root().to_owned(), PathBuf::from);
    dir.join("state_5.sqlite")
}

/// Promotes thread `id`'s row to `paginated` if the database and the row
/// exist and say otherwise. Returns whether a row changed.
pub fn promote_to_paginated(home: &CodexHome, id: &Uuid) -> Result<bool> {
    let path = state_db_path(home);
    if !path.exists() {
        return Ok(false);
    }
    let error = |e: rusqlite::Error| {
        CodexError::Invalid(format!(
            "{}: could not promote thread {id} to paginated in Codex's state database: {e}; the rollout itself is migrated, run the migration again to retry",
            path.display()
        ))
    };
    // Never create the database; wait for Codex's own writers a while.
    let db =
        Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(error)?;
    db.busy_timeout(Duration::from_secs(5)).map_err(error)?;
    let changed = db
        .execute(
            "UPDATE threads SET history_mode = 'paginated' WHERE id = ?1 AND history_mode <> 'paginated'",
            [id.to_string()],
        )
        .map_err(error)?;
    Ok(changed > 0)
}
