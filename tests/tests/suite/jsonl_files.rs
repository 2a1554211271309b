//! Goal: every real Codex rollout and every example file opens as a JSONL
//! log and reads back byte for byte, with the line-level outcome the format
//! spec gives (issue 5, "Done when").
//! Method: the genuine Codex 0.169 corpus is read where it lies (beside the
//! workspace, or `SPOOL_SHARED`; never copied into the repository), the §8
//! examples from `fixtures/codex/examples`; each is opened read-only in lenient
//! mode (nothing written), its records and torn tail are joined back into
//! the file's exact bytes, and the invalid lines, blank lines and torn tail
//! are compared with ROLLOUT-FORMAT.md §8 / examples/README.md. Strict mode
//! and the two writer policies are checked on copies.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spool_backends::jsonl::{InvalidLine, TailAction};
use spool_backends::{JsonlBackend, JsonlConfig, StdFs};
use spool_engine::{Backend, CorruptKind, Error, LineFault, NewRecord, ReadRange, Record, Seq};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codex")
}

/// The genuine Codex corpus: never copied into the repository (it carries
/// Codex's own prompt text), found beside the workspace (`../shared`) or at
/// `SPOOL_SHARED`. `None`, said loudly, where it is missing; under
/// `CI=true` a missing corpus fails the run instead.
pub(crate) fn codex_corpus() -> Option<PathBuf> {
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
        "the Codex corpus is missing at {} (set SPOOL_SHARED); CI must not skip it",
        corpus.display()
    );
    eprintln!(
        "SKIPPED: no Codex corpus at {} (set SPOOL_SHARED to run the genuine-rollout cases)",
        corpus.display()
    );
    None
}

async fn read_all(b: &JsonlBackend) -> Vec<Record> {
    b.read(ReadRange::all_from(Seq(0))).await.unwrap()
}

/// Opens `path` read-only and lenient, and checks it reads back as the
/// file's bytes: every record's line, then the torn tail's bytes.
async fn lossless(path: &Path) -> JsonlBackend {
    let original = std::fs::read(path).unwrap();
    let b = JsonlBackend::open_read_only(Arc::new(StdFs), path, JsonlConfig::foreign()).unwrap();
    let mut rebuilt = Vec::with_capacity(original.len());
    for (i, record) in read_all(&b).await.iter().enumerate() {
        assert_eq!(record.seq, Seq(i as u64));
        rebuilt.extend_from_slice(&record.payload);
        rebuilt.push(b'\n');
    }
    if let Some(tail) = b.report().torn_tail {
        assert_eq!(tail.offset, rebuilt.len() as u64, "{}", path.display());
        rebuilt.extend_from_slice(&original[rebuilt.len()..]);
    }
    assert_eq!(
        rebuilt,
        original,
        "{} is not read back byte for byte",
        path.display()
    );
    assert_eq!(
        std::fs::read(path).unwrap(),
        original,
        "reading changed the file"
    );
    b
}

fn rollouts(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rollouts(&path, out);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_genuine_codex_rollout_reads_back_byte_for_byte() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let mut files = Vec::new();
    rollouts(&corpus, &mut files);
    // Five homes, eight rollouts and a session index (corpus/README.md).
    assert_eq!(files.len(), 9, "{files:?}");
    for path in files {
        let b = lossless(&path).await;
        // Codex writes whole lines of JSON and nothing else.
        assert_eq!(b.invalid_lines(), vec![], "{}", path.display());
        assert_eq!(b.report().torn_tail, None, "{}", path.display());
        // So the strict reader agrees.
        let strict =
            JsonlBackend::open_read_only(Arc::new(StdFs), &path, JsonlConfig::owned()).unwrap();
        assert_eq!(strict.next_seq(), b.next_seq());
    }
}

/// What one example must give: records, torn tail (offset, length, fault),
/// the flagged lines (1-based line, offset, fault), and strict mode's answer.
struct Expect {
    file: &'static str,
    records: u64,
    torn: Option<(u64, u64, Option<LineFault>)>,
    invalid: &'static [(u64, u64, LineFault)],
    strict: Strict,
}

enum Strict {
    /// Opens with the same records.
    Same,
    /// Opens with this many records (bad lines at the end are a torn tail).
    Records(u64),
    /// Refuses: `Corrupt` at this offset, naming this line and fault.
    Corrupt(u64, u64, LineFault),
}

