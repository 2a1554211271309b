//! `spool`: the command line of the spool append-log engine.
//!
//! `demo` runs spool's main job end to end on the embedded default (a
//! segmented log on local disk): typed events appended by many tasks at
//! once, a live tail folding them into a read model, pages read forwards and
//! backwards through opaque cursors, and an optimistic-concurrency conflict;
//! then a Codex home written, imported, exported and compared.
//! The operator commands: `init`, `append`, `tail` (init.rs, append.rs,
//! tail.rs), `verify`, `repair`, `stat` (check.rs), and the Codex commands
//! `ls`, `show`, `actions`, `import`, `export`, `migrate` (codex.rs; `ls` and
//! `show` also read stores, store_view.rs), and `copy` between stores
//! (copy.rs). A PATH is a store directory, a `nats://` store URL
//! (nats_url.rs) or a CODEX_HOME, told apart by target.rs.

#![forbid(unsafe_code)]
// A command line's job is to print.
#![allow(clippy::print_stdout)]

/// Prints a line to stdout; a closed pipe (`spool ls | head`) ends the
/// program quietly, as a command line should, instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod append;
mod check;
mod codex;
mod copy;
mod demo;
mod demo_codex;
mod failure;
mod init;
mod input;
mod nats_url;
mod progress;
mod store_view;
mod tail;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// spool: an embeddable, event-sourced append-log engine.
#[derive(Debug, Parser)]
#[command(
    name = "spool",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 1 the work found a problem (divergence, a refused operation, an unknown history mode, damage); 2 usage or I/O error.\nWith --json, errors are {\"error\": {\"code\": ..., \"message\": ...}} on stdout. See docs/cli.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run spool's main job on a log on disk and show what happened.
    ///
    /// Example: spool demo --events 10000 --writers 16
    Demo(demo::DemoArgs),
    /// Create a store directory.
    ///
    /// Example: spool init ~/spool-store --backend segmented
    Init(init::InitArgs),
    /// Append JSON lines from stdin to a log (or a Codex thread); prints each seq once acknowledged.
    ///
    /// Example: printf '{"n":1}\n{"n":2}\n' | spool append ~/spool-store orders --create --sync data
    Append(append::AppendArgs),
    /// Print a log's records from a seq, and with -f follow new ones.
    ///
    /// Example: spool tail ~/spool-store orders --from 100 -f
    Tail(tail::TailArgs),
    /// Check every checksum, index, seq and tail; exit 0 clean, 1 damage, 2 error.
    ///
    /// Example: spool verify ~/spool-store --json
    Verify(check::VerifyArgs),
    /// Cut torn tails (and with --salvage, mid-log damage), saving every byte cut.
    ///
    /// Example: spool repair ~/spool-store --dry-run
    Repair(check::RepairArgs),
    /// Logs, records, bytes, segments, oldest and newest, index health.
    ///
    /// Example: spool stat ~/.codex --json
    Stat(check::StatArgs),
    /// List the threads of a CODEX_HOME, or the logs of a store, newest first.
    ///
    /// Example: spool ls ~/.codex --limit 10 --json
    Ls(codex::LsArgs),
    /// Show a thread (turns by default, items, or raw lines), or a store log's records.
    ///
    /// Example: spool show ~/.codex 019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b --json
    Show(codex::ShowArgs),
    /// Export the completed actions of a thread (action export v1).
    ///
    /// Example: spool actions ~/.codex 019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b
    Actions(codex::ActionsArgs),
    /// Import a CODEX_HOME into a spool store (incremental; never writes the source).
    ///
    /// Example: spool import ~/.codex --store ~/spool-store
    Import(codex::ImportArgs),
    /// Export a spool store's Codex history into a CODEX_HOME, byte for byte.
    ///
    /// Example: spool export --store ~/spool-store /tmp/codex-home
    Export(codex::ExportArgs),
    /// Copy every log of a store into another (directory or nats:// URL), resumable and verified.
    ///
    /// Example: spool copy ~/spool-store nats://127.0.0.1:4222/agents
    Copy(copy::CopyArgs),
    /// Migrate legacy threads to paginated as `codex migrate-rollouts` does (dry run by default).
    ///
    /// Example: spool migrate ~/.codex --apply --json
    Migrate(codex::MigrateArgs),
}

/// Exit codes: 0 success, 1 the work found a problem, 2 usage or I/O error.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("spool: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json = matches!(
        &cli.command,
        Command::Ls(codex::LsArgs { json: true, .. })
            | Command::Show(codex::ShowArgs { json: true, .. })
            | Command::Import(codex::ImportArgs { json: true, .. })
            | Command::Migrate(codex::MigrateArgs { json: true, .. })
            | Command::Verify(check::VerifyArgs { json: true, .. })
            | Command::Repair(check::RepairArgs { json: true, .. })
            | Command::Stat(check::StatArgs { json: true, .. })
            | Command::Copy(copy::CopyArgs { json: true, .. })
    );
    let codex = match &cli.command {
        Command::Demo(_) => None,
        Command::Init(args) => Some(runtime.block_on(init::init(args))),
        Command::Append(args) => Some(runtime.block_on(append::append(args))),
        Command::Tail(args) => Some(runtime.block_on(tail::tail(args))),
        Command::Verify(args) => Some(runtime.block_on(check::verify(args))),
        Command::Repair(args) => Some(check::repair(args)),
        Command::Stat(args) => Some(runtime.block_on(check::stat(args))),
        Command::Ls(args) => Some(runtime.block_on(codex::ls(args))),
        Command::Show(args) => Some(runtime.block_on(codex::show(args))),
        Command::Actions(args) => Some(runtime.block_on(codex::actions(args))),
        Command::Import(args) => Some(runtime.block_on(codex::import(args))),
        Command::Export(args) => Some(runtime.block_on(codex::export(args))),
        Command::Migrate(args) => Some(runtime.block_on(codex::migrate(args))),
        Command::Copy(args) => Some(runtime.block_on(copy::copy(args))),
    };
    if let Some(result) = codex {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                if json && !failure.reported {
                    println!("{}", failure.to_json());
                }
                eprintln!("spool: {failure}");
                ExitCode::from(failure.exit)
            }
        };
    }
    let Command::Demo(args) = cli.command else {
        return ExitCode::from(2);
    };
    let result = runtime.block_on(demo::run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ demo::DemoError::Mismatch { .. }) => {
            eprintln!("spool: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("spool: {e}");
            ExitCode::from(2)
        }
    }
}
