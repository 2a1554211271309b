//! The writer task: one per log, the only caller of the backend's write
//! methods. It drains the bounded request queue and commits everything pending
//! with one backend append and at most one sync (group commit), then publishes
//! the new end to readers and answers every request.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::{Backend, Clock, Durability, Error, NewRecord, Result, Seq, SeqRange};

/// A request to the writer.
pub(crate) enum Command {
    Append(AppendRequest),
    Sync {
        level: Durability,
        reply: oneshot::Sender<Result<Seq>>,
    },
    Close {
        reply: oneshot::Sender<Result<()>>,
    },
}

pub(crate) struct AppendRequest {
    pub(crate) records: Vec<NewRecord>,
    pub(crate) expect: Option<Seq>,
    pub(crate) durability: Durability,
    pub(crate) reply: oneshot::Sender<Result<SeqRange>>,
}

impl Command {
    fn records(&self) -> (usize, usize) {
        match self {
            Command::Append(a) => (
                a.records.len(),
                a.records.iter().map(|r| r.payload.len()).sum(),
            ),
            _ => (0, 0),
        }
    }

    fn group_delay(&self) -> Option<std::time::Duration> {
        match self {
            Command::Append(a) => a.durability.group_delay(),
            Command::Sync { level, .. } => level.group_delay(),
            Command::Close { .. } => None,
        }
    }
}

/// Sticky state shared by the writer and every handle: once poisoned or
/// closed, a log stays so until it is reopened.
#[derive(Debug, Default)]
pub(crate) struct Health {
    poisoned: Mutex<Option<Error>>,
}

impl Health {
    pub(crate) fn check(&self) -> Result<()> {
        match &*self
            .poisoned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            None => Ok(()),
            Some(cause) => Err(Error::Poisoned {
                cause: cause.to_string(),
            }),
        }
    }

    fn poison(&self, cause: &Error) {
        let mut slot = self
            .poisoned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(cause.clone());
        }
    }
}

pub(crate) struct Limits {
    pub(crate) max_commit_records: usize,
    pub(crate) max_commit_bytes: usize,
}

pub(crate) struct Writer {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) health: Arc<Health>,
    pub(crate) visible: watch::Sender<Seq>,
    pub(crate) limits: Limits,
    pub(crate) next: Seq,
}

