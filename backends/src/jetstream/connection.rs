//! The connection to one JetStream stream: the only code that talks to NATS.
//!
//! Every call is bounded by the configured timeout (the client's own, and a
//! hard one around it), so a stopped, unreachable or slow server is a typed
//! error in bounded time, never a hang.
//!
//! Reading a message by stream seq uses `DIRECT.GET` where the stream allows
//! it (spool's streams do): any replica answers, with the message's raw
//! bytes, several times faster than the leader's `STREAM.MSG.GET` (JSON
//! with the body in base64). A replica that lags holds a prefix of the
//! stream, so it answers a message that exists with its exact bytes, or
//! "not found": then the leader is asked, so a record is readable as soon
//! as its append returned. The log's end ("last message on the subject")
//! always comes from the leader.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::stream::{Config, RawMessageErrorKind, StorageType, Stream};
use async_nats::jetstream::{self, Context};
use async_nats::{HeaderMap, ServerAddr};
use bytes::Bytes;
use spool_engine::{Error, LogId, Result};

use super::message::{HEADER_ALLOWANCE, Stored};

/// Where a JetStream store lives and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JetStreamConfig {
    /// Server URLs (`nats://127.0.0.1:4222`); more than one for a cluster,
    /// so the client fails over when a node dies.
    pub servers: Vec<String>,
    /// The stream: the store's name on the cluster, and the first token of
    /// every subject it uses. 1-128 characters of `[A-Za-z0-9_-]`.
    pub stream: String,
    /// Replicas when the stream is created (1, or 3 on a cluster).
    pub replicas: usize,
    /// Bound on every request and publish acknowledgement. Default: 5 s.
    pub timeout: Duration,
    /// Create the stream when it does not exist (a reader never does).
    pub create: bool,
}

impl JetStreamConfig {
    /// A configuration for `stream` on the servers `servers`, with defaults.
    pub fn new(servers: Vec<String>, stream: impl Into<String>) -> JetStreamConfig {
        JetStreamConfig {
            servers,
            stream: stream.into(),
            replicas: 1,
            timeout: Duration::from_secs(5),
            create: true,
        }
    }
}

/// How long a `DIRECT.GET` may take before the leader is asked instead.
const DIRECT_GET_TIMEOUT: Duration = Duration::from_millis(500);

/// A stream's replication state (see [`JetStream::health`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHealth {
    /// The server name of the stream's leader (`None` while it elects one;
    /// a single server leads its own streams).
    pub leader: Option<String>,
    /// Replicas besides the leader.
    pub followers: usize,
    /// Of those, the ones online and caught up with the leader.
    pub followers_current: usize,
}

impl StreamHealth {
    /// A leader, and every follower caught up.
    pub fn is_healed(&self) -> bool {
        self.leader.is_some() && self.followers_current == self.followers
    }
}

/// A connection to one stream, shared by every log of a store on it.
#[derive(Clone, Debug)]
pub struct JetStream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    context: Context,
    stream: Stream,
    name: String,
    timeout: Duration,
    max_batch_bytes: usize,
    /// The stream answers `DIRECT.GET`.
    direct: bool,
}

