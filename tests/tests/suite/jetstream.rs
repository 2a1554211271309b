//! Goal: the JetStream backend on one real `nats-server` keeps what issue 11
//! asks beyond conformance: blobs larger than a message, typed errors for
//! foreign or damaged messages (naming subject and stream seq), exactly one
//! winner per seq between two writer processes, and bounded, typed failure
//! when the server is paused, stopped or absent.
//! Method: servers on free loopback ports (`spool_tests::nats`); foreign
//! messages are published with the plain NATS client, beside spool.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spool_backends::{JetStream, JetStreamBackend, JetStreamConfig, JetStreamStorage};
use spool_engine::{Backend, Error, Log, LogConfig, LogId, ReadRange, Seq, Storage, frame};
use spool_tests::nats::{self, NatsServer, free_port, runtime};

const CHILD: &str = env!("CARGO_BIN_EXE_spool-test-child");
/// Seqs each racing writer must win.
const EACH: usize = 150;

fn id(s: &str) -> LogId {
    LogId::new(s).unwrap()
}

#[test]
fn blobs_larger_than_a_message_round_trip_and_replace_whole() {
    let Some(server) = NatsServer::start("jetstream blobs", Some(16 << 10)) else {
        return;
    };
    runtime().block_on(async {
        let js = nats::connect(vec![server.url()], "blobs", 1).await;
        let storage = JetStreamStorage::new(js.clone());
        let name = id("_snapshot");
        assert_eq!(storage.get_blob(&name).await.unwrap(), None);
        let big: Bytes = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        storage.put_blob(&name, big.clone()).await.unwrap();
        assert_eq!(storage.get_blob(&name).await.unwrap(), Some(big));
        let small = Bytes::from_static(b"{\"v\":2}");
        storage.put_blob(&name, small.clone()).await.unwrap();
        assert_eq!(storage.get_blob(&name).await.unwrap(), Some(small));
        storage.put_blob(&name, Bytes::new()).await.unwrap();
        assert_eq!(storage.get_blob(&name).await.unwrap(), Some(Bytes::new()));

        // The older puts' chunks are purged: one chunk (the empty one) is left.
        let client = async_nats::connect(server.url()).await.unwrap();
        let context = async_nats::jetstream::new(client);
        let stream = context.get_stream("blobs").await.unwrap();
        let mut left = 0;
        let mut from = 1;
        while let Ok(m) = stream
            .get_first_raw_message_by_subject("blobs.chunk._snapshot", from)
            .await
        {
            left += 1;
            from = m.sequence + 1;
        }
        assert_eq!(left, 1, "chunks left after three puts: {left}");

        // Racing puts (as two closing writers' snapshots): one wins whole,
        // and the blob always reads back as one of them.
        for round in 0..20u8 {
            let a: Bytes = vec![round; 40_000].into();
            let b: Bytes = vec![round.wrapping_add(100); 50_000].into();
            let (ra, rb) = tokio::join!(
                storage.put_blob(&name, a.clone()),
                storage.put_blob(&name, b.clone())
            );
            ra.unwrap();
            rb.unwrap();
            let got = storage.get_blob(&name).await.unwrap().unwrap();
            assert!(
                got == a || got == b,
                "round {round}: a blob of {} bytes",
                got.len()
            );
        }

        // A read-only storage refuses to write.
        let reader = JetStreamStorage::read_only(js);
        assert!(matches!(
            reader.put_blob(&name, Bytes::new()).await,
            Err(Error::ReadOnly { .. })
        ));
    });
}

