//! The `commitlog` crate (0.2), the closest Rust peer by shape: segment
//! files with a memory-mapped offset index and CRC32C per message. It never
//! calls fsync (PEERS.md §1a), so it has no durable rows; `flush` per batch
//! is its own "written" point.

use std::path::Path;
use std::time::{Duration, Instant};

use commitlog::message::{MessageBuf, MessageSet};
use commitlog::{CommitLog, LogOptions, ReadLimit};

use super::{Contender, Records, Result};

/// Most bytes one read asks for (a page of 100 records of up to 17 KB).
const READ_BYTES: usize = 2 << 20;

/// A commitlog in a directory.
#[derive(Default)]
pub struct Commitlog {
    log: Option<CommitLog>,
}

impl Commitlog {
    fn log(&mut self) -> Result<&mut CommitLog> {
        self.log
            .as_mut()
            .ok_or_else(|| "commitlog: not open".into())
    }
}

impl Contender for Commitlog {
    fn name(&self) -> &'static str {
        "commitlog"
    }

    fn can_sync(&self) -> bool {
        false
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.open(dir)
    }

    fn append(&mut self, records: &Records, batch: usize, _sync: bool) -> Result<()> {
        let log = self.log()?;
        for chunk in records.payloads.chunks(batch) {
            let mut messages: MessageBuf = chunk.iter().collect();
            log.append(&mut messages)?;
            log.flush()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut log) = self.log.take() {
            log.flush()?;
        }
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        let mut options = LogOptions::new(dir.join("log"));
        // Checked against a whole appended batch, not one message.
        options.message_max_bytes(64 << 20);
        self.log = Some(CommitLog::new(options)?);
        Ok(())
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let log = self.log()?;
        let (mut count, mut bytes, mut next) = (0, 0, 0);
        loop {
            let messages = log.read(next, ReadLimit::max_bytes(READ_BYTES))?;
            let before = count;
            for m in messages.iter() {
                bytes += m.payload().len() as u64;
                count += 1;
                next = m.offset() + 1;
            }
            if count == before {
                return Ok((count, bytes));
            }
        }
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        let log = self.log()?;
        let mut times = Vec::with_capacity(starts.len());
        for &start in starts {
            let began = Instant::now();
            let mut got = 0;
            let mut next = start;
            while got < len {
                let messages = log.read(next, ReadLimit::max_bytes(READ_BYTES))?;
                let before = got;
                for m in messages.iter().take(len - got) {
                    std::hint::black_box(m.payload());
                    got += 1;
                    next = m.offset() + 1;
                }
                if got == before {
                    break;
                }
            }
            times.push(began.elapsed());
            if got != len {
                return Err(format!("commitlog: a page at {start} held {got} records").into());
            }
        }
        Ok(times)
    }
}