/// examples/README.md and ROLLOUT-FORMAT.md §8 (cases 10, 16, 18 and the
/// session index's "last line ignored") say what is in each file; the JSONL
/// layer reports lines, and compat decides what they mean.
const EXAMPLES: &[Expect] = &[
    Expect {
        // Case 10: whitespace only.
        file: "blank-only.jsonl",
        records: 3,
        torn: None,
        invalid: &[
            (1, 0, LineFault::Blank),
            (2, 1, LineFault::Blank),
            (3, 5, LineFault::Blank),
        ],
        strict: Strict::Records(0),
    },
    Expect {
        file: "fork-legacy.jsonl",
        records: 10,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        file: "legacy-v0-bare-2025-05.jsonl",
        records: 5,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        file: "legacy-v2-state-lines-2025-08.jsonl",
        records: 9,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        file: "missing-session-meta.jsonl",
        records: 1,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        file: "modern-legacy-full.jsonl",
        records: 33,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        file: "paginated-duplicate-ordinal.jsonl",
        records: 8,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        file: "paginated-mode.jsonl",
        records: 15,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        // "last line ignored": it is not JSON.
        file: "session_index.jsonl",
        records: 4,
        torn: None,
        invalid: &[(4, 337, LineFault::NotJson)],
        strict: Strict::Records(3),
    },
    Expect {
        // Case 18: the fragment ends inside a 3-byte UTF-8 sequence.
        file: "torn-tail-invalid-utf8.jsonl",
        records: 7,
        torn: Some((2292, 122, Some(LineFault::InvalidUtf8))),
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        // Case 16: 7 items and the cut-off last line.
        file: "torn-tail.jsonl",
        records: 7,
        torn: Some((2292, 124, Some(LineFault::NotJson))),
        invalid: &[],
        strict: Strict::Same,
    },
    Expect {
        // "garbage, blank line" among unknown types (which are JSON).
        file: "unknown-future-types.jsonl",
        records: 11,
        torn: None,
        invalid: &[(4, 858, LineFault::Blank), (8, 1211, LineFault::NotJson)],
        strict: Strict::Corrupt(858, 4, LineFault::Blank),
    },
    Expect {
        file: "unknown-history-mode.jsonl",
        records: 3,
        torn: None,
        invalid: &[],
        strict: Strict::Same,
    },
];

#[tokio::test]
async fn every_example_gives_its_line_level_outcome() {
    let dir = fixtures().join("examples");
    let mut listed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "jsonl"))
        .collect();
    listed.sort_unstable();
    let covered: Vec<String> = EXAMPLES.iter().map(|e| e.file.to_string()).collect();
    assert_eq!(listed, covered, "every example file has its expectation");

    for expect in EXAMPLES {
        let path = dir.join(expect.file);
        let b = lossless(&path).await;
        let name = expect.file;
        assert_eq!(b.next_seq(), Seq(expect.records), "{name}");
        let torn = b.report().torn_tail.map(|t| (t.offset, t.len, t.fault));
        assert_eq!(torn, expect.torn, "{name}");
        let invalid: Vec<(u64, u64, LineFault)> = b
            .invalid_lines()
            .iter()
            .map(|l: &InvalidLine| {
                assert_eq!(l.seq, Seq(l.line - 1));
                (l.line, l.offset, l.fault)
            })
            .collect();
        assert_eq!(invalid, expect.invalid, "{name}");
        for &(line, _, fault) in expect.invalid {
            assert_eq!(b.line_fault(Seq(line - 1)), Some(fault), "{name}");
        }

        let strict = JsonlBackend::open_read_only(Arc::new(StdFs), &path, JsonlConfig::owned());
        match (&expect.strict, strict) {
            (Strict::Same, Ok(s)) => assert_eq!(s.next_seq(), Seq(expect.records), "{name}"),
            (Strict::Records(n), Ok(s)) => assert_eq!(s.next_seq(), Seq(*n), "{name}"),
            (
                Strict::Corrupt(offset, line, fault),
                Err(Error::Corrupt {
                    offset: got,
                    kind:
                        CorruptKind::InvalidLine {
                            line: got_line,
                            fault: got_fault,
                            ..
                        },
                    ..
                }),
            ) => assert_eq!(
                (got, got_line, got_fault),
                (*offset, *line, *fault),
                "{name}"
            ),
            (_, other) => panic!("{name}: strict mode gave {other:?}"),
        }
    }
}

fn copy_example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(fixtures().join("examples").join(name), &path).unwrap();
    (dir, path)
}

#[tokio::test]
async fn a_writer_on_a_foreign_file_ends_its_torn_line_the_way_codex_does() {
    // Case 17: appending first writes one `\n`; the fragment stays as its
    // own invalid line, and the next load has one more item.
    let (_dir, path) = copy_example("torn-tail.jsonl");
    let original = std::fs::read(&path).unwrap();
    let b = JsonlBackend::open(Arc::new(StdFs), &path, JsonlConfig::foreign()).unwrap();
    assert_eq!(b.report().tail_action, TailAction::Terminated);
    assert_eq!(b.next_seq(), Seq(8));
    assert_eq!(b.line_fault(Seq(7)), Some(LineFault::NotJson));
    let line = Bytes::from_static(br#"{"timestamp":"2026-08-13T09:20:00.000Z","type":"x"}"#);
    b.append(
        Seq(8),
        &[NewRecord {
            timestamp_ms: 0,
            payload: line.clone(),
        }],
    )
    .await
    .unwrap();
    b.close().await.unwrap();
    let expected = [&original[..], b"\n", &line, b"\n"].concat();
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    let again = lossless(&path).await;
    assert_eq!(again.next_seq(), Seq(9));
    assert_eq!(again.report().torn_tail, None);
}

#[tokio::test]
async fn a_writer_on_an_owned_file_cuts_the_torn_line() {
    let (_dir, path) = copy_example("torn-tail.jsonl");
    let original = std::fs::read(&path).unwrap();
    let b = JsonlBackend::open(Arc::new(StdFs), &path, JsonlConfig::owned()).unwrap();
    assert_eq!(b.report().tail_action, TailAction::Truncated);
    assert_eq!(b.next_seq(), Seq(7));
    b.close().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), &original[..2292]);
}
