//! A store on NATS JetStream, named by URL wherever a store directory is
//! accepted: `nats://HOST:PORT[,HOST:PORT…]/STREAM[?replicas=N&timeout_ms=T]`.
//!
//! Every server of a cluster may be listed, so the client fails over; the
//! stream is the store's name on the cluster (docs/jetstream.md).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use spool_backends::{JetStream, JetStreamConfig};

use crate::failure::Failure;

/// The scheme that marks a store URL.
const SCHEME: &str = "nats://";

/// A parsed store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NatsUrl {
    servers: Vec<String>,
    stream: String,
    replicas: usize,
    timeout: Duration,
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self
            .servers
            .iter()
            .map(|s| s.strip_prefix(SCHEME).unwrap_or(s))
            .collect();
        write!(f, "{SCHEME}{}/{}", hosts.join(","), self.stream)
    }
}

impl NatsUrl {
    /// `Some` if `path` is a store URL (an error if it is a bad one),
    /// `None` for a path on disk.
    pub(crate) fn parse(path: &Path) -> Result<Option<NatsUrl>, Failure> {
        let Some(text) = path.to_str().and_then(|t| t.strip_prefix(SCHEME)) else {
            return Ok(None);
        };
        let bad = |why: &str| {
            Failure::usage(
                "usage",
                format!(
                    "{}: {why}; a store URL is nats://HOST:PORT[,HOST:PORT...]/STREAM[?replicas=N&timeout_ms=T]",
                    path.display()
                ),
            )
        };
        let (rest, query) = text.split_once('?').unwrap_or((text, ""));
        let (hosts, stream) = rest.split_once('/').ok_or_else(|| bad("no /STREAM"))?;
        if stream.is_empty() || stream.contains('/') {
            return Err(bad("the stream must be one path segment"));
        }
        let servers: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("{SCHEME}{h}"))
            .collect();
        if servers.is_empty() {
            return Err(bad("no server"));
        }
        let mut url = NatsUrl {
            servers,
            stream: stream.to_owned(),
            replicas: 1,
            timeout: Duration::from_secs(5),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad("a query pair without ="))?;
            let number: u64 = value
                .parse()
                .map_err(|_| bad("a query value is not a number"))?;
            match key {
                "replicas" if (1..=5).contains(&number) => {
                    url.replicas = usize::try_from(number).unwrap_or(1);
                }
                "timeout_ms" if number > 0 => url.timeout = Duration::from_millis(number),
                _ => {
                    return Err(bad(
                        "unknown query key or value out of range (replicas 1-5, timeout_ms > 0)",
                    ));
                }
            }
        }
        Ok(Some(url))
    }

    /// Connects to the store's stream; `create` makes it if missing (only
    /// `init` and the writing commands' `--create` do).
    pub(crate) async fn connect(&self, create: bool) -> Result<JetStream, Failure> {
        let mut config = JetStreamConfig::new(self.servers.clone(), self.stream.clone());
        config.replicas = self.replicas;
        config.timeout = self.timeout;
        config.create = create;
        JetStream::connect(&config).await.map_err(|e| {
            if create {
                Failure::from(e)
            } else {
                Failure::usage(
                    "not_found",
                    format!("{self}: {e}; create the store with: spool init {self}"),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<NatsUrl>, Failure> {
        NatsUrl::parse(Path::new(s))
    }

    #[test]
    fn urls_parse_with_servers_stream_and_options() {
        assert_eq!(parse("/tmp/store").unwrap(), None);
        let url = parse("nats://127.0.0.1:4222,127.0.0.1:4223/agents?replicas=3&timeout_ms=1500")
            .unwrap()
            .unwrap();
        assert_eq!(
            url.servers,
            ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]
        );
        assert_eq!(url.stream, "agents");
        assert_eq!(url.replicas, 3);
        assert_eq!(url.timeout, Duration::from_millis(1500));
        assert_eq!(
            url.to_string(),
            "nats://127.0.0.1:4222,127.0.0.1:4223/agents"
        );
        for bad in [
            "nats://127.0.0.1:4222",
            "nats://127.0.0.1:4222/",
            "nats:///s",
            "nats://h:1/a/b",
            "nats://h:1/s?replicas=9",
            "nats://h:1/s?color=red",
            "nats://h:1/s?timeout_ms=x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
