//! SQLite as a log, the way teams use it: one table keyed by seq (the
//! rowid), WAL mode, `synchronous=NORMAL` (a commit is written, not
//! fsynced) and one transaction per batch; `synchronous=FULL` in the
//! durable rows (an fsync per commit). Range reads by rowid.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{Contender, Records, Result};

/// SQLite through rusqlite (bundled).
#[derive(Default)]
pub struct Sqlite {
    conn: Option<Connection>,
    next: i64,
}

impl Sqlite {
    fn conn(&mut self) -> Result<&mut Connection> {
        self.conn.as_mut().ok_or_else(|| "sqlite: not open".into())
    }

    fn connect(&mut self, dir: &Path) -> Result<()> {
        let conn = Connection::open(dir.join("log.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
            (),
        )?;
        self.next = conn.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM log", (), |r| {
            r.get(0)
        })?;
        self.conn = Some(conn);
        Ok(())
    }
}

impl Contender for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn create(&mut self, dir: &Path) -> Result<()> {
        self.connect(dir)
    }

    fn append(&mut self, records: &Records, batch: usize, sync: bool) -> Result<()> {
        let mut next = self.next;
        let conn = self.conn()?;
        conn.pragma_update(None, "synchronous", if sync { "FULL" } else { "NORMAL" })?;
        for chunk in records.payloads.chunks(batch) {
            let tx = conn.transaction()?;
            {
                let mut insert =
                    tx.prepare_cached("INSERT INTO log (seq, payload) VALUES (?1, ?2)")?;
                for payload in chunk {
                    insert.execute((next, &payload[..]))?;
                    next += 1;
                }
            }
            tx.commit()?;
        }
        self.next = next;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| e)?;
        }
        Ok(())
    }

    fn open(&mut self, dir: &Path) -> Result<()> {
        self.connect(dir)
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let conn = self.conn()?;
        let mut select = conn.prepare_cached("SELECT payload FROM log ORDER BY seq")?;
        let mut rows = select.query(())?;
        let (mut count, mut bytes) = (0, 0);
        while let Some(row) = rows.next()? {
            bytes += row.get_ref(0)?.as_blob()?.len() as u64;
            count += 1;
        }
        Ok((count, bytes))
    }

    fn pages(&mut self, starts: &[u64], len: usize) -> Result<Vec<Duration>> {
        let conn = self.conn()?;
        let mut select =
            conn.prepare_cached("SELECT payload FROM log WHERE seq >= ?1 ORDER BY seq LIMIT ?2")?;
        let mut times = Vec::with_capacity(starts.len());
        for &start in starts {
            let began = Instant::now();
            let mut rows = select.query((i64::try_from(start)?, i64::try_from(len)?))?;
            let mut got = 0;
            while let Some(row) = rows.next()? {
                std::hint::black_box(row.get_ref(0)?.as_blob()?);
                got += 1;
            }
            times.push(began.elapsed());
            if got != len {
                return Err(format!("sqlite: a page at {start} held {got} records").into());
            }
        }
        Ok(times)
    }
}
