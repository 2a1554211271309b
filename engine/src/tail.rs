//! `Log::tail`: a stream that reads what is there, then follows the writer.
//!
//! It holds only the backend and a `watch` receiver of the visible end, never
//! the writer's queue: a slow or dropped tail cannot block appends, and the
//! stream ends when the writer ends (the log was closed or dropped).

use std::collections::VecDeque;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::watch;

use crate::log::check_read;
use crate::{Backend, Error, ReadRange, Record, Result, Seq};

struct TailState {
    backend: Arc<dyn Backend>,
    visible: watch::Receiver<Seq>,
    position: Seq,
    buffered: VecDeque<Record>,
    page_records: usize,
    page_bytes: usize,
    done: bool,
}

pub(crate) fn tail_stream(
    backend: Arc<dyn Backend>,
    visible: watch::Receiver<Seq>,
    from: Seq,
    page_records: usize,
    page_bytes: usize,
) -> impl Stream<Item = Result<Record>> + Send + 'static {
    let state = TailState {
        backend,
        visible,
        position: from,
        buffered: VecDeque::new(),
        page_records,
        page_bytes,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let item = state.next_item().await;
        match item {
            Some(Ok(record)) => Some((Ok(record), state)),
            Some(Err(e)) => {
                state.done = true;
                Some((Err(e), state))
            }
            None => None,
        }
    })
}

impl TailState {
    async fn next_item(&mut self) -> Option<Result<Record>> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                return Some(Ok(record));
            }
            let end = *self.visible.borrow_and_update();
            if self.position > end {
                return Some(Err(Error::SeqPastEnd {
                    seq: self.position,
                    end,
                }));
            }
            if self.position < end {
                if let Err(e) = self.fill(end).await {
                    return Some(Err(e));
                }
                continue;
            }
            // Caught up: wait for the writer to publish more, or to go away.
            if self.visible.changed().await.is_err() {
                // The writer is gone; deliver anything published last. If
                // the backend is closed by then, the read fails and the
                // stream ends with `Closed`, never silently short.
                let end = *self.visible.borrow();
                if self.position < end {
                    continue;
                }
                return None;
            }
        }
    }

    async fn fill(&mut self, end: Seq) -> Result<()> {
        let records = self
            .backend
            .read(ReadRange {
                from: self.position,
                to: end,
                max_records: self.page_records,
                max_bytes: self.page_bytes,
            })
            .await?;
        check_read(&records, self.position, end)?;
        self.position = Seq(self.position.0 + records.len() as u64);
        self.buffered.extend(records);
        Ok(())
    }
}
