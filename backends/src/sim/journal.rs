//! The ordered journal of a [`SimFs`]: every data and namespace change in
//! the order the program made it, so a test can rebuild each *in-order*
//! crash state (RELIABILITY.md R5b, after dm-log-writes and CrashMonkey):
//! the first `k` changes landed whole, the change in flight landed up to a
//! 512-byte boundary, and nothing after it landed at all.
//!
//! `crash(seed)` explores the disorder a real disk allows; the journal
//! explores every point of the order a program writes in, exhaustively.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Inode, NsOp, SECTOR_BYTES, SimFs, State, to_usize, write_into};

/// One change, in program order.
#[derive(Clone, Debug)]
pub(super) enum Change {
    Write {
        inode: u64,
        offset: u64,
        data: Vec<u8>,
    },
    SetLen {
        inode: u64,
        len: u64,
    },
    Namespace(NsOp),
}

/// Where a simulated power loss stops the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPoint {
    /// Changes that landed whole.
    pub landed: usize,
    /// Sectors of the next change (a write) that landed too, counted from
    /// its first byte to each 512-byte boundary inside it.
    pub cut: Option<usize>,
}

impl SimFs {
    /// Starts recording every change from now on, with the files as they
    /// are now as the starting image. Call it on a fresh file system.
    pub fn record_journal(&self) {
        let mut state = self.lock_state();
        state.journal = Some(Vec::new());
        state.journal_base = state
            .inodes
            .iter()
            .map(|(id, inode)| (*id, inode.written.clone()))
            .collect();
        state.journal_base_names = state.names.clone();
    }

    /// Changes recorded so far.
    #[must_use]
    pub fn journal_len(&self) -> usize {
        self.lock_state().journal.as_ref().map_or(0, Vec::len)
    }

    /// Every in-order crash point of the journal: after each change, and
    /// after each 512-byte boundary inside each write.
    #[must_use]
    pub fn crash_points(&self) -> Vec<CrashPoint> {
        let state = self.lock_state();
        let journal = state.journal.as_deref().unwrap_or_default();
        let mut points = Vec::new();
        for (landed, change) in journal.iter().enumerate() {
            points.push(CrashPoint { landed, cut: None });
            if let Change::Write { offset, data, .. } = change {
                for cut in 1..sector_cuts(*offset, data.len()) {
                    points.push(CrashPoint {
                        landed,
                        cut: Some(cut),
                    });
                }
            }
        }
        points.push(CrashPoint {
            landed: journal.len(),
            cut: None,
        });
        points
    }

    /// A new file system holding the state a power loss at `point` leaves:
    /// everything durable, nothing pending, no locks, same directories.
    #[must_use]
    pub fn at_crash_point(&self, point: CrashPoint) -> SimFs {
        let state = self.lock_state();
        let journal = state.journal.as_deref().unwrap_or_default();
        let mut images: BTreeMap<u64, Vec<u8>> = state.journal_base.clone();
        let mut names = state.journal_base_names.clone();
        for change in journal.iter().take(point.landed) {
            apply(change, &mut images, &mut names, None);
        }
        if let (Some(cut), Some(change)) = (point.cut, journal.get(point.landed)) {
            apply(change, &mut images, &mut names, Some(cut));
        }
        let fresh = SimFs::new(0);
        {
            let mut new_state = fresh.lock_state();
            new_state.dirs.clone_from(&state.dirs);
            new_state.next_inode = state.next_inode;
            new_state.inodes = images
                .into_iter()
                .map(|(id, image)| {
                    let inode = Inode {
                        written: image.clone(),
                        durable: image,
                        pending: Vec::new(),
                    };
                    (id, inode)
                })
                .collect();
            new_state.durable_names.clone_from(&names);
            new_state.names = names;
        }
        fresh
    }
}

/// How many sector-aligned pieces a write at `offset` of `len` bytes has.
fn sector_cuts(offset: u64, len: usize) -> usize {
    let end = offset + len as u64;
    let first = offset / SECTOR_BYTES;
    let last = end.div_ceil(SECTOR_BYTES);
    to_usize(last.saturating_sub(first)).max(1)
}

/// Applies one change; a write with `cut = Some(n)` lands only up to its
/// `n`-th sector boundary.
fn apply(
    change: &Change,
    images: &mut BTreeMap<u64, Vec<u8>>,
    names: &mut BTreeMap<PathBuf, u64>,
    cut: Option<usize>,
) {
    match change {
        Change::Write {
            inode,
            offset,
            data,
        } => {
            let len = match cut {
                None => data.len(),
                Some(n) => {
                    let boundary = (offset / SECTOR_BYTES + n as u64) * SECTOR_BYTES;
                    to_usize(boundary.saturating_sub(*offset)).min(data.len())
                }
            };
            write_into(images.entry(*inode).or_default(), *offset, &data[..len]);
        }
        Change::SetLen { inode, len } => {
            images.entry(*inode).or_default().resize(to_usize(*len), 0);
        }
        Change::Namespace(op) => {
            if let NsOp::Create(_, id) = op {
                images.entry(*id).or_default();
            }
            op.apply(names);
        }
    }
}

impl State {
    /// Records a change if a journal is being kept.
    pub(super) fn journal(&mut self, change: impl FnOnce() -> Change) {
        if let Some(journal) = &mut self.journal {
            journal.push(change());
        }
    }
}
