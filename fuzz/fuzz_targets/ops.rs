//! Arbitrary op sequences on a segmented log over SimFs, checked against the
//! model (RELIABILITY.md R12 `ops`): the fuzzer's bytes choose the batches,
//! syncs, closes, reopens, the crash and a crash during recovery; the
//! recovered log must be a prefix of what was appended holding everything
//! synced, with batches whole. The same simulation runs as R5a in `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spool_tests::simulation::{ByteChoices, simulate};

fuzz_target!(|data: &[u8]| {
    simulate(&mut ByteChoices(data), "fuzz input");
});
