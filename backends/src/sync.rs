//! The atomics the segmented backend publishes with, swapped for loom's
//! under `--cfg spool_loom` so that the publish/read protocol is checked
//! under every interleaving (RELIABILITY.md R9 (a)).

#[cfg(spool_loom)]
pub(crate) use loom::sync::atomic;
#[cfg(not(spool_loom))]
pub(crate) use std::sync::atomic;
