//! Codecs turn typed events into record payloads and back: JSON (serde_json),
//! MessagePack (rmp-serde) and raw bytes.
//!
//! A codec is a zero-sized type chosen at compile time by [`TypedLog`](crate::TypedLog),
//! so encoding is a direct call, not a dynamic dispatch. Its [`CodecKind`] is
//! the tag the frame format stores next to each payload.

use std::fmt;

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use crate::{Error, Result};

/// The codec tag stored in a frame header. Values are part of the on-disk
/// format (docs/format.md) and never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CodecKind {
    /// Opaque bytes.
    Raw = 0,
    /// UTF-8 JSON (one value).
    Json = 1,
    /// MessagePack (one value, named fields).
    MsgPack = 2,
}

impl CodecKind {
    /// The tag for a stored byte, or `None` for a byte this build does not know.
    #[must_use]
    pub fn from_u8(byte: u8) -> Option<CodecKind> {
        match byte {
            0 => Some(CodecKind::Raw),
            1 => Some(CodecKind::Json),
            2 => Some(CodecKind::MsgPack),
            _ => None,
        }
    }
}

impl fmt::Display for CodecKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodecKind::Raw => "raw",
            CodecKind::Json => "json",
            CodecKind::MsgPack => "msgpack",
        })
    }
}

/// Encodes values of type `E` into payload bytes and decodes them back.
///
/// Decoding is given bytes from storage, which are input: it returns
/// [`Error::Codec`] on anything it cannot parse, never panics.
pub trait Codec<E>: Send + Sync + 'static {
    /// The tag frames store for this codec.
    const KIND: CodecKind;
    /// Encodes one value.
    fn encode(value: &E) -> Result<Bytes>;
    /// Decodes one value.
    fn decode(bytes: &[u8]) -> Result<E>;
}

/// JSON via serde_json. Payloads are compact (no newlines), so they are also
/// valid JSONL lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

impl<E: Serialize + DeserializeOwned> Codec<E> for Json {
    const KIND: CodecKind = CodecKind::Json;

    fn encode(value: &E) -> Result<Bytes> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| codec_error(CodecKind::Json, "encode", &e))
    }

    fn decode(bytes: &[u8]) -> Result<E> {
        serde_json::from_slice(bytes).map_err(|e| codec_error(CodecKind::Json, "decode", &e))
    }
}

/// MessagePack via rmp-serde, with struct fields written by name so that
/// adding a field to an event stays readable.
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgPack;

impl<E: Serialize + DeserializeOwned> Codec<E> for MsgPack {
    const KIND: CodecKind = CodecKind::MsgPack;

    fn encode(value: &E) -> Result<Bytes> {
        rmp_serde::to_vec_named(value)
            .map(Bytes::from)
            .map_err(|e| codec_error(CodecKind::MsgPack, "encode", &e))
    }

    fn decode(bytes: &[u8]) -> Result<E> {
        rmp_serde::from_slice(bytes).map_err(|e| codec_error(CodecKind::MsgPack, "decode", &e))
    }
}

/// Raw bytes: the payload is the value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Raw;

impl Codec<Bytes> for Raw {
    const KIND: CodecKind = CodecKind::Raw;

    fn encode(value: &Bytes) -> Result<Bytes> {
        Ok(value.clone())
    }

    fn decode(bytes: &[u8]) -> Result<Bytes> {
        Ok(Bytes::copy_from_slice(bytes))
    }
}

impl Codec<Vec<u8>> for Raw {
    const KIND: CodecKind = CodecKind::Raw;

    fn encode(value: &Vec<u8>) -> Result<Bytes> {
        Ok(Bytes::copy_from_slice(value))
    }

    fn decode(bytes: &[u8]) -> Result<Vec<u8>> {
        Ok(bytes.to_vec())
    }
}

fn codec_error(codec: CodecKind, op: &'static str, error: &dyn fmt::Display) -> Error {
    Error::Codec {
        codec,
        op,
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Event {
        Created { name: String, size: u64 },
        Renamed { from: String, to: String },
        Deleted,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (".*", any::<u64>()).prop_map(|(name, size)| Event::Created { name, size }),
            (".*", ".*").prop_map(|(from, to)| Event::Renamed { from, to }),
            Just(Event::Deleted),
        ]
    }

    proptest! {
        #[test]
        fn json_round_trips_without_newlines(e in event()) {
            let bytes = <Json as Codec<Event>>::encode(&e)?;
            prop_assert!(!bytes.contains(&b'\n'));
            prop_assert_eq!(<Json as Codec<Event>>::decode(&bytes)?, e);
        }

        #[test]
        fn msgpack_round_trips(e in event()) {
            let bytes = <MsgPack as Codec<Event>>::encode(&e)?;
            prop_assert_eq!(<MsgPack as Codec<Event>>::decode(&bytes)?, e);
        }

        #[test]
        fn raw_round_trips(v in proptest::collection::vec(any::<u8>(), 0..256)) {
            let bytes = <Raw as Codec<Vec<u8>>>::encode(&v)?;
            prop_assert_eq!(<Raw as Codec<Vec<u8>>>::decode(&bytes)?, v);
        }

        #[test]
        fn decoders_reject_garbage_with_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            // Any outcome but a panic is acceptable; an error must name the codec.
            if let Err(e) = <Json as Codec<Event>>::decode(&bytes) {
                prop_assert!(matches!(e, Error::Codec { codec: CodecKind::Json, op: "decode", .. }), "{:?}", e);
            }
            if let Err(e) = <MsgPack as Codec<Event>>::decode(&bytes) {
                prop_assert!(matches!(e, Error::Codec { codec: CodecKind::MsgPack, op: "decode", .. }), "{:?}", e);
            }
        }
    }

    #[test]
    fn codec_kind_bytes_are_stable() {
        for kind in [CodecKind::Raw, CodecKind::Json, CodecKind::MsgPack] {
            assert_eq!(CodecKind::from_u8(kind as u8), Some(kind));
        }
        assert_eq!(CodecKind::from_u8(3), None);
        assert_eq!(CodecKind::Json as u8, 1);
    }
}
