//! Goal: promises P2, P3, P6 and P8 with real processes and real deaths
//! (RELIABILITY.md R8, R10). Method: a child writer reports acknowledged seqs
//! through a pipe and is SIGKILLed after a random delay, 1,000 times; several
//! children race to open one log as its writer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spool_backends::{SegmentedBackend, SegmentedConfig, SimRng, StdFs};
use spool_engine::{Backend, ReadRange, Seq};
use spool_tests::child::{BATCH, record};

const CHILD: &str = env!("CARGO_BIN_EXE_spool-test-child");

fn config() -> SegmentedConfig {
    SegmentedConfig {
        segment_bytes: 64 * 1024,
        ..SegmentedConfig::default()
    }
}

#[test]
fn r8_acknowledged_records_survive_a_thousand_kill_9s() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = SimRng::new(0x00DE_AD00);
    let kills = 1_000;
    let mut killed_while_writing = 0;
    for round in 0..kills {
        let mut child = Command::new(CHILD)
            .args(["write", dir.path().to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // One kill in five lands at a random moment of the child's start
        // (before, during or after recovery); the others a little after it
        // reports "ready", while it appends. Aiming at the appends keeps the
        // suite's power independent of how slow the machine starts processes.
        if rng.chance(1, 5) {
            std::thread::sleep(Duration::from_micros(rng.below(15_000)));
        } else {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            std::thread::sleep(Duration::from_micros(rng.below(3_000)));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let acked = stdout
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let log = SegmentedBackend::open(Arc::new(StdFs), dir.path(), config())
            .unwrap_or_else(|e| panic!("round {round}: open after kill -9: {e}"));
        let n = log.next_seq().0;
        assert!(
            n >= acked,
            "round {round}: {n} records, {acked} acknowledged"
        );
        if acked > 0 {
            killed_while_writing += 1;
        }
        assert_eq!(n % BATCH, 0, "round {round}: a torn batch survived");
        // Every record is the one written (checked fully every 50 rounds).
        if round % 50 == 0 || round == kills - 1 {
            let records = runtime
                .block_on(log.read(ReadRange {
                    from: Seq(0),
                    to: Seq(n),
                    max_records: usize::MAX,
                    max_bytes: usize::MAX,
                }))
                .unwrap();
            assert_eq!(records.len() as u64, n);
            for r in &records {
                assert_eq!(
                    r.payload,
                    record(r.seq.0).payload,
                    "round {round}: seq {}",
                    r.seq
                );
            }
        }
    }
    println!("{killed_while_writing} of {kills} kills landed while the child was appending");
    assert!(
        killed_while_writing > kills / 4,
        "too few kills hit a writing child: {killed_while_writing}"
    );
}

#[test]
fn r10_exactly_one_of_racing_processes_becomes_the_writer() {
    for trial in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let children: Vec<_> = (0..6)
            .map(|_| {
                Command::new(CHILD)
                    .args(["lock", dir.path().to_str().unwrap(), "300"])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<String> = children
            .into_iter()
            .map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap())
            .collect();
        let writers = outputs.iter().filter(|o| o.trim() == "writer").count();
        let locked = outputs.iter().filter(|o| o.trim() == "locked").count();
        // Children that start after the writer has let go may become writers
        // in turn; at any moment there is at most one, and at least one won.
        assert!(writers >= 1, "trial {trial}: {outputs:?}");
        assert_eq!(writers + locked, 6, "trial {trial}: {outputs:?}");
    }
}

#[test]
fn r10_the_lock_of_a_killed_writer_is_free_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = Command::new(CHILD)
        .args(["lock", dir.path().to_str().unwrap(), "60000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "writer");
    let err = SegmentedBackend::open(Arc::new(StdFs), dir.path(), config()).unwrap_err();
    assert!(matches!(err, spool_engine::Error::Locked { .. }), "{err:?}");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = Instant::now();
    loop {
        match SegmentedBackend::open(Arc::new(StdFs), dir.path(), config()) {
            Ok(_) => break,
            Err(spool_engine::Error::Locked { .. })
                if started.elapsed() < Duration::from_secs(1) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("lock not released within 1 s of SIGKILL: {e}"),
        }
    }
}

#[test]
fn r10_a_jsonl_file_has_one_writer_across_processes_and_a_killed_one_lets_go() {
    use spool_backends::{JsonlBackend, JsonlConfig};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rollout.jsonl");
    std::fs::write(&file, b"{\"a\":1}\n").unwrap();
    let mut holder = Command::new(CHILD)
        .args(["jsonl-lock", file.to_str().unwrap(), "60000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "writer");
    let err = JsonlBackend::open(Arc::new(StdFs), &file, JsonlConfig::owned()).unwrap_err();
    assert!(matches!(err, spool_engine::Error::Locked { .. }), "{err:?}");
    // Readers need no lock.
    let reader =
        JsonlBackend::open_read_only(Arc::new(StdFs), &file, JsonlConfig::owned()).unwrap();
    assert_eq!(
        spool_engine::Backend::next_seq(&reader),
        spool_engine::Seq(1)
    );
    // A second process racing for it is told so too.
    let racer = Command::new(CHILD)
        .args(["jsonl-lock", file.to_str().unwrap(), "0"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(racer.stdout).unwrap().trim(), "locked");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = Instant::now();
    loop {
        match JsonlBackend::open(Arc::new(StdFs), &file, JsonlConfig::owned()) {
            Ok(_) => break,
            Err(spool_engine::Error::Locked { .. })
                if started.elapsed() < Duration::from_secs(1) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("lock not released within 1 s of SIGKILL: {e}"),
        }
    }
    // Locking added no file beside the rollout.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn r11_a_jsonl_file_cut_by_another_program_under_a_reader_is_an_error_not_a_signal() {
    use spool_backends::{JsonlBackend, JsonlConfig};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rollout.jsonl");
    let lines: Vec<u8> = (0..2_000)
        .flat_map(|i| format!("{{\"i\":{i}}}\n").into_bytes())
        .collect();
    std::fs::write(&file, &lines).unwrap();
    let reader =
        JsonlBackend::open_read_only(Arc::new(StdFs), &file, JsonlConfig::foreign()).unwrap();
    // Another program (not spool) truncates it to a few lines.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(100)
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let got = rt.block_on(spool_engine::Backend::read(
        &reader,
        ReadRange {
            from: spool_engine::Seq(0),
            to: spool_engine::Seq(2_000),
            max_records: 2_000,
            max_bytes: usize::MAX,
        },
    ));
    assert!(
        matches!(got, Err(spool_engine::Error::Corrupt { .. })),
        "{got:?}"
    );
}

#[test]
fn r11_an_outside_truncation_of_a_mapped_segment_is_sigbus_as_documented() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(CHILD)
        .args(["sigbus", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(7),
        "expected SIGBUS; status {:?}, stdout {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}
