//! Real NATS servers for the JetStream suites: each test starts its own
//! `nats-server` processes on free loopback ports with temporary store
//! directories, and kills them when done. Nothing listens beyond 127.0.0.1.
//!
//! Without a `nats-server` binary (on `PATH`, or `SPOOL_NATS_SERVER`) a
//! developer's run skips these suites with a loud message; under CI (`CI`
//! set) that is a failure instead, so CI never skips them.

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use spool_backends::{JetStream, JetStreamConfig};

/// The `nats-server` binary to run, if there is one. Panics under CI when
/// there is none; prints a loud skip notice otherwise.
pub fn binary(suite: &str) -> Option<PathBuf> {
    let found = std::env::var_os("SPOOL_NATS_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("nats-server"))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{suite}: nats-server is not installed (apt-get install nats-server); CI must not skip this suite"
        );
        eprintln!(
            "\n!!! SKIPPED {suite}: no nats-server on PATH or in SPOOL_NATS_SERVER; \
             install it (apt-get install nats-server) to run the JetStream suites !!!\n"
        );
    }
    found
}

/// A free TCP port on loopback (bound and released: another process could
/// take it meanwhile, which the start-up check would notice).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `nats-server` process with JetStream, killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    /// The client port.
    pub port: u16,
    /// Its directory: config, JetStream store, log.
    pub dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a single server; `None` (after the loud skip) without a binary.
    /// `max_payload` sets the server's message bound (default 1 MiB).
    pub fn start(suite: &str, max_payload: Option<usize>) -> Option<NatsServer> {
        let binary = binary(suite)?;
        let port = free_port();
        let mut extra = String::new();
        if let Some(bytes) = max_payload {
            writeln!(extra, "max_payload: {bytes}").unwrap();
        }
        Some(NatsServer::spawn(binary, port, "solo", &extra))
    }

    fn spawn(binary: PathBuf, port: u16, name: &str, extra: &str) -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("server.conf");
        let store = dir.path().join("jetstream");
        let text = format!(
            "listen: 127.0.0.1:{port}\nserver_name: {name}\n\
             jetstream {{\n  store_dir: \"{}\"\n}}\n{extra}",
            store.display()
        );
        std::fs::write(&config, text).unwrap();
        let mut server = NatsServer {
            binary,
            config,
            child: None,
            port,
            dir,
        };
        server.restart();
        server
    }

    /// Starts the process again (same port, same store), waiting until it
    /// accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "server {} is running", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server on port {} did not start; its log: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: the process dies without a chance to flush or say goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process runs (started and not killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// What the server logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of JetStream servers on loopback (routes between all of them).
#[derive(Debug)]
pub struct NatsCluster {
    /// The nodes, in start order.
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `n` clustered servers (with a `max_payload` other than the
    /// 1 MiB default, if given); `None` (after the loud skip) without a
    /// binary.
    pub fn start(suite: &str, n: usize, max_payload: Option<usize>) -> Option<NatsCluster> {
        let binary = binary(suite)?;
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route)| format!("nats://127.0.0.1:{route}"))
            .collect();
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, (port, route))| {
                let mut extra = format!(
                    "cluster {{\n  name: spool\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n}}\n",
                    routes.join(", ")
                );
                if let Some(bytes) = max_payload {
                    writeln!(extra, "max_payload: {bytes}").unwrap();
                }
                NatsServer::spawn(binary.clone(), *port, &format!("n{i}"), &extra)
            })
            .collect();
        Some(NatsCluster { nodes })
    }

    /// Every node's client URL (the client fails over between them).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(NatsServer::url).collect()
    }
}

/// Connects to `stream` on `servers`, retrying for up to 60 s while the
/// servers come up (a cluster elects its JetStream meta leader first).
pub async fn connect(servers: Vec<String>, stream: &str, replicas: usize) -> JetStream {
    let mut config = JetStreamConfig::new(servers, stream);
    config.replicas = replicas;
    connect_with(config).await
}

/// [`connect`] with a configuration of the caller's.
pub async fn connect_with(config: JetStreamConfig) -> JetStream {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        match JetStream::connect(&config).await {
            Ok(js) => return js,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for JetStream ({e})");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("JetStream at {:?} never came up: {e}", config.servers),
        }
    }
}

/// A two-worker runtime for the JetStream suites (the client's connection
/// task runs beside the test's work).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
