//! One JetStream message per atomic batch: how a batch of records becomes a
//! message and how a message read back becomes records again.
//!
//! NATS 2.9 has no atomic multi-message publish, so a batch is one message:
//! its body is the batch's records as spool frames, back to back (each with
//! its seq, timestamp and CRC-32, exactly as in a segment), and its headers
//! say where the batch starts. The frames keep the checksum end to end: a
//! message damaged on a server, on the wire or by a foreign publisher is a
//! `Corrupt` error naming the stream, the message and the byte offset,
//! never records with wrong bytes.
//!
//! ```text
//! subject  <stream>.log.<log id>
//! headers  Spool-Format: 1
//!          Spool-Seq: <first seq of the batch>
//!          Spool-Count: <records in the batch>
//!          Nats-Expected-Last-Subject-Sequence: <stream seq of the log's last message, 0 if none>
//! body     frame(seq) frame(seq + 1) … frame(seq + count - 1)
//! ```

use async_nats::HeaderMap;
use bytes::Bytes;
use spool_engine::frame::{self, Frame};
use spool_engine::{CodecKind, CorruptKind, Error, NewRecord, Record, Result, Seq};

/// The header naming the message format's version.
pub(crate) const FORMAT_HEADER: &str = "Spool-Format";
/// The header holding the batch's first seq.
pub(crate) const SEQ_HEADER: &str = "Spool-Seq";
/// The header holding the batch's record count.
pub(crate) const COUNT_HEADER: &str = "Spool-Count";
/// JetStream's optimistic-concurrency header: the publish is refused unless
/// the subject's last message has this stream seq (0: no message yet).
const EXPECTED_LAST_HEADER: &str = "Nats-Expected-Last-Subject-Sequence";
/// Refuses the publish unless the subject belongs to this stream.
const EXPECTED_STREAM_HEADER: &str = "Nats-Expected-Stream";
/// JetStream's de-duplication id (see [`expecting`]).
const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// The message format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Room left in a message for its headers: the server's `max_payload`
/// bounds headers and body together.
pub(crate) const HEADER_ALLOWANCE: usize = 1024;

/// A message as the stream stored it (what a get returns).
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    /// Its stream seq.
    pub(crate) sequence: u64,
    /// Its subject.
    pub(crate) subject: String,
    /// Its headers.
    pub(crate) headers: HeaderMap,
    /// Its body.
    pub(crate) payload: Bytes,
}

/// A batch message's place, for errors: stream, message and subject.
pub(crate) fn place(stream: &str, message: &Stored) -> String {
    format!(
        "nats stream {stream} message {} (subject {})",
        message.sequence, message.subject
    )
}

/// The body of a batch starting at `first`: its records as frames.
pub(crate) fn encode(first: Seq, records: &[NewRecord]) -> Result<Vec<u8>> {
    let mut body = Vec::with_capacity(spool_engine::batch_bytes(records));
    let last = records.len().saturating_sub(1);
    for (i, record) in records.iter().enumerate() {
        frame::encode_into(
            &mut body,
            &Frame {
                seq: Seq(first.0 + i as u64),
                timestamp_ms: record.timestamp_ms,
                codec: CodecKind::Raw,
                batch_continues: i < last,
                payload: &record.payload,
            },
        )?;
    }
    Ok(body)
}

/// The headers of a batch of `count` records at `first`, published on
/// `subject` after its message `expected_last` (0: the subject has none).
pub(crate) fn headers(
    stream: &str,
    subject: &str,
    first: Seq,
    count: usize,
    expected_last: u64,
) -> HeaderMap {
    let mut headers = expecting(stream, subject, expected_last);
    headers.insert(FORMAT_HEADER, FORMAT_VERSION.to_string().as_str());
    headers.insert(SEQ_HEADER, first.0.to_string().as_str());
    headers.insert(COUNT_HEADER, count.to_string().as_str());
    headers
}