impl JetStream {
    /// Connects and opens (or, with `create`, creates) the stream.
    pub async fn connect(config: &JetStreamConfig) -> Result<JetStream> {
        LogId::new(config.stream.as_str()).map_err(|e| Error::InvalidConfig {
            field: "stream",
            reason: e.to_string(),
        })?;
        if config.servers.is_empty() {
            return Err(Error::InvalidConfig {
                field: "servers",
                reason: "is empty; give at least one nats:// URL".into(),
            });
        }
        let addrs = config
            .servers
            .iter()
            .map(|s| s.parse::<ServerAddr>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::InvalidConfig {
                field: "servers",
                reason: format!("{:?}: {e}", config.servers),
            })?;
        // After a lost connection, try the other servers quickly and
        // without end: a dead node should cost a failover, not a backoff of
        // seconds. Each request stays bounded by `timeout` meanwhile.
        let options = async_nats::ConnectOptions::new()
            .connection_timeout(config.timeout)
            .request_timeout(Some(config.timeout))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(50 * u64::try_from(attempts.min(10)).unwrap_or(10))
            });
        let client = bounded(
            config.timeout,
            "connect",
            async_nats::connect_with_options(addrs, options),
        )
        .await?
        .map_err(|e| {
            remote(
                "connect",
                io::ErrorKind::ConnectionRefused,
                &config.stream,
                &e,
            )
        })?;
        let context = jetstream::ContextBuilder::new()
            .timeout(config.timeout)
            .ack_timeout(config.timeout)
            .build(client.clone());
        let stream = open_stream(&context, config).await?;
        let max_batch_bytes = client
            .server_info()
            .max_payload
            .saturating_sub(HEADER_ALLOWANCE);
        let direct = stream.cached_info().config.allow_direct;
        Ok(JetStream {
            inner: Arc::new(Inner {
                context,
                stream,
                name: config.stream.clone(),
                timeout: config.timeout,
                max_batch_bytes,
                direct,
            }),
        })
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.inner.name
    }

    /// The largest batch one message holds (the server's `max_payload` less
    /// room for headers).
    pub fn max_batch_bytes(&self) -> usize {
        self.inner.max_batch_bytes
    }

    /// The stream's replication state as its leader reports it: who leads,
    /// and which followers are caught up (operators, and the fault suite,
    /// which waits for a healed cluster before the next fault).
    pub async fn health(&self) -> Result<StreamHealth> {
        let info = bounded(
            self.inner.timeout,
            "stream info",
            self.inner.stream.get_info(),
        )
        .await?
        .map_err(|e| remote("stream info", io::ErrorKind::Other, &self.inner.name, &e))?;
        let cluster = info.cluster.unwrap_or_default();
        Ok(StreamHealth {
            leader: cluster.leader,
            followers: cluster.replicas.len(),
            followers_current: cluster
                .replicas
                .iter()
                .filter(|p| p.current && !p.offline)
                .count(),
        })
    }

    /// The subject of a log's batches.
    pub(crate) fn log_subject(&self, id: &LogId) -> String {
        format!("{}.log.{}", self.inner.name, id.as_str())
    }

    /// The subject of a blob's head (the message naming its chunks).
    pub(crate) fn blob_subject(&self, name: &LogId) -> String {
        format!("{}.blob.{}", self.inner.name, name.as_str())
    }

    /// The subject of a blob's chunks.
    pub(crate) fn chunk_subject(&self, name: &LogId) -> String {
        format!("{}.chunk.{}", self.inner.name, name.as_str())
    }

    /// Publishes a message and waits for the stream's acknowledgement
    /// (stored on a quorum of replicas). `Ok(None)`: the stream refused it
    /// because the subject's last message was not the expected one.
    pub(crate) async fn publish(
        &self,
        subject: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Option<PublishAck>> {
        let name = &self.inner.name;
        let publish = async {
            let ack = self
                .inner
                .context
                .publish_with_headers(subject.to_owned(), headers, body)
                .await?;
            ack.await
        };
        match bounded(self.inner.timeout, "publish", publish).await? {
            Ok(ack) => Ok(Some(ack)),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(None),
            Err(e) => {
                let kind = match e.kind() {
                    PublishErrorKind::TimedOut => io::ErrorKind::TimedOut,
                    PublishErrorKind::BrokenPipe => io::ErrorKind::BrokenPipe,
                    _ => io::ErrorKind::Other,
                };
                Err(remote("publish", kind, name, &e))
            }
        }
    }

    /// The first message on `subject` at or after stream seq `from`.
    ///
    /// `floor` is the stream seq of the subject's first message as the
    /// leader last said: a replica that has not applied a purge of the
    /// subject yet (its log removed and made again) still holds older
    /// messages, so an answer below the floor goes to the leader too.
    pub(crate) async fn next_on(
        &self,
        subject: &str,
        from: u64,
        floor: u64,
    ) -> Result<Option<Stored>> {
        if self.inner.direct {
            let get = self
                .inner
                .stream
                .direct_get_next_for_subject(subject.to_owned(), Some(from.max(1)));
            // A replica that lags, hangs or is cut off must not fail the
            // read while the leader is healthy: any answer but a message
            // (not found, an error, no answer in DIRECT_GET_TIMEOUT) goes
            // to the leader, which is bounded by the full timeout.
            let quick = self.inner.timeout.min(DIRECT_GET_TIMEOUT);
            if let Ok(Ok(m)) = tokio::time::timeout(quick, get).await
                && m.sequence >= floor
            {
                return Ok(Some(stored(m)));
            }
        }
        let get = self
            .inner
            .stream
            .raw_message_builder()
            .sequence(from.max(1))
            .next_by_subject(subject.to_owned())
            .send();
        self.got(bounded(self.inner.timeout, "read", get).await?)
    }

    /// The stream seq of the first message on `subject`, from the leader
    /// (0: none).
    pub(crate) async fn first_on(&self, subject: &str) -> Result<u64> {
        let get = self
            .inner
            .stream
            .raw_message_builder()
            .sequence(1)
            .next_by_subject(subject.to_owned())
            .send();
        Ok(self
            .got(bounded(self.inner.timeout, "read", get).await?)?
            .map_or(0, |m| m.sequence))
    }

    /// The last message on `subject`.
    pub(crate) async fn last_on(&self, subject: &str) -> Result<Option<Stored>> {
        let get = self
            .inner
            .stream
            .raw_message_builder()
            .last_by_subject(subject.to_owned())
            .send();
        self.got(bounded(self.inner.timeout, "read", get).await?)
    }

    fn got(
        &self,
        got: std::result::Result<
            async_nats::jetstream::message::StreamMessage,
            async_nats::jetstream::stream::RawMessageError,
        >,
    ) -> Result<Option<Stored>> {
        match got {
            Ok(m) => Ok(Some(stored(m))),
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(remote("read", io::ErrorKind::Other, &self.inner.name, &e)),
        }
    }

    /// Deletes the messages on `subject` (below stream seq `below`, if given;
    /// NATS reads a `below` of 0 or 1 as no bound at all, so callers never
    /// pass one).
    pub(crate) async fn purge(&self, subject: &str, below: Option<u64>) -> Result<()> {
        debug_assert!(below.is_none_or(|seq| seq > 1), "purge below {below:?}");
        let purge = self.inner.stream.purge().filter(subject.to_owned());
        let done = match below {
            Some(seq) => {
                bounded(
                    self.inner.timeout,
                    "purge",
                    purge.sequence(seq).into_future(),
                )
                .await?
            }
            None => bounded(self.inner.timeout, "purge", purge.into_future()).await?,
        };
        done.map(|_| ())
            .map_err(|e| remote("purge", io::ErrorKind::Other, &self.inner.name, &e))
    }
}

