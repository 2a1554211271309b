//! Log ids: the names logs have in a store, checked before any use so that an
//! id can become a file name, a subject or a key without escaping.

use std::fmt;

use crate::{Error, Result};

/// The longest id allowed, in bytes (ids are ASCII).
pub const LOG_ID_MAX_LEN: usize = 128;

/// A validated log id: 1–128 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId(String);

impl serde::Serialize for LogId {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserializing checks the naming rule, so no stored id bypasses it.
impl<'de> serde::Deserialize<'de> for LogId {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        LogId::new(id).map_err(serde::de::Error::custom)
    }
}

impl LogId {
    /// Checks `id` against the naming rule.
    ///
    /// ```
    /// use spool_engine::LogId;
    /// assert!(LogId::new("thread-42_a").is_ok());
    /// assert!(LogId::new("../etc").is_err());
    /// ```
    pub fn new(id: impl Into<String>) -> Result<LogId> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > LOG_ID_MAX_LEN {
            Some("it is longer than 128 characters")
        } else if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Some("it contains a character outside [A-Za-z0-9_-]")
        } else {
            None
        };
        match reason {
            None => Ok(LogId(id)),
            Some(reason) => {
                let shown: String = id.chars().take(LOG_ID_MAX_LEN + 8).collect();
                Err(Error::InvalidLogId { id: shown, reason })
            }
        }
    }

    /// The id as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A 64-bit fingerprint of the id (FNV-1a), stored in cursors so that a
    /// cursor presented to the wrong log is recognised.
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        self.0
            .bytes()
            .fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for LogId {
    type Err = Error;
    fn from_str(s: &str) -> Result<LogId> {
        LogId::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_naming_rule_and_rejects_the_rest() {
        assert!(LogId::new("a").is_ok());
        assert!(LogId::new("A-z_09").is_ok());
        assert!(LogId::new("x".repeat(128)).is_ok());
        for bad in ["", "a/b", "a.b", "é", "a b", "..", "a\n"] {
            assert!(
                matches!(LogId::new(bad), Err(Error::InvalidLogId { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            LogId::new("x".repeat(129)),
            Err(Error::InvalidLogId {
                reason: "it is longer than 128 characters",
                ..
            })
        ));
    }

    #[test]
    fn fingerprints_differ_for_different_ids() {
        let a = LogId::new("a").unwrap().fingerprint();
        let b = LogId::new("b").unwrap().fingerprint();
        assert_ne!(a, b);
        assert_eq!(a, LogId::new("a").unwrap().fingerprint());
    }
}
