//! How the writer of a segment tells readers what they may read: the
//! published length and end seq, and the order they are stored and loaded
//! in (F14: a reader must never see a record whose bytes it cannot see).
//!
//! The writer writes the bytes, then stores the length, then the end seq,
//! each with Release; a reader loads the end seq, then the length, each
//! with Acquire. So a reader that sees end seq E sees a length covering
//! every record below E, and every byte below that length as written.
//! Under `--cfg spool_loom` the atomics are loom's and the test below
//! checks this under every interleaving of one writer and two readers
//! (preemption bound 3).

use spool_engine::Seq;

use crate::sync::atomic::{AtomicU64, Ordering};

/// A segment's published end.
#[derive(Debug)]
pub(crate) struct Published {
    len: AtomicU64,
    end_seq: AtomicU64,
}

impl Published {
    pub(crate) fn new(len: u64, end_seq: Seq) -> Published {
        Published {
            len: AtomicU64::new(len),
            end_seq: AtomicU64::new(end_seq.0),
        }
    }

    /// Publishes bytes already written: the length, then the end seq.
    pub(crate) fn publish(&self, len: u64, end_seq: Seq) {
        self.len.store(len, Ordering::Release);
        self.end_seq.store(end_seq.0, Ordering::Release);
    }

    /// The published length (a reader that needs the end seq too loads it
    /// first: see [`Published::end_seq`]).
    pub(crate) fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// The published end seq; the length loaded after it covers it.
    pub(crate) fn end_seq(&self) -> Seq {
        Seq(self.end_seq.load(Ordering::Acquire))
    }
}

#[cfg(all(test, spool_loom))]
mod loom_tests {
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    use super::*;

    const RECORDS: usize = 3;

    /// Records as slots of a buffer: slot `i` holds `i + 1` once written.
    struct Segment {
        published: Published,
        slots: [UnsafeCell<u64>; RECORDS],
    }

    #[test]
    #[expect(
        unsafe_code,
        reason = "loom's UnsafeCell stands for the segment's bytes; loom checks every access"
    )]
    fn readers_never_see_a_record_before_its_bytes() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let segment = Arc::new(Segment {
                published: Published::new(0, Seq(0)),
                slots: std::array::from_fn(|_| UnsafeCell::new(0)),
            });
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let segment = Arc::clone(&segment);
                    loom::thread::spawn(move || {
                        // The reader's order: end seq, then length.
                        let end = segment.published.end_seq().0 as usize;
                        let len = segment.published.len() as usize;
                        assert!(end <= len, "end seq {end} past length {len}");
                        for (i, slot) in segment.slots.iter().enumerate().take(end) {
                            // SAFETY: the slot is below the published end
                            // seq, so its write happened-before this read
                            // (what this model checks: loom fails the run
                            // if it did not).
                            let value = slot.with(|p| unsafe { *p });
                            assert_eq!(value, i as u64 + 1);
                        }
                    })
                })
                .collect();
            for (i, slot) in segment.slots.iter().enumerate() {
                // SAFETY: only the writer writes, and only slots not yet
                // published, which no reader reads (loom checks it).
                slot.with_mut(|p| unsafe { *p = i as u64 + 1 });
                segment.published.publish(i as u64 + 1, Seq(i as u64 + 1));
            }
            for reader in readers {
                reader.join().unwrap();
            }
        });
    }
}
