//! Arbitrary strings through the cursor parser: a typed error or a cursor
//! whose string form parses back to itself, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spool_engine::{Cursor, LogId, Seq};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cursor) = text.parse::<Cursor>() {
        let again: Cursor = cursor.to_string().parse().unwrap();
        assert_eq!(again, cursor);
        // Using it against a log is checked, never trusted.
        let log = LogId::new("fuzz").unwrap();
        let _ = cursor.check(&log, Seq(10));
    }
});