/// The headers that make a publish on `subject` land only right after the
/// subject's message `expected_last` (0: only as its first message).
///
/// `Nats-Expected-Last-Subject-Sequence` alone is not enough on a cluster
/// before nats-server 2.9.21: the leader checks it against what it has
/// applied, not against proposals in flight, so two racing publishes can
/// both pass (nats-server#4320). Both racers then also carry the same
/// `Nats-Msg-Id`, `<subject>@<expected_last>`, which every replica checks
/// when it applies a message: the second is answered as a duplicate (the
/// caller treats that as a conflict). Stream seqs are never reused, so the
/// id names one position forever; for 0 (a first message, whose check the
/// old servers do at apply time) no id is sent, since a purged subject
/// starts at 0 again.
pub(crate) fn expecting(stream: &str, subject: &str, expected_last: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(EXPECTED_LAST_HEADER, expected_last.to_string().as_str());
    headers.insert(EXPECTED_STREAM_HEADER, stream);
    if expected_last > 0 {
        headers.insert(MSG_ID_HEADER, format!("{subject}@{expected_last}").as_str());
    }
    headers
}

/// Where a message's batch sits in its log, from its headers alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// The batch's first seq.
    pub(crate) first: Seq,
    /// Records in the batch (at least one).
    pub(crate) count: u64,
}

impl Span {
    /// The seq after the batch's last record.
    pub(crate) fn end(self) -> Seq {
        Seq(self.first.0 + self.count)
    }

    /// Whether the batch holds `seq`.
    pub(crate) fn holds(self, seq: Seq) -> bool {
        self.first <= seq && seq < self.end()
    }
}

