//! Goal: a JSONL file with a 1 GiB line opens and reads in bounded memory
//! (RELIABILITY.md R13: peak extra memory ≤ `max_line_bytes` + 1 MiB).
//! Method: its own test binary, so a counting global allocator sees only
//! this test; the 1 GiB line is a sparse file (no disk space, no write
//! time), between JSON lines. Open in both modes, as a complete line and as
//! a torn last line, and read every record, measuring the allocator's peak
//! above what was live before each step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use spool_backends::{JsonlBackend, JsonlConfig, StdFs};
use spool_engine::{Backend, CorruptKind, Error, LineFault, ReadRange, Seq};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
#[expect(unsafe_code, reason = "a GlobalAlloc impl is unsafe by definition")]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the peak bytes allocated above what
/// was live when it started.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - base)
}

const GIB: u64 = 1 << 30;
const MAX_LINE: usize = 8 << 20;

#[test]
fn a_one_gib_line_costs_at_most_the_line_bound_plus_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bound = MAX_LINE + (1 << 20);
    let config = |base: JsonlConfig| JsonlConfig {
        max_line_bytes: MAX_LINE,
        ..base
    };

    // `{"a":1}\n`, then 1 GiB of one line (a JSON string with a hole in
    // it), then `{"b":2}\n`; and a copy whose huge line is the torn end.
    let path = dir.path().join("huge.jsonl");
    let torn_path = dir.path().join("torn.jsonl");
    for (p, tail) in [(&path, &b"\"}\n{\"b\":2}\n"[..]), (&torn_path, &b"\"}"[..])] {
        let f = std::fs::File::create(p).unwrap();
        f.write_all_at(b"{\"a\":1}\n{\"s\":\"", 0).unwrap();
        f.write_all_at(tail, 8 + GIB).unwrap();
    }

    let (lenient, peak) = peak_of(|| {
        JsonlBackend::open_read_only(Arc::new(StdFs), &path, config(JsonlConfig::foreign()))
            .unwrap()
    });
    assert!(peak <= bound, "open took {peak} bytes, bound {bound}");
    assert_eq!(lenient.next_seq(), Seq(3));
    assert_eq!(lenient.line_fault(Seq(1)), Some(LineFault::TooLong));
    let invalid = lenient.invalid_lines();
    assert_eq!(invalid.len(), 1);
    assert_eq!((invalid[0].line, invalid[0].offset), (2, 8));
    assert!(invalid[0].len > GIB);

    let (records, peak) = peak_of(|| {
        rt.block_on(lenient.read(ReadRange {
            from: Seq(0),
            to: Seq(3),
            max_records: 10,
            max_bytes: usize::MAX,
        }))
        .unwrap()
    });
    assert!(peak <= bound, "read took {peak} bytes, bound {bound}");
    assert_eq!(&records[0].payload[..], b"{\"a\":1}");
    assert!(
        records[1].payload.is_empty(),
        "an over-long line is never read"
    );
    assert_eq!(&records[2].payload[..], b"{\"b\":2}");

    let (strict, peak) = peak_of(|| {
        JsonlBackend::open_read_only(Arc::new(StdFs), &path, config(JsonlConfig::owned()))
    });
    assert!(
        peak <= bound,
        "strict open took {peak} bytes, bound {bound}"
    );
    match strict {
        Err(Error::Corrupt {
            offset: 8,
            kind:
                CorruptKind::InvalidLine {
                    line: 2,
                    fault: LineFault::TooLong,
                    ..
                },
            ..
        }) => {}
        other => panic!("strict open of a 1 GiB line gave {other:?}"),
    }

    // As the unterminated end: a torn tail, cut by an owning writer.
    let (writer, peak) = peak_of(|| {
        JsonlBackend::open(Arc::new(StdFs), &torn_path, config(JsonlConfig::owned())).unwrap()
    });
    assert!(
        peak <= bound,
        "writer open took {peak} bytes, bound {bound}"
    );
    let tail = writer.report().torn_tail.unwrap();
    assert_eq!((tail.offset, tail.fault), (8, Some(LineFault::TooLong)));
    assert_eq!(writer.next_seq(), Seq(1));
    assert_eq!(std::fs::metadata(&torn_path).unwrap().len(), 8);
}
