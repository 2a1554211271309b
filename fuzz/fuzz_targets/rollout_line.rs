//! Arbitrary bytes as one rollout line: the view is total (every input gets
//! one, never a panic), the bytes come back unchanged, and a line that is a
//! valid JSON object is never called "not JSON".
#![no_main]

use libfuzzer_sys::fuzz_target;
use spool_compat::{LineView, Problem, RolloutLine};

fuzz_target!(|data: &[u8]| {
    let line = RolloutLine::parse(bytes::Bytes::copy_from_slice(data));
    assert_eq!(&line.bytes()[..], data);
    if let LineView::Invalid(Problem::NotJson) = line.view() {
        assert!(serde_json::from_slice::<serde_json::Value>(data).is_err());
    }
});
