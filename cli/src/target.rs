//! What a PATH argument names: a spool store directory, a store on NATS
//! JetStream (a `nats://` URL, nats_url.rs) or a CODEX_HOME, told apart by
//! what is in it, and how a store is opened.
//!
//! A store made by `spool init` holds `spool-store.json` (its format
//! version and the backend new logs get); a store made by `spool import`
//! before that file existed is a directory with `logs/`, and its backend
//! is the segmented default.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::ValueEnum;
use serde_json::{Value, json};
use spool_backends::{
    DirStorage, JetStreamStorage, JsonlConfig, LogFormat, SegmentedConfig, StdFs,
};
use spool_compat::CodexHome;
use spool_engine::{Store, StoreConfig};

use crate::failure::Failure;
use crate::nats_url::NatsUrl;

/// The file that marks a directory as a spool store.
pub(crate) const STORE_FILE: &str = "spool-store.json";

/// The backend new logs of a store get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum BackendArg {
    /// spool's crash-safe segmented format (`logs/<id>/`).
    Segmented,
    /// One JSON line per record (`logs/<id>.jsonl`).
    Jsonl,
}

impl BackendArg {
    fn name(self) -> &'static str {
        match self {
            BackendArg::Segmented => "segmented",
            BackendArg::Jsonl => "jsonl",
        }
    }
}

/// Where a store is.
#[derive(Clone, Debug)]
pub(crate) enum StoreAt {
    /// A directory on disk.
    Dir(PathBuf),
    /// A JetStream stream.
    Nats(NatsUrl),
}

impl fmt::Display for StoreAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreAt::Dir(dir) => write!(f, "{}", dir.display()),
            StoreAt::Nats(url) => write!(f, "{url}"),
        }
    }
}

impl StoreAt {
    /// A `--store` argument: a URL, or a directory (not checked here).
    pub(crate) fn parse(path: &Path) -> Result<StoreAt, Failure> {
        Ok(match NatsUrl::parse(path)? {
            Some(url) => StoreAt::Nats(url),
            None => StoreAt::Dir(path.to_path_buf()),
        })
    }

    /// The directory, or a usage failure naming what `what` needs files for.
    pub(crate) fn dir(&self, what: &str) -> Result<&Path, Failure> {
        match self {
            StoreAt::Dir(dir) => Ok(dir),
            StoreAt::Nats(url) => Err(Failure::usage(
                "unsupported",
                format!(
                    "{what} works on store directories, not on {url}: JetStream checks every record's CRC on each read (docs/jetstream.md); copy the store to a directory first: spool copy {url} DIR"
                ),
            )),
        }
    }
}

/// A PATH, detected.
pub(crate) enum Target {
    /// A spool store (a directory or a JetStream stream).
    Store(StoreAt),
    /// A CODEX_HOME.
    Codex(CodexHome),
}

/// Whether `dir` is a spool store.
pub(crate) fn is_store(dir: &Path) -> bool {
    dir.join(STORE_FILE).is_file() || dir.join("logs").is_dir()
}

/// Whether `dir` is a CODEX_HOME.
pub(crate) fn is_codex_home(dir: &Path) -> bool {
    ["sessions", "archived_sessions", "session_index.jsonl"]
        .iter()
        .any(|p| dir.join(p).exists())
}

/// Detects what `path` is.
pub(crate) fn detect(path: &Path) -> Result<Target, Failure> {
    if let Some(url) = NatsUrl::parse(path)? {
        return Ok(Target::Store(StoreAt::Nats(url)));
    }
    if is_store(path) {
        return Ok(Target::Store(StoreAt::Dir(path.to_path_buf())));
    }
    if is_codex_home(path) {
        return Ok(Target::Codex(CodexHome::new(path)));
    }
    Err(Failure::usage(
        "not_found",
        format!(
            "{} is neither a spool store (spool-store.json or logs/) nor a CODEX_HOME (sessions/, archived_sessions/ or session_index.jsonl); create a store with: spool init {}",
            path.display(),
            path.display()
        ),
    ))
}

/// The CODEX_HOME at `path`, or a usage failure saying what it is not.
pub(crate) fn codex_home(path: &Path) -> Result<CodexHome, Failure> {
    match detect(path)? {
        Target::Codex(home) => Ok(home),
        Target::Store(_) => Err(Failure::usage(
            "not_a_codex_home",
            format!(
                "{} is a spool store, not a CODEX_HOME; export it first: spool export --store {} CODEX_HOME",
                path.display(),
                path.display()
            ),
        )),
    }
}

