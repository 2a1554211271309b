//! spool-backends: where spool logs are stored.
//!
//! Today: [`MemoryBackend`], the in-memory log that serves as the oracle of
//! the differential tests. The JSONL and segmented file backends, and the
//! `StdFs`/`SimFs` implementations of the engine's `Vfs` seam they run on,
//! come next (see ARCHITECTURE.md). Every backend implements
//! [`spool_engine::Backend`] and passes the one conformance suite in
//! `spool-tests`.

pub mod memory;

pub use memory::MemoryBackend;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
