//! fjall (3.x), an LSM key-value engine used as a log: keys are big-endian
//! seqs in one keyspace, each batch one atomic write batch, persisted to
//! the OS per batch (`PersistMode::Buffer`, the "written" point) or with
//! fdatasync in the durable rows (`PersistMode::SyncData`). Default
//! options (LZ4 blocks), as a user gets them.

use std::path::Path;
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::{Contender, Records, Result};

/// A fjall database with one keyspace.
#[derive(Default)]
pub struct Fjall {
    open: Option<(Database, Keyspace)>,
    next: u64,
}

impl Fjall {
    fn open_db(&self) -> Result<&(Database, Keyspace)> {
        self.open.as_ref().ok_or_else(|| "fjall: not open".into())
    }
}

impl Contender for Fjall {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.open(dir)
    }

    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()> {
        let mut next = self.next;
        let (db, keyspace) = self.open_db()?;
        let mode = if sync {
            PersistMode::SyncData
        } else {
            PersistMode::Buffer
        };
        for chunk in records.payloads.chunks(batch) {
            let mut write = db.batch().durability(Some(mode));
            for payload in chunk {
                write.insert(keyspace, &next.to_be_bytes()[..], &payload[..]);
                next += 1;
            }
            write.commit()?;
        }
        self.next = next;
        Ok(())
    }

    fn concurrent_durable(&mut self, records: &Records) -> Option<Result<()>> {
        let run = || -> Result<()> {
            let (db, keyspace) = self.open_db()?;
            std::thread::scope(|scope| {
                let writers: Vec<_> = (0..super::WRITERS)
                    .map(|w| {
                        scope.spawn(move || -> Result<()> {
                            for (i, p) in records
                                .payloads
                                .iter()
                                .enumerate()
                                .skip(w)
                                .step_by(super::WRITERS)
                            {
                                let mut write = db.batch().durability(Some(PersistMode::SyncData));
                                write.insert(keyspace, &(i as u64).to_be_bytes()[..], &p[..]);
                                write.commit()?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                writers
                    .into_iter()
                    .try_for_each(|w| w.join().map_err(|_| "fjall: a writer panicked")?)
            })
        };
        Some(run())
    }

    fn close(&mut self) -> Result<()> {
        if let Some((db, _)) = self.open.take() {
            db.persist(PersistMode::Buffer)?;
        }
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        let db = Database::builder(dir.join("db")).open()?;
        let keyspace = db.keyspace("log", KeyspaceCreateOptions::default)?;
        self.next = match keyspace.iter().next_back() {
            Some(last) => {
                let key = last.key()?;
                u64::from_be_bytes(key[..].try_into()?) + 1
            }
            None => 0,
        };
        self.open = Some((db, keyspace));
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let (_, keyspace) = self.open_db()?;
        let (mut count, mut bytes) = (0, 0);
        for item in keyspace.iter() {
            bytes += item.value()?.len() as u64;
            count += 1;
        }
        Ok((count, bytes))
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        let (_, keyspace) = self.open_db()?;
        let mut times = Vec::with_capacity(starts.len());
        for &start in starts {
            let began = Instant::now();
            let mut got = 0;
            for item in keyspace.range(start.to_be_bytes()..).take(len) {
                std::hint::black_box(item.value()?);
                got += 1;
            }
            times.push(began.elapsed());
            if got != len {
                return Err(format!("fjall: a page at {start} held {got} records").into());
            }
        }
        Ok(times)
    }
}
