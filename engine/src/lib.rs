//! spool-engine: the core of spool, an embeddable, event-sourced append-log
//! engine.
//!
//! This crate defines what a log *is* and holds no storage code: records and
//! their dense seqs ([`Record`], [`Seq`]), the checksummed frame format
//! ([`frame`]), codecs for typed events ([`Codec`]), opaque pagination cursors
//! ([`Cursor`]), the storage seam every backend implements ([`Backend`]), the
//! [`Log`] handle with its group-commit writer and live [`Log::tail`], the time
//! seam ([`Clock`]) and the file-system seam of file backends ([`Vfs`]).
//! Backends live in `spool-backends`, which depends on this crate, never the
//! reverse.
//!
//! # Promises
//!
//! Each backend states which of these it keeps (see its docs); the test suites
//! in `spool-tests` prove each one.
//!
//! - **P1** A record acknowledged at [`Durability::Data`] (or after a
//!   successful [`Log::sync`]) survives power loss.
//! - **P2** An acknowledged record survives the process being killed.
//! - **P3** After any crash the log is a prefix of what was appended: no
//!   holes, no reordering.
//! - **P4** No API returns bytes that differ from what was appended: every
//!   read is checksum-verified, mapped reads included.
//! - **P5** Damage before the durable end is [`Error::Corrupt`] naming the
//!   object and byte offset, never silently truncated unless the caller asks
//!   for salvage; damage after it is a torn tail, truncated at open.
//! - **P6** After a crash without real corruption, open succeeds with no
//!   manual step.
//! - **P7** Fail-stop: after a failed write or sync the log is poisoned
//!   ([`Error::Poisoned`]) until reopened; an fsync is never retried and
//!   reported as a success. Records acknowledged before stay readable.
//! - **P8** One writer per log across processes; a second writer is refused
//!   with a typed error (file backends hold a cross-process lock).
//!
//! Two more hold for every backend through [`Log`]: seqs are dense and
//! assigned in acknowledgement order, and readers never see a record before
//! its append is acknowledged.

pub mod backend;
mod checksum;
pub mod clock;
pub mod codec;
pub mod config;
pub mod cursor;
pub mod durability;
pub mod error;
pub mod frame;
pub mod log;
pub mod log_id;
pub mod record;
mod rt;
pub mod seq;
pub mod store;
mod tail;
pub mod typed;
pub mod vfs;
mod writer;

pub use backend::{Backend, Capabilities, PayloadRule, ReadRange, batch_bytes};
pub use checksum::crc32;
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::{Codec, CodecKind, Json, MsgPack, Raw};
pub use config::LogConfig;
pub use cursor::{Cursor, Direction};
pub use durability::Durability;
pub use error::{CorruptKind, CursorProblem, Error, LineFault, Result};
pub use log::{Log, Page};
pub use log_id::LogId;
pub use record::{NewRecord, Record};
pub use seq::{Seq, SeqRange};
pub use store::{
    Archived, Base, Lineage, ListPage, ListQuery, LogInfo, MAX_LIST_LIMIT, Order, Projected,
    Projection, SortKey, Storage, Store, StoreConfig, StoreEvent, StoreOpenReport, Subscription,
};
pub use typed::{Event, EventPage, TypedLog};
pub use vfs::{OpenMode, Vfs, VfsFile, VfsLock};
