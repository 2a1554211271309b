//! A store on JetStream: every log of the store is a subject of one stream,
//! and the store's blobs (the catalog snapshot, projection checkpoints) are
//! subjects of it too.
//!
//! A blob may be larger than one message, so it is written as chunks on
//! `<stream>.chunk.<name>` and then one head message on `<stream>.blob.<name>`
//! naming them (first stream seq, count, length, CRC-32). The head is the
//! commit: a put that dies before it leaves the old head and its chunks in
//! force. The head is published with `Nats-Rollup: sub`, so the stream keeps
//! only the newest, and only if the head it read before writing its chunks
//! is still the last (a compare-and-swap): of two racing puts one wins, the
//! other's chunks are left for the next put to purge, and no head ever
//! names chunks a winner purged. The winner purges the chunks older than
//! its own.

use std::sync::Arc;

use async_nats::HeaderMap;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use spool_engine::{Backend, CorruptKind, Error, LogId, Result, Storage};

use super::connection::JetStream;
use super::log::JetStreamBackend;
use super::message::Stored;

/// The one backend kind a JetStream storage makes.
const KINDS: &[&str] = &["jetstream"];
/// The largest blob read back (checked before allocating).
const BLOB_MAX_BYTES: u64 = 1 << 30;
/// Header tying a chunk to its put.
const PUT_HEADER: &str = "Spool-Put";

/// A store's logs and blobs on one JetStream stream.
#[derive(Clone, Debug)]
pub struct JetStreamStorage {
    js: JetStream,
    writable: bool,
}

/// A blob's head: where its chunks are and what they must add up to.
#[derive(Debug, Serialize, Deserialize)]
struct Head {
    put: String,
    first: u64,
    chunks: u64,
    len: u64,
    crc32: u32,
}

impl JetStreamStorage {
    /// The storage of the store on `js`'s stream.
    pub fn new(js: JetStream) -> JetStreamStorage {
        JetStreamStorage { js, writable: true }
    }

    /// The same store for reading only: logs open read-only, and removes
    /// and blob puts are refused.
    pub fn read_only(js: JetStream) -> JetStreamStorage {
        JetStreamStorage {
            js,
            writable: false,
        }
    }

    /// The connection it uses.
    pub fn connection(&self) -> &JetStream {
        &self.js
    }

    fn refuse_if_read_only(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::ReadOnly {
                object: format!("nats stream {}", self.js.stream()),
            })
        }
    }

    fn damaged(&self, name: &LogId, what: &'static str) -> Error {
        Error::Corrupt {
            object: format!("nats stream {} blob {}", self.js.stream(), name.as_str()),
            offset: 0,
            kind: CorruptKind::ForeignMessage { what },
        }
    }

    /// Reads the blob a head (stream seq `head_seq`) names; `None` if a
    /// newer put purged its chunks meanwhile (the caller reads the new head).
    /// Chunks of other puts between them (a racing put that lost) are
    /// skipped.
    async fn chunks(&self, name: &LogId, head: &Head, head_seq: u64) -> Result<Option<Bytes>> {
        if head.len > BLOB_MAX_BYTES || head.chunks > head.len.max(1) {
            return Err(self.damaged(name, "blob head declares an impossible size"));
        }
        let subject = self.js.chunk_subject(name);
        let mut out = BytesMut::with_capacity(usize::try_from(head.len).unwrap_or(0));
        let mut from = head.first;
        let mut found = 0;
        while found < head.chunks {
            let Some(chunk) = self.js.next_on(&subject, from, head.first).await? else {
                return Ok(None);
            };
            // Chunks precede their head.
            if chunk.sequence > head_seq {
                return Ok(None);
            }
            from = chunk.sequence + 1;
            if put_of(&chunk) != Some(head.put.as_str()) {
                continue;
            }
            found += 1;
            if out.len() as u64 + chunk.payload.len() as u64 > head.len {
                return Err(self.damaged(name, "blob chunks are longer than its head says"));
            }
            out.extend_from_slice(&chunk.payload);
        }
        if out.len() as u64 != head.len || crc32fast_of(&out) != head.crc32 {
            return Err(self.damaged(name, "blob chunks do not match its head's length and CRC"));
        }
        Ok(Some(out.freeze()))
    }
}