/// The backend a store's new logs get, from its `spool-store.json`.
pub(crate) fn store_backend(dir: &Path) -> Result<BackendArg, Failure> {
    let path = dir.join(STORE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BackendArg::Segmented),
        Err(e) => {
            return Err(Failure::usage(
                "io",
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    let bad = |why: &str| {
        Failure::found(
            "corrupt",
            format!(
                "{}: {why}; it should be {{\"format\": \"spool-store\", \"version\": 1, \"backend\": \"segmented\"|\"jsonl\"}}",
                path.display()
            ),
        )
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
    if value["format"] != "spool-store" {
        return Err(bad("not a spool store file"));
    }
    if value["version"] != 1 {
        return Err(Failure::usage(
            "unsupported_version",
            format!(
                "{}: store version {} is newer than this spool reads (1); use a newer spool",
                path.display(),
                value["version"]
            ),
        ));
    }
    match value["backend"].as_str() {
        Some("segmented") => Ok(BackendArg::Segmented),
        Some("jsonl") => Ok(BackendArg::Jsonl),
        _ => Err(bad("unknown backend")),
    }
}

/// Writes `spool-store.json` for a new store (never over an existing one).
pub(crate) fn write_store_file(dir: &Path, backend: BackendArg) -> Result<(), Failure> {
    use std::io::Write as _;
    let path = dir.join(STORE_FILE);
    let body = json!({"format": "spool-store", "version": 1, "backend": backend.name()});
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Failure::usage("io", format!("cannot create {}: {e}", path.display())))?;
    writeln!(file, "{body}")
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::usage("io", format!("cannot write {}: {e}", path.display())))
}

/// Opens the store, making a JetStream store's stream if it has none
/// (`import --store`, `append --create`); a directory is made by
/// `DirStorage` as for [`open_store`].
pub(crate) async fn open_store_creating(
    at: &StoreAt,
    config: StoreConfig,
) -> Result<Store, Failure> {
    if let StoreAt::Nats(url) = at {
        let storage = JetStreamStorage::new(url.connect(true).await?);
        return Ok(Store::open(Arc::new(storage), config).await?);
    }
    open_store(at, config).await
}

/// Opens the store (a directory's catalog and logs' writer locks are taken
/// as logs are opened; a stream must exist: `spool init` makes it).
pub(crate) async fn open_store(at: &StoreAt, config: StoreConfig) -> Result<Store, Failure> {
    let dir = match at {
        StoreAt::Dir(dir) => dir,
        StoreAt::Nats(url) => {
            let storage = JetStreamStorage::new(url.connect(false).await?);
            return Ok(Store::open(Arc::new(storage), config).await?);
        }
    };
    let format = match store_backend(dir)? {
        BackendArg::Segmented => LogFormat::Segmented(SegmentedConfig::default()),
        BackendArg::Jsonl => LogFormat::Jsonl(JsonlConfig::owned()),
    };
    let storage = DirStorage::new(Arc::new(StdFs), dir, format)?;
    Ok(Store::open(Arc::new(storage), config).await?)
}

/// Opens the store in `dir` as a reader beside any writer (another
/// `spool append`, an embedding program): no lock, nothing repaired or
/// written; it shows what was written when it opened.
pub(crate) async fn open_store_read_only(at: &StoreAt) -> Result<Store, Failure> {
    let dir = match at {
        StoreAt::Dir(dir) => dir,
        StoreAt::Nats(url) => {
            let storage = JetStreamStorage::read_only(url.connect(false).await?);
            return Ok(Store::open_read_only(Arc::new(storage), StoreConfig::default()).await?);
        }
    };
    let format = match store_backend(dir)? {
        BackendArg::Segmented => LogFormat::Segmented(SegmentedConfig::default()),
        BackendArg::Jsonl => LogFormat::Jsonl(JsonlConfig::owned()),
    };
    let storage = DirStorage::read_only(Arc::new(StdFs), dir, format)?;
    Ok(Store::open_read_only(Arc::new(storage), StoreConfig::default()).await?)
}

/// Fsyncs directory `dir`, so the entries just made in it survive a power
/// loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Failure::usage("io", format!("cannot sync {}: {e}", dir.display())))
}

/// Whether a process holds a lock on `path` now, read from /proc/locks
/// (so nothing is locked to find out: a writer opening meanwhile must not
/// fail). `false` where /proc/locks cannot tell.
pub(crate) fn lock_held(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let (dev, ino) = (meta.dev(), meta.ino());
    // glibc's encoding of a device number's major and minor parts.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    std::fs::read_to_string("/proc/locks").is_ok_and(|locks| {
        locks
            .lines()
            .any(|l| l.split_whitespace().any(|field| field == wanted))
    })
}

/// A log of a store as files: a segmented directory or a JSONL file.
pub(crate) enum LogFiles {
    /// `logs/<id>/`.
    Segmented(PathBuf),
    /// `logs/<id>.jsonl`.
    Jsonl(PathBuf),
}

/// Every log of the store in `dir` (the catalog included), by name.
pub(crate) fn store_logs(dir: &Path) -> Result<Vec<(String, LogFiles)>, Failure> {
    let logs = dir.join("logs");
    let entries = std::fs::read_dir(&logs)
        .map_err(|e| Failure::usage("io", format!("cannot list {}: {e}", logs.display())))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| Failure::usage("io", format!("cannot list {}: {e}", logs.display())))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if path.is_dir() {
            out.push((name, LogFiles::Segmented(path)));
        } else if let Some(id) = name.strip_suffix(".jsonl") {
            out.push((id.to_owned(), LogFiles::Jsonl(path)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The files of log `id` in the store at `dir`.
pub(crate) fn log_files(dir: &Path, id: &str) -> Result<LogFiles, Failure> {
    // A checked id: no separators, so the paths stay under logs/.
    spool_engine::LogId::new(id)?;
    let segmented = dir.join("logs").join(id);
    let jsonl = dir.join("logs").join(format!("{id}.jsonl"));
    if jsonl.is_file() {
        Ok(LogFiles::Jsonl(jsonl))
    } else if segmented.is_dir() {
        Ok(LogFiles::Segmented(segmented))
    } else {
        Err(Failure::usage(
            "not_found",
            format!(
                "no log {id:?} in the store {}; list its logs with: spool ls {}",
                dir.display(),
                dir.display()
            ),
        ))
    }
}
