//! Projections: read models folded from a log's records, with a durable
//! checkpoint so that opening one catches up from where it stopped, not
//! from the log's start.
//!
//! A checkpoint is a blob of the store's storage holding the state and the
//! seq it covers. Before a checkpoint is written the log is synced up to
//! that seq, so no crash can leave a checkpoint that counts records the log
//! no longer has; a checkpoint that claims more than the log holds anyway
//! (damage, or a log replaced behind the store's back) is discarded and the
//! state rebuilt from the start.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::Store;
use crate::{Direction, Durability, Error, Log, LogId, Record, Result, Seq};

/// A fold over one log's records.
pub trait Projection: Send + Sync + 'static {
    /// The read model; saved with each checkpoint, so it must serialize.
    type State: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static;

    /// A name, unique among the projections of one log (it keys the
    /// checkpoint).
    fn name(&self) -> &str;

    /// Folds one record into the state. An error stops the catch-up at this
    /// record, which is folded again on the next read: `apply` must leave
    /// the state unchanged when it fails.
    fn apply(&self, state: &mut Self::State, record: &Record) -> Result<()>;
}

/// How often a projection checkpoints on its own.
const CHECKPOINT_EVERY: u64 = 10_000;
/// Records read per catch-up page.
const PAGE: usize = 1_000;

/// A projection over a log, caught up on every read.
pub struct Projected<P: Projection> {
    store: Store,
    log: Log,
    projection: P,
    key: LogId,
    incarnation: u64,
    inner: Mutex<Folded<P::State>>,
}

struct Folded<S> {
    state: S,
    /// The next seq to fold.
    next: Seq,
    /// The seq the last checkpoint covers.
    checkpointed: Seq,
}

#[derive(Serialize, serde::Deserialize)]
struct Checkpoint<S> {
    version: u32,
    log: LogId,
    /// Which life of the id it folded (a log deleted and created again
    /// must not inherit its predecessor's state).
    incarnation: u64,
    name: String,
    next: Seq,
    state: S,
}

const CHECKPOINT_VERSION: u32 = 1;

impl<P: Projection> std::fmt::Debug for Projected<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projected")
            .field("log", self.log.id())
            .field("projection", &self.projection.name())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `projection` over log `id`: loads its checkpoint (if any and
    /// still valid) and folds the records after it.
    pub async fn project<P: Projection>(&self, id: &LogId, projection: P) -> Result<Projected<P>> {
        let log = self.open_log(id).await?;
        let incarnation = self.incarnation(id).ok_or_else(|| Error::NotFound {
            id: id.as_str().to_owned(),
        })?;
        let key = checkpoint_key(id, projection.name());
        let loaded = match self.inner.storage.get_blob(&key).await? {
            Some(bytes) => serde_json::from_slice::<Checkpoint<P::State>>(&bytes)
                .ok()
                .filter(|c| {
                    c.version == CHECKPOINT_VERSION
                        && &c.log == id
                        && c.incarnation == incarnation
                        && c.name == projection.name()
                        && c.next <= log.next_seq()
                        && c.next >= log.start_seq()
                }),
            None => None,
        };
        let (state, next) = loaded.map_or_else(
            || (P::State::default(), log.start_seq()),
            |c| (c.state, c.next),
        );
        let projected = Projected {
            store: self.clone(),
            log,
            projection,
            key,
            incarnation,
            inner: Mutex::new(Folded {
                state,
                next,
                checkpointed: next,
            }),
        };
        projected.catch_up().await?;
        Ok(projected)
    }
}

impl<P: Projection> Projected<P> {
    /// The state, after folding every record appended so far.
    pub async fn state(&self) -> Result<P::State> {
        self.catch_up().await?;
        Ok(self.inner.lock().await.state.clone())
    }

    /// The next seq the projection will fold (everything below is in the
    /// state).
    pub async fn position(&self) -> Seq {
        self.inner.lock().await.next
    }

    /// Folds the records appended since the last look; checkpoints when
    /// enough were folded.
    pub async fn catch_up(&self) -> Result<Seq> {
        let mut folded = self.inner.lock().await;
        let end = self.log.next_seq();
        let mut cursor = Some(self.log.cursor_at(folded.next, Direction::Forward));
        while let Some(at) = cursor.filter(|c| c.seq() < end) {
            let page = self.log.read_page(&at, PAGE).await?;
            for record in &page.records {
                self.projection.apply(&mut folded.state, record)?;
                folded.next = Seq(record.seq.0 + 1);
            }
            cursor = page.next;
        }
        if folded.next.0 - folded.checkpointed.0 >= CHECKPOINT_EVERY {
            self.write_checkpoint(&mut folded).await?;
        }
        Ok(folded.next)
    }

    /// Saves the state and its position now.
    pub async fn checkpoint(&self) -> Result<()> {
        let mut folded = self.inner.lock().await;
        self.write_checkpoint(&mut folded).await
    }

    async fn write_checkpoint(&self, folded: &mut Folded<P::State>) -> Result<()> {
        // The records the checkpoint counts must outlive any crash first.
        self.log.sync(Durability::Data).await?;
        let checkpoint = Checkpoint {
            version: CHECKPOINT_VERSION,
            log: self.log.id().clone(),
            incarnation: self.incarnation,
            name: self.projection.name().to_owned(),
            next: folded.next,
            state: folded.state.clone(),
        };
        let bytes = serde_json::to_vec(&checkpoint).map_err(|e| Error::Codec {
            codec: crate::CodecKind::Json,
            op: "encode",
            message: e.to_string(),
        })?;
        self.store
            .inner
            .storage
            .put_blob(&self.key, bytes.into())
            .await?;
        folded.checkpointed = folded.next;
        Ok(())
    }
}

/// The blob name of a projection's checkpoint: reserved (`_p-`), and short
/// whatever the log id and name (a hash of both).
fn checkpoint_key(log: &LogId, name: &str) -> LogId {
    let hash = |seed: u64| {
        log.as_str()
            .bytes()
            .chain([0])
            .chain(name.bytes())
            .fold(seed, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            })
    };
    let key = format!(
        "_p-{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x8422_2325_cbf2_9ce4)
    );
    LogId::new(key).unwrap_or_else(|_| unreachable!("hex digits follow the naming rule"))
}
