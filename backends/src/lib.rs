//! spool-backends: where spool logs are stored, and the file systems they
//! run on.
//!
//! - [`MemoryBackend`]: the in-memory log, and the oracle of the
//!   differential tests.
//! - [`StdFs`]: the real file system behind the engine's `Vfs` seam; every
//!   `std::fs` call of the file backends lives in `file.rs`, and every memory
//!   map in `mmap.rs`.
//! - `SimFs` (feature `sim`): an in-memory `Vfs` that crashes, tears writes
//!   and fails on cue, for the crash and fault suites.
//! - [`JsonlBackend`]: a plain JSONL file (a Codex rollout) as a log.
//! - [`SegmentedBackend`]: spool's own crash-safe segmented format.
//! - [`DirStorage`] and [`MemoryStorage`]: where a `Store` keeps its logs.
//! - `jetstream` (feature `jetstream`): logs and stores on a NATS JetStream
//!   stream, replicated by the cluster.
//!
//! Every backend implements [`spool_engine::Backend`] and passes the one
//! conformance suite in `spool-tests`.

pub mod check;
pub mod dir_storage;
pub mod file;
#[cfg(feature = "jetstream")]
pub mod jetstream;
pub mod jsonl;
mod lifecycle;
pub mod memory;
pub mod memory_storage;
mod mmap;
mod prefetch;
pub mod segmented;
#[cfg(feature = "sim")]
pub mod sim;
mod sync;

pub use check::{Finding, LogCheck, Problem, Remedy, RepairReport, SegmentCheck};
pub use dir_storage::{DirStorage, LogFormat};
pub use file::{StdFs, StdFsModes};
#[cfg(feature = "jetstream")]
pub use jetstream::{JetStream, JetStreamBackend, JetStreamConfig, JetStreamStorage, StreamHealth};
pub use jsonl::{JsonlBackend, JsonlConfig, LineMode, SidecarIndex, TailPolicy};
pub use lifecycle::create_dir_durably;
pub use memory::MemoryBackend;
pub use memory_storage::MemoryStorage;
pub use segmented::{ReadMode, RecoveryMode, SegmentedBackend, SegmentedConfig};
#[cfg(feature = "sim")]
pub use sim::{CrashPoint, Fault, FaultMode, SimFs, SimRng};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
