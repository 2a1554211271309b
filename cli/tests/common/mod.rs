//! What the CLI's test binaries share: running the built `spool`, reading
//! its output, test records, and the genuine Codex corpus.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub(crate) fn spool(args: &[&str]) -> Output {
    spool_with(args, "")
}

pub(crate) fn spool_with(args: &[&str], stdin: &str) -> Output {
    spool_bytes(args, stdin.as_bytes())
}

pub(crate) fn spool_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spool runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(out), stderr(out)))
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// Lines `{"n":i}` for each i.
pub(crate) fn records(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| format!("{{\"n\":{i}}}\n"))
        .collect::<Vec<_>>()
        .concat()
}

pub(crate) fn corpus() -> Option<PathBuf> {
    let shared = std::env::var_os("SPOOL_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    let corpus = shared.join("codex/corpus");
    if corpus.is_dir() {
        return Some(corpus);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the Codex corpus is missing at {}; CI must not skip it",
        corpus.display()
    );
    eprintln!(
        "SKIPPED: the Codex corpus is missing at {}",
        corpus.display()
    );
    None
}

/// A copy of the genuine paginated corpus home.
pub(crate) fn corpus_home(corpus: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let from = corpus.join("appserver-paginated/sessions");
    for entry in walk(&from) {
        let to = tmp
            .path()
            .join("sessions")
            .join(entry.strip_prefix(&from).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, to).unwrap();
    }
    tmp
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
