//! Goal: the operator commands (`init`, `append`, `tail`, `verify`,
//! `repair`, `stat`, and `ls`/`show` on a store) do what docs/cli.md says:
//! seqs printed once acknowledged, typed errors and exit codes, every
//! finding with its file and byte offset, repairs that save what they cut.
//! Method: run the built binary on temporary stores and CODEX_HOMEs,
//! damaged by hand (torn tails, flipped bits, unknown modes), and with two
//! processes at once (a live writer beside a second writer and a tail -f).

// Helpers of a test binary: a failed setup step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::{
    code, corpus, corpus_home, json, records, spool, spool_bytes, spool_with, stderr, stdout, walk,
};

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/codex/examples"
);
const THREAD: &str = "01a1fe9d-4f42-74e1-9a90-577dc5d18cac";

/// A new store with log `orders` holding `n` records `{"n":i}`.
fn store(n: usize) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let out = spool(&["init", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let input = records(0..n);
    let out = spool_with(
        &[
            "append",
            dir.to_str().unwrap(),
            "orders",
            "--create",
            "--sync",
            "data",
        ],
        &input,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    (tmp, dir)
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("logs/orders/00000000000000000000.seg")
}

#[test]
fn append_prints_each_acknowledged_seq_and_tail_prints_the_records() {
    let (_tmp, dir) = store(3);
    let d = dir.to_str().unwrap();
    let out = spool(&["tail", d, "orders"]);
    assert_eq!(stdout(&out), "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
    let out = spool_with(
        &["append", d, "orders", "--expect-seq", "3"],
        "{\"n\":3}\n[4]\n",
    );
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "3\n4\n"));
    assert_eq!(
        stdout(&spool(&["tail", d, "orders", "--from", "4"])),
        "[4]\n"
    );

    // A stale expectation: a conflict, exit 1, nothing written.
    let out = spool_with(
        &["append", d, "orders", "--expect-seq", "3"],
        "{\"late\":true}\n",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("ends at 5"), "{}", stderr(&out));
    // A line that is not JSON: the lines before it are appended, then exit 2.
    let out = spool_with(&["append", d, "orders"], "{\"n\":5}\nnot json\n{\"n\":6}\n");
    assert_eq!((code(&out), stdout(&out).as_str()), (2, "5\n"));
    assert!(
        stderr(&out).contains("stdin line 2 is not JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&spool(&["tail", d, "orders", "--from", "5"])),
        "{\"n\":5}\n"
    );
    // A missing log without --create.
    let out = spool_with(&["append", d, "nope"], "{}\n");
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--create"), "{}", stderr(&out));
    // CRLF line ends and blank lines; a line that is not UTF-8 stops the
    // run after the lines before it; no input still checks --expect-seq.
    let out = spool_with(&["append", d, "orders"], "{\"crlf\":1}\r\n\r\n\n[7]\r\n");
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "6\n7\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&spool(&["tail", d, "orders", "--from", "6"])),
        "{\"crlf\":1}\n[7]\n"
    );
    let mut bad = b"[8]\n\"\xff\"\n".to_vec();
    bad.extend_from_slice(b"[9]\n");
    let out = spool_bytes(&["append", d, "orders"], &bad);
    assert_eq!((code(&out), stdout(&out).as_str()), (2, "8\n"));
    assert!(
        stderr(&out).contains("line 2 is not UTF-8"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        code(&spool_with(
            &["append", d, "orders", "--expect-seq", "9"],
            ""
        )),
        0
    );
    let out = spool_with(&["append", d, "orders", "--expect-seq", "4"], "");
    assert_eq!(code(&out), 1, "a stale expectation with no input");

    // ls and show on the store.
    let listed = json(&spool(&["ls", d, "--json"]));
    assert_eq!(listed["data"][0]["id"], "orders");
    assert!(listed.get("nextCursor").is_some());
    let page = json(&spool(&[
        "show",
        d,
        "orders",
        "--records",
        "--limit",
        "2",
        "--json",
    ]));
    assert_eq!(page["data"][1]["record"], serde_json::json!({"n": 1}));
    let cursor = page["nextCursor"].as_str().unwrap();
    let next = json(&spool(&[
        "show",
        d,
        "orders",
        "--records",
        "--cursor",
        cursor,
        "--json",
    ]));
    assert_eq!(next["data"][0]["seq"], 2);
}

#[test]
fn a_second_writer_is_locked_out_while_tail_follows_the_first() {
    let (_tmp, dir) = store(1);
    let d = dir.to_str().unwrap();
    let mut writer = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["append", d, "orders"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_writer = writer.stdin.take().unwrap();
    let mut acks = BufReader::new(writer.stdout.take().unwrap());
    to_writer.write_all(b"{\"live\":1}\n").unwrap();
    let mut ack = String::new();
    acks.read_line(&mut ack).unwrap();
    assert_eq!(ack, "1\n", "the first writer acknowledged its line");

    let out = spool_with(&["append", d, "orders"], "{\"second\":true}\n");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    // Readers beside the writer: no lock taken, what was written shown,
    // and verify finds the log whole and says a writer has it.
    let listed = spool(&["ls", d, "--json"]);
    assert_eq!(code(&listed), 0, "{}", stderr(&listed));
    assert_eq!(json(&listed)["data"][0]["id"], "orders");
    let shown = spool(&["show", d, "orders", "--records", "--json"]);
    assert_eq!(
        json(&shown)["data"][1]["record"],
        serde_json::json!({"live": 1})
    );
    let verified = spool(&["verify", d, "--json"]);
    assert_eq!(code(&verified), 0, "{}", stdout(&verified));
    let logs = json(&verified)["logs"].clone();
    let orders = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["log"] == "orders")
        .unwrap();
    assert_eq!(orders["writerActive"], true);

    let mut tail = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["tail", d, "orders", "-f", "--from", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut followed = BufReader::new(tail.stdout.take().unwrap());
    let mut line = String::new();
    followed.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"live\":1}\n");
    to_writer.write_all(b"{\"live\":2}\n").unwrap();
    line.clear();
    followed.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"live\":2}\n", "tail -f saw the new record");
    tail.kill().unwrap();
    tail.wait().unwrap();
    drop(to_writer);
    assert!(writer.wait().unwrap().success());
}

#[test]
fn verify_finds_a_torn_tail_and_repair_cuts_it_keeping_the_bytes() {
    let (_tmp, dir) = store(5);
    let d = dir.to_str().unwrap();
    let out = spool(&["verify", d, "--json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(
        (report["clean"].as_bool(), report["kind"].as_str()),
        (Some(true), Some("store"))
    );

    let seg = segment(&dir);
    let len = std::fs::metadata(&seg).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(b"\x57torn").unwrap();
    drop(f);
    let out = spool(&["verify", d, "--json"]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    let finding = &report["findings"][0];
    assert_eq!(finding["file"], seg.display().to_string());
    assert_eq!(finding["offset"], len);
    assert_eq!(finding["problem"], "torn_tail");
    assert_eq!(finding["remedy"], "truncate");

    let out = spool(&["repair", d, "--dry-run"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("torn_tail"));
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), len + 5, "dry run");
    let out = spool(&["repair", d]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let side = PathBuf::from(format!("{}.cut-{len}", seg.display()));
    assert_eq!(std::fs::read(side).unwrap(), b"\x57torn");
    assert_eq!(code(&spool(&["verify", d])), 0);
    assert_eq!(stdout(&spool(&["tail", d, "orders"])).lines().count(), 5);
}

#[test]
fn a_flipped_bit_in_durable_records_needs_salvage() {
    // Two batches (each atomic): records 0..3, then 3..20.
    let (_tmp, dir) = store(3);
    let d = dir.to_str().unwrap();
    let input = records(3..20);
    assert_eq!(
        code(&spool_with(
            &["append", d, "orders", "--sync", "data"],
            &input
        )),
        0
    );
    let seg = segment(&dir);
    let mut bytes = std::fs::read(&seg).unwrap();
    // In the payload of record 4: frames start at 1536, and each of the
    // first ten is a 32-byte header and a 7-byte payload.
    let at = 1536 + 4 * 39 + 34;
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    let out = spool(&["verify", d, "--json"]);
    assert_eq!(code(&out), 1);
    let finding = &json(&out)["findings"][0];
    assert_eq!(finding["problem"], "corrupt");
    assert_eq!(finding["remedy"], "salvage");
    assert_eq!(finding["offset"], 1536 + 4 * 39, "{finding}");
    assert!(
        finding["message"].as_str().unwrap().contains("checksum"),
        "{finding}"
    );

    let out = spool(&["repair", d, "--json"]);
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["error"]["code"], "corrupt");
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        bytes,
        "strict repair changed nothing"
    );
    // Opening the damaged log for appends is refused too.
    let out = spool_with(&["append", d, "orders"], "{}\n");
    assert_eq!(code(&out), 1, "{}", stderr(&out));

    let out = spool(&["repair", d, "--salvage", "--json"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let repaired = &json(&out)["repaired"][0];
    assert_eq!(repaired["recordsAfter"], 3);
    let saved = repaired["saved"][0].as_str().unwrap();
    let cut = bytes.len() - usize::try_from(std::fs::metadata(saved).unwrap().len()).unwrap();
    assert_eq!(std::fs::read(saved).unwrap(), bytes[cut..]);
    assert_eq!(code(&spool(&["verify", d])), 0);
    let out = spool_with(&["append", d, "orders"], "{\"after\":1}\n");
    assert_eq!(stdout(&out), "3\n", "appends go on where the log was cut");
}

/// The genuine Codex corpus, beside the workspace (`../shared`) or at
/// `SPOOL_SHARED`, as the integration suites find it; `None`, said loudly,
/// where it is missing, and a failure under `CI=true`.
#[test]
fn codex_homes_verify_stat_append_and_show_the_same_through_a_store() {
    let Some(corpus) = corpus() else { return };
    let home = corpus_home(&corpus);
    let h = home.path().to_str().unwrap();
    assert_eq!(code(&spool(&["verify", h])), 0);
    let stat = json(&spool(&["stat", h, "--json"]));
    assert_eq!(
        (stat["threads"].as_u64(), stat["paginated"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stat["lines"], 62);

    // Imported into a store, the thread reads the same as in the home.
    let tmp = tempfile::tempdir().unwrap();
    let st = tmp.path().join("store");
    let s = st.to_str().unwrap();
    assert_eq!(code(&spool(&["import", h, "--store", s])), 0);
    let from_home = json(&spool(&["show", h, THREAD, "--json"]));
    let from_store = json(&spool(&["show", s, THREAD, "--json"]));
    assert_eq!(from_home["thread"]["turns"], from_store["thread"]["turns"]);
    let listed = json(&spool(&["ls", s, "--json"]));
    assert_eq!(listed["data"][0]["threadId"], THREAD);
    assert_eq!(listed["data"][0]["historyMode"], "paginated");
    assert_eq!(code(&spool(&["verify", s])), 0);

    // Appending to the paginated thread: line index printed, ordinal given.
    let line = r#"{"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"again"}]}}"#;
    let out = spool_with(&["append", h, THREAD, "--expect-seq", "61"], line);
    assert_eq!(code(&out), 1, "a stale expectation: {}", stderr(&out));
    let out = spool_with(
        &["append", h, THREAD, "--expect-seq", "62", "--sync", "data"],
        line,
    );
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "62\n"),
        "{}",
        stderr(&out)
    );
    let last: Value =
        serde_json::from_str(&stdout(&spool(&["tail", h, THREAD, "--from", "62"]))).unwrap();
    assert_eq!(last["ordinal"], 62);
    assert_eq!(last["payload"]["content"][0]["text"], "again");

    // A torn last line: a finding with its file, line and offset; Codex's
    // files are never repaired in place.
    let file = walk(&home.path().join("sessions")).pop().unwrap();
    let len = std::fs::metadata(&file).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(br#"{"timestamp":"2026-"#).unwrap();
    drop(f);
    let out = spool(&["verify", h, "--json"]);
    assert_eq!(code(&out), 1);
    let finding = &json(&out)["findings"][0];
    assert_eq!(finding["problem"], "torn_tail");
    assert_eq!(
        (finding["offset"].as_u64(), finding["line"].as_u64()),
        (Some(len), Some(64))
    );
    assert_eq!(finding["file"], file.display().to_string());
    let out = spool(&["repair", h]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("does not rewrite Codex's files"));
}

#[test]
fn an_unknown_history_mode_is_a_finding() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("sessions/2026/08/13");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(EXAMPLES).join("unknown-history-mode.jsonl"),
        dir.join("rollout-2026-08-13T13-00-00-019f2c00-2222-7333-8444-555566667777.jsonl"),
    )
    .unwrap();
    let out = spool(&["verify", home.path().to_str().unwrap(), "--json"]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    let problems: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["problem"].as_str().unwrap())
        .collect();
    assert!(problems.contains(&"unknown_history_mode"), "{problems:?}");
    let stat = json(&spool(&["stat", home.path().to_str().unwrap(), "--json"]));
    assert_eq!(stat["unknownMode"], 1);
}

#[test]
fn init_records_the_backend_and_refuses_to_change_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let d = dir.to_str().unwrap();
    assert_eq!(code(&spool(&["init", d, "--backend", "jsonl"])), 0);
    let file: Value =
        serde_json::from_slice(&std::fs::read(dir.join("spool-store.json")).unwrap()).unwrap();
    assert_eq!(file["backend"], "jsonl");
    assert_eq!(
        code(&spool(&["init", d, "--backend", "jsonl"])),
        0,
        "idempotent"
    );
    let out = spool(&["init", d]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already a spool store"));
    let out = spool_with(&["append", d, "log", "--create"], "{\"a\":1}\n");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        dir.join("logs/log.jsonl").is_file(),
        "the store's backend made it"
    );
    // A directory that is neither store nor home.
    let out = spool(&["stat", tmp.path().to_str().unwrap(), "--json"]);
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["error"]["code"], "not_found");
}

/// Runs `spool args` on a pseudo-terminal (util-linux `script`) and returns
/// everything it drew; `None`, said loudly, where `script` is missing.
fn on_a_terminal(args: &[&str]) -> Option<String> {
    let line = std::iter::once(env!("CARGO_BIN_EXE_spool"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    match Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
    {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "util-linux `script` is missing ({e}); CI must not skip this"
            );
            eprintln!("SKIPPED: no `script` to run spool on a terminal ({e})");
            None
        }
    }
}

#[test]
fn progress_bars_show_on_a_terminal_only_and_never_with_json() {
    let (_tmp, dir) = store(3);
    let d = dir.to_str().unwrap();
    let Some(drawn) = on_a_terminal(&["verify", d]) else {
        return;
    };
    assert!(drawn.contains("/2 logs"), "a bar on a terminal: {drawn:?}");
    let quiet = on_a_terminal(&["verify", d, "--json"]).unwrap();
    assert!(!quiet.contains("/2 logs"), "no bar with --json: {quiet:?}");
    let piped = spool(&["verify", d]);
    assert!(!stderr(&piped).contains("logs"), "no bar into a pipe");
    assert!(stdout(&piped).contains("clean"));
}
