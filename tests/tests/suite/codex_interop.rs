//! Goal: spool's thread views equal what the real Codex 0.169 app-server
//! returns for the same files (issue 7 item 6; CODEX-0.169.md §3).
//! Method: every home of the genuine corpus is copied without Codex's
//! SQLite files (the file-only behaviour spool defines); a real `codex
//! app-server` runs on the copy inside `unshare --net` with only loopback
//! up and HOME and CODEX_HOME in temporary directories, and answers
//! `thread/read` (with turns), `thread/resume` (which builds its
//! projection for paginated threads), `thread/turns/list` and
//! `thread/items/list`; spool then reads the same directory and its
//! answers must be equal, field by field. Codex comes from
//! `SPOOL_CODEX_BIN` (`.ci/run` installs npm `@openai/codex@0.169.0`);
//! without it, or without root for `unshare`, the suite skips loudly, and
//! under `CI=true` it fails instead.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spool_compat::{
    CodexHome, Floor, PageQuery, ThreadQuery, items_page, list_threads, read_thread, turns_page,
};

use super::jsonl_files::codex_corpus;

/// The Codex binary, or `None` (said loudly) where the suite cannot run.
pub(crate) fn codex_bin() -> Option<PathBuf> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let bin = std::env::var_os("SPOOL_CODEX_BIN").map(PathBuf::from);
    let problem = match &bin {
        None => Some("SPOOL_CODEX_BIN is not set".to_owned()),
        Some(b) if !b.is_file() => Some(format!("{} does not exist", b.display())),
        Some(_) => {
            let ok = Command::new("unshare")
                .args(["--net", "true"])
                .status()
                .is_ok_and(|s| s.success());
            (!ok).then(|| "`unshare --net` is not possible here (not root?)".to_owned())
        }
    };
    if let Some(problem) = problem {
        assert!(
            !ci,
            "the Codex interop suite cannot run: {problem}; CI must not skip it"
        );
        eprintln!("SKIPPED: Codex interop suite: {problem}");
        return None;
    }
    bin
}

/// A running `codex app-server`, offline.
pub(crate) struct AppServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    _home: tempfile::TempDir,
}

impl AppServer {
    /// Starts Codex on `codex_home` inside a network namespace with only
    /// loopback.
    pub(crate) fn start(bin: &Path, codex_home: &Path) -> AppServer {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new("unshare")
            .args([
                "--net",
                "sh",
                "-c",
                "ip link set lo up; exec \"$0\" app-server --listen stdio://",
            ])
            .arg(bin)
            .env("HOME", home.path())
            .env("CODEX_HOME", codex_home)
            .env("MOCK_API_KEY", "offline")
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut server = AppServer {
            child,
            stdin,
            stdout,
            next_id: 0,
            _home: home,
        };
        let init = server.call("initialize", &json!({"clientInfo": {"name": "spool-interop", "version": "0"}, "capabilities": {"experimentalApi": true}}),
        );
        assert!(init.get("result").is_some(), "initialize: {init}");
        server.send(&json!({"method": "initialized"}));
        server
    }

    fn send(&mut self, message: &Value) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (`result` or `error`),
    /// skipping notifications.
    pub(crate) fn call(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"id": id, "method": method, "params": params}));
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            assert!(Instant::now() < deadline, "codex did not answer {method}");
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "codex exited during {method}");
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
        }
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a corpus home's rollouts, session index and config: no SQLite.
pub(crate) fn copy_without_sqlite(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for file in spool_compat::discover(from).unwrap() {
        let target = to.path().join(file.path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, std::fs::read(&file.path).unwrap()).unwrap();
    }
    for name in ["session_index.jsonl", "config.toml"] {
        if from.join(name).exists() {
            std::fs::write(
                to.path().join(name),
                std::fs::read(from.join(name)).unwrap(),
            )
            .unwrap();
        }
    }
    to
}

/// Copies a whole corpus home, Codex's SQLite files included, pointing
/// `threads.rollout_path` at the copy (as the corpus README says to).
pub(crate) fn copy_with_sqlite(from: &Path) -> tempfile::TempDir {
    let to = copy_without_sqlite(from);
    for name in ["state_5.sqlite", "thread_history_1.sqlite"] {
        if from.join(name).exists() {
            std::fs::write(
                to.path().join(name),
                std::fs::read(from.join(name)).unwrap(),
            )
            .unwrap();
        }
    }
    let db = rusqlite::Connection::open(to.path().join("state_5.sqlite")).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT id, rollout_path FROM threads")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, path) in rows {
        let relative = ["/sessions/", "/archived_sessions/"]
            .iter()
            .find_map(|dir| path.find(dir).map(|i| &path[i + 1..]))
            .unwrap();
        let moved = to.path().join(relative);
        db.execute(
            "UPDATE threads SET rollout_path = ?1 WHERE id = ?2",
            (moved.to_str().unwrap(), &id),
        )
        .unwrap();
    }
    to
}

