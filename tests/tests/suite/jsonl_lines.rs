//! Goal: every kind of line a JSONL file can hold has one defined, tested
//! outcome, in both line modes, for readers and for writers
//! (RELIABILITY.md R13; F16–F18).
//! Method: a table of named files with literal expectations (bad JSON in
//! the middle and at the end, no final `\n`, invalid UTF-8, CRLF, BOM,
//! blank lines, a NUL-filled tail, a line of `max_line_bytes + 1`), then a
//! proptest that builds files from random sequences of those lines and
//! checks the backend against a line model: lossless records, the flagged
//! lines, the torn tail, strict mode's error (line number and offset) or
//! cut, and what each writer policy leaves on disk. Never a panic.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use spool_backends::jsonl::TailAction;
use spool_backends::{JsonlBackend, JsonlConfig, SimFs};
use spool_engine::{
    Backend, CorruptKind, Error, LineFault, NewRecord, OpenMode, ReadRange, Seq, Vfs,
};

const MAX: usize = 64;
const PATH: &str = "/log.jsonl";

fn config(base: JsonlConfig) -> JsonlConfig {
    JsonlConfig {
        max_line_bytes: MAX,
        ..base
    }
}

fn sim_with(bytes: &[u8]) -> Arc<SimFs> {
    let sim = Arc::new(SimFs::new(0));
    let f = sim.open(Path::new(PATH), OpenMode::Create).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    sim
}

fn on_disk(sim: &SimFs) -> Vec<u8> {
    let f = sim.open(Path::new(PATH), OpenMode::Read).unwrap();
    f.read_vec_at(usize::try_from(f.len().unwrap()).unwrap(), 0)
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

async fn payloads(b: &JsonlBackend) -> Vec<Bytes> {
    b.read(ReadRange::all_from(Seq(0)))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.payload)
        .collect()
}

/// What strict mode makes of a file.
#[derive(Debug, PartialEq, Eq)]
enum Strict {
    /// Opens with this many records.
    Records(u64),
    /// `Corrupt` at this offset, naming this 1-based line and fault.
    Corrupt(u64, u64, LineFault),
}

fn strict_outcome(sim: &Arc<SimFs>) -> Strict {
    match JsonlBackend::open_read_only(sim.clone(), PATH, config(JsonlConfig::owned())) {
        Ok(b) => Strict::Records(b.next_seq().0),
        Err(Error::Corrupt {
            object,
            offset,
            kind: CorruptKind::InvalidLine { line, fault, .. },
        }) => {
            assert_eq!(object, PATH, "the error names the file");
            Strict::Corrupt(offset, line, fault)
        }
        Err(e) => panic!("strict open failed otherwise: {e}"),
    }
}

/// One named file: lenient records, the flagged (1-based line, fault)
/// pairs, the torn tail (offset, fault), and strict mode's outcome.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    records: u64,
    flagged: Vec<(u64, LineFault)>,
    torn: Option<(u64, Option<LineFault>)>,
    strict: Strict,
}

