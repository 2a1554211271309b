//! The writer task: one per log, the only caller of the backend's write
//! methods. It drains the bounded request queue and commits everything pending
//! with one backend append and at most one sync (group commit), then publishes
//! the new end to readers and answers every request.

use std::collections::VecDeque;
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

#[expect(
    clippy::struct_field_names,
    reason = "the limits are LogConfig's max_* fields"
)]
pub(crate) struct Limits {
    pub(crate) max_commit_records: usize,
    pub(crate) max_commit_bytes: usize,
    /// The backend's largest atomic batch (`Capabilities::max_batch_bytes`):
    /// a round is written in as many backend batches as it needs.
    pub(crate) max_batch_bytes: usize,
}

pub(crate) struct Writer {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) health: Arc<Health>,
    pub(crate) visible: watch::Sender<Seq>,
    pub(crate) limits: Limits,
    pub(crate) next: Seq,
    /// Requests in the last round (see `run`).
    pub(crate) last_round: usize,
}

impl Writer {
    /// Runs until a `Close` is processed or every handle is dropped.
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Command>) {
        while let Some(first) = queue.recv().await {
            // The first send wakes the writer, which may run at once (tokio
            // runs a task woken from a worker next, on that worker), before
            // the other appenders it just answered had their turn to send
            // again: rounds of one. When the last round was shared, one
            // yield lets them queue up first; a lone appender never pays it.
            if self.last_round > 1
                && queue.is_empty()
                && matches!(&first, Command::Append(a) if a.durability.group_delay().is_none())
            {
                crate::rt::yield_now().await;
            }
            let mut round = vec![first];
            self.gather(&mut queue, &mut round).await;
            self.last_round = round.len();
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
        let (accepted, spent) = self.write(appends).await;
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
        drop(spent);
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

    /// Hands every acceptable append to the backend, in one call when all
    /// goes well. Returns the written requests with their ranges, still to be
    /// answered once the round's sync is done (rejected and failed ones are
    /// answered here), and the records written, which the caller drops only
    /// after answering so that freeing them is off the appenders' path.
    async fn write(&mut self, appends: Vec<AppendRequest>) -> (Vec<Reply>, Vec<Vec<NewRecord>>) {
        let mut replies = Vec::new();
        let mut spent = Vec::new();
        let mut groups = self.fitting_groups(appends);
        while let Some(group) = groups.pop_front() {
            match self.write_group(group).await {
                Written::Done(done, records) => {
                    replies.extend(done);
                    spent.push(records);
                }
                // One request of several was refused: commit each on its
                // own, so only the offending one fails.
                Written::Split(requests) => {
                    for a in requests.into_iter().rev() {
                        groups.push_front(vec![a]);
                    }
                }
            }
        }
        (replies, spent)
    }

    /// Cuts a round's appends into consecutive groups that each fit the
    /// backend's largest batch (every one does alone: `Log` refuses larger
    /// appends), so a remote log with a message bound still gets whole
    /// appends, each atomic, and a file backend gets the round as one batch.
    fn fitting_groups(&self, appends: Vec<AppendRequest>) -> VecDeque<Vec<AppendRequest>> {
        let max = self.limits.max_batch_bytes;
        let mut groups = VecDeque::new();
        let mut group = Vec::new();
        let mut bytes = 0usize;
        for a in appends {
            let own = crate::batch_bytes(&a.records);
            if !group.is_empty() && bytes.saturating_add(own) > max {
                groups.push_back(std::mem::take(&mut group));
                bytes = 0;
            }
            bytes = bytes.saturating_add(own);
            group.push(a);
        }
        if !group.is_empty() || groups.is_empty() {
            groups.push_back(group);
        }
        groups
    }

    /// Judges expectations against the current end, then writes the accepted
    /// requests as one backend batch.
    async fn write_group(&mut self, mut appends: Vec<AppendRequest>) -> Written {
        if let Err(e) = self.health.check() {
            for a in appends {
                let _ = a.reply.send(Err(e.clone()));
            }
            return Written::Done(Vec::new(), Vec::new());
        }
        let mut conflicts = 0;
        loop {
            let (mut accepted, next) = self.judge(appends);
            let batch = take_records(&mut accepted);
            if batch.is_empty() {
                return Written::Done(into_replies(accepted), batch);
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
                    return Written::Done(into_replies(accepted), batch);
                }
                // Another writer moved the end: learn it and try again, so
                // appends without an expectation still land and expectations
                // are judged against the truth.
                Err(Error::Conflict { actual, .. }) if conflicts < MAX_CONFLICT_RETRIES => {
                    conflicts += 1;
                    self.next = actual;
                    appends = give_back(accepted, batch);
                }
                // Nothing was written (a batch is atomic) and the log is
                // healthy: find the offending request.
                Err(e) if !e.poisons() && accepted.len() > 1 => {
                    return Written::Split(give_back(accepted, batch));
                }
                Err(e) => {
                    if e.poisons() {
                        self.health.poison(&e);
                    }
                    for (a, _) in accepted {
                        let _ = a.reply.send(Err(e.clone()));
                    }
                    return Written::Done(Vec::new(), batch);
                }
            }
        }
    }

    /// Answers requests whose expectation is not the end they would land at;
    /// gives the others their ranges. Returns them and the end after them.
    fn judge(&self, appends: Vec<AppendRequest>) -> (Vec<(AppendRequest, SeqRange)>, Seq) {
        let mut accepted = Vec::with_capacity(appends.len());
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
            accepted.push((a, SeqRange { start, end: next }));
        }
        (accepted, next)
    }

    async fn sync(&self, level: Durability) -> Result<Seq> {
        self.health.check()?;
        match self.backend.sync(level).await {
            Ok(durable) => Ok(durable),
            // A reader's handle refuses before touching anything.
            Err(e @ Error::ReadOnly { .. }) => Err(e),
            Err(e) => {
                // Never retried: after a failed fsync the kernel may have
                // dropped the dirty pages, so a second fsync could "succeed".
                // Any other failure here poisons: what was written is unknown.
                self.health.poison(&e);
                Err(e)
            }
        }
    }
}

