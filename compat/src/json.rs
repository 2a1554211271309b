//! Codex's byte conventions for what spool writes (ROLLOUT-FORMAT.md §1.6,
//! §2.1, §2.14): compact JSON with keys in insertion order (serde_json's
//! `preserve_order`, as in the Codex binary), strings escaped as serde_json
//! escapes them, envelope keys `timestamp, ordinal?, type, payload,
//! metadata?`, and timestamps in UTC with exactly three fraction digits and
//! a literal `Z`. File names and dated directories use the local wall
//! clock, as Codex writes them (and reads them back as UTC, §1.2).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::error::{CodexError, Result};
use crate::name::NameTime;

/// An envelope `timestamp`: `YYYY-MM-DDThh:mm:ss.mmmZ` in UTC.
#[must_use]
pub fn timestamp(now_ms: i64) -> String {
    let ts = Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The local wall-clock time of `now_ms` in `zone`, to the second, as a
/// rollout file name carries it.
#[must_use]
pub fn name_time(now_ms: i64, zone: &TimeZone) -> NameTime {
    let ts = Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(zone.clone()).datetime();
    NameTime {
        year: u16::try_from(dt.year()).unwrap_or(0),
        month: u8::try_from(dt.month()).unwrap_or(1),
        day: u8::try_from(dt.day()).unwrap_or(1),
        hour: u8::try_from(dt.hour()).unwrap_or(0),
        minute: u8::try_from(dt.minute()).unwrap_or(0),
        second: u8::try_from(dt.second()).unwrap_or(0),
    }
}

/// A fixed offset of `hours` from UTC (for a [`TimeZone::fixed`] zone).
#[must_use]
pub fn utc_offset_hours(hours: i8) -> jiff::tz::Offset {
    jiff::tz::offset(hours)
}

/// One line (without `\n`) in Codex's envelope and key order.
pub fn envelope(
    timestamp: &str,
    ordinal: Option<u64>,
    kind: &str,
    payload: &Map<String, Value>,
    metadata: Option<&Value>,
) -> Result<Vec<u8>> {
    let mut line = Map::new();
    line.insert("timestamp".into(), Value::from(timestamp));
    if let Some(ordinal) = ordinal {
        line.insert("ordinal".into(), Value::from(ordinal));
    }
    line.insert("type".into(), Value::from(kind));
    line.insert("payload".into(), Value::Object(payload.clone()));
    if let Some(metadata) = metadata {
        line.insert("metadata".into(), metadata.clone());
    }
    compact(&Value::Object(line))
}

/// `value` as compact JSON, as Codex writes it.
pub fn compact(value: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| CodexError::Invalid(format!("not serializable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_three_fraction_digits_and_z() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_795_273_084_840), "2026-11-21T14:58:04.840Z");
        let zone = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(
            name_time(1_786_612_502_417, &zone).to_string(),
            "2026-08-13T11-15-02"
        );
    }

    #[test]
    fn envelopes_keep_codexs_key_order() {
        let payload: Map<String, Value> =
            serde_json::from_str(r#"{"type":"message","role":"user","content":[]}"#).unwrap();
        let line = envelope("t", Some(3), "response_item", &payload, Some(&Value::Null)).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            r#"{"timestamp":"t","ordinal":3,"type":"response_item","payload":{"type":"message","role":"user","content":[]},"metadata":null}"#
        );
    }
}
