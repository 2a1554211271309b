//! Verifying and repairing a JSONL log on an operator's request, in the
//! shape the segmented backend reports ([`crate::check`]).
//!
//! Verify scans the whole file (the sidecar index is not trusted for this)
//! and writes nothing. Repair cuts a torn tail (what a writer's open does
//! under [`TailPolicy::Truncate`]) and, with salvage, a file at its first
//! bad line; either way the bytes cut are first saved to
//! `<file>.cut-<offset>`, and the sidecar index is dropped (it is rebuilt).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use spool_engine::{Backend as _, CorruptKind, Error, OpenMode, Result, Seq, Vfs};

use super::{JsonlBackend, JsonlConfig, SidecarIndex, TailPolicy, sidecar_path};
use crate::check::{Finding, LogCheck, Problem, Remedy, RepairReport, save_tail};
use crate::lifecycle::take_lock;

/// Verifies the JSONL log at `path` as `config` reads it.
pub fn verify(vfs: &Arc<dyn Vfs>, path: &Path, config: &JsonlConfig) -> Result<LogCheck> {
    let bytes = vfs
        .open(path, OpenMode::Read)
        .and_then(|f| f.len())
        .map_err(|e| Error::io("open log file", e))?;
    let mut check = LogCheck {
        path: path.to_path_buf(),
        bytes,
        ..LogCheck::default()
    };
    let config = JsonlConfig {
        sidecar: SidecarIndex::None,
        ..config.clone()
    };
    match JsonlBackend::open_read_only(Arc::clone(vfs), path, config) {
        Ok(log) => {
            check.end_seq = log.next_seq();
            if let Some(tail) = log.report().torn_tail {
                check.findings.push(Finding {
                    file: path.to_path_buf(),
                    offset: tail.offset,
                    problem: Problem::TornTail { bytes: tail.len },
                    remedy: Remedy::Truncate { at: tail.offset },
                });
            }
        }
        Err(Error::Corrupt { offset, kind, .. }) => {
            // Strict lines: the lines before the bad one are records.
            if let CorruptKind::InvalidLine { line, .. } = kind {
                check.end_seq = Seq(line.saturating_sub(1));
            }
            check.findings.push(Finding {
                file: path.to_path_buf(),
                offset,
                problem: Problem::Corrupt(kind),
                remedy: Remedy::Salvage { at: offset },
            });
        }
        Err(e) => return Err(e),
    }
    Ok(check)
}

/// Repairs the JSONL log at `path`: a torn tail is cut; with `salvage`, the
/// file is cut at its first bad line. Bytes cut are saved first. Without
/// `salvage`, a bad line is `Corrupt` and nothing changes; `Locked` while a
/// writer has the file open.
pub fn repair(
    vfs: &Arc<dyn Vfs>,
    path: &Path,
    config: &JsonlConfig,
    salvage: bool,
) -> Result<RepairReport> {
    let lock = take_lock(vfs.as_ref(), path)?;
    let before = verify(vfs, path, config)?;
    let mut saved = Vec::new();
    for finding in &before.findings {
        let at = match (&finding.problem, finding.remedy) {
            (_, Remedy::Truncate { at }) => at,
            (_, Remedy::Salvage { at }) if salvage => at,
            (Problem::Corrupt(kind), _) => {
                return Err(Error::Corrupt {
                    object: path.display().to_string(),
                    offset: finding.offset,
                    kind: *kind,
                });
            }
            _ => continue,
        };
        saved.extend(save_and_cut(vfs.as_ref(), path, at)?);
    }
    if !saved.is_empty()
        && let Some(sidecar) = sidecar_path(path, config)
    {
        match vfs.remove(&sidecar) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("remove sidecar index", e));
            }
            _ => {}
        }
    }
    drop(lock);
    // A writer's open checks what is left and makes it durable.
    let writer = JsonlBackend::open(
        Arc::clone(vfs),
        path,
        JsonlConfig {
            torn_tail: TailPolicy::Truncate,
            ..config.clone()
        },
    )?;
    drop(writer);
    Ok(RepairReport {
        after: verify(vfs, path, config)?,
        before,
        saved,
        set_aside: Vec::new(),
        indexes_written: 0,
    })
}

/// Saves the bytes of `path` from `at` to `<path>.cut-<at>`, then cuts the
/// file there; `None` if there is nothing after `at`.
fn save_and_cut(vfs: &dyn Vfs, path: &Path, at: u64) -> Result<Option<PathBuf>> {
    let file = vfs
        .open(path, OpenMode::ReadWrite)
        .map_err(|e| Error::io("open log file", e))?;
    let len = file.len().map_err(|e| Error::io("size log file", e))?;
    if len <= at {
        return Ok(None);
    }
    let side = save_tail(vfs, path, at, len)?;
    file.set_len(at)
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io("cut log file", e))?;
    Ok(Some(side))
}