/// How often a round retries after the backend reports that another
/// writer moved the end, before failing the round with the conflict.
const MAX_CONFLICT_RETRIES: usize = 8;

/// An accepted request's answer channel and the seqs it was given.
type Reply = (oneshot::Sender<Result<SeqRange>>, SeqRange);

/// What became of a group of requests.
enum Written {
    /// Answered (failures) or to be answered after the sync (the replies),
    /// with the records that were handed to the backend.
    Done(Vec<Reply>, Vec<NewRecord>),
    /// To be retried one request at a time.
    Split(Vec<AppendRequest>),
}

fn into_replies(accepted: Vec<(AppendRequest, SeqRange)>) -> Vec<Reply> {
    accepted.into_iter().map(|(a, r)| (a.reply, r)).collect()
}

/// Moves the records of the accepted requests into one batch, in order
/// (no copies: a lone request's vector is taken as it is).
fn take_records(accepted: &mut [(AppendRequest, SeqRange)]) -> Vec<NewRecord> {
    if let [(only, _)] = accepted {
        return std::mem::take(&mut only.records);
    }
    let total = accepted.iter().map(|(a, _)| a.records.len()).sum();
    let mut batch = Vec::with_capacity(total);
    for (a, _) in accepted {
        batch.append(&mut a.records);
    }
    batch
}

/// Undoes [`take_records`]: each request gets its records back.
fn give_back(
    mut accepted: Vec<(AppendRequest, SeqRange)>,
    mut batch: Vec<NewRecord>,
) -> Vec<AppendRequest> {
    for (a, range) in accepted.iter_mut().rev() {
        let n = usize::try_from(range.end.0 - range.start.0).unwrap_or(usize::MAX);
        a.records = batch.split_off(batch.len().saturating_sub(n));
    }
    accepted.into_iter().map(|(a, _)| a).collect()
}
