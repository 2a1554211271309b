//! Goal: every line of every Codex rollout, of every generation, gets the
//! view ROLLOUT-FORMAT.md §2 gives it, and keeps its bytes (issue 7, item
//! 1).
//! Method: the §8 example files and the genuine Codex 0.169 corpus are read
//! through the JSONL backend (lenient, read-only) and each record is viewed
//! with `RolloutLine`; the sequence of views is compared with what
//! examples/README.md says Codex makes of each file (33 items; 5 and 9
//! legacy lines Codex cannot parse; 6 items, 3 unknown types and garbage, a
//! blank line; an unknown history mode; …).

use std::path::Path;
use std::sync::Arc;

use spool_backends::{JsonlBackend, JsonlConfig, StdFs};
use spool_compat::{HistoryMode, Item, LineView, RolloutLine};
use spool_engine::{Backend, ReadRange, Seq};

use super::jsonl_files::codex_corpus;

async fn lines(path: &Path) -> Vec<RolloutLine> {
    let log = JsonlBackend::open_read_only(Arc::new(StdFs), path, JsonlConfig::foreign()).unwrap();
    log.read(ReadRange::all_from(Seq(0)))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let line = RolloutLine::parse(r.payload.clone());
            assert_eq!(line.bytes(), &r.payload, "bytes kept");
            line
        })
        .collect()
}

/// A short name for a view, to compare sequences at a glance.
fn name(line: &RolloutLine) -> String {
    match line.view() {
        LineView::Envelope(e) => match &e.item {
            Item::SessionMeta(meta) => match &meta.history_mode {
                HistoryMode::Legacy => "meta:legacy".into(),
                HistoryMode::Paginated => "meta:paginated".into(),
                HistoryMode::Unknown(v) => format!("meta:?{v}"),
            },
            Item::ResponseItem { kind, .. } => format!("response_item:{kind}"),
            Item::EventMsg { kind, .. } => format!("event_msg:{kind}"),
            Item::TurnContext(_) => "turn_context".into(),
            Item::Compacted(_) => "compacted".into(),
            Item::WorldState(_) => "world_state".into(),
            Item::TokenUsageRecord(_) => "token_usage_record".into(),
            Item::Other { kind, .. } => format!("other:{kind}"),
        },
        LineView::LegacyHeader { .. } => "legacy_header".into(),
        LineView::LegacyItem { item_type } => format!("legacy_item:{item_type}"),
        LineView::LegacyState => "legacy_state".into(),
        LineView::Blank => "blank".into(),
        LineView::Invalid(problem) => format!("invalid:{problem:?}"),
    }
}

fn example(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/codex/examples")
        .join(file)
}

#[tokio::test]
async fn every_example_line_gets_its_generation_and_type() {
    let cases: &[(&str, &[&str])] = &[
        ("blank-only.jsonl", &["blank", "blank", "blank"]),
        (
            "legacy-v0-bare-2025-05.jsonl",
            &[
                "legacy_header",
                "legacy_item:message",
                "legacy_item:function_call",
                "legacy_item:function_call_output",
                "legacy_item:message",
            ],
        ),
        (
            "legacy-v2-state-lines-2025-08.jsonl",
            &[
                "legacy_header",
                "legacy_state",
                "legacy_item:message",
                "legacy_item:message",
                "legacy_item:reasoning",
                "legacy_item:local_shell_call",
                "legacy_item:function_call_output",
                "legacy_item:message",
                "legacy_state",
            ],
        ),
        ("missing-session-meta.jsonl", &["response_item:message"]),
        (
            "unknown-future-types.jsonl",
            &[
                "meta:legacy",
                "response_item:message",
                "event_msg:user_message",
                "blank",
                "other:hologram_snapshot",
                "event_msg:quantum_entanglement_started",
                "response_item:future_tool_call",
                "invalid:NotJson",
                "response_item:ghost_snapshot",
                "response_item:message",
                "event_msg:agent_message",
            ],
        ),
        (
            "unknown-history-mode.jsonl",
            &[
                "meta:?\"segmented_v3\"",
                "response_item:message",
                "event_msg:user_message",
            ],
        ),
        (
            "torn-tail.jsonl",
            &[
                "meta:legacy",
                "response_item:message",
                "response_item:message",
                "turn_context",
                "event_msg:task_started",
                "response_item:message",
                "event_msg:user_message",
            ],
        ),
    ];
    for (file, want) in cases {
        let got: Vec<String> = lines(&example(file)).await.iter().map(name).collect();
        assert_eq!(&got, want, "{file}");
    }
}