fn stored(m: async_nats::jetstream::message::StreamMessage) -> Stored {
    Stored {
        sequence: m.sequence,
        subject: m.subject.to_string(),
        headers: m.headers,
        payload: m.payload,
    }
}

/// Opens the stream, creating it if asked; an existing stream must take
/// every subject under its name.
async fn open_stream(context: &Context, config: &JetStreamConfig) -> Result<Stream> {
    let subjects = vec![format!("{}.>", config.stream)];
    let timeout = config.timeout;
    let stream = if config.create {
        let create = context.get_or_create_stream(Config {
            name: config.stream.clone(),
            subjects: subjects.clone(),
            storage: StorageType::File,
            num_replicas: config.replicas,
            // Blob heads replace their predecessors with `Nats-Rollup: sub`.
            allow_rollup: true,
            allow_direct: true,
            ..Config::default()
        });
        bounded(timeout, "open stream", create)
            .await?
            .map_err(|e| remote("open stream", io::ErrorKind::Other, &config.stream, &e))?
    } else {
        bounded(timeout, "open stream", context.get_stream(&config.stream))
            .await?
            .map_err(|e| remote("open stream", io::ErrorKind::NotFound, &config.stream, &e))?
    };
    let held = &stream.cached_info().config;
    if let Some(problem) = unfit(held) {
        return Err(Error::InvalidConfig {
            field: "stream",
            reason: format!(
                "stream {} {problem}, which would lose or refuse spool's records; make it with spool (spool init) or fix its configuration",
                config.stream
            ),
        });
    }
    let held = &held.subjects;
    if !held.contains(&subjects[0]) {
        return Err(Error::InvalidConfig {
            field: "stream",
            reason: format!(
                "stream {} takes subjects {held:?}, not {}; it was not made by spool, pick another stream name",
                config.stream, subjects[0]
            ),
        });
    }
    Ok(stream)
}

/// What in an existing stream's configuration breaks spool's contract, if
/// anything: limits that drop messages (a log must keep every batch), no
/// purges (log removal), no rollups (blob heads).
fn unfit(config: &Config) -> Option<&'static str> {
    use async_nats::jetstream::stream::RetentionPolicy;
    if config.retention != RetentionPolicy::Limits {
        Some("does not keep messages by limits (interest or work-queue retention)")
    } else if config.max_age > Duration::ZERO {
        Some("expires messages (max_age)")
    } else if config.max_messages > 0 || config.max_bytes > 0 {
        Some("drops old messages past a size limit (max_msgs or max_bytes)")
    } else if config.max_messages_per_subject > 0 {
        Some("keeps only a few messages per subject (max_msgs_per_subject)")
    } else if config.deny_purge {
        Some("refuses purges (deny_purge), which removing a log needs")
    } else if !config.allow_rollup {
        Some("refuses rollups (allow_rollup is off), which blobs need")
    } else {
        None
    }
}

/// Runs `f` for at most `timeout` (plus a margin for the client's own
/// timeout to fire first), so no remote call waits forever.
async fn bounded<T>(timeout: Duration, op: &'static str, f: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(timeout + Duration::from_secs(1), f)
        .await
        .map_err(|_| {
            Error::io(
                op,
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer from the NATS server within {timeout:?}"),
                ),
            )
        })
}

/// A NATS failure as spool's I/O error, naming the stream and the server's
/// own message.
fn remote(op: &'static str, kind: io::ErrorKind, stream: &str, e: &dyn std::fmt::Display) -> Error {
    Error::io(
        op,
        io::Error::new(kind, format!("nats stream {stream}: {e}")),
    )
}
