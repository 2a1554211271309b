//! The one checksum spool uses for frames and cursors: CRC-32 (IEEE), via
//! crc32fast, which picks the SIMD (PCLMULQDQ) path at run time.
//!
//! CRC-32 detects every single-bit error, every burst of at most 32 bits and
//! lets random damage through with probability about 2^-32 per frame
//! (docs/format.md). It is an integrity check against media and software
//! faults, not a defence against someone forging bytes on purpose.

/// CRC-32 of the concatenation of `parts`, without copying them together.
#[must_use]
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn parts_hash_like_their_concatenation() {
        assert_eq!(crc32(&[b"hello ", b"world"]), crc32(&[b"hello world"]));
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
    }
}
