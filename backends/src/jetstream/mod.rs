//! The replicated backend: spool logs on a NATS JetStream stream
//! (feature `jetstream`). docs/jetstream.md has the mapping and what each
//! promise means on a replicated stream.
//!
//! - `connection`: the one place that talks to NATS ([`JetStream`]).
//! - `message`: a batch as one message (frames with their CRCs, headers).
//! - `log`: a log as a subject ([`JetStreamBackend`]).
//! - `storage`: a store as a stream ([`JetStreamStorage`]).

mod connection;
mod log;
mod message;
mod storage;

pub use connection::{JetStream, JetStreamConfig, StreamHealth};
pub use log::JetStreamBackend;
pub use storage::JetStreamStorage;
