//! Goal: `spool demo` — the README's first command — runs the main job and
//! reports a consistent result. Method: run the built binary, read its JSON.

use std::process::Command;

#[test]
fn demo_appends_tails_pages_and_reports_a_conflict() {
    let out = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args([
            "demo",
            "--events",
            "2000",
            "--writers",
            "8",
            "--page",
            "3",
            "--json",
        ])
        .output()
        .expect("spool runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["events"], 2000);
    assert_eq!(summary["tail_events"], 2000);
    assert_eq!(summary["balances_match"], true);
    // The Codex half: three threads written by spool's Codex writer (a
    // legacy one, a reverted paginated one, a fork), four files imported
    // and exported back byte for byte, the revert leaving its first turn.
    let codex = &summary["codex"];
    assert_eq!(codex["threads"].as_object().unwrap().len(), 3);
    assert_eq!(codex["imported_files"], 4);
    assert_eq!(codex["round_trip_identical"], true);
    // The store was verified: the catalog and the four imported logs.
    assert_eq!(codex["verified_logs"], 5);
    assert_eq!(codex["verify_findings"], 0);
    assert!(codex["verified_records"].as_u64().unwrap() > 20);
    assert_eq!(codex["ordinals_ok"], true);
    assert_eq!(
        codex["reverted_turns"],
        serde_json::json!(["completed: Write a test for the parser."])
    );
    assert_eq!(summary["first_page"].as_array().unwrap().len(), 3);
    assert!(
        summary["first_page"][0]
            .as_str()
            .unwrap()
            .starts_with("#0 ")
    );
    assert!(
        summary["newest_page"][0]
            .as_str()
            .unwrap()
            .starts_with("#1999 ")
    );
    assert!(summary["next_cursor"].as_str().unwrap().starts_with("v1."));
    assert!(
        summary["conflict"]
            .as_str()
            .unwrap()
            .contains("expected the log to end at seq 1999")
    );
}

#[test]
fn help_lists_demo() {
    let out = Command::new(env!("CARGO_BIN_EXE_spool"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo"));
}

#[test]
fn demo_keeps_its_log_in_a_given_directory() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ledger");
    let out = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args([
            "demo",
            "--events",
            "300",
            "--json",
            "--dir",
            log.to_str().unwrap(),
        ])
        .output()
        .expect("spool runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let segments = std::fs::read_dir(&log)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".seg")
        })
        .count();
    assert!(
        segments >= 1,
        "the log's segment files stay in {}",
        log.display()
    );
}
