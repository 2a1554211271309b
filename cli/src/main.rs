//! `spool`: the command line of the spool append-log engine.
//!
//! Today it has `demo`, which runs spool's main job end to end on the
//! embedded default (a segmented log on local disk): typed events appended by many tasks
//! at once, a live tail folding them into a read model, pages read forwards
//! and backwards through opaque cursors, and an optimistic-concurrency
//! conflict. The operator commands (init, append, ls, show, verify, …) join
//! as their backends land.

#![forbid(unsafe_code)]
// A command line's job is to print.
#![allow(clippy::print_stdout)]

mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// spool: an embeddable, event-sourced append-log engine.
#[derive(Debug, Parser)]
#[command(name = "spool", version, about, long_about = None)]
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
    let result = match cli.command {
        Command::Demo(args) => runtime.block_on(demo::run(&args)),
    };
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
