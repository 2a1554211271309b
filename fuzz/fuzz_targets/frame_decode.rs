//! Arbitrary bytes through the frame decoder: it must return frames or a
//! `CorruptKind`, never panic, never read past the input, and every frame it
//! accepts must re-encode to exactly the bytes it was decoded from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spool_engine::frame;

fuzz_target!(|data: &[u8]| {
    // A small bound keeps the length check hot.
    for bound in [64usize, 1 << 20] {
        let (frames, damage) = frame::decode_all(data, bound);
        let mut offset = 0;
        for f in &frames {
            assert!(f.payload.len() <= bound);
            let mut again = Vec::new();
            frame::encode_into(&mut again, f).unwrap();
            assert_eq!(&again[..], &data[offset..offset + f.encoded_len()]);
            offset += f.encoded_len();
        }
        match damage {
            None => assert_eq!(offset, data.len()),
            Some((at, _)) => assert_eq!(at, offset),
        }
    }
});
