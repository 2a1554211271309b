//! `spool tail`: a log's records from a seq, one per line, as stored (the
//! JSON lines `spool append` takes), and with `-f` the ones appended after.
//!
//! Tail is a reader beside whatever writer there is (another `spool
//! append`, an embedding program, Codex itself): it opens the log's files
//! read-only, takes no lock, repairs nothing, and follows by polling the
//! files for new complete batches (or lines). On a store it reads the log's
//! own records: a fork's records before its fork point live in its parent.
//! On a CODEX_HOME it reads the thread's current rollout file, whose seqs
//! are its line indexes.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use spool_backends::{
    JetStreamBackend, JsonlBackend, JsonlConfig, SegmentedBackend, SegmentedConfig, StdFs,
};
use spool_engine::{Backend, LogId, ReadRange, Seq};
use uuid::Uuid;

use crate::failure::Failure;
use crate::target::{LogFiles, StoreAt, Target, detect, log_files, open_store_read_only};

/// How often `-f` looks for new records.
const POLL: Duration = Duration::from_millis(100);

/// `spool tail`.
#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// A spool store directory or a CODEX_HOME.
    pub(crate) path: PathBuf,
    /// The log id (a store) or thread id (a CODEX_HOME).
    pub(crate) id: String,
    /// Keep printing records as they are appended (until interrupted).
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,
    /// The first seq to print (default: the log's first).
    #[arg(long, value_name = "SEQ")]
    pub(crate) from: Option<u64>,
}

/// A log opened read-only.
enum Reader {
    Segmented(SegmentedBackend),
    Jsonl(JsonlBackend),
    JetStream(JetStreamBackend),
}

impl Reader {
    fn backend(&self) -> &dyn Backend {
        match self {
            Reader::Segmented(b) => b,
            Reader::Jsonl(b) => b,
            Reader::JetStream(b) => b,
        }
    }

    async fn refresh(&self) -> spool_engine::Result<Seq> {
        match self {
            Reader::Segmented(b) => b.refresh().await,
            Reader::Jsonl(b) => b.refresh().await,
            Reader::JetStream(b) => b.refresh().await,
        }
    }
}

async fn open(args: &TailArgs) -> Result<Reader, Failure> {
    match detect(&args.path)? {
        Target::Store(StoreAt::Nats(url)) => {
            // The catalog says whether the log exists; its records are read
            // straight from its subject, as a file backend's from its files.
            let id = LogId::new(args.id.clone())?;
            let store = open_store_read_only(&StoreAt::Nats(url.clone())).await?;
            let known = store.info(&id);
            store.close().await?;
            known?;
            let js = url.connect(false).await?;
            Ok(Reader::JetStream(
                JetStreamBackend::open_read_only(&js, &id).await?,
            ))
        }
        Target::Store(StoreAt::Dir(dir)) => Ok(match log_files(&dir, &args.id)? {
            LogFiles::Segmented(path) => Reader::Segmented(SegmentedBackend::open_read_only(
                Arc::new(StdFs),
                path,
                SegmentedConfig::default(),
            )?),
            LogFiles::Jsonl(path) => Reader::Jsonl(JsonlBackend::open_read_only(
                Arc::new(StdFs),
                path,
                JsonlConfig::owned(),
            )?),
        }),
        Target::Codex(home) => {
            let id = Uuid::parse_str(&args.id).map_err(|e| {
                Failure::usage(
                    "invalid",
                    format!("{:?} is not a thread id (a UUID): {e}", args.id),
                )
            })?;
            let current = home.thread_files(&id)?.current().clone();
            Ok(Reader::Jsonl(home.open_segment(current)?.backend().clone()))
        }
    }
}

/// `spool tail`.
pub(crate) async fn tail(args: &TailArgs) -> Result<(), Failure> {
    let reader = open(args).await?;
    let backend = reader.backend();
    let mut next = Seq(args.from.unwrap_or(0)).max(backend.start_seq());
    loop {
        let records = backend
            .read(ReadRange {
                from: next,
                to: Seq(u64::MAX),
                max_records: 1024,
                max_bytes: 4 << 20,
            })
            .await?;
        if records.is_empty() {
            if !args.follow {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
            reader.refresh().await?;
            continue;
        }
        let mut out = std::io::stdout().lock();
        for record in &records {
            let written = out
                .write_all(&record.payload)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(Failure::usage("io", format!("cannot write to stdout: {e}")));
            }
            next = Seq(record.seq.0 + 1);
        }
        match out.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(Failure::usage("io", format!("cannot write to stdout: {e}"))),
        }
    }
}
