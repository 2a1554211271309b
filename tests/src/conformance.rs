//! The backend conformance suite (RELIABILITY.md R14), written once and run
//! against every backend.
//!
//! Method: proptest generates sequences of operations — append, atomic batch,
//! expected-seq append, page reads forwards and backwards (through the cursor's
//! string form or not, followed to the end), tails that catch up and then
//! follow live appends, syncs, clock jumps, and close+reopen — and runs each
//! through the public [`Log`] API over the backend under test, comparing every
//! answer with a plain `Vec` [`Model`]. Backends differ in what they can store,
//! so each declares its [`Capabilities`] and the generator fits its inputs to
//! them; the properties checked are the same for all.
//!
//! A backend joins with one line: implement [`Subject`] and call [`run`].

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use spool_engine::{
    Backend, Capabilities, Cursor, Direction, Durability, Error, Log, LogConfig, LogId,
    ManualClock, PayloadRule, Result, Seq, SeqRange,
};

use crate::model::Model;

/// A backend under test.
#[async_trait]
pub trait Subject: Send + Sync {
    /// What a reopen needs (a root directory, a shared in-memory log, …).
    type Handle: Send + Sync;

    /// The backend's name, for failure messages.
    fn name(&self) -> &'static str;

    /// What the backend can store.
    fn capabilities(&self) -> Capabilities;

    /// Creates a fresh, empty log.
    async fn create(&self) -> Result<(Self::Handle, Arc<dyn Backend>)>;

    /// Opens the log again after it was closed; `None` if the backend does
    /// not persist across a close.
    async fn reopen(&self, handle: &Self::Handle) -> Option<Result<Arc<dyn Backend>>>;
}

/// One step of a generated workload.
#[derive(Clone, Debug)]
pub enum Op {
    /// `Log::append` of one record.
    Append(Bytes),
    /// `Log::append_batch` (possibly empty).
    Batch(Vec<Bytes>),
    /// `Log::append_expecting` with the true next seq moved by `skew`.
    Expecting {
        /// 0 expects the truth; anything else must conflict.
        skew: i8,
        /// The records.
        payloads: Vec<Bytes>,
    },
    /// `Log::read_page`, then the same page again after `then_append`
    /// (pages are stable), then every following page to the end.
    Page {
        /// Picks the cursor seq in `0..=next_seq`.
        at: u16,
        /// Requested limit (0 is clamped to 1 by the log).
        limit: u8,
        /// Direction of the cursor.
        backward: bool,
        /// Pass the cursor through its string form first.
        via_string: bool,
        /// Appended between the two reads of the page.
        then_append: Vec<Bytes>,
    },
    /// `Log::tail` from a picked seq: catch up, then follow `live` appends.
    Tail {
        /// Picks the start seq in `0..=next_seq`.
        at: u16,
        /// Appended while the tail is following.
        live: Vec<Bytes>,
    },
    /// `Log::sync`.
    Sync(bool),
    /// Moves the clock (it may go back).
    ClockJump(i64),
    /// `Log::close`, then open the backend again (where it persists).
    Reopen,
}

