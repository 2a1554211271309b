//! spool-compat: OpenAI Codex session history ("rollouts") on spool.
//!
//! This crate's job is to make spool a drop-in, fail-closed store for Codex
//! threads: a lossless, byte-exact rollout line model for every generation,
//! the history-mode floor (legacy, paginated, and unknown modes that fail
//! closed), import, export and migration, turn/item views, action export and
//! session bundles. It depends on `spool-engine` (threads are logs) and, for
//! its defaults, on `spool-backends`.
//!
//! What is here (issue 7): [`RolloutLine`], the lossless line model;
//! [`CodexHome`], a CODEX_HOME opened as spool logs ([`Thread`]: files
//! found as Codex finds them, `history_base` lineage composed, `.zst` read
//! in memory); [`ThreadWriter`], which writes as Codex writes (names,
//! serialization, ordinals, the writer lock, forks, reverts) and
//! [`Fixture`] on top of it; the history-mode [`Floor`]; and the views
//! (listing, turns, items) in Codex app-server v2's JSON shape. docs/codex.md
//! is the guide; import, export and migration come next (issue 8).

#![forbid(unsafe_code)]

pub mod actions;
pub mod archive;
pub mod branch;
pub mod bundle;
pub mod error;
pub mod export;
pub mod fixture;
pub mod floor;
pub mod header;
pub mod home;
pub mod import;
pub mod json;
pub mod line;
pub mod load;
pub mod lock;
pub mod migrate;
pub mod name;
pub mod ordinal;
pub mod policy;
pub mod recorder;
pub mod segment;
pub mod session_index;
pub mod state_db;
pub mod store_export;
pub mod thread;
pub mod view;
pub mod writer;

pub use actions::{ACTION_SCHEMA_VERSION, export_actions};
pub use bundle::{BundleConfig, BundleFallback, SessionBundle, SideLog};
pub use error::{CodexError, Result};
pub use fixture::Fixture;
pub use floor::{Floor, Operation};
pub use header::{Header, HistoryBase, find_header};
pub use home::{CodexHome, CodexHomeConfig, ThreadFiles};
pub use import::{
    FileImport, ImportOutcome, ImportProgress, ImportReport, ProgressFn, SESSION_INDEX_LOG,
    import_home,
};
/// The time zone type of [`WriterOptions::zone`] (from jiff).
pub use jiff::tz::TimeZone;
pub use line::{Envelope, HistoryMode, Item, LineView, Problem, RolloutLine, SessionMeta};
pub use load::{Load, codex_load};
pub use lock::WriterLock;
pub use migrate::{Migration, MigrationStatus, migrate_home, migrate_home_with, migrate_thread};
pub use name::{NameTime, RolloutFile, RolloutName, discover};
pub use ordinal::{Deviation, OrdinalDeviation, check_ordinals, next_ordinal};
pub use recorder::{Recorder, RecorderOptions};
pub use segment::Segment;
pub use session_index::SessionIndex;
pub use store_export::{export_store, export_store_with};
pub use thread::{Fork, Link, Thread};
pub use view::list::{SortBy, ThreadPage, ThreadQuery, ThreadSummary, list_threads};
pub use view::turn::{ItemsView, Turn, TurnItem, TurnStatus};
pub use view::{PageOrder, PageQuery, items_page, read_thread, turns_page};
pub use writer::{NewLine, NewThread, ThreadWriter, WriterOptions};
