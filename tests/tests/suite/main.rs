//! spool's integration suite, one binary: conformance of every backend, the
//! log's behaviour (group commit, tail, poisoning, close), and every error
//! variant's trigger.

// Helpers shared by the tests panic on failure on purpose; clippy only
// recognises `#[test]` functions themselves as test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

mod cancel;
mod codex_actions;
mod codex_home;
mod codex_import;
mod codex_import_support;
mod codex_interop;
mod codex_listing;
mod codex_migrate;
mod codex_recorder;
mod codex_threads;
mod codex_writer;
mod conformance;
mod crash;
mod crash_points;
mod enospc;
mod errors;
mod faults;
mod golden;
mod group_commit;
mod jetstream;
mod jetstream_cluster;
mod jsonl_crash;
mod jsonl_files;
mod jsonl_lines;
mod jsonl_tails;
mod poison;
mod process;
mod rollout_lines;
mod store;
mod store_live;
mod store_model;
mod store_repairs;
mod stress;
mod tail;
mod typed;
mod verify_repair;

use std::sync::Arc;

use spool_backends::MemoryBackend;
use spool_engine::{Log, LogConfig, LogId};

/// A log over a fresh in-memory backend, and the backend to reopen it.
fn memory_log(config: LogConfig) -> (Log, MemoryBackend) {
    let backend = MemoryBackend::new();
    let log = Log::open(LogId::new("t").unwrap(), Arc::new(backend.clone()), config).unwrap();
    (log, backend)
}
