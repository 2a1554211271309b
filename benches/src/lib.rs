//! spool-benches: shared workloads for the criterion benches (and, later, the
//! side-by-side harness), so every number comes from the same deterministic
//! records.
//!
//! The mixed workload follows PEERS.md §4b: 70 % ~200 B, 25 % ~1 KiB and
//! 5 % ~16 KiB JSON records, generated from a fixed seed.

#![forbid(unsafe_code)]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A small, fast, seeded generator (xorshift64*), so workloads are identical
/// on every run and machine without pulling in a RNG crate.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed non-zero seed).
    #[must_use]
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

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
    let mut rng = Rng::new(seed);
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
