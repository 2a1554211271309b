//! Goal: the Codex commands (`ls`, `show`, `actions`, `import`, `export`,
//! `migrate`) do what docs/codex.md says, with JSON in Codex's field names,
//! typed `--json` errors and the documented exit codes.
//! Method: run the built binary on temporary homes made of the composed
//! §8 examples.

// Helpers of a test binary: a failed setup step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/codex/examples"
);
const LEGACY: &str = "019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b";
const PAGINATED: &str = "019f2b00-1111-7222-8333-444455556666";
const UNKNOWN: &str = "019f2c00-2222-7333-8444-555566667777";

fn spool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(args)
        .output()
        .expect("spool runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A home with the legacy, paginated and unknown-mode examples.
fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("sessions/2026/08/13");
    std::fs::create_dir_all(&dir).unwrap();
    for (time, id, file) in [
        ("2026-08-13T11-15-02", LEGACY, "modern-legacy-full.jsonl"),
        ("2026-08-13T12-00-00", PAGINATED, "paginated-mode.jsonl"),
        ("2026-08-13T13-00-00", UNKNOWN, "unknown-history-mode.jsonl"),
    ] {
        std::fs::copy(
            Path::new(EXAMPLES).join(file),
            dir.join(format!("rollout-{time}-{id}.jsonl")),
        )
        .unwrap();
    }
    std::fs::copy(
        Path::new(EXAMPLES).join("session_index.jsonl"),
        home.path().join("session_index.jsonl"),
    )
    .unwrap();
    home
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn ls_lists_with_codex_field_names_per_floor_and_pages_by_cursor() {
    let home = home();
    let out = spool(&["ls", path(home.path()), "--json"]);
    assert!(out.status.success());
    let page = json(&out);
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![UNKNOWN, PAGINATED, LEGACY]);
    assert_eq!(page["data"][0]["historyMode"], "segmented_v3");
    assert!(page["data"][0]["unreadable"].is_string());
    assert_eq!(page["data"][2]["name"], "CLI flags");
    // Codex's floor omits the unknown mode; pages follow the cursor.
    let out = spool(&[
        "ls",
        path(home.path()),
        "--floor",
        "codex-0.169",
        "--limit",
        "1",
        "--json",
    ]);
    let first = json(&out);
    assert_eq!(first["data"][0]["id"], PAGINATED);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = json(&spool(&[
        "ls",
        path(home.path()),
        "--floor",
        "codex-0.169",
        "--limit",
        "1",
        "--cursor",
        cursor,
        "--json",
    ]));
    assert_eq!(second["data"][0]["id"], LEGACY);
    assert!(second["nextCursor"].is_null());
    // Neither a home nor a store: exit 2, a typed error.
    let out = spool(&["ls", "/nonexistent", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "not_found");
}

#[test]
fn show_prints_turns_items_and_records_and_refuses_what_the_floor_refuses() {
    let home = home();
    let out = spool(&["show", path(home.path()), PAGINATED, "--json"]);
    let explicit = spool(&["show", path(home.path()), PAGINATED, "--turns", "--json"]);
    assert_eq!(out.stdout, explicit.stdout, "--turns is the default");

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = json(&out);
    assert_eq!(read["thread"]["id"], PAGINATED);
    assert!(!read["thread"]["turns"].as_array().unwrap().is_empty());
    let items = json(&spool(&[
        "show",
        path(home.path()),
        PAGINATED,
        "--items",
        "--json",
    ]));
    assert_eq!(items["data"][0]["item"]["type"], "userMessage");
    // Raw lines are the file's bytes.
    let out = spool(&["show", path(home.path()), PAGINATED, "--records"]);
    let file = std::fs::read(Path::new(EXAMPLES).join("paginated-mode.jsonl")).unwrap();
    assert_eq!(out.stdout, file);
    // Items of a legacy thread under Codex's floor: refused, exit 1.
    let out = spool(&[
        "show",
        path(home.path()),
        LEGACY,
        "--items",
        "--floor",
        "codex-0.169",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "unsupported_by_floor");
    // An unknown mode fails closed, naming the value.
    let out = spool(&["show", path(home.path()), UNKNOWN, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let error = json(&out);
    assert_eq!(error["error"]["code"], "unknown_history_mode");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("segmented_v3")
    );
}

#[test]
fn import_export_round_trips_and_reports_divergence() {
    let home = home();
    let store = tempfile::tempdir().unwrap();
    let out = spool(&[
        "import",
        path(home.path()),
        "--store",
        path(store.path()),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "created")
    );
    let again = json(&spool(&[
        "import",
        path(home.path()),
        "--store",
        path(store.path()),
        "--json",
    ]));
    assert!(
        again["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "up_to_date")
    );
    let target = tempfile::tempdir().unwrap();
    let out_dir: PathBuf = target.path().join("home");
    let out = spool(&["export", "--store", path(store.path()), path(&out_dir)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for entry in walk(home.path()) {
        let relative = entry.strip_prefix(home.path()).unwrap();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(out_dir.join(relative)).unwrap(),
            "{}",
            relative.display()
        );
    }
    // A source line rewritten after the import: divergent, exit 1.
    let file = home.path().join(format!(
        "sessions/2026/08/13/rollout-2026-08-13T12-00-00-{PAGINATED}.jsonl"
    ));
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "\"ordinal\":3,",
        "\"ordinal\":3,\"x\":1,",
        1,
    );
    std::fs::write(&file, text).unwrap();
    let out = spool(&[
        "import",
        path(home.path()),
        "--store",
        path(store.path()),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let divergent: Vec<&Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "divergent")
        .collect();
    assert_eq!(divergent.len(), 1);
    assert_eq!(divergent[0]["detail"]["firstDifference"], 3);
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn migrate_is_a_dry_run_unless_applied_and_fails_closed_per_thread() {
    let home = home();
    let legacy_file = home.path().join(format!(
        "sessions/2026/08/13/rollout-2026-08-13T11-15-02-{LEGACY}.jsonl"
    ));
    // The composed legacy example holds a web_search_end: refused; drop it.
    let text: String = std::fs::read_to_string(&legacy_file)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"web_search_end\""))
        .flat_map(|l| [l, "\n"])
        .collect();
    std::fs::write(&legacy_file, &text).unwrap();
    let out = spool(&["migrate", path(home.path()), "--json"]);
    assert_eq!(out.status.code(), Some(1), "the unknown-mode thread fails");
    let report = json(&out);
    let status = |id: &str| {
        report["threads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["threadId"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(LEGACY), "eligible");
    assert_eq!(status(PAGINATED), "already_paginated");
    assert_eq!(status(UNKNOWN), "failed");
    assert_eq!(
        std::fs::read_to_string(&legacy_file).unwrap(),
        text,
        "a dry run writes nothing"
    );
    let out = spool(&[
        "migrate",
        path(home.path()),
        "--apply",
        "--thread",
        LEGACY,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["threads"][0]["status"], "migrated");
    assert!(
        std::fs::read_to_string(&legacy_file)
            .unwrap()
            .contains("\"history_mode\":\"paginated\"")
    );
}

#[test]
fn actions_print_v1_records() {
    let home = home();
    let out = spool(&["actions", path(home.path()), PAGINATED, "--format", "json"]);
    assert!(out.status.success());
    let actions = json(&out);
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["schema_version"] == 1)
    );
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action_type"] == "turn_started")
    );
}