fn put_of(chunk: &Stored) -> Option<&str> {
    chunk
        .headers
        .get(PUT_HEADER)
        .map(async_nats::HeaderValue::as_str)
}

fn crc32fast_of(bytes: &[u8]) -> u32 {
    spool_engine::crc32(&[bytes])
}

#[async_trait]
impl Storage for JetStreamStorage {
    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    async fn open(&self, id: &LogId, kind: Option<&str>) -> Result<Arc<dyn Backend>> {
        if let Some(kind) = kind
            && !KINDS.contains(&kind)
        {
            return Err(Error::InvalidConfig {
                field: "backend",
                reason: format!("{kind:?} is not one of {KINDS:?}"),
            });
        }
        let backend = if self.writable {
            JetStreamBackend::open(&self.js, id).await?
        } else {
            JetStreamBackend::open_read_only(&self.js, id).await?
        };
        Ok(Arc::new(backend))
    }

    async fn remove(&self, id: &LogId) -> Result<()> {
        self.refuse_if_read_only()?;
        self.js.purge(&self.js.log_subject(id), None).await
    }

    async fn get_blob(&self, name: &LogId) -> Result<Option<Bytes>> {
        // A put racing this read may purge the chunks of the head it read:
        // the head it then finds is newer, so a few rounds always settle.
        for _ in 0..8 {
            let Some(message) = self.js.last_on(&self.js.blob_subject(name)).await? else {
                return Ok(None);
            };
            let head: Head = serde_json::from_slice(&message.payload)
                .map_err(|_| self.damaged(name, "blob head is not spool's JSON"))?;
            if let Some(bytes) = self.chunks(name, &head, message.sequence).await? {
                return Ok(Some(bytes));
            }
        }
        Err(self.damaged(name, "blob chunks keep disappearing (a writer is looping?)"))
    }

    async fn put_blob(&self, name: &LogId, bytes: Bytes) -> Result<()> {
        self.refuse_if_read_only()?;
        let chunk_subject = self.js.chunk_subject(name);
        let head_subject = self.js.blob_subject(name);
        // The head this put replaces, if no other put gets there first.
        let prior = self
            .js
            .last_on(&head_subject)
            .await?
            .map_or(0, |m| m.sequence);
        let put = format!("{:016x}", rand_id());
        let size = self.js.max_batch_bytes().max(1);
        let mut first = None;
        let mut chunks = 0u64;
        let mut offset = 0;
        // An empty blob still writes one (empty) chunk, so `first` is set.
        loop {
            let end = (offset + size).min(bytes.len());
            let mut headers = HeaderMap::new();
            headers.insert(PUT_HEADER, put.as_str());
            let ack = self
                .js
                .publish(&chunk_subject, headers, bytes.slice(offset..end))
                .await?
                .ok_or_else(|| self.damaged(name, "a blob chunk publish was refused"))?;
            first.get_or_insert(ack.sequence);
            chunks += 1;
            offset = end;
            if offset >= bytes.len() {
                break;
            }
        }
        let first = first.unwrap_or(0);
        let head = Head {
            put,
            first,
            chunks,
            len: bytes.len() as u64,
            crc32: crc32fast_of(&bytes),
        };
        let body = serde_json::to_vec(&head).map_err(|e| Error::Codec {
            codec: spool_engine::CodecKind::Json,
            op: "encode",
            message: e.to_string(),
        })?;
        let mut headers = super::message::expecting(self.js.stream(), &head_subject, prior);
        headers.insert("Nats-Rollup", "sub");
        let won = self
            .js
            .publish(&head_subject, headers, Bytes::from(body))
            .await?
            .is_some_and(|ack| !ack.duplicate);
        if !won {
            // Another put's head went in after this one began: it is the
            // newer blob, in force; this put's chunks are purged by the next.
            return Ok(());
        }
        // The new head is in force: the older puts' chunks can go.
        // The server reads a purge below seq 0 or 1 as "no bound" and would
        // drop the new chunks too; below 1 there is nothing to purge anyway.
        if first <= 1 {
            return Ok(());
        }
        self.js.purge(&chunk_subject, Some(first)).await
    }
}

/// A put's id: unique enough to tell two puts' chunks apart (time and a
/// process-wide counter; a collision would need the same nanosecond).
fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    nanos ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 48) ^ u64::from(std::process::id())
}
