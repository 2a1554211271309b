//! spool-compat: OpenAI Codex session history ("rollouts") on spool.
//!
//! This crate's job is to make spool a drop-in, fail-closed store for Codex
//! threads: a lossless, byte-exact rollout line model for every generation,
//! the history-mode floor (legacy, paginated, and unknown modes that fail
//! closed), import, export and migration, turn/item views, action export and
//! session bundles. It depends on `spool-engine` (threads are logs) and, for
//! its defaults, on `spool-backends`.
//!
//! It exports nothing yet: the rollout model needs the JSONL backend (a
//! rollout file is a log) and the store (threads, lineage), which it builds
//! on. ARCHITECTURE.md tracks the order.

#![forbid(unsafe_code)]
