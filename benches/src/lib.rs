//! spool-benches: shared workloads and baselines for the criterion benches
//! and the side-by-side harness ([`compare`], `--bin compare`), so every
//! number comes from the same deterministic records: [`raw`] framed records
//! and [`plain`] JSONL as the limits, [`harness`] for what the benches
//! share.
//!
//! The mixed workload follows PEERS.md §4b: 70 % ~200 B, 25 % ~1 KiB and
//! 5 % ~16 KiB JSON records, generated from a fixed seed.

#![forbid(unsafe_code)]

pub mod compare;
pub mod harness;
pub mod plain;
pub mod raw;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use spool_backends::SimRng;

/// The event each workload record carries, shaped like an agent transcript
/// entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchEvent {
    /// Record kind.
    pub kind: String,
    /// A sequence-like number.
    pub n: u64,
    /// Free text that sets the record's size.
    pub text: String,
}

/// The seed every bench uses.
pub const SEED: u64 = 0x5900_1DEA;

/// Builds `count` events of the mixed workload.
#[must_use]
pub fn mixed_events(count: usize, seed: u64) -> Vec<BenchEvent> {
    let mut rng = SimRng::new(seed);
    (0..count)
        .map(|i| {
            let roll = rng.below(100);
            let (kind, size) = match roll {
                0..70 => ("message", 160 + rng.below(80)),
                70..95 => ("tool_call", 900 + rng.below(250)),
                _ => ("tool_output", 15_000 + rng.below(2_000)),
            };
            let text = (0..size)
                .map(|_| char::from(b'a' + u8::try_from(rng.below(26)).unwrap_or(0)))
                .collect();
            BenchEvent {
                kind: kind.to_owned(),
                n: i as u64,
                text,
            }
        })
        .collect()
}

/// The mixed workload as JSON payloads.
#[must_use]
pub fn mixed_payloads(count: usize, seed: u64) -> Vec<Bytes> {
    mixed_events(count, seed)
        .iter()
        .map(|e| Bytes::from(serde_json::to_vec(e).unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_is_deterministic_and_mixed() {
        let a = mixed_payloads(2_000, SEED);
        assert_eq!(a, mixed_payloads(2_000, SEED));
        let small = a.iter().filter(|p| p.len() < 400).count();
        let large = a.iter().filter(|p| p.len() > 10_000).count();
        // 70 % and 5 % within sampling noise.
        assert!((1_300..1_500).contains(&small), "{small}");
        assert!((50..150).contains(&large), "{large}");
    }
}
