//! Criterion benches of the Codex compatibility layer (issue 7 item 8):
//! opening a 100 MB rollout, a page of turns from it, and the first page of
//! a listing of 10,000 threads, each beside the raw cost of the same bytes
//! (reading the file and finding its newlines; walking the directory tree
//! and reading every file's head, which is what Codex's filesystem listing
//! does per request).

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::io::Read;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use spool_benches::harness::{bench_dir, runtime};
use spool_compat::{CodexHome, Floor, PageQuery, ThreadQuery, list_threads, turns_page};
use uuid::Uuid;

const ROLLOUT_BYTES: usize = 100 << 20;
const THREADS: usize = 10_000;

/// A paginated rollout of about `bytes`: turns of a user message, a big
/// tool output (the bulk of real rollouts) and an agent message.
fn big_rollout(home: &Path, bytes: usize) -> Uuid {
    let id = Uuid::from_u128(0x019f_0000_0000_7000_8000_0000_0000_0001);
    let dir = home.join("sessions/2026/08/13");
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = Vec::with_capacity(bytes + 4096);
    let mut ordinal = 0u64;
    let mut line = |out: &mut Vec<u8>, kind: &str, payload: serde_json::Value| {
        let value = json!({"timestamp": "2026-08-13T09:00:00.000Z", "ordinal": ordinal, "type": kind, "payload": payload});
        serde_json::to_writer(&mut *out, &value).unwrap();
        out.push(b'\n');
        ordinal += 1;
    };
    line(
        &mut out,
        "session_meta",
        json!({"session_id": id.to_string(), "id": id.to_string(), "timestamp": "2026-08-13T09:00:00.000Z", "cwd": "/w", "originator": "bench", "cli_version": "0.169.0", "source": "cli", "model_provider": "openai", "base_instructions": null, "history_mode": "paginated"}),
    );
    let output = "x".repeat(8 << 10);
    let mut turn = 0u64;
    while out.len() < bytes {
        let turn_id = format!("turn-{turn}");
        line(
            &mut out,
            "event_msg",
            json!({"type": "task_started", "turn_id": turn_id, "started_at": 1}),
        );
        line(
            &mut out,
            "event_msg",
            json!({"type": "item_completed", "thread_id": id.to_string(), "turn_id": turn_id, "item": {"type": "UserMessage", "id": format!("u{turn}"), "content": [{"type": "text", "text": "run it", "text_elements": []}]}, "completed_at_ms": 1}),
        );
        for call in 0..4 {
            line(
                &mut out,
                "response_item",
                json!({"type": "function_call_output", "call_id": format!("c{turn}-{call}"), "output": output}),
            );
        }
        line(
            &mut out,
            "event_msg",
            json!({"type": "item_completed", "thread_id": id.to_string(), "turn_id": turn_id, "item": {"type": "AgentMessage", "id": format!("a{turn}"), "content": [{"type": "Text", "text": "done"}]}, "completed_at_ms": 2}),
        );
        line(
            &mut out,
            "event_msg",
            json!({"type": "task_complete", "turn_id": turn_id, "last_agent_message": "done", "completed_at": 2, "duration_ms": 1}),
        );
        turn += 1;
    }
    std::fs::write(
        dir.join(format!("rollout-2026-08-13T09-00-00-{id}.jsonl")),
        out,
    )
    .unwrap();
    id
}

/// The raw limit of opening: read the file and find every newline.
fn raw_scan(path: &Path) -> usize {
    let mut file = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            return lines;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count();
    }
}

fn open_and_page(c: &mut Criterion) {
    let rt = runtime();
    let dir = bench_dir();
    let id = big_rollout(dir.path(), ROLLOUT_BYTES);
    let home = CodexHome::new(dir.path());
    let path: PathBuf = home.thread_files(&id).unwrap().current().path.clone();
    let len = std::fs::metadata(&path).unwrap().len();
    let mut group = c.benchmark_group("codex_rollout_100mb");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(len));
    group.bench_function("raw_read_and_find_newlines", |b| {
        b.iter(|| assert!(raw_scan(&path) > 0));
    });
    group.bench_function("open_thread", |b| {
        b.iter(|| rt.block_on(home.open_thread(&id)).unwrap());
    });
    let thread = rt.block_on(home.open_thread(&id)).unwrap();
    group.bench_function("turns_page_25_full_floor", |b| {
        b.iter(|| {
            let page = rt
                .block_on(turns_page(&thread, &PageQuery::turns(Floor::Full)))
                .unwrap();
            assert_eq!(page["data"].as_array().unwrap().len(), 25);
        });
    });
    group.bench_function("turns_page_25_codex_floor", |b| {
        b.iter(|| {
            let page = rt
                .block_on(turns_page(&thread, &PageQuery::turns(Floor::Codex0169)))
                .unwrap();
            assert_eq!(page["data"].as_array().unwrap().len(), 25);
        });
    });
    group.finish();
}

/// `THREADS` small threads with a header and a user message each.
fn many_threads(home: &Path) {
    for n in 0..THREADS {
        let id = Uuid::from_u128(0x019f_0000_0000_7000_8000_0000_0000_0000 | n as u128);
        let dir = home.join(format!("sessions/2026/08/{:02}", 1 + n / 1000));
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!(
            "{{\"timestamp\":\"2026-08-13T09:00:00.000Z\",\"type\":\"session_meta\",\"payload\":{{\"id\":\"{id}\",\"timestamp\":\"2026-08-13T09:00:00.000Z\",\"cwd\":\"/w\",\"originator\":\"b\",\"cli_version\":\"0\",\"source\":\"cli\",\"model_provider\":\"openai\",\"history_mode\":\"legacy\"}}}}\n{{\"timestamp\":\"2026-08-13T09:00:01.000Z\",\"type\":\"event_msg\",\"payload\":{{\"type\":\"user_message\",\"message\":\"thread {n}\",\"local_images\":[],\"local_audio\":[],\"text_elements\":[]}}}}\n"
        );
        let time = format!(
            "2026-08-{:02}T{:02}-{:02}-{:02}",
            1 + n / 1000,
            n % 1000 / 60 % 24,
            n % 60,
            n % 7
        );
        std::fs::write(dir.join(format!("rollout-{time}-{id}.jsonl")), text).unwrap();
    }
}

/// What Codex's filesystem listing costs per request: walk the dated
/// directories and read the head of every file (up to its scan cap).
fn codex_style_scan(root: &Path) -> usize {
    let mut heads = 0;
    let mut buf = vec![0u8; 4096];
    let mut stack = vec![root.join("sessions")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let mut file = std::fs::File::open(entry.path()).unwrap();
                heads += usize::from(file.read(&mut buf).unwrap() > 0);
            }
        }
    }
    heads
}

fn listing(c: &mut Criterion) {
    let rt = runtime();
    let dir = bench_dir();
    many_threads(dir.path());
    let home = CodexHome::new(dir.path());
    let mut group = c.benchmark_group("codex_list_25_of_10000");
    group.throughput(Throughput::Elements(25));
    group.sample_size(10);
    group.bench_function("codex_style_scan_of_every_head", |b| {
        b.iter(|| assert_eq!(codex_style_scan(dir.path()), THREADS));
    });
    group.bench_function("spool_first_page", |b| {
        b.iter(|| {
            let page = rt
                .block_on(list_threads(&home, &ThreadQuery::default()))
                .unwrap();
            assert_eq!(page.data.len(), 25);
        });
    });
    group.finish();
}

criterion_group!(benches, open_and_page, listing);
criterion_main!(benches);
