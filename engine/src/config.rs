//! Limits and policies of a log, each bounded so that no input can make the
//! engine allocate or wait without limit.

use std::time::Duration;

use crate::{Durability, Error, Result, frame};

/// Configuration of a [`Log`](crate::Log). Every field has a documented
/// default; [`LogConfig::validate`] checks the bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// Largest payload accepted, in bytes. Default: 8 MiB. At most 1 GiB
    /// (the frame format's bound).
    pub max_record_bytes: usize,
    /// Most records in one atomic batch. Default: 65,536.
    pub max_batch_records: usize,
    /// Requests (appends, syncs) that may wait in the writer's queue before
    /// appenders wait too. Default: 1,024.
    pub queue_depth: usize,
    /// A group commit takes further queued requests while it holds fewer than
    /// this many records. A single batch larger than this is still written
    /// whole. Default: 8,192.
    pub max_commit_records: usize,
    /// A group commit takes further queued requests while it holds fewer than
    /// this many payload bytes. Default: 32 MiB.
    pub max_commit_bytes: usize,
    /// Most records one page returns. Default: 10,000.
    pub max_page_records: usize,
    /// A page stops adding records once it holds this many payload bytes (it
    /// always holds at least one record). Default: 16 MiB.
    pub max_page_bytes: usize,
    /// Durability of appends that do not choose one. Default: `Buffered`.
    pub durability: Durability,
}

/// The longest group-commit delay accepted.
pub const GROUP_DELAY_MAX: Duration = Duration::from_secs(10);

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_record_bytes: 8 << 20,
            max_batch_records: 65_536,
            queue_depth: 1_024,
            max_commit_records: 8_192,
            max_commit_bytes: 32 << 20,
            max_page_records: 10_000,
            max_page_bytes: 16 << 20,
            durability: Durability::Buffered,
        }
    }
}

impl LogConfig {
    /// Checks every bound; `Log::open` calls it.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("max_record_bytes", self.max_record_bytes),
            ("max_batch_records", self.max_batch_records),
            ("queue_depth", self.queue_depth),
            ("max_commit_records", self.max_commit_records),
            ("max_commit_bytes", self.max_commit_bytes),
            ("max_page_records", self.max_page_records),
            ("max_page_bytes", self.max_page_bytes),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(invalid(field, "must be at least 1".into()));
            }
        }
        if self.max_record_bytes > frame::PAYLOAD_MAX_BYTES {
            return Err(invalid(
                "max_record_bytes",
                format!("must be at most {} (1 GiB)", frame::PAYLOAD_MAX_BYTES),
            ));
        }
        if let Some(delay) = self.durability.group_delay() {
            check_group_delay(delay)?;
        }
        Ok(())
    }
}

/// Checks a group-commit delay against [`GROUP_DELAY_MAX`].
pub(crate) fn check_group_delay(delay: Duration) -> Result<()> {
    if delay > GROUP_DELAY_MAX {
        return Err(invalid(
            "durability",
            format!("group delay {delay:?} is longer than {GROUP_DELAY_MAX:?}"),
        ));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        LogConfig::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let cases: Vec<(LogConfig, &str)> = vec![
            (
                LogConfig {
                    queue_depth: 0,
                    ..LogConfig::default()
                },
                "queue_depth",
            ),
            (
                LogConfig {
                    max_page_bytes: 0,
                    ..LogConfig::default()
                },
                "max_page_bytes",
            ),
            (
                LogConfig {
                    max_record_bytes: frame::PAYLOAD_MAX_BYTES + 1,
                    ..LogConfig::default()
                },
                "max_record_bytes",
            ),
            (
                LogConfig {
                    durability: Durability::Group {
                        max_delay: Duration::from_secs(11),
                    },
                    ..LogConfig::default()
                },
                "durability",
            ),
        ];
        for (config, field) in cases {
            match config.validate() {
                Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