#[test]
fn foreign_and_damaged_messages_are_typed_errors_naming_subject_and_stream_seq() {
    let Some(server) = NatsServer::start("jetstream bad input", None) else {
        return;
    };
    runtime().block_on(async {
        let js = nats::connect(vec![server.url()], "bad", 1).await;
        let backend = JetStreamBackend::open(&js, &id("x")).await.unwrap();
        let log = Log::open(id("x"), Arc::new(backend), LogConfig::default()).unwrap();
        log.append_batch(vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")])
            .await
            .unwrap();
        log.close().await.unwrap();

        let client = async_nats::connect(server.url()).await.unwrap();
        let context = async_nats::jetstream::new(client);
        let publish = |headers: async_nats::HeaderMap, body: Vec<u8>| {
            let context = context.clone();
            async move {
                context
                    .publish_with_headers("bad.log.x", headers, body.into())
                    .await
                    .unwrap()
                    .await
                    .unwrap()
                    .sequence
            }
        };
        // A message without spool's headers, on the log's subject.
        let foreign = publish(async_nats::HeaderMap::new(), b"hello".to_vec()).await;
        let err = JetStreamBackend::open(&js, &id("x")).await.unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("message {foreign} (subject bad.log.x)"))
                && text.contains("Spool-Format"),
            "{text}"
        );

        // A batch whose frame is cut short, on another log.
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Spool-Format", "1");
        headers.insert("Spool-Seq", "0");
        headers.insert("Spool-Count", "1");
        let mut body = Vec::new();
        frame::encode_into(
            &mut body,
            &frame::Frame {
                seq: Seq(0),
                timestamp_ms: 1,
                codec: spool_engine::CodecKind::Raw,
                batch_continues: false,
                payload: b"payload",
            },
        )
        .unwrap();
        body.truncate(body.len() - 3);
        let context2 = context.clone();
        let cut = context2
            .publish_with_headers("bad.log.y", headers, body.into())
            .await
            .unwrap()
            .await
            .unwrap()
            .sequence;
        let y = JetStreamBackend::open(&js, &id("y")).await.unwrap();
        assert_eq!(y.next_seq(), Seq(1));
        let err = y.read(ReadRange::all_from(Seq(0))).await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, Error::Corrupt { .. })
                && text.contains(&format!("message {cut} (subject bad.log.y)"))
                && text.contains("truncated frame"),
            "{text}"
        );
    });
}

#[test]
fn two_writer_processes_on_one_log_each_seq_has_exactly_one_winner() {
    let Some(server) = NatsServer::start("jetstream two writers", None) else {
        return;
    };
    race(&[server.url()], 1);
}

/// Two processes race `append_expecting` on one log of a stream with
/// `replicas` replicas on `urls`, `EACH` wins each: every seq must be won
/// exactly once, and hold the record of the process told it won it.
pub(crate) fn race(urls: &[String], replicas: usize) {
    let joined = urls.join(",");
    let spawn = |name: &str| {
        Command::new(CHILD)
            .args(["jetstream-race", &joined, "race", "shared", name])
            .arg(EACH.to_string())
            .arg(replicas.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let won = |child: std::process::Child| -> Vec<u64> {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "writer failed: {:?}", out.status);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.strip_prefix("won ").unwrap().parse().unwrap())
            .collect()
    };
    let (won_a, won_b) = (won(a), won(b));
    assert_eq!((won_a.len(), won_b.len()), (EACH, EACH));
    let mut all: Vec<u64> = won_a.iter().chain(&won_b).copied().collect();
    all.sort_unstable();
    let dense: Vec<u64> = (0..2 * EACH as u64).collect();
    assert_eq!(all, dense, "every seq won exactly once, no gap");

    runtime().block_on(async {
        let js = nats::connect(urls.to_vec(), "race", replicas).await;
        let backend = JetStreamBackend::open_read_only(&js, &id("shared"))
            .await
            .unwrap();
        let records = backend.read(ReadRange::all_from(Seq(0))).await.unwrap();
        assert_eq!(records.len(), 2 * EACH);
        // Each seq holds the record of the process that was told it won it.
        for (name, won) in [("a", &won_a), ("b", &won_b)] {
            for (i, seq) in won.iter().enumerate() {
                let payload = &records[usize::try_from(*seq).unwrap()].payload;
                assert_eq!(payload, format!("{name}-{i}").as_bytes(), "seq {seq}");
            }
        }
    });
}

