//! `SimFs`: an in-memory file system that crashes, tears writes and fails on
//! cue, so crash safety is tested by the thousand instead of hoped for.
//!
//! Model (RELIABILITY.md F1–F11), per file:
//! - a *written* image (what reads see) and a *durable* image (what survives
//!   a crash), plus the list of writes and truncations since the last
//!   `sync_data`;
//! - `crash(seed)` rebuilds every file from its durable image plus a random
//!   choice of its unsynced operations, in 512-byte sectors chosen
//!   independently (so later sectors may survive while earlier ones do not),
//!   and a dropped sector past the old end may survive as zeros (the length
//!   persisted before the data). Unsynced creates, removes and renames in a
//!   directory may each be lost; `sync_dir` makes them durable. Handles opened
//!   before a crash fail afterwards, and locks are released.
//! - `fail_after(n, fault, mode)` fails the n-th mutation from now (write,
//!   truncate, sync, create, rename, remove) once or from then on. A failed
//!   write may leave a prefix of its bytes behind; a failed `sync_data`
//!   forgets the file's unsynced writes, as Linux does after an fsync error
//!   (so a retried fsync that "succeeds" has lost data, and tests can see it).
//! - `flip_bit` damages stored bytes outside the model (bit rot).
//! - `record_journal` keeps every change in program order, from which
//!   `at_crash_point` rebuilds each in-order crash state (module `journal`).
//!
//! Directories are durable as soon as they are created (a simplification:
//! spool creates its directories before it writes anything that counts).
//! Every random choice comes from a seed, so a failure replays exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use spool_engine::{OpenMode, Vfs, VfsFile, VfsLock};

/// The sector size crashes tear at.
pub const SECTOR_BYTES: u64 = 512;

/// A small, seeded, portable random generator (SplitMix64): simulations and
/// workloads replay exactly from their seed on every machine.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> SimRng {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }
}

/// Which error an injected fault returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// EIO. A failed write may leave a prefix of its bytes.
    Eio,
    /// ENOSPC (`ErrorKind::StorageFull`). A failed write may leave a prefix
    /// of its bytes, as ext4 does (a short write, then ENOSPC).
    NoSpace,
}

/// Whether an injected fault fires once or keeps firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// Only the n-th mutation fails.
    Once,
    /// The n-th mutation and every one after it fail.
    Persistent,
}

#[derive(Clone, Copy, Debug)]
struct FaultPlan {
    at: u64,
    fault: Fault,
    mode: FaultMode,
}

#[derive(Clone, Debug)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// A namespace change not yet made durable by `sync_dir`.
#[derive(Clone, Debug)]
enum NsOp {
    Create(PathBuf, u64),
    Remove(PathBuf),
    Rename(PathBuf, PathBuf),
}

impl NsOp {
    fn touches(&self, dir: &Path) -> bool {
        let in_dir = |p: &Path| p.parent() == Some(dir);
        match self {
            NsOp::Create(p, _) | NsOp::Remove(p) => in_dir(p),
            NsOp::Rename(from, to) => in_dir(from) || in_dir(to),
        }
    }