#[expect(clippy::too_many_lines, reason = "one table, one entry per line kind")]
fn cases() -> Vec<Case> {
    let long = format!("\"{}\"", "x".repeat(MAX - 1)); // MAX + 1 bytes
    vec![
        Case {
            name: "clean",
            bytes: b"{\"a\":1}\n[2]\n".to_vec(),
            records: 2,
            flagged: vec![],
            torn: None,
            strict: Strict::Records(2),
        },
        Case {
            name: "bad JSON in the middle",
            bytes: b"{\"a\":1}\n{\"a\":\n[2]\n".to_vec(),
            records: 3,
            flagged: vec![(2, LineFault::NotJson)],
            torn: None,
            strict: Strict::Corrupt(8, 2, LineFault::NotJson),
        },
        Case {
            name: "bad JSON at the end",
            bytes: b"{\"a\":1}\n{\"a\":\n".to_vec(),
            records: 2,
            flagged: vec![(2, LineFault::NotJson)],
            torn: None,
            strict: Strict::Records(1),
        },
        Case {
            name: "no final newline, complete JSON",
            bytes: b"{\"a\":1}\n{\"b\":2}".to_vec(),
            records: 1,
            flagged: vec![],
            torn: Some((8, None)),
            strict: Strict::Records(1),
        },
        Case {
            name: "no final newline, cut mid-value",
            bytes: b"{\"a\":1}\n{\"b\":".to_vec(),
            records: 1,
            flagged: vec![],
            torn: Some((8, Some(LineFault::NotJson))),
            strict: Strict::Records(1),
        },
        Case {
            name: "invalid UTF-8 in the middle",
            bytes: b"{\"a\":\"\xc3\x28\"}\n[2]\n".to_vec(),
            records: 2,
            flagged: vec![(1, LineFault::InvalidUtf8)],
            torn: None,
            strict: Strict::Corrupt(0, 1, LineFault::InvalidUtf8),
        },
        Case {
            name: "CRLF line endings are JSON whitespace",
            bytes: b"{\"a\":1}\r\n[2]\r\n".to_vec(),
            records: 2,
            flagged: vec![],
            torn: None,
            strict: Strict::Records(2),
        },
        Case {
            name: "a byte order mark",
            bytes: b"\xEF\xBB\xBF{\"a\":1}\n[2]\n".to_vec(),
            records: 2,
            flagged: vec![(1, LineFault::NotJson)],
            torn: None,
            strict: Strict::Corrupt(0, 1, LineFault::NotJson),
        },
        Case {
            name: "blank lines",
            bytes: b"\n{\"a\":1}\n \t\r\n[2]\n\n".to_vec(),
            records: 5,
            flagged: vec![
                (1, LineFault::Blank),
                (3, LineFault::Blank),
                (5, LineFault::Blank),
            ],
            torn: None,
            strict: Strict::Corrupt(0, 1, LineFault::Blank),
        },
        Case {
            name: "a NUL-filled tail",
            bytes: [&b"{\"a\":1}\n[2]\n"[..], &[0u8; 700]].concat(),
            records: 2,
            flagged: vec![],
            torn: Some((12, Some(LineFault::TooLong))),
            strict: Strict::Records(2),
        },
        Case {
            name: "a NUL-filled line then a torn one",
            bytes: b"{\"a\":1}\n\0\0\0\0\n{\"b\"".to_vec(),
            records: 2,
            flagged: vec![(2, LineFault::Nul)],
            torn: Some((13, Some(LineFault::NotJson))),
            strict: Strict::Records(1),
        },
        Case {
            name: "a line of max_line_bytes + 1 in the middle",
            bytes: format!("{{\"a\":1}}\n{long}\n[2]\n").into_bytes(),
            records: 3,
            flagged: vec![(2, LineFault::TooLong)],
            torn: None,
            strict: Strict::Corrupt(8, 2, LineFault::TooLong),
        },
        Case {
            name: "a line of max_line_bytes + 1 at the end",
            bytes: format!("{{\"a\":1}}\n{long}\n").into_bytes(),
            records: 2,
            flagged: vec![(2, LineFault::TooLong)],
            torn: None,
            strict: Strict::Corrupt(8, 2, LineFault::TooLong),
        },
        Case {
            name: "a line of exactly max_line_bytes",
            bytes: format!("\"{}\"\n", "x".repeat(MAX - 2)).into_bytes(),
            records: 1,
            flagged: vec![],
            torn: None,
            strict: Strict::Records(1),
        },
        Case {
            name: "empty file",
            bytes: Vec::new(),
            records: 0,
            flagged: vec![],
            torn: None,
            strict: Strict::Records(0),
        },
    ]
}

#[test]
fn every_kind_of_line_has_its_outcome() {
    let rt = runtime();
    for case in cases() {
        let name = case.name;
        let sim = sim_with(&case.bytes);
        let b = JsonlBackend::open_read_only(sim.clone(), PATH, config(JsonlConfig::foreign()))
            .unwrap();
        assert_eq!(b.next_seq(), Seq(case.records), "{name}");
        let flagged: Vec<(u64, LineFault)> = b
            .invalid_lines()
            .iter()
            .map(|l| (l.line, l.fault))
            .collect();
        assert_eq!(flagged, case.flagged, "{name}");
        let torn = b.report().torn_tail.map(|t| (t.offset, t.fault));
        assert_eq!(torn, case.torn, "{name}");
        // Lossless: the records' lines (over-long ones are never read)
        // and the torn tail are the file.
        let got = rt.block_on(payloads(&b));
        let mut rebuilt = Vec::new();
        for (seq, payload) in got.iter().enumerate() {
            if b.line_fault(Seq(seq as u64)) == Some(LineFault::TooLong) {
                assert!(payload.is_empty(), "{name}");
                let line = b
                    .invalid_lines()
                    .into_iter()
                    .find(|l| l.seq.0 == seq as u64);
                let line = line.unwrap();
                let at = usize::try_from(line.offset).unwrap();
                let len = usize::try_from(line.len).unwrap();
                rebuilt.extend_from_slice(&case.bytes[at..at + len]);
            } else {
                rebuilt.extend_from_slice(payload);
            }
            rebuilt.push(b'\n');
        }
        rebuilt.extend_from_slice(&case.bytes[rebuilt.len()..]);
        assert_eq!(rebuilt, case.bytes, "{name}");
        assert_eq!(strict_outcome(&sim), case.strict, "{name}");
        assert_eq!(on_disk(&sim), case.bytes, "{name}: a reader wrote");
    }
}

