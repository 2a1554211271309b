//! `compare`: spool side by side with its peers and the raw limit.
//!
//! ```text
//! cargo run --release -p spool-benches --bin compare -- [--quick] [--out FILE]
//!     [--reps N] [--only raw,sqlite,...]
//! ```
//!
//! Three repetitions (medians reported), each running every contender in
//! turn in this one process, so drift of the machine hits all alike. Two
//! numbers need a process of their own: the open after a crash (a child
//! writes the log and exits without closing it, as a killed process would)
//! and peak memory (a child per contender runs the workload once and
//! reports its peak RSS above where it started). Prints the table and the
//! targets; writes JSON to FILE (default `target/compare.json`).

#![expect(clippy::cast_precision_loss, reason = "sizes are reported as MB")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use spool_benches::compare::{self, Contender, Plan, Records, Result, report};

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool prints its report"
)]
fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = flag("--quick");
    let plan = if quick { Plan::quick() } else { Plan::full() };
    if let Some(name) = value("--crash-writer") {
        let dir = PathBuf::from(value("--dir").ok_or("--crash-writer needs --dir")?);
        return crash_writer(&name, &dir, &plan);
    }
    if let Some(name) = value("--memory-of") {
        let peak = memory_of(&name, &plan)?;
        println!("peak_rss_mb {peak}");
        return Ok(());
    }
    let reps: usize = value("--reps").map_or(Ok(3), |r| r.parse())?;
    let only: Option<Vec<String>> =
        value("--only").map(|o| o.split(',').map(str::to_owned).collect());
    let out = PathBuf::from(value("--out").unwrap_or_else(|| "target/compare.json".into()));

    let root = spool_benches::harness::bench_dir();
    let mut contenders: Vec<Box<dyn Contender>> = compare::all()
        .into_iter()
        .filter(|c| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|n| n == c.name()))
        })
        .collect();
    let records = Records::mixed(plan.records, spool_benches::SEED);
    eprintln!(
        "{} contenders, {reps} repetitions, {} records ({:.1} MB) per append phase",
        contenders.len(),
        plan.records,
        records.bytes() as f64 / 1e6
    );
    let mut results = report::Results::default();
    let crash_open =
        |c: &mut dyn Contender, dir: &Path| crash_then_open(c, dir, quick, plan.records as u64);
    for rep in 1..=reps {
        for contender in &mut contenders {
            settle();
            let began = Instant::now();
            let sample = compare::run_rep(
                contender.as_mut(),
                &records,
                &plan,
                root.path(),
                Some(&crash_open),
            )?;
            eprintln!(
                "rep {rep}/{reps}: {:<16} {:.1} s",
                contender.name(),
                began.elapsed().as_secs_f64()
            );
            for (metric, v) in sample {
                results.add(contender.name(), &metric, v);
            }
        }
    }
    for contender in &contenders {
        let peak = child_peak_rss(contender.name(), quick)?;
        results.add(contender.name(), "peak_rss_mb", peak);
    }
    let machine = report::machine(root.path());
    println!("machine: {machine}\n");
    println!("{}", results.table());
    for target in results.targets() {
        println!(
            "target {}: got {} -> met {}",
            target["target"], target["got"], target["met"]
        );
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&results.to_json(&plan, reps, &machine))?,
    )?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// Lets the machine settle before a contender runs: what the one before
/// left dirty is written out (`sync`), and its background threads (fjall's
/// flushes and compactions) get a moment to finish, so they do not run on
/// the next contender's time.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(300));
}

/// The contender called `name`.
fn by_name(name: &str) -> Result<Box<dyn Contender>> {
    compare::all()
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| format!("no contender {name:?}").into())
}

/// Child: writes the read log into `dir`, then exits without closing
/// anything, as a killed process would (what was written stays in the
/// page cache; nothing buffered in the process is flushed).
fn crash_writer(name: &str, dir: &Path, plan: &Plan) -> Result<()> {
    let mut contender = by_name(name)?;
    contender.create(dir)?;
    contender.append(
        &Records::mixed(plan.records, spool_benches::SEED),
        1024,
        false,
    )?;
    std::process::exit(0)
}

/// Runs a crash writer for `contender` into `dir`, then times its open.
/// Then checks that the open found every record the writer had written
/// (each batch was acknowledged as written before it exited).
fn crash_then_open(
    contender: &mut dyn Contender,
    dir: &Path,
    quick: bool,
    expected: u64,
) -> Result<Duration> {
    let mut child = Command::new(std::env::current_exe()?);
    child
        .args(["--crash-writer", contender.name(), "--dir"])
        .arg(dir);
    if quick {
        child.arg("--quick");
    }
    let status = child.status()?;
    if !status.success() {
        return Err(format!("the crash writer of {} failed: {status}", contender.name()).into());
    }
    let began = Instant::now();
    contender.open(dir)?;
    let took = began.elapsed();
    let (found, _) = contender.scan()?;
    if found != expected {
        return Err(format!(
            "{}: after the crash, open found {found} of the {expected} records written",
            contender.name()
        )
        .into());
    }
    Ok(took)
}

/// Runs `compare --memory-of name` and reads its answer.
fn child_peak_rss(name: &str, quick: bool) -> Result<f64> {
    let mut child = Command::new(std::env::current_exe()?);
    child.args(["--memory-of", name]);
    if quick {
        child.arg("--quick");
    }
    let out = child.output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("peak_rss_mb "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("the memory child of {name} said {text:?} ({})", out.status).into())
}

/// Child: one repetition of every phase, reporting the peak resident set
/// above the resident set at its start (the workload's records included
/// in neither: they are made before the mark).
fn memory_of(name: &str, plan: &Plan) -> Result<f64> {
    let mut contender = by_name(name)?;
    let records = Records::mixed(plan.records, spool_benches::SEED);
    // Resets the kernel's peak (VmHWM) to the current resident set.
    std::fs::write("/proc/self/clear_refs", "5")?;
    let start = status_kb("VmRSS")?;
    let root = spool_benches::harness::bench_dir();
    compare::run_rep(contender.as_mut(), &records, plan, root.path(), None)?;
    let peak = status_kb("VmHWM")?;
    Ok(peak.saturating_sub(start) as f64 / 1024.0)
}

/// A `kB` field of /proc/self/status.
fn status_kb(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|r| {
            r.trim_start_matches(':')
                .trim()
                .trim_end_matches(" kB")
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no {field} in /proc/self/status").into())
}