    /// Applies the change to a namespace; a rename whose source is missing
    /// (its create was lost) changes nothing.
    fn apply(&self, names: &mut BTreeMap<PathBuf, u64>) {
        match self {
            NsOp::Create(p, id) => {
                names.insert(p.clone(), *id);
            }
            NsOp::Remove(p) => {
                names.remove(p);
            }
            NsOp::Rename(from, to) => {
                if let Some(id) = names.remove(from) {
                    names.insert(to.clone(), id);
                }
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Inode {
    written: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct State {
    rng: SimRng,
    generation: u64,
    next_inode: u64,
    inodes: HashMap<u64, Inode>,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    ns_pending: Vec<NsOp>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    mutations: u64,
    fault: Option<FaultPlan>,
    bytes_read: u64,
    /// Every change in program order, once `record_journal` was called.
    journal: Option<Vec<journal::Change>>,
    journal_base: BTreeMap<u64, Vec<u8>>,
    journal_base_names: BTreeMap<PathBuf, u64>,
}

/// The simulated file system. Clones share one state.
#[derive(Clone, Debug)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl SimFs {
    /// An empty file system (with a root `/`) whose random choices (such as
    /// how much of a failed write lands) come from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> SimFs {
        let mut dirs = BTreeSet::new();
        dirs.insert(PathBuf::from("/"));
        SimFs {
            state: Arc::new(Mutex::new(State {
                rng: SimRng::new(seed),
                generation: 0,
                next_inode: 0,
                inodes: HashMap::new(),
                names: BTreeMap::new(),
                durable_names: BTreeMap::new(),
                ns_pending: Vec::new(),
                dirs,
                locks: BTreeSet::new(),
                mutations: 0,
                fault: None,
                bytes_read: 0,
                journal: None,
                journal_base: BTreeMap::new(),
                journal_base_names: BTreeMap::new(),
            })),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Simulates power loss: every file keeps its durable image plus a
    /// seed-chosen part of its unsynced writes (torn at sector granularity,
    /// possibly out of order, possibly as zeros past the old end); unsynced
    /// namespace changes may each be lost. Open handles and locks die.
    pub fn crash(&self, seed: u64) {
        let mut rng = SimRng::new(seed);
        let mut state = self.lock_state();
        let mut ids: Vec<u64> = state.inodes.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(inode) = state.inodes.get_mut(&id) else {
                continue;
            };
            let mut image = inode.durable.clone();
            for op in std::mem::take(&mut inode.pending) {
                match op {
                    Pending::SetLen(len) => {
                        if rng.chance(1, 2) {
                            image.resize(to_usize(len), 0);
                        }
                    }
                    Pending::Write { offset, data } => {
                        apply_torn_write(&mut image, offset, &data, &mut rng);
                    }
                }
            }
            inode.written.clone_from(&image);
            inode.durable = image;
        }
        // Unsynced namespace changes are replayed in order, each kept or
        // lost on its own; a rename is kept or lost whole.
        let mut names = state.durable_names.clone();
        for op in std::mem::take(&mut state.ns_pending) {
            if rng.chance(1, 2) {
                op.apply(&mut names);
            }
        }
        state.durable_names.clone_from(&names);
        state.names = names;
        state.generation += 1;
        state.locks.clear();
        state.fault = None;
    }

    /// Fails the `n`-th mutation from now (0 = the next one) with `fault`,
    /// once or persistently. Replaces any earlier plan.
    pub fn fail_after(&self, n: u64, fault: Fault, mode: FaultMode) {
        let mut state = self.lock_state();
        let at = state.mutations + n;
        state.fault = Some(FaultPlan { at, fault, mode });
    }

    /// Removes any injected fault.
    pub fn clear_faults(&self) {
        self.lock_state().fault = None;
    }

    /// Flips one bit of a file's stored bytes (written and durable images),
    /// outside the fault model: bit rot that only checksums can catch.
    pub fn flip_bit(&self, path: &Path, bit: u64) -> io::Result<()> {
        let mut state = self.lock_state();
        let id = *state.names.get(path).ok_or_else(|| not_found(path))?;
        let inode = state.inodes.get_mut(&id).ok_or_else(|| not_found(path))?;
        let byte = to_usize(bit / 8);
        let mask = 1u8 << (bit % 8);
        for image in [&mut inode.written, &mut inode.durable] {
            if let Some(b) = image.get_mut(byte) {
                *b ^= mask;
            }
        }
        Ok(())
    }

    /// Mutations performed so far (what `fail_after` counts).
    pub fn mutations(&self) -> u64 {
        self.lock_state().mutations
    }

    /// Bytes read through `read_exact_at` and `map` so far: lets tests assert
    /// how much work an operation did (recovery cost, R18).
    pub fn bytes_read(&self) -> u64 {
        self.lock_state().bytes_read
    }

    /// The durable bytes of a file, as a crash right now would keep at least.
    pub fn durable_bytes(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.lock_state();
        let id = state
            .durable_names
            .get(path)
            .ok_or_else(|| not_found(path))?;
        Ok(state
            .inodes
            .get(id)
            .map(|i| i.durable.clone())
            .unwrap_or_default())
    }
}

/// Applies the sectors of one unsynced write that a crash keeps.
fn apply_torn_write(image: &mut Vec<u8>, offset: u64, data: &[u8], rng: &mut SimRng) {
    let old_len = image.len() as u64;
    let mut at = offset;
    let end = offset + data.len() as u64;
    while at < end {
        let sector_end = ((at / SECTOR_BYTES) + 1) * SECTOR_BYTES;
        let chunk_end = sector_end.min(end);
        let chunk = &data[to_usize(at - offset)..to_usize(chunk_end - offset)];
        match rng.below(4) {
            // Kept: the sector reached the platter.
            0 | 1 => write_into(image, at, chunk),
            // Lost, but the file's length already covered it: zeros.
            2 if chunk_end > old_len && image.len() < to_usize(chunk_end) => {
                image.resize(to_usize(chunk_end), 0);
            }
            // Lost.
            _ => {}
        }
        at = chunk_end;
    }
}

fn write_into(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = to_usize(offset);
    let end = start + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(data);
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is only changed in whole steps under the lock; a panicking
    // test thread cannot leave it half-changed.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

impl State {
    /// Counts a mutation and says whether it must fail, and how.
    fn mutation(&mut self) -> Option<Fault> {
        let index = self.mutations;
        self.mutations += 1;
        let plan = self.fault?;
        let fires = match plan.mode {
            FaultMode::Once => index == plan.at,
            FaultMode::Persistent => index >= plan.at,
        };
        fires.then_some(plan.fault)
    }

    fn change(&mut self, op: NsOp) {
        self.journal(|| journal::Change::Namespace(op.clone()));
        op.apply(&mut self.names);
        self.ns_pending.push(op);
    }

    fn create(&mut self, path: &Path) -> io::Result<u64> {
        if !self.dirs.contains(&parent_of(path)) {
            return Err(not_found(&parent_of(path)));
        }
        if let Some(fault) = self.mutation() {
            return Err(fault_error(fault, "create"));
        }
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        self.change(NsOp::Create(path.to_path_buf(), id));
        Ok(id)
    }
}

fn fault_error(fault: Fault, op: &str) -> io::Error {
    match fault {
        Fault::Eio => io::Error::other(format!("injected EIO during {op}")),
        Fault::NoSpace => io::Error::new(
            io::ErrorKind::StorageFull,
            format!("injected ENOSPC during {op}"),
        ),
    }
}

/// An open file of [`SimFs`].
#[derive(Debug)]
pub struct SimFile {
    state: Arc<Mutex<State>>,
    inode: u64,
    generation: u64,
    writable: bool,
}

impl SimFile {
    fn with_inode<T>(&self, f: impl FnOnce(&mut State, u64) -> io::Result<T>) -> io::Result<T> {
        let mut state = lock(&self.state);
        if state.generation != self.generation {
            return Err(io::Error::other(
                "stale handle: the simulated machine crashed after this file was opened",
            ));
        }
        f(&mut state, self.inode)
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file opened read-only",
            ))
        }
    }
}

fn inode(state: &mut State, id: u64) -> io::Result<&mut Inode> {
    state
        .inodes
        .get_mut(&id)
        .ok_or_else(|| io::Error::other("inode vanished"))
}

impl VfsFile for SimFile {
    fn len(&self) -> io::Result<u64> {
        self.with_inode(|state, id| Ok(inode(state, id)?.written.len() as u64))
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.with_inode(|state, id| {
            let written = &inode(state, id)?.written;
            let start = to_usize(offset);
            let src = start
                .checked_add(buf.len())
                .and_then(|end| written.get(start..end))
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
            buf.copy_from_slice(src);
            state.bytes_read += buf.len() as u64;
            Ok(())
        })
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with_inode(|state, id| {
            if let Some(fault) = state.mutation() {
                // Part of the write may have reached the page cache.
                let landed = to_usize(state.rng.below(buf.len() as u64 + 1));
                state.journal(|| journal::Change::Write {
                    inode: id,
                    offset,
                    data: buf[..landed].to_vec(),
                });
                let node = inode(state, id)?;
                if landed > 0 {
                    write_into(&mut node.written, offset, &buf[..landed]);
                    node.pending.push(Pending::Write {
                        offset,
                        data: buf[..landed].to_vec(),
                    });
                }
                return Err(fault_error(fault, "write"));
            }
            state.journal(|| journal::Change::Write {
                inode: id,
                offset,
                data: buf.to_vec(),
            });
            let node = inode(state, id)?;
            write_into(&mut node.written, offset, buf);
            node.pending.push(Pending::Write {
                offset,
                data: buf.to_vec(),
            });
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with_inode(|state, id| {
            if let Some(fault) = state.mutation() {
                return Err(fault_error(fault, "set_len"));
            }
            state.journal(|| journal::Change::SetLen { inode: id, len });
            let node = inode(state, id)?;
            node.written.resize(to_usize(len), 0);
            node.pending.push(Pending::SetLen(len));
            Ok(())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        self.with_inode(|state, id| {
            if let Some(fault) = state.mutation() {
                // fsyncgate: the kernel marks the pages clean after a failed
                // writeback, so these writes will never reach the platter.
                inode(state, id)?.pending.clear();
                return Err(fault_error(fault, "sync_data"));
            }
            // The durable image gains exactly the writes still pending: after
            // a failed sync the forgotten ones stay in the page cache
            // (`written`) but never reach the platter.
            let node = inode(state, id)?;
            for op in std::mem::take(&mut node.pending) {
                match op {
                    Pending::Write { offset, data } => write_into(&mut node.durable, offset, &data),
                    Pending::SetLen(len) => node.durable.resize(to_usize(len), 0),
                }
            }
            Ok(())
        })
    }

    #[expect(
        unsafe_code,
        reason = "implements the unsafe mapping contract of VfsFile::map"
    )]
    unsafe fn map(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        // A copy, not a mapping: nothing here can dangle or fault.
        let mut buf = vec![0u8; len];
        self.read_exact_at(&mut buf, offset)?;
        Ok(Bytes::from(buf))
    }
}

/// A held lock of [`SimFs`].
#[derive(Debug)]
pub struct SimLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    generation: u64,
}

impl VfsLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        // After a crash the lock already died with its process.
        if state.generation == self.generation {
            state.locks.remove(&self.path);
        }
    }
}

impl Vfs for SimFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let mut state = self.lock_state();
        let existing = state.names.get(path).copied();
        let id = match (mode, existing) {
            (OpenMode::Read | OpenMode::ReadWrite | OpenMode::Create, Some(id)) => id,
            (OpenMode::Read | OpenMode::ReadWrite, None) => return Err(not_found(path)),
            (OpenMode::CreateNew, Some(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists", path.display()),
                ));
            }
            (OpenMode::Create | OpenMode::CreateNew, None) => state.create(path)?,
        };
        Ok(Box::new(SimFile {
            state: Arc::clone(&self.state),
            inode: id,
            generation: state.generation,
            writable: mode != OpenMode::Read,
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if !state.names.contains_key(path) {
            return Err(not_found(path));
        }
        if let Some(fault) = state.mutation() {
            return Err(fault_error(fault, "remove"));
        }
        state.change(NsOp::Remove(path.to_path_buf()));
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if !state.names.contains_key(from) {
            return Err(not_found(from));
        }
        if !state.dirs.contains(&parent_of(to)) {
            return Err(not_found(&parent_of(to)));
        }
        if let Some(fault) = state.mutation() {
            return Err(fault_error(fault, "rename"));
        }
        state.change(NsOp::Rename(from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let state = self.lock_state();
        if !state.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        Ok(state
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(PathBuf::from))
            .collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        for ancestor in dir.ancestors() {
            if !ancestor.as_os_str().is_empty() {
                state.dirs.insert(ancestor.to_path_buf());
            }
        }
        Ok(())
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if !state.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let occupied = state.names.keys().any(|p| p.starts_with(dir))
            || state.dirs.iter().any(|d| d != dir && d.starts_with(dir));
        if occupied {
            return Err(io::Error::new(
                io::ErrorKind::DirectoryNotEmpty,
                format!("{} is not empty", dir.display()),
            ));
        }
        state.dirs.remove(dir);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock_state();
        if !state.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        if let Some(fault) = state.mutation() {
            return Err(fault_error(fault, "sync_dir"));
        }
        // Every pending change in this directory becomes durable, in order.
        // (A rename across directories counts as synced with either one:
        // spool only renames within a directory.)
        let (synced, pending): (Vec<NsOp>, Vec<NsOp>) = std::mem::take(&mut state.ns_pending)
            .into_iter()
            .partition(|op| op.touches(dir));
        for op in &synced {
            op.apply(&mut state.durable_names);
        }
        state.ns_pending = pending;
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn VfsLock>> {
        let mut state = self.lock_state();
        if !state.names.contains_key(path) {
            state.create(path)?;
        }
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is locked by another writer", path.display()),
            ));
        }
        Ok(Box::new(SimLock {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            generation: state.generation,
        }))
    }
}

mod journal;

pub use journal::CrashPoint;

#[cfg(test)]
mod tests;