#[test]
fn a_paused_stopped_or_absent_server_fails_in_bounded_time_with_a_typed_error() {
    let Some(mut server) = NatsServer::start("jetstream unavailable server", None) else {
        return;
    };
    let timeout = Duration::from_secs(1);
    let bound = timeout + Duration::from_secs(3);
    runtime().block_on(async {
        let mut config = JetStreamConfig::new(vec![server.url()], "down");
        config.timeout = timeout;
        let js = JetStream::connect(&config).await.unwrap();
        let backend = JetStreamBackend::open(&js, &id("x")).await.unwrap();
        let log = Log::open(id("x"), Arc::new(backend), LogConfig::default()).unwrap();
        log.append(Bytes::from_static(b"before")).await.unwrap();

        // Paused (SIGSTOP): the server holds the connection but never answers.
        let pid = server.pid().unwrap();
        signal(pid, "STOP");
        let started = Instant::now();
        let err = log.append(Bytes::from_static(b"paused")).await.unwrap_err();
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::TimedOut),
            "{err:?}"
        );
        // The outcome of that append is unknown: the log refuses more.
        assert!(matches!(
            log.append(Bytes::from_static(b"after")).await,
            Err(Error::Poisoned { .. })
        ));
        signal(pid, "CONT");

        // Stopped under a live connection: the append fails in bounded time.
        let js2 = JetStream::connect(&config).await.unwrap();
        let backend = JetStreamBackend::open(&js2, &id("y")).await.unwrap();
        let log = Log::open(id("y"), Arc::new(backend), LogConfig::default()).unwrap();
        log.append(Bytes::from_static(b"y0")).await.unwrap();
        server.kill();
        let started = Instant::now();
        let err = log.append(Bytes::from_static(b"y1")).await.unwrap_err();
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
        assert!(matches!(err, Error::Io { .. }), "{err:?}");

        // Stopped: a new connection is refused in bounded time.
        let started = Instant::now();
        let err = JetStream::connect(&config).await.unwrap_err();
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
        assert!(matches!(err, Error::Io { .. }), "{err:?}");

        // Nothing there at all.
        let absent = JetStreamConfig {
            servers: vec![format!("nats://127.0.0.1:{}", free_port())],
            ..config.clone()
        };
        let err = JetStream::connect(&absent).await.unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");

        // Back up: what was acknowledged is there, and a reopened log goes on.
        server.restart();
        let js = nats::connect(vec![server.url()], "down", 1).await;
        let backend = JetStreamBackend::open(&js, &id("x")).await.unwrap();
        let records = backend.read(ReadRange::all_from(Seq(0))).await.unwrap();
        assert_eq!(records[0].payload, &b"before"[..]);
        assert!(records.len() <= 2, "only what was sent: {records:?}");
    });
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

#[test]
fn a_reader_beside_a_log_removed_and_made_again_reads_the_new_log() {
    let Some(server) = NatsServer::start("jetstream remove and recreate", None) else {
        return;
    };
    runtime().block_on(async {
        let js = nats::connect(vec![server.url()], "again", 1).await;
        let storage = JetStreamStorage::new(js.clone());
        let old = storage.open(&id("x"), None).await.unwrap();
        let old_log = Log::open(id("x"), old, LogConfig::default()).unwrap();
        old_log
            .append_batch((0..3).map(|i| Bytes::from(format!("old-{i}"))))
            .await
            .unwrap();
        old_log.close().await.unwrap();
        // A reader that has read (and remembers) the old log.
        let reader = JetStreamBackend::open_read_only(&js, &id("x"))
            .await
            .unwrap();
        assert_eq!(
            reader
                .read(ReadRange::all_from(Seq(0)))
                .await
                .unwrap()
                .len(),
            3
        );

        storage.remove(&id("x")).await.unwrap();
        let new = storage.open(&id("x"), None).await.unwrap();
        let new_log = Log::open(id("x"), new, LogConfig::default()).unwrap();
        new_log
            .append_batch((0..2).map(|i| Bytes::from(format!("new-{i}"))))
            .await
            .unwrap();
        new_log.close().await.unwrap();

        assert_eq!(reader.refresh().await.unwrap(), Seq(2));
        let records = reader.read(ReadRange::all_from(Seq(0))).await.unwrap();
        let payloads: Vec<&[u8]> = records.iter().map(|r| &r.payload[..]).collect();
        assert_eq!(payloads, [&b"new-0"[..], b"new-1"]);
    });
}

#[test]
fn a_stream_whose_limits_would_drop_records_is_refused() {
    let Some(server) = NatsServer::start("jetstream unfit stream", None) else {
        return;
    };
    runtime().block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        let context = async_nats::jetstream::new(client);
        context
            .create_stream(async_nats::jetstream::stream::Config {
                name: "expiring".into(),
                subjects: vec!["expiring.>".into()],
                max_age: Duration::from_hours(1),
                allow_rollup: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let err = JetStream::connect(&JetStreamConfig::new(vec![server.url()], "expiring"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { .. }) && err.to_string().contains("max_age"),
            "{err}"
        );
    });
}