impl Writer {
    /// Runs until a `Close` is processed or every handle is dropped.
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Command>) {
        while let Some(first) = queue.recv().await {
            let mut round = vec![first];
            self.gather(&mut queue, &mut round).await;
            if self.commit(round).await {
                return;
            }
        }
        // Every handle is gone without an explicit close: release the backend.
        // There is no one left to tell about an error; `Log::close` is the
        // way to see it.
        let _ = self.backend.close().await;
    }

    /// Collects what is pending into `round`: waits out a group-commit delay
    /// if the first request asks for one, then takes whatever is queued, up to
    /// the commit limits. Stops after a `Close`.
    async fn gather(&self, queue: &mut mpsc::Receiver<Command>, round: &mut Vec<Command>) {
        let (mut records, mut bytes) = round[0].records();
        let full = |records: usize, bytes: usize| {
            records >= self.limits.max_commit_records || bytes >= self.limits.max_commit_bytes
        };
        if matches!(round[0], Command::Close { .. }) {
            return;
        }
        if let Some(delay) = round[0].group_delay() {
            let sleep = self.clock.sleep(delay);
            tokio::pin!(sleep);
            while !full(records, bytes) {
                tokio::select! {
                    () = &mut sleep => break,
                    next = queue.recv() => match next {
                        Some(cmd) => {
                            let (r, b) = cmd.records();
                            records += r;
                            bytes += b;
                            let closing = matches!(cmd, Command::Close { .. });
                            round.push(cmd);
                            if closing {
                                return;
                            }
                        }
                        None => break,
                    },
                }
            }
        }
        while !full(records, bytes) {
            let Ok(cmd) = queue.try_recv() else { break };
            let (r, b) = cmd.records();
            records += r;
            bytes += b;
            let closing = matches!(cmd, Command::Close { .. });
            round.push(cmd);
            if closing {
                break;
            }
        }
    }

    /// Commits one round; returns whether the log is now closed.
    async fn commit(&mut self, round: Vec<Command>) -> bool {
        let mut appends = Vec::new();
        let mut syncs = Vec::new();
        let mut close = None;
        let mut needs_data = false;
        for cmd in round {
            match cmd {
                Command::Append(a) => {
                    needs_data |= a.durability.needs_sync();
                    appends.push(a);
                }
                Command::Sync { level, reply } => {
                    needs_data |= level.needs_sync();
                    syncs.push((level, reply));
                }
                Command::Close { reply } => close = Some(reply),
            }
        }

        // Failed appends were answered inside `write`; a failure that poisons
        // the log also fails the sync below, which checks health first.
        let accepted = self.write(appends).await;
        let sync_result = if needs_data {
            self.sync(Durability::Data).await
        } else if !syncs.is_empty() {
            self.sync(Durability::Buffered).await
        } else {
            Ok(self.next)
        };
        // Readers see the new end only once it is acknowledged, so nothing a
        // reader saw can be answered as failed.
        // A poisoned log publishes nothing more: its written end may hold
        // records whose append failed (written, then the sync failed).
        if sync_result.is_ok() && self.health.check().is_ok() {
            self.visible.send_replace(self.next);
        }
        for (reply, range) in accepted {
            let _ = reply.send(sync_result.clone().map(|_| range));
        }
        for (level, reply) in syncs {
            let answer = sync_result.clone().map(|durable| match level {
                Durability::Buffered => self.next,
                _ => durable,
            });
            let _ = reply.send(answer);
        }
        let Some(reply) = close else { return false };
        let closed = match self.health.check() {
            Err(e) => {
                let _ = self.backend.close().await;
                Err(e)
            }
            Ok(()) => self.backend.close().await,
        };
        let _ = reply.send(closed);
        true
    }

    /// Hands every acceptable append to the backend in one call. Returns the
    /// written requests with their ranges, still to be answered once the
    /// round's sync is done; rejected and failed ones are answered here.
    async fn write(
        &mut self,
        mut appends: Vec<AppendRequest>,
    ) -> Vec<(oneshot::Sender<Result<SeqRange>>, SeqRange)> {
        if let Err(e) = self.health.check() {
            for a in appends {
                let _ = a.reply.send(Err(e.clone()));
            }
            return Vec::new();
        }
        // A conflict from the backend means another writer moved the end:
        // learn the new end and try once more, so appends without an
        // expectation still land and expectations are judged against the truth.
        let mut retried = false;
        loop {
            let mut accepted = Vec::with_capacity(appends.len());
            let mut batch = Vec::new();
            let mut next = self.next;
            for a in appends {
                if let Some(expected) = a.expect
                    && expected != next
                {
                    let _ = a.reply.send(Err(Error::Conflict {
                        expected,
                        actual: next,
                    }));
                    continue;
                }
                let start = next;
                next = Seq(next.0 + a.records.len() as u64);
                batch.extend(a.records.iter().cloned());
                accepted.push((a, SeqRange { start, end: next }));
            }
            if batch.is_empty() {
                return into_replies(accepted);
            }
            match self.backend.append(self.next, &batch).await {
                Ok(range) => {
                    assert_eq!(
                        range,
                        SeqRange {
                            start: self.next,
                            end: next
                        },
                        "backend assigned seqs other than the ones it was told"
                    );
                    self.next = next;
                    return into_replies(accepted);
                }
                Err(Error::Conflict { actual, .. }) if !retried => {
                    retried = true;
                    self.next = actual;
                    appends = accepted.into_iter().map(|(a, _)| a).collect();
                }
                Err(e) => {
                    if e.poisons() {
                        self.health.poison(&e);
                    }
                    for (a, _) in accepted {
                        let _ = a.reply.send(Err(e.clone()));
                    }
                    return Vec::new();
                }
            }
        }
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        self.health.check()?;
        match self.backend.sync(level).await {
            Ok(durable) => Ok(durable),
            Err(e) => {
                // Never retried: after a failed fsync the kernel may have
                // dropped the dirty pages, so a second fsync could "succeed".
                // Any failure here poisons: what was written is unknown.
                self.health.poison(&e);
                Err(e)
            }
        }
    }
}

fn into_replies(
    accepted: Vec<(AppendRequest, SeqRange)>,
) -> Vec<(oneshot::Sender<Result<SeqRange>>, SeqRange)> {
    accepted.into_iter().map(|(a, r)| (a.reply, r)).collect()
}
