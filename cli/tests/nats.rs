//! Goal: a `nats://` store URL works wherever a store directory does
//! (`init`, `append`, `tail` and `tail -f`, `ls`, `show`, `import --store`,
//! `export --store`), and `spool copy` moves a store between a directory and
//! JetStream in both directions, resumably and verified (issue 11).
//! Method: the built binary against a real `nats-server` on a free
//! loopback port (skipped loudly without one; never under CI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use spool_tests::nats::NatsServer;

mod common;
use common::{code, corpus, corpus_home, json, records, spool, spool_with, stderr, stdout, walk};

#[test]
fn a_nats_store_takes_appends_tails_lists_and_shows() {
    let Some(server) = NatsServer::start("spool CLI on nats://", None) else {
        return;
    };
    let url = format!("{}/cli", server.url());
    let u = url.as_str();

    let out = spool(&["init", u]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = spool(&["init", u]);
    assert_eq!(code(&out), 0, "init again is a no-op: {}", stderr(&out));

    let out = spool_with(
        &["append", u, "orders", "--create", "--sync", "data"],
        &records(0..3),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "0\n1\n2\n");
    let out = spool_with(&["append", u, "missing"], &records(0..1));
    assert_eq!(code(&out), 2, "no --create: {}", stdout(&out));
    assert!(stderr(&out).contains("--create"), "{}", stderr(&out));

    let out = spool(&["tail", u, "orders"]);
    assert_eq!(stdout(&out), records(0..3));
    let out = spool(&["tail", u, "orders", "--from", "2"]);
    assert_eq!(stdout(&out), records(2..3));

    // tail -f follows what another process appends.
    let mut tail = Command::new(env!("CARGO_BIN_EXE_spool"))
        .args(["tail", u, "orders", "-f", "--from", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut followed = BufReader::new(tail.stdout.take().unwrap());
    let out = spool_with(&["append", u, "orders"], &records(3..5));
    assert_eq!(stdout(&out), "3\n4\n", "{}", stderr(&out));
    let mut seen = String::new();
    for _ in 0..2 {
        followed.read_line(&mut seen).unwrap();
    }
    assert_eq!(seen, records(3..5), "tail -f saw the new records");
    tail.kill().unwrap();
    tail.wait().unwrap();

    let out = spool(&["ls", u, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = json(&out);
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["orders"]);
    let out = spool(&["show", u, "orders", "--records", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = json(&out);
    let ns: Vec<u64> = shown["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, [0, 1, 2, 3, 4]);

    // A store that was never made is named, with the command that makes it.
    let out = spool(&["ls", &format!("{}/nothing", server.url())]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("spool init"), "{}", stderr(&out));
    // Commands that need files say so.
    let out = spool(&["verify", u]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("spool copy"), "{}", stderr(&out));
}

#[test]
fn copy_moves_a_store_to_jetstream_and_back_resumably_and_verified() {
    let Some(server) = NatsServer::start("spool copy", None) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    let l = local.to_str().unwrap();
    let out = spool_with(&["append", l, "a", "--create"], &records(0..50));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = spool_with(&["append", l, "b", "--create"], &records(0..7));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let remote = format!("{}/copied", server.url());
    let r = remote.as_str();
    let out = spool(&["copy", l, r, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    let copied: Vec<(String, u64)> = report["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["copied"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(copied, [("a".to_owned(), 50), ("b".to_owned(), 7)]);
    assert_eq!(stdout(&spool(&["tail", r, "a"])), records(0..50));

    // Again: nothing to copy. Then the source grows: only the new records go.
    let out = spool(&["copy", l, r, "--json"]);
    assert!(
        json(&out)["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["copied"] == 0)
    );
    let out = spool_with(&["append", l, "a"], &records(50..60));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = spool(&["copy", l, r, "--json"]);
    assert_eq!(json(&out)["logs"][0]["copied"], 10);
    assert_eq!(stdout(&spool(&["tail", r, "a"])), records(0..60));

    // A copy that differs is divergent, reported, and left alone.
    let out = spool_with(&["append", r, "b"], &records(100..101));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = spool_with(&["append", l, "b"], &records(7..9));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = spool(&["copy", l, r]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("b: DIVERGENT"), "{}", stdout(&out));

    // And back, from JetStream to a new directory, which then verifies clean.
    let back = tmp.path().join("back");
    let b = back.to_str().unwrap();
    let out = spool(&["copy", r, b]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&spool(&["tail", b, "a"])), records(0..60));
    let mut b_records = records(0..7);
    b_records.push_str(&records(100..101));
    assert_eq!(stdout(&spool(&["tail", b, "b"])), b_records);
    let out = spool(&["verify", b]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_codex_home_imports_into_jetstream_and_exports_byte_for_byte() {
    let Some(corpus) = corpus() else {
        return;
    };
    let Some(server) = NatsServer::start("spool import/export on nats://", None) else {
        return;
    };
    let home = corpus_home(&corpus);
    let h = home.path().to_str().unwrap();
    let url = format!("{}/codex", server.url());
    let out = spool(&["import", h, "--store", &url]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out_dir = tempfile::tempdir().unwrap();
    let exported = out_dir.path().join("home");
    let out = spool(&["export", "--store", &url, exported.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let originals = walk(&home.path().join("sessions"));
    assert!(!originals.is_empty());
    for original in originals {
        let relative = original.strip_prefix(home.path()).unwrap();
        let copy = std::fs::read(exported.join(relative)).unwrap();
        assert_eq!(
            copy,
            std::fs::read(&original).unwrap(),
            "{}",
            relative.display()
        );
    }
}