/// A generator of payloads a backend with `caps` can store.
pub fn payload(caps: Capabilities) -> BoxedStrategy<Bytes> {
    match caps.payload {
        PayloadRule::JsonLine => (any::<u32>(), "[a-z ]{0,24}", any::<bool>())
            .prop_map(|(n, s, nested)| {
                let line = if nested {
                    format!(r#"{{"n":{n},"s":"{s}","o":{{"k":[1,2]}}}}"#)
                } else {
                    format!(r#"{{"n":{n},"s":"{s}"}}"#)
                };
                Bytes::from(line)
            })
            .boxed(),
        _ => prop_oneof![
            8 => proptest::collection::vec(any::<u8>(), 0..48),
            1 => proptest::collection::vec(any::<u8>(), 0..4096),
        ]
        .prop_map(Bytes::from)
        .boxed(),
    }
}

/// A generator of workloads for a backend with `caps`.
pub fn ops(caps: Capabilities, max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    let p = payload(caps);
    let few = proptest::collection::vec(p.clone(), 0..6);
    let op = prop_oneof![
        6 => p.clone().prop_map(Op::Append),
        3 => few.clone().prop_map(Op::Batch),
        2 => (prop_oneof![4 => Just(0i8), 1 => any::<i8>()], few.clone())
            .prop_map(|(skew, payloads)| Op::Expecting { skew, payloads }),
        4 => (any::<u16>(), any::<u8>(), any::<bool>(), any::<bool>(),
              proptest::collection::vec(p.clone(), 0..3))
            .prop_map(|(at, limit, backward, via_string, then_append)| Op::Page {
                at, limit: limit % 12, backward, via_string, then_append,
            }),
        2 => (any::<u16>(), proptest::collection::vec(p, 0..5))
            .prop_map(|(at, live)| Op::Tail { at, live }),
        1 => any::<bool>().prop_map(Op::Sync),
        1 => prop_oneof![Just(-3_600_000i64), Just(0), Just(315_360_000_000), -1000i64..1000]
            .prop_map(Op::ClockJump),
        1 => Just(Op::Reopen),
    ];
    proptest::collection::vec(op, 1..max_len)
}

/// Runs `cases` generated workloads of up to 40 operations against `subject`.
/// Panics with the shrunk failing workload and the backend's name.
pub fn run<S: Subject>(subject: &S, cases: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&ops(subject.capabilities(), 40), |ops| {
        runtime.block_on(run_case(subject, &ops))
    });
    if let Err(e) = result {
        panic!("{} failed conformance: {e}", subject.name());
    }
}

/// A log under test with its model and clock.
struct Harness<'a, S: Subject> {
    subject: &'a S,
    handle: S::Handle,
    log: Log,
    model: Model,
    clock: Arc<ManualClock>,
    caps: Capabilities,
}

fn fail(message: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(message.into())
}

fn check<T: Debug + PartialEq + ?Sized>(
    what: &str,
    got: &T,
    want: &T,
) -> Result<(), TestCaseError> {
    if got == want {
        Ok(())
    } else {
        Err(fail(format!("{what}: got {got:?}, want {want:?}")))
    }
}

fn config() -> LogConfig {
    // Small queue and commits keep the writer's round limits in play; a
    // 1 KiB page bound makes pages byte-bounded often (payloads reach
    // 4 KiB), so the backward re-read loop runs.
    LogConfig {
        queue_depth: 8,
        max_commit_records: 16,
        max_page_records: 64,
        max_page_bytes: 1024,
        ..LogConfig::default()
    }
}

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

async fn timed<T>(what: &str, f: impl Future<Output = T>) -> Result<T, TestCaseError> {
    tokio::time::timeout(STEP_TIMEOUT, f)
        .await
        .map_err(|_| fail(format!("{what} did not finish within {STEP_TIMEOUT:?}")))
}

async fn run_case<S: Subject>(subject: &S, ops: &[Op]) -> Result<(), TestCaseError> {
    let (handle, backend) = subject
        .create()
        .await
        .map_err(|e| fail(format!("create: {e}")))?;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let log = Log::open_with_clock(id(), backend, config(), clock.clone())
        .map_err(|e| fail(format!("open: {e}")))?;
    let mut h = Harness {
        subject,
        handle,
        log,
        model: Model::default(),
        clock,
        caps: subject.capabilities(),
    };
    for (step, op) in ops.iter().enumerate() {
        h.apply(op)
            .await
            .map_err(|e| fail(format!("step {step} ({op:?}): {e}")))?;
        check("next_seq", &h.log.next_seq(), &h.model.next_seq())?;
    }
    h.read_all().await?;
    timed("close", h.log.close())
        .await?
        .map_err(|e| fail(format!("close: {e}")))?;
    Ok(())
}

fn id() -> LogId {
    LogId::new("conformance").unwrap()
}

/// An append larger than the backend's batch bound is refused, whole, with
/// the typed error (the model does not change).
fn refused_as_too_big(result: Result<SeqRange>, payloads: &[Bytes]) -> Result<(), TestCaseError> {
    match result {
        Err(Error::BatchBytesTooLarge { .. }) => Ok(()),
        other => Err(fail(format!(
            "a batch of {} records over max_batch_bytes: expected BatchBytesTooLarge, got {other:?}",
            payloads.len()
        ))),
    }
}

fn pick(at: u16, model: &Model) -> Seq {
    Seq(u64::from(at) % (model.next_seq().0 + 1))
}

