//! `spool init`: a new, empty store directory, its backend recorded in
//! `spool-store.json` so every later command opens it the same way; or, for
//! a `nats://` URL, the store's JetStream stream.

use std::path::{Path, PathBuf};

use clap::Args;
use spool_engine::StoreConfig;

use crate::failure::Failure;
use crate::nats_url::NatsUrl;
use crate::target::{
    BackendArg, StoreAt, is_codex_home, is_store, open_store, open_store_creating, store_backend,
    sync_dir, write_store_file,
};

/// `spool init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The directory (created if missing; an existing one must be empty),
    /// or a store URL: nats://HOST:PORT[,HOST:PORT...]/STREAM[?replicas=N].
    pub(crate) dir: PathBuf,
    /// The backend new logs get.
    #[arg(long, value_enum, default_value = "segmented")]
    pub(crate) backend: BackendArg,
}

/// `spool init`.
pub(crate) async fn init(args: &InitArgs) -> Result<(), Failure> {
    if let Some(url) = NatsUrl::parse(&args.dir)? {
        if args.backend != BackendArg::Segmented {
            return Err(Failure::usage(
                "usage",
                format!(
                    "{url} is a JetStream store: its logs are subjects, --backend does not apply"
                ),
            ));
        }
        // Making the stream is idempotent; opening makes the catalog.
        let at = StoreAt::Nats(url);
        let store = open_store_creating(&at, StoreConfig::default()).await?;
        store.close().await?;
        say!("spool store (jetstream) ready at {at}");
        return Ok(());
    }
    if is_store(&args.dir) {
        let backend = store_backend(&args.dir)?;
        if backend == args.backend {
            say!(
                "{} is already a spool store ({backend:?})",
                args.dir.display()
            );
            return Ok(());
        }
        return Err(Failure::usage(
            "exists",
            format!(
                "{} is already a spool store with backend {backend:?}; a store's backend is fixed when it is made",
                args.dir.display()
            ),
        ));
    }
    create_store(&args.dir, args.backend).await?;
    say!(
        "created a spool store ({:?}) in {}",
        args.backend,
        args.dir.display()
    );
    Ok(())
}

/// Makes `dir` an empty store with `backend` as its default.
pub(crate) async fn create_store(dir: &Path, backend: BackendArg) -> Result<(), Failure> {
    if is_codex_home(dir) {
        return Err(Failure::usage(
            "exists",
            format!(
                "{} is a CODEX_HOME; import it into a new store instead: spool import {} --store DIR",
                dir.display(),
                dir.display()
            ),
        ));
    }
    let not_empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if not_empty {
        return Err(Failure::usage(
            "exists",
            format!(
                "{} exists and is not empty; give a new or empty directory",
                dir.display()
            ),
        ));
    }
    // The store's entry (and any parent made for it) survives a power loss;
    // DirStorage does the same for `logs/` and each log.
    spool_backends::create_dir_durably(&spool_backends::StdFs, dir)?;
    write_store_file(dir, backend)?;
    sync_dir(dir)?;
    // Opening makes the catalog; closing makes it durable.
    let store = open_store(&StoreAt::Dir(dir.to_path_buf()), StoreConfig::default()).await?;
    store.close().await?;
    Ok(())
}