/// The thread fields a rollout file determines (the rest come from
/// Codex's SQLite cache or its runtime: status, model, path, updatedAt…).
const THREAD_FIELDS: &[&str] = &[
    "id",
    "sessionId",
    "forkedFromId",
    "parentThreadId",
    "preview",
    "historyMode",
    "modelProvider",
    "createdAt",
    "cwd",
    "cliVersion",
    "originator",
    "source",
    "gitInfo",
];

fn fields(thread: &Value) -> Value {
    Value::Object(
        THREAD_FIELDS
            .iter()
            .map(|f| {
                (
                    (*f).to_owned(),
                    thread.get(*f).cloned().unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}

/// Where two JSON values first differ, with both sides there.
pub(crate) fn first_difference(ours: &Value, theirs: &Value) -> Option<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()) {
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                if let Some(d) = first_difference(x, y) {
                    return Some(format!(".{key}{d}"));
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y).map(|d| format!("[{i}]{d}"))),
        _ if ours == theirs => None,
        _ => Some(format!(": spool {ours} / codex {theirs}")),
    }
}

macro_rules! assert_same {
    ($ours:expr, $theirs:expr, $($what:tt)+) => {
        if let Some(d) = first_difference(&$ours, &$theirs) {
            panic!("{} differs at {d}", format!($($what)+));
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spool_views_equal_codex_app_server_views_for_every_corpus_thread() {
    let (Some(corpus), Some(bin)) = (codex_corpus(), codex_bin()) else {
        return;
    };
    let mut compared = 0;
    let mut homes: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    homes.sort();
    for original in homes {
        // Codex with its own projection (its SQLite files, as written);
        // spool reads only the rollout files of the same home.
        let copy = copy_with_sqlite(&original);
        let home = CodexHome::new(copy.path());
        let ids: Vec<String> = home
            .threads()
            .unwrap()
            .iter()
            .map(|t| t.id.to_string())
            .collect();
        let mut codex = AppServer::start(&bin, copy.path());
        let mut answers = Vec::new();
        for id in &ids {
            let read = codex.call(
                "thread/read",
                &json!({"threadId": id, "includeTurns": true}),
            );
            let turns = codex.call("thread/turns/list", &json!({"threadId": id, "limit": 100}));
            let items = codex.call("thread/items/list", &json!({"threadId": id, "limit": 100}));
            answers.push((id.clone(), read, turns, items));
        }
        drop(codex);
        for (id, read, turns, items) in answers {
            let thread = home.open_thread(&id.parse().unwrap()).await.unwrap();
            let floor = Floor::Codex0169;
            let ours = read_thread(&home, &thread, floor).await.unwrap();
            let theirs = &read["result"]["thread"];
            assert_same!(
                fields(&ours["thread"]),
                fields(theirs),
                "{}: thread {id}",
                original.display()
            );
            assert_same!(
                ours["thread"]["turns"],
                theirs["turns"],
                "{}: turns of {id}",
                original.display()
            );
            let ours = turns_page(
                &thread,
                &PageQuery {
                    limit: 100,
                    ..PageQuery::turns(floor)
                },
            )
            .await
            .unwrap();
            assert_same!(ours["data"], turns["result"]["data"], "turns/list of {id}");
            match items_page(
                &thread,
                &PageQuery {
                    limit: 100,
                    ..PageQuery::items(floor)
                },
            )
            .await
            {
                Ok(ours) => {
                    assert_same!(ours["data"], items["result"]["data"], "items/list of {id}");
                }
                Err(e) => {
                    assert_eq!(
                        items["error"]["code"],
                        json!(-32601),
                        "{id}: Codex served items spool refused: {e}"
                    );
                    assert!(
                        items["error"]["message"]
                            .as_str()
                            .unwrap()
                            .contains("not supported yet")
                    );
                }
            }
            compared += 1;
        }
        // The listing shows the same threads (all have a header and preview).
        let page = list_threads(
            &home,
            &ThreadQuery {
                floor: Floor::Codex0169,
                ..ThreadQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(page.data.len(), ids.len());
    }
    assert_eq!(compared, 7);
}

/// A variant of a genuine rollout: its name and how its bytes change.
type Variant = (&'static str, fn(&str) -> Vec<u8>);

/// Replaces the first line's `history_mode` value with `to` (raw JSON), or
/// drops the field when `to` is `None`.
fn set_mode(text: &str, to: Option<&str>) -> Vec<u8> {
    let (first, rest) = text.split_once('\n').unwrap();
    let mut first = first.to_owned();
    for mode in ["\"legacy\"", "\"paginated\""] {
        let field = format!(",\"history_mode\":{mode}");
        if first.contains(&field) {
            let new = to.map_or(String::new(), |to| format!(",\"history_mode\":{to}"));
            first = first.replacen(&field, &new, 1);
        }
    }
    format!("{first}\n{rest}").into_bytes()
}

const VARIANTS: &[Variant] = &[
    ("as written", |t| t.as_bytes().to_vec()),
    ("mode legacy", |t| set_mode(t, Some("\"legacy\""))),
    ("mode paginated", |t| set_mode(t, Some("\"paginated\""))),
    ("mode absent", |t| set_mode(t, None)),
    ("mode camelCase", |t| {
        let absent = String::from_utf8(set_mode(t, None)).unwrap();
        absent
            .replacen(
                "\"payload\":{",
                "\"payload\":{\"historyMode\":\"paginated\",",
                1,
            )
            .into_bytes()
    }),
    ("mode quantum_v9", |t| set_mode(t, Some("\"quantum_v9\""))),
    ("mode empty", |t| set_mode(t, Some("\"\""))),
    ("mode Paginated", |t| set_mode(t, Some("\"Paginated\""))),
    ("mode null", |t| set_mode(t, Some("null"))),
    ("mode number", |t| set_mode(t, Some("3"))),
    ("ordinals stripped", |t| {
        t.lines()
            .map(|l| {
                let mut l = l.to_owned();
                if let Some(start) = l.find(",\"ordinal\":") {
                    let end = start + l[start + 1..].find(',').unwrap() + 1;
                    l.replace_range(start..end, "");
                }
                l + "\n"
            })
            .collect::<String>()
            .into_bytes()
    }),
    ("first line not session_meta", |t| {
        let mut lines: Vec<&str> = t.lines().collect();
        lines.swap(0, 2);
        lines
            .iter()
            .flat_map(|l| [*l, "\n"])
            .collect::<String>()
            .into_bytes()
    }),
    ("event before the header", |t| {
        let mut lines: Vec<&str> = t.lines().collect();
        lines.swap(0, 1);
        lines
            .iter()
            .flat_map(|l| [*l, "\n"])
            .collect::<String>()
            .into_bytes()
    }),
    ("torn tail", |t| {
        let mut bytes = t.as_bytes().to_vec();
        bytes.extend_from_slice(br#"{"timestamp":"2026-11-21T15:00:00.000Z","type":"event_msg","payload":{"type":"agent_mes"#);
        bytes
    }),
    ("invalid UTF-8 tail", |t| {
        let mut bytes = t.as_bytes().to_vec();
        bytes.extend_from_slice(b"{\"timestamp\":\"2026-11-21T15:00:00.000Z\",\"type\":\"event_msg\",\"payload\":{\"type\":\"agent_message\",\"message\":\"caf\xc3");
        bytes
    }),
];

/// What one side answered, operation by operation: ok or refused.
#[derive(Debug, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one flag per operation compared, printed side by side"
)]
struct Outcomes {
    list: bool,
    read: bool,
    read_turns: bool,
    turns: bool,
    items: bool,
    resume: bool,
    /// Read with turns, turns and items again after the resume (Codex
    /// builds its projection there; spool's answers do not depend on it).
    after_resume: (bool, bool, bool),
}

fn ok(response: &Value) -> bool {
    response.get("result").is_some()
}

async fn spool_outcomes(root: &Path, id: &str) -> Outcomes {
    let floor = Floor::Codex0169;
    let home = CodexHome::new(root);
    let uuid = id.parse().unwrap();
    let listed = list_threads(
        &home,
        &ThreadQuery {
            floor,
            ..ThreadQuery::default()
        },
    )
    .await
    .is_ok_and(|p| p.data.iter().any(|s| s.id().to_string() == id));
    let thread = home.open_thread(&uuid).await;
    let check = |op| match &thread {
        Ok(t) => floor.check(op, t.mode(), id).is_ok(),
        Err(_) => false,
    };
    let (read_turns, turns, items) = match &thread {
        Ok(t) => (
            read_thread(&home, t, floor).await.is_ok(),
            turns_page(t, &PageQuery::turns(floor)).await.is_ok(),
            items_page(t, &PageQuery::items(floor)).await.is_ok(),
        ),
        Err(_) => (false, false, false),
    };
    let options = spool_compat::WriterOptions {
        floor,
        ..Default::default()
    };
    let resume = spool_compat::ThreadWriter::open(&home, &uuid, options)
        .await
        .is_ok();
    Outcomes {
        list: listed,
        read: check(spool_compat::Operation::ReadMetadata),
        read_turns,
        turns,
        items,
        resume,
        after_resume: (read_turns, turns, items),
    }
}

fn codex_outcomes(bin: &Path, root: &Path, id: &str) -> Outcomes {
    let mut codex = AppServer::start(bin, root);
    let list = codex.call("thread/list", &json!({}));
    let listed = list["result"]["data"]
        .as_array()
        .is_some_and(|d| d.iter().any(|t| t["id"] == json!(id)));
    let read = ok(&codex.call(
        "thread/read",
        &json!({"threadId": id, "includeTurns": false}),
    ));
    let read_turns = ok(&codex.call(
        "thread/read",
        &json!({"threadId": id, "includeTurns": true}),
    ));
    let turns = ok(&codex.call("thread/turns/list", &json!({"threadId": id})));
    let items = ok(&codex.call("thread/items/list", &json!({"threadId": id})));
    let resume = ok(&codex.call("thread/resume", &json!({"threadId": id})));
    let after_resume = (
        ok(&codex.call(
            "thread/read",
            &json!({"threadId": id, "includeTurns": true}),
        )),
        ok(&codex.call("thread/turns/list", &json!({"threadId": id}))),
        ok(&codex.call("thread/items/list", &json!({"threadId": id}))),
    );
    Outcomes {
        list: listed,
        read,
        read_turns,
        turns,
        items,
        resume,
        after_resume,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codex_floor_accepts_and_refuses_what_codex_does_on_derived_variants() {
    let (Some(corpus), Some(bin)) = (codex_corpus(), codex_bin()) else {
        return;
    };
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for base in ["appserver-legacy", "appserver-paginated"] {
        let original = corpus.join(base);
        let file = spool_compat::discover(&original).unwrap().remove(0);
        let id = file.name.thread.to_string();
        let text = std::fs::read_to_string(&file.path).unwrap();
        for (name, make) in VARIANTS {
            let bytes = make(&text);
            // One copy each, so neither side sees what the other wrote.
            let copies = [
                copy_without_sqlite(&original),
                copy_without_sqlite(&original),
            ];
            for copy in &copies {
                let target = copy.path().join(file.path.strip_prefix(&original).unwrap());
                std::fs::write(target, &bytes).unwrap();
            }
            let theirs = codex_outcomes(&bin, copies[0].path(), &id);
            let ours = spool_outcomes(copies[1].path(), &id).await;
            if ours != theirs {
                mismatches.push(format!(
                    "{base} / {name}:\n  spool {ours:?}\n  codex {theirs:?}"
                ));
            }
            compared += 1;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(compared, 2 * VARIANTS.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_spool_writes_are_read_by_codex_as_spool_reads_them() {
    use spool_compat::{Fixture, HistoryMode};
    let Some(bin) = codex_bin() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "check_for_update_on_startup = false\n[analytics]\nenabled = false\n[feedback]\nenabled = false\n",
    )
    .unwrap();
    let home = CodexHome::new(dir.path());
    let mut ids = Vec::new();
    for mode in [HistoryMode::Legacy, HistoryMode::Paginated] {
        let (id, _) = Fixture::new(mode.clone())
            .turn("list the files", "Here they are.")
            .turn("now the {placeholder}", "Done.")
            .text_elements(
                json!([{"byte_range": {"start": 8, "end": 21}, "placeholder": "{placeholder}"}]),
            )
            .with_token_usage()
            .write(&home)
            .await
            .unwrap();
        ids.push(id.to_string());
    }
    let parent = ids[0].parse().unwrap();
    let (child, _) = Fixture::new(HistoryMode::Paginated)
        .source(json!({"subagent": "review"}))
        .parent(parent, parent)
        .turn("review it", "Looks fine.")
        .write(&home)
        .await
        .unwrap();
    let mut codex = AppServer::start(&bin, dir.path());
    let listed = codex.call("thread/list", &json!({}));
    for id in &ids {
        assert!(
            listed["result"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == json!(id)),
            "Codex lists {id}: {listed}"
        );
    }
    let mut answers = Vec::new();
    for id in ids.iter().chain([&child.to_string()]) {
        let resume = codex.call("thread/resume", &json!({"threadId": id}));
        assert!(resume.get("result").is_some(), "{id}: {resume}");
        let read = codex.call(
            "thread/read",
            &json!({"threadId": id, "includeTurns": true}),
        );
        answers.push((id.clone(), read));
    }
    drop(codex);
    for (id, read) in answers {
        let thread = home.open_thread(&id.parse().unwrap()).await.unwrap();
        let ours = read_thread(&home, &thread, Floor::Codex0169).await.unwrap();
        let theirs = &read["result"]["thread"];
        assert_eq!(
            theirs["turns"].as_array().map(Vec::len),
            Some(if id == child.to_string() { 1 } else { 2 })
        );
        assert_same!(
            ours["thread"]["turns"],
            theirs["turns"],
            "turns of fixture {id}"
        );
        assert_same!(fields(&ours["thread"]), fields(theirs), "fixture {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_spool_migrated_is_listed_read_and_resumed_by_codex_as_spool_reads_it() {
    let (Some(corpus), Some(bin)) = (codex_corpus(), codex_bin()) else {
        return;
    };
    let copy = copy_without_sqlite(&corpus.join("appserver-legacy"));
    let home = CodexHome::new(copy.path());
    let report = spool_compat::migrate_home(&home, None, true).await.unwrap();
    assert_eq!(report[0].status, spool_compat::MigrationStatus::Migrated);
    let id = report[0].thread.to_string();
    let mut codex = AppServer::start(&bin, copy.path());
    let listed = codex.call("thread/list", &json!({}));
    assert_eq!(listed["result"]["data"][0]["historyMode"], "paginated");
    let resume = codex.call("thread/resume", &json!({"threadId": id}));
    assert!(resume.get("result").is_some(), "{resume}");
    let read = codex.call(
        "thread/read",
        &json!({"threadId": id, "includeTurns": true}),
    );
    let items = codex.call("thread/items/list", &json!({"threadId": id, "limit": 100}));
    drop(codex);
    let thread = home.open_thread(&id.parse().unwrap()).await.unwrap();
    let ours = read_thread(&home, &thread, Floor::Codex0169).await.unwrap();
    assert_eq!(
        read["result"]["thread"]["turns"].as_array().map(Vec::len),
        Some(3)
    );
    assert_same!(
        ours["thread"]["turns"],
        read["result"]["thread"]["turns"],
        "turns of the migrated thread"
    );
    let ours = items_page(
        &thread,
        &PageQuery {
            limit: 100,
            ..PageQuery::items(Floor::Codex0169)
        },
    )
    .await
    .unwrap();
    assert_same!(
        ours["data"],
        items["result"]["data"],
        "items of the migrated thread"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_home_with_codexs_database_a_spool_migrated_thread_resumes_and_reads() {
    // A row saying legacy beside a file saying paginated makes Codex refuse
    // the thread even on resume; spool's migration promotes the row.
    let (Some(corpus), Some(bin)) = (codex_corpus(), codex_bin()) else {
        return;
    };
    let copy = copy_with_sqlite(&corpus.join("appserver-legacy"));
    let home = CodexHome::new(copy.path());
    let report = spool_compat::migrate_home(&home, None, true).await.unwrap();
    assert_eq!(report[0].status, spool_compat::MigrationStatus::Migrated);
    let id = report[0].thread.to_string();
    let db = rusqlite::Connection::open(copy.path().join("state_5.sqlite")).unwrap();
    let mode: String = db
        .query_row(
            "SELECT history_mode FROM threads WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mode, "paginated");
    drop(db);
    let mut codex = AppServer::start(&bin, copy.path());
    let resume = codex.call("thread/resume", &json!({"threadId": id}));
    assert!(resume.get("result").is_some(), "{resume}");
    let read = codex.call(
        "thread/read",
        &json!({"threadId": id, "includeTurns": true}),
    );
    let turns = codex.call("thread/turns/list", &json!({"threadId": id}));
    drop(codex);
    let thread = home.open_thread(&id.parse().unwrap()).await.unwrap();
    let ours = read_thread(&home, &thread, Floor::Codex0169).await.unwrap();
    assert_same!(
        ours["thread"]["turns"],
        read["result"]["thread"]["turns"],
        "turns after migration"
    );
    assert_eq!(turns["result"]["data"].as_array().map(Vec::len), Some(3));
}
