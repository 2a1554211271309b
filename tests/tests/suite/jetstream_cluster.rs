//! Goal: on a 3-node JetStream cluster (a stream with 3 replicas), nothing
//! acknowledged is ever lost and a log never forks or gaps, whatever node
//! dies (issue 11's fault suite).
//! Method: three `nats-server` processes on loopback. A writer appends
//! batches whose payloads name their own seq (`r-<seq>`) at
//! `Durability::Data`; the stream leader is killed with SIGKILL 20 times
//! mid-stream; after an append fails (its outcome unknown, the log
//! poisoned), the writer reopens the log, reads its true end and goes on
//! from there, so the log must be exactly `r-0, r-1, …`: a prefix of what
//! was sent, holding every acknowledged seq. Then the whole cluster is
//! killed and restarted. Seeds are printed; `SEED=<n>` replays the batch
//! sizes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spool_backends::{JetStream, JetStreamBackend, JetStreamConfig, SimRng};
use spool_engine::{Backend, Durability, Log, LogConfig, LogId, ReadRange, Seq};
use spool_tests::nats::{self, NatsCluster, runtime};

/// The longest a failover may stall appends before the suite fails (the
/// documented bound in docs/jetstream.md is well inside it).
const PAUSE_MAX: Duration = Duration::from_secs(30);

fn seed() -> u64 {
    let seed = std::env::var("SEED").map_or(0x3E75_0000, |s| s.parse().expect("SEED is a number"));
    eprintln!("jetstream cluster suite: SEED={seed}");
    seed
}

fn payload(seq: u64) -> Bytes {
    Bytes::from(format!("r-{seq}"))
}

async fn connect(cluster: &NatsCluster, stream: &str) -> JetStream {
    let mut config = JetStreamConfig::new(cluster.urls(), stream);
    config.replicas = 3;
    config.timeout = Duration::from_secs(2);
    nats::connect_with(config).await
}

/// Opens the log as a writer, retrying while the cluster elects a leader.
async fn open_log(js: &JetStream, id: &LogId) -> Log {
    let deadline = Instant::now() + PAUSE_MAX;
    loop {
        match JetStreamBackend::open(js, id).await {
            Ok(backend) => {
                let config = LogConfig {
                    durability: Durability::Data,
                    ..LogConfig::default()
                };
                return Log::open(id.clone(), Arc::new(backend), config).unwrap();
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "log never reopened: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Appends one batch of `size` records at the log's end; `false` when the
/// append failed (the log is then poisoned and must be reopened).
async fn append_batch(log: &Log, size: u64, acked: &mut u64) -> bool {
    let next = log.next_seq();
    let batch: Vec<Bytes> = (next.0..next.0 + size).map(payload).collect();
    match log.append_expecting(next, batch).await {
        Ok(range) => {
            *acked = (*acked).max(range.end.0);
            true
        }
        Err(_) => false,
    }
}

/// Reads the whole log and checks it is `r-0, r-1, …` with at least
/// `acked` records (every acknowledged one).
async fn check_log(js: &JetStream, id: &LogId, acked: u64) -> u64 {
    let backend = JetStreamBackend::open_read_only(js, id).await.unwrap();
    let records = backend.read(ReadRange::all_from(Seq(0))).await.unwrap();
    assert!(
        records.len() as u64 >= acked,
        "lost acknowledged records: {} read, {acked} acknowledged",
        records.len()
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, Seq(i as u64));
        assert_eq!(r.payload, payload(i as u64), "seq {i}");
    }
    records.len() as u64
}

/// Waits until the stream has a leader and every follower is caught up
/// (so each fault meets a healed cluster), and returns the leader's index.
async fn healed_leader(js: &JetStream) -> usize {
    let deadline = Instant::now() + PAUSE_MAX;
    loop {
        if let Ok(health) = js.health().await
            && health.is_healed()
            && let Some(i) = health
                .leader
                .as_deref()
                .and_then(|name| name.strip_prefix('n'))
                .and_then(|i| i.parse().ok())
        {
            return i;
        }
        assert!(Instant::now() < deadline, "the stream never healed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn killing_the_stream_leader_20_times_loses_no_acknowledged_append() {
    let mut rng = SimRng::new(seed());
    let Some(mut cluster) = NatsCluster::start("jetstream leader kills", 3, None) else {
        return;
    };
    runtime().block_on(async {
        let js = connect(&cluster, "failover").await;
        let id = LogId::new("failover").unwrap();
        let mut log = open_log(&js, &id).await;
        let mut acked = 0;
        let mut worst_pause = Duration::ZERO;
        for round in 0..20 {
            for _ in 0..5 + rng.below(20) {
                assert!(
                    append_batch(&log, 1 + rng.below(8), &mut acked).await,
                    "round {round}: an append failed with every node up"
                );
            }
            let victim = healed_leader(&js).await;
            cluster.nodes[victim].kill();
            // Append on through the failover: a failed append poisons the
            // log; reopen it (learning the true end) and go on.
            let started = Instant::now();
            while !append_batch(&log, 1 + rng.below(8), &mut acked).await {
                assert!(
                    started.elapsed() < PAUSE_MAX,
                    "round {round}: appends stalled for {:?} after killing n{victim}",
                    started.elapsed()
                );
                log = open_log(&js, &id).await;
            }
            println!(
                "round {round}: killed leader n{victim}, appends resumed after {:?}",
                started.elapsed()
            );
            worst_pause = worst_pause.max(started.elapsed());
            cluster.nodes[victim].restart();
        }
        let len = check_log(&js, &id, acked).await;
        println!(
            "20 leader kills: {len} records, {acked} acknowledged, worst pause {worst_pause:?}"
        );
    });
}

#[test]
fn restarting_the_whole_cluster_keeps_everything_acknowledged() {
    let mut rng = SimRng::new(seed());
    let Some(mut cluster) = NatsCluster::start("jetstream cluster restart", 3, None) else {
        return;
    };
    let id = LogId::new("restart").unwrap();
    let acked = runtime().block_on(async {
        let js = connect(&cluster, "restart").await;
        let log = open_log(&js, &id).await;
        let mut acked = 0;
        for _ in 0..100 {
            assert!(append_batch(&log, 1 + rng.below(16), &mut acked).await);
        }
        acked
    });
    for node in &mut cluster.nodes {
        node.kill();
    }
    for node in &mut cluster.nodes {
        node.restart();
    }
    runtime().block_on(async {
        let js = connect(&cluster, "restart").await;
        healed_leader(&js).await;
        assert_eq!(check_log(&js, &id, acked).await, acked);
        // And the log takes appends again.
        let mut log = open_log(&js, &id).await;
        let mut more = acked;
        let deadline = Instant::now() + PAUSE_MAX;
        while !append_batch(&log, 3, &mut more).await {
            assert!(Instant::now() < deadline, "no append after the restart");
            log = open_log(&js, &id).await;
        }
        assert!(check_log(&js, &id, more).await >= acked + 3);
    });
}

/// The same race as on one server, on the replicated stream: nats-server
/// before 2.9.21 checks the expected last sequence against what the leader
/// has applied, not against proposals in flight, so this needs the
/// message-id guard (backends/src/jetstream/message.rs, `expecting`).
#[test]
fn two_writer_processes_on_a_replicated_log_never_fork_it() {
    let Some(cluster) = NatsCluster::start("jetstream cluster race", 3, None) else {
        return;
    };
    // Make the stream (R=3) and wait until it has a leader before racing.
    runtime().block_on(async {
        let js = connect(&cluster, "race").await;
        healed_leader(&js).await;
    });
    super::jetstream::race(&cluster.urls(), 3);
}