impl<S: Subject> Harness<'_, S> {
    async fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append(p) => {
                let seq = self.append(p.clone()).await?;
                self.model.push(self.clock_now(), std::slice::from_ref(p));
                check("append seq", &seq, &Seq(self.model.next_seq().0 - 1))?;
            }
            Op::Batch(ps) => {
                let start = self.model.next_seq();
                let result = timed("append_batch", self.log.append_batch(ps.clone())).await?;
                if self.too_big(ps) {
                    return refused_as_too_big(result, ps);
                }
                let range = result.map_err(|e| fail(format!("append_batch: {e}")))?;
                self.model.push(self.clock_now(), ps);
                check(
                    "batch range",
                    &range,
                    &SeqRange {
                        start,
                        end: self.model.next_seq(),
                    },
                )?;
            }
            Op::Expecting { skew, payloads } => self.expecting(*skew, payloads).await?,
            Op::Page {
                at,
                limit,
                backward,
                via_string,
                then_append,
            } => {
                self.page(
                    *at,
                    usize::from(*limit),
                    *backward,
                    *via_string,
                    then_append,
                )
                .await?;
            }
            Op::Tail { at, live } => self.tail(*at, live).await?,
            Op::Sync(data) => {
                let level = if *data {
                    Durability::Data
                } else {
                    Durability::Buffered
                };
                let seq = timed("sync", self.log.sync(level))
                    .await?
                    .map_err(|e| fail(format!("sync: {e}")))?;
                if *data {
                    check("durable seq after sync", &seq, &self.model.next_seq())?;
                    check(
                        "durable_seq()",
                        &self.log.durable_seq(),
                        &self.model.next_seq(),
                    )?;
                } else {
                    check(
                        "written seq after buffered sync",
                        &seq,
                        &self.model.next_seq(),
                    )?;
                }
            }
            Op::ClockJump(delta) => self.clock.advance(*delta),
            Op::Reopen => self.reopen().await?,
        }
        Ok(())
    }

    /// Whether one atomic append of `payloads` exceeds what the backend
    /// stores in one piece (`Capabilities::max_batch_bytes`).
    fn too_big(&self, payloads: &[Bytes]) -> bool {
        let bytes: usize = payloads
            .iter()
            .map(|p| spool_engine::frame::encoded_len(p.len()))
            .sum();
        bytes > self.caps.max_batch_bytes
    }

    fn clock_now(&self) -> i64 {
        use spool_engine::Clock as _;
        self.clock.now_ms()
    }

    async fn append(&self, payload: Bytes) -> Result<Seq, TestCaseError> {
        timed("append", self.log.append(payload))
            .await?
            .map_err(|e| fail(format!("append: {e}")))
    }

    async fn expecting(&mut self, skew: i8, payloads: &[Bytes]) -> Result<(), TestCaseError> {
        let actual = self.model.next_seq();
        let expected = Seq(actual.0.saturating_add_signed(i64::from(skew)));
        let result = timed(
            "append_expecting",
            self.log.append_expecting(expected, payloads.to_vec()),
        )
        .await?;
        if self.too_big(payloads) {
            return refused_as_too_big(result, payloads);
        }
        if expected == actual {
            let range = result.map_err(|e| fail(format!("append_expecting: {e}")))?;
            self.model.push(self.clock_now(), payloads);
            check(
                "expecting range",
                &range,
                &SeqRange {
                    start: actual,
                    end: self.model.next_seq(),
                },
            )
        } else {
            match result {
                Err(Error::Conflict {
                    expected: e,
                    actual: a,
                }) if e == expected && a == actual => Ok(()),
                other => Err(fail(format!(
                    "expected Conflict({expected}, {actual}), got {other:?}"
                ))),
            }
        }
    }

    async fn read_page(
        &self,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<spool_engine::Page, TestCaseError> {
        timed("read_page", self.log.read_page(cursor, limit))
            .await?
            .map_err(|e| fail(format!("read_page: {e}")))
    }

    async fn page(
        &mut self,
        at: u16,
        limit: usize,
        backward: bool,
        via_string: bool,
        then_append: &[Bytes],
    ) -> Result<(), TestCaseError> {
        let direction = if backward {
            Direction::Backward
        } else {
            Direction::Forward
        };
        let seq = pick(at, &self.model);
        let mut cursor = self.log.cursor_at(seq, direction);
        if via_string {
            cursor = cursor
                .to_string()
                .parse()
                .map_err(|e| fail(format!("parse cursor: {e}")))?;
        }
        let clamped = limit.max(1);
        let page = self.read_page(&cursor, limit).await?;
        // A byte-bounded backward page may hold fewer than `limit` records,
        // but always the ones right below the cursor.
        let want_len = if backward {
            if page.records.len() > clamped || (page.records.is_empty() && seq.0 > 0) {
                return Err(fail(format!(
                    "backward page of {} records for limit {clamped} below seq {}",
                    page.records.len(),
                    seq.0
                )));
            }
            page.records.len().max(1)
        } else {
            clamped
        };
        let (want, want_next) =
            self.model
                .page(direction, seq, want_len, self.log.config().max_page_bytes);
        check("page records", &page.records, &want)?;
        check("page next", &page.next.map(|c| c.seq()), &want_next)?;

        // Appends never shift a page already handed out.
        for p in then_append {
            self.append(p.clone()).await?;
            self.model.push(self.clock_now(), std::slice::from_ref(p));
        }
        let again = self.read_page(&cursor, limit).await?;
        if backward || page.records.len() == clamped {
            check("page after appends", &again.records, &page.records)?;
        } else {
            let prefix = again.records.get(..page.records.len());
            check(
                "page after appends keeps its prefix",
                &prefix,
                &Some(&page.records[..]),
            )?;
        }

        // Follow the cursors to the end: together the pages are the model.
        let mut collected = again.records;
        let mut next = again.next;
        while let Some(c) = next {
            let c: Cursor = c
                .to_string()
                .parse()
                .map_err(|e| fail(format!("parse next: {e}")))?;
            let page = self.read_page(&c, limit).await?;
            if page.records.is_empty() {
                return Err(fail("a next cursor led to an empty page"));
            }
            collected.extend(page.records);
            next = page.next;
        }
        let mut want_all = match direction {
            Direction::Forward => self.model.records[usize::try_from(seq.0).unwrap()..].to_vec(),
            Direction::Backward => self.model.records[..usize::try_from(seq.0).unwrap()].to_vec(),
        };
        if backward {
            want_all.reverse();
        }
        check("pages followed to the end", &collected, &want_all)
    }

    async fn tail(&mut self, at: u16, live: &[Bytes]) -> Result<(), TestCaseError> {
        let from = pick(at, &self.model);
        let mut stream = Box::pin(self.log.tail(from));
        let existing = self.model.records[usize::try_from(from.0).unwrap()..].to_vec();
        for want in &existing {
            let got = timed("tail catch-up", stream.next()).await?;
            match got {
                Some(Ok(r)) => check("tail record", &r, want)?,
                other => return Err(fail(format!("tail catch-up: {other:?}"))),
            }
        }
        for p in live {
            let seq = self.append(p.clone()).await?;
            self.model.push(self.clock_now(), std::slice::from_ref(p));
            match timed("tail live", stream.next()).await? {
                Some(Ok(r)) => check(
                    "live record",
                    &r,
                    &self.model.records[usize::try_from(seq.0).unwrap()],
                )?,
                other => return Err(fail(format!("tail live: {other:?}"))),
            }
        }
        Ok(())
    }

    async fn reopen(&mut self) -> Result<(), TestCaseError> {
        timed("close", self.log.close())
            .await?
            .map_err(|e| fail(format!("close: {e}")))?;
        match timed(
            "append after close",
            self.log.append(Bytes::from_static(b"1")),
        )
        .await?
        {
            Err(Error::Closed) => {}
            other => return Err(fail(format!("append after close: {other:?}"))),
        }
        let Some(backend) = self.subject.reopen(&self.handle).await else {
            // Not persistent: start over with an empty log.
            let (handle, backend) = self
                .subject
                .create()
                .await
                .map_err(|e| fail(format!("create: {e}")))?;
            self.handle = handle;
            self.model = Model::default();
            self.log = Log::open_with_clock(id(), backend, config(), self.clock.clone())
                .map_err(|e| fail(format!("open: {e}")))?;
            return Ok(());
        };
        let backend = backend.map_err(|e| fail(format!("reopen: {e}")))?;
        if !self.caps.persists_timestamps {
            self.model.forget_timestamps();
        }
        self.log = Log::open_with_clock(id(), backend, config(), self.clock.clone())
            .map_err(|e| fail(format!("open after reopen: {e}")))?;
        Ok(())
    }

    async fn read_all(&self) -> Result<(), TestCaseError> {
        let mut collected = Vec::new();
        let mut cursor = Some(self.log.first_cursor());
        while let Some(c) = cursor {
            let page = self.read_page(&c, 7).await?;
            collected.extend(page.records);
            cursor = page.next;
        }
        check("whole log", &collected, &self.model.records)
    }
}