/// Reads a message's headers: its format version and where its batch sits.
/// The message must be on `subject` (the log's): gets filter by subject,
/// so another subject's message here is a server or wiring fault, refused.
pub(crate) fn span(stream: &str, subject: &str, message: &Stored) -> Result<Span> {
    let foreign = |what| Error::Corrupt {
        object: place(stream, message),
        offset: 0,
        kind: CorruptKind::ForeignMessage { what },
    };
    if message.subject != subject {
        return Err(foreign(
            "a message of another subject where the log's was asked for",
        ));
    }
    let number = |name: &str, missing: &'static str| -> Result<u64> {
        message
            .headers
            .get(name)
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .ok_or_else(|| foreign(missing))
    };
    let version = number(FORMAT_HEADER, "no numeric Spool-Format header")?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(Error::UnsupportedVersion {
            what: "JetStream batch message",
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    let first = Seq(number(SEQ_HEADER, "no numeric Spool-Seq header")?);
    let count = number(COUNT_HEADER, "no numeric Spool-Count header")?;
    if count == 0 || first.0.checked_add(count).is_none() {
        return Err(foreign("Spool-Count is 0 or runs past the last seq"));
    }
    Ok(Span { first, count })
}

/// Decodes a message's records, checking every frame's CRC, that the seqs
/// are the ones its headers promise, and that the batch ends where its body
/// does. Payloads are views into the message body (no copies).
pub(crate) fn records(
    stream: &str,
    message: &Stored,
    span: Span,
    max_payload_bytes: usize,
) -> Result<Vec<Record>> {
    let corrupt = |offset: usize, kind| Error::Corrupt {
        object: place(stream, message),
        offset: offset as u64,
        kind,
    };
    let body: &Bytes = &message.payload;
    let capacity = usize::try_from(span.count)
        .unwrap_or(usize::MAX)
        .min(body.len() / frame::HEADER_LEN);
    let mut records = Vec::with_capacity(capacity);
    let mut offset = 0;
    while offset < body.len() {
        let (frame, used) =
            frame::decode(&body[offset..], max_payload_bytes).map_err(|k| corrupt(offset, k))?;
        let expected = Seq(span.first.0 + records.len() as u64);
        if frame.seq != expected {
            return Err(corrupt(
                offset,
                CorruptKind::SeqMismatch {
                    expected,
                    found: frame.seq,
                },
            ));
        }
        let last = expected.0 + 1 == span.end().0;
        if frame.batch_continues == last {
            return Err(corrupt(
                offset,
                CorruptKind::ForeignMessage {
                    what: "a frame's batch flag disagrees with Spool-Count",
                },
            ));
        }
        let start = offset + frame::HEADER_LEN;
        records.push(Record {
            seq: frame.seq,
            timestamp_ms: frame.timestamp_ms,
            payload: body.slice(start..offset + used),
        });
        offset += used;
        if last {
            break;
        }
    }
    if records.len() as u64 != span.count || offset != body.len() {
        return Err(corrupt(
            offset,
            CorruptKind::ForeignMessage {
                what: "the body does not hold exactly Spool-Count frames",
            },
        ));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(headers: HeaderMap, body: Vec<u8>) -> Stored {
        Stored {
            subject: "s.log.a".into(),
            sequence: 7,
            headers,
            payload: Bytes::from(body),
        }
    }

    fn batch(first: u64, payloads: &[&[u8]]) -> (HeaderMap, Vec<u8>) {
        let records: Vec<NewRecord> = payloads
            .iter()
            .map(|p| NewRecord {
                timestamp_ms: 5,
                payload: Bytes::copy_from_slice(p),
            })
            .collect();
        (
            headers("s", "s.log.a", Seq(first), records.len(), 3),
            encode(Seq(first), &records).unwrap(),
        )
    }

    #[test]
    fn a_batch_reads_back_as_its_records() {
        let (h, body) = batch(10, &[b"a", b"", b"ccc"]);
        let m = message(h, body);
        let span = span("s", "s.log.a", &m).unwrap();
        assert_eq!(
            span,
            Span {
                first: Seq(10),
                count: 3
            }
        );
        let records = records("s", &m, span, 1 << 20).unwrap();
        let got: Vec<(u64, &[u8])> = records.iter().map(|r| (r.seq.0, &r.payload[..])).collect();
        assert_eq!(got, [(10, &b"a"[..]), (11, b""), (12, b"ccc")]);
    }

    #[test]
    fn every_damaged_byte_and_every_header_lie_is_a_typed_error() {
        let (h, body) = batch(0, &[b"hello", b"world"]);
        for at in 0..body.len() {
            let mut bad = body.clone();
            bad[at] ^= 0x40;
            let m = message(h.clone(), bad);
            let span = span("s", "s.log.a", &m).unwrap();
            let err = records("s", &m, span, 1 << 20).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "byte {at}: {err}");
            assert!(
                err.to_string().contains("message 7 (subject s.log.a)"),
                "{err}"
            );
        }
        for cut in 0..body.len() {
            let m = message(h.clone(), body[..cut].to_vec());
            assert!(
                records("s", &m, span("s", "s.log.a", &m).unwrap(), 1 << 20).is_err(),
                "cut {cut}"
            );
        }
        let mut extra = body.clone();
        extra.extend_from_slice(&body);
        let m = message(h.clone(), extra);
        assert!(records("s", &m, span("s", "s.log.a", &m).unwrap(), 1 << 20).is_err());
        for (name, value) in [
            (SEQ_HEADER, "1"),
            (COUNT_HEADER, "3"),
            (COUNT_HEADER, "0"),
            (SEQ_HEADER, "x"),
        ] {
            let mut lying = h.clone();
            lying.insert(name, value);
            let m = message(lying, body.clone());
            let result = span("s", "s.log.a", &m).and_then(|s| records("s", &m, s, 1 << 20));
            assert!(
                matches!(result, Err(Error::Corrupt { .. })),
                "{name}: {value}: {result:?}"
            );
        }
        let m = message(h.clone(), body.clone());
        let err = span("s", "s.log.b", &m).unwrap_err();
        assert!(
            matches!(err, Error::Corrupt { .. }) && err.to_string().contains("another subject"),
            "{err}"
        );
        let m = message(HeaderMap::new(), body.clone());
        let err = span("s", "s.log.a", &m).unwrap_err();
        assert!(err.to_string().contains("Spool-Format"), "{err}");
        let mut newer = h;
        newer.insert(FORMAT_HEADER, "2");
        assert!(matches!(
            span("s", "s.log.a", &message(newer, body)),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
    }
}