#[tokio::test]
async fn modern_files_read_whole_floats_and_forks_included() {
    // 33 items, among them a token_count full of decimals (the
    // arbitrary_precision trap of §2.14) and a header appended at the end.
    let full: Vec<String> = lines(&example("modern-legacy-full.jsonl"))
        .await
        .iter()
        .map(name)
        .collect();
    assert_eq!(full.len(), 33);
    assert!(
        full.iter()
            .all(|n| !n.starts_with("invalid") && !n.starts_with("legacy"))
    );
    assert!(full.contains(&"event_msg:token_count".to_owned()));
    assert_eq!(full.iter().filter(|n| n.starts_with("meta:")).count(), 2);
    // Paginated: ordinals 0..14 on every line, in order.
    let paginated = lines(&example("paginated-mode.jsonl")).await;
    assert_eq!(name(&paginated[0]), "meta:paginated");
    let ordinals: Vec<Option<u64>> = paginated
        .iter()
        .map(|l| l.envelope().unwrap().ordinal)
        .collect();
    assert_eq!(ordinals, (0..15).map(Some).collect::<Vec<_>>());
    // A legacy fork: the copied source header comes second.
    let fork = lines(&example("fork-legacy.jsonl")).await;
    let ids: Vec<Option<String>> = fork[..2]
        .iter()
        .map(|l| match &l.envelope().unwrap().item {
            Item::SessionMeta(meta) => meta.id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ids[0].as_deref(),
        Some("019f2f00-9999-7888-8777-666655554444")
    );
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn every_genuine_rollout_is_all_envelopes_with_its_mode() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut seen = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let home = home.unwrap().path();
        if !home.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        collect(&home.join("sessions"), &mut files);
        for path in files {
            let lines = lines(&path).await;
            let name = path.display();
            assert!(!lines.is_empty(), "{name}");
            let Some(Item::SessionMeta(meta)) = lines[0].envelope().map(|e| &e.item) else {
                panic!("{name}: first line is not session_meta");
            };
            for (seq, line) in lines.iter().enumerate() {
                let envelope = line
                    .envelope()
                    .unwrap_or_else(|| panic!("{name}: line {seq}"));
                match meta.history_mode {
                    // Paginated files number every line from their base.
                    HistoryMode::Paginated => assert!(envelope.ordinal.is_some(), "{name}: {seq}"),
                    HistoryMode::Legacy => assert_eq!(envelope.ordinal, None, "{name}: {seq}"),
                    HistoryMode::Unknown(_) => panic!("{name}: unknown mode in the corpus"),
                }
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 8, "the corpus holds eight rollouts");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

#[test]
fn codexs_full_load_counts_items_and_parse_errors_as_codex_does() {
    use spool_compat::{CodexError, codex_load};
    // The file split on `\n` as Codex's reader splits it: a torn tail is a
    // line too (a parse error).
    let load = |file: &str| {
        let bytes = std::fs::read(example(file)).unwrap();
        let mut parts: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        let lines: Vec<RolloutLine> = parts
            .into_iter()
            .map(|p| RolloutLine::parse(bytes::Bytes::copy_from_slice(p)))
            .collect();
        codex_load(Path::new(file), &lines)
    };
    let counts = |file: &str| {
        let l = load(file).unwrap();
        (l.items, l.parse_errors, l.thread_id)
    };
    let some = |id: &str| Some(id.to_owned());
    // §8 case 1.
    assert_eq!(
        counts("modern-legacy-full.jsonl"),
        (33, 0, some("019f2a3b-4c5d-7e6f-8a9b-0c1d2e3f4a5b"))
    );
    assert_eq!(
        counts("paginated-mode.jsonl"),
        (15, 0, some("019f2b00-1111-7222-8333-444455556666"))
    );
    // §8 cases 4–9: unknown types and events are errors, an unknown
    // response item is an item, ghost snapshots vanish, garbage counts.
    assert_eq!(counts("unknown-future-types.jsonl").0, 6);
    assert_eq!(counts("unknown-future-types.jsonl").1, 3);
    // §8 case 16.
    assert_eq!(counts("torn-tail.jsonl").0, 7);
    assert_eq!(counts("torn-tail.jsonl").1, 1);
    // §8 case 48 and 2.13: older generations are all parse errors.
    assert_eq!(counts("legacy-v2-state-lines-2025-08.jsonl"), (0, 9, None));
    assert_eq!(counts("legacy-v0-bare-2025-05.jsonl"), (0, 5, None));
    // §8 case 37: the JSONL load itself is fine.
    assert_eq!(counts("paginated-duplicate-ordinal.jsonl").0, 8);
    // §8 case 21 and 23.
    assert_eq!(counts("missing-session-meta.jsonl").2, None);
    assert_eq!(
        counts("fork-legacy.jsonl").2,
        some("019f2f00-9999-7888-8777-666655554444")
    );
    // §8 case 26 and 10.
    assert!(matches!(
        load("unknown-history-mode.jsonl"),
        Err(CodexError::UnknownHistoryMode { .. })
    ));
    assert!(matches!(
        load("blank-only.jsonl"),
        Err(CodexError::Empty { .. })
    ));
    // §8 cases 11, 13, 27 on single lines after a header.
    let header = std::fs::read_to_string(example("paginated-mode.jsonl")).unwrap();
    let header = header.lines().next().unwrap().to_owned();
    for (line, items, errors) in [
        (
            r#"{"type":"event_msg","payload":{"type":"token_count"}}"#,
            1,
            1,
        ),
        (
            r#"{"timestamp":7,"type":"event_msg","payload":{"type":"token_count"}}"#,
            1,
            1,
        ),
        (
            r#"{"timestamp":"t","ordinal":"3","type":"event_msg","payload":{"type":"token_count"}}"#,
            1,
            1,
        ),
        (
            r#"{"timestamp":"t","type":"turn_context","payload":{"cwd":"relative/dir","model":"m"}}"#,
            1,
            1,
        ),
        (
            r#"{"timestamp":"t","type":"turn_context","payload":{"cwd":"/abs","model":"m"}}"#,
            2,
            0,
        ),
        (&header.replace("\"paginated\"", "\"quantum_v9\""), 1, 1),
    ] {
        let lines = [
            RolloutLine::parse(header.clone().into()),
            RolloutLine::parse(line.to_owned().into()),
        ];
        let l = codex_load(Path::new("x"), &lines).unwrap();
        assert_eq!((l.items, l.parse_errors), (items, errors), "{line}");
    }
}