/// A generated line: its bytes (without `\n`) and what it is.
fn line() -> impl Strategy<Value = (Vec<u8>, Option<LineFault>)> {
    prop_oneof![
        4 => (0u32..1000, "[a-z ]{0,20}")
            .prop_map(|(n, s)| (format!(r#"{{"n":{n},"s":"{s}"}}"#).into_bytes(), None)),
        1 => Just((b"[1,2]\r".to_vec(), None)),
        1 => prop_oneof![Just(&b""[..]), Just(&b" \t"[..]), Just(&b"\r"[..])]
            .prop_map(|b| (b.to_vec(), Some(LineFault::Blank))),
        1 => prop_oneof![Just(&b"{\"n\":"[..]), Just(&b"1 2"[..]), Just(&b"\xEF\xBB\xBF{}"[..])]
            .prop_map(|b| (b.to_vec(), Some(LineFault::NotJson))),
        1 => prop_oneof![Just(&b"\"\xff\""[..]), Just(&b"\xc3"[..])]
            .prop_map(|b| (b.to_vec(), Some(LineFault::InvalidUtf8))),
        1 => (1usize..20).prop_map(|n| (vec![0u8; n], Some(LineFault::Nul))),
        1 => (MAX + 1..MAX * 3).prop_map(|n| (vec![b'7'; n], Some(LineFault::TooLong))),
    ]
}

/// The line model's answer for strict mode.
fn strict_model(lines: &[(Vec<u8>, Option<LineFault>)], starts: &[u64]) -> Strict {
    let records = lines
        .iter()
        .rposition(|(_, f)| f.is_none())
        .map_or(0, |i| i + 1);
    match lines
        .iter()
        .enumerate()
        .find(|(i, (_, f))| f.is_some() && (*i < records || *f == Some(LineFault::TooLong)))
    {
        Some((i, (_, f))) => Strict::Corrupt(starts[i], i as u64 + 1, f.unwrap()),
        None => Strict::Records(records as u64),
    }
}

#[test]
fn random_files_match_the_line_model_in_every_mode() {
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = runtime();
    let strategy = (
        proptest::collection::vec(line(), 0..12),
        proptest::option::of(line()),
    );
    runner
        .run(&strategy, |(lines, fragment)| {
            // A fragment is a last line without its `\n` (an empty one is none).
            let fragment = fragment.filter(|(b, _)| !b.is_empty());
            let mut bytes = Vec::new();
            let mut starts = Vec::new();
            for (line, _) in &lines {
                starts.push(bytes.len() as u64);
                bytes.extend_from_slice(line);
                bytes.push(b'\n');
            }
            let complete = bytes.len();
            if let Some((f, _)) = &fragment {
                bytes.extend_from_slice(f);
            }
            let sim = sim_with(&bytes);

            // Lenient reader: every complete line, flagged as generated.
            let b = JsonlBackend::open_read_only(sim.clone(), PATH, config(JsonlConfig::foreign()))
                .unwrap();
            prop_assert_eq!(b.next_seq(), Seq(lines.len() as u64));
            let got = rt.block_on(payloads(&b));
            for (seq, ((line, fault), payload)) in lines.iter().zip(&got).enumerate() {
                prop_assert_eq!(b.line_fault(Seq(seq as u64)), *fault);
                if *fault != Some(LineFault::TooLong) {
                    prop_assert_eq!(&payload[..], &line[..]);
                }
            }
            let torn = b.report().torn_tail.map(|t| (t.offset, t.fault));
            prop_assert_eq!(torn, fragment.as_ref().map(|(_, f)| (complete as u64, *f)));

            // Strict reader.
            let strict = strict_outcome(&sim);
            prop_assert_eq!(&strict, &strict_model(&lines, &starts));

            // Owning writer: cuts back to the strict records, or refuses.
            let w = JsonlBackend::open(sim.clone(), PATH, config(JsonlConfig::owned()));
            match (&strict, w) {
                (Strict::Records(n), Ok(w)) => {
                    let keep = starts
                        .get(usize::try_from(*n).unwrap())
                        .map_or(complete, |s| usize::try_from(*s).unwrap());
                    prop_assert_eq!(on_disk(&sim), bytes[..keep].to_vec());
                    let cut = keep < bytes.len();
                    prop_assert_eq!(w.report().tail_action == TailAction::Truncated, cut);
                    let new = Bytes::from_static(b"{\"new\":true}");
                    rt.block_on(w.append(
                        Seq(*n),
                        &[NewRecord {
                            timestamp_ms: 0,
                            payload: new.clone(),
                        }],
                    ))
                    .unwrap();
                    rt.block_on(w.close()).unwrap();
                    let again = strict_outcome(&sim);
                    prop_assert_eq!(again, Strict::Records(n + 1));
                }
                (Strict::Corrupt(..), Err(Error::Corrupt { .. })) => {
                    prop_assert_eq!(on_disk(&sim), bytes.clone(), "refused, unchanged");
                }
                (want, got) => prop_assert!(false, "strict {:?} but writer {:?}", want, got.err()),
            }

            // Foreign writer on the original: ends the fragment with `\n`.
            let sim = sim_with(&bytes);
            let w = JsonlBackend::open(sim.clone(), PATH, config(JsonlConfig::foreign())).unwrap();
            let ended = fragment.is_some();
            prop_assert_eq!(w.report().tail_action == TailAction::Terminated, ended);
            prop_assert_eq!(w.next_seq(), Seq(lines.len() as u64 + u64::from(ended)));
            if let Some((_, fault)) = &fragment {
                prop_assert_eq!(w.line_fault(Seq(lines.len() as u64)), *fault);
            }
            let mut expected = bytes.clone();
            if ended {
                expected.push(b'\n');
            }
            prop_assert_eq!(on_disk(&sim), expected);
            Ok(())
        })
        .unwrap();
}
