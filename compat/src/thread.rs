//! A Codex thread opened as one spool log, lineage included.
//!
//! A paginated thread's current file may begin with another rollout's
//! prefix: its header's `history_base` names that rollout (a revert's
//! previous segment, or a fork's parent segment) and where its prefix ends
//! (§4.7). spool maps this onto the engine's [`Lineage`]: the base's lines
//! before `end_byte_offset` are the parent prefix, the file's own lines
//! follow, and the whole chain reads as one log whose seqs run from the
//! root's first line. The cut is the count of the base's lines before the
//! byte offset, cross-checked with `end_ordinal_exclusive`; a disagreement
//! is a typed error naming both, never a silent guess.
//!
//! Legacy forks are full copies (the fork's header, then the parent's
//! lines, its header included): they have no `history_base`, read as one
//! file, and are recognised by [`Thread::copied_prefix`].

use std::collections::HashSet;
use std::sync::Arc;

use spool_engine::{Backend, Lineage, Log, LogConfig, LogId, Seq};
use uuid::Uuid;

use crate::error::{CodexError, Result};
use crate::header::Header;
use crate::home::{CodexHome, ThreadFiles};
use crate::line::{HistoryMode, LineView, RolloutLine};
use crate::segment::Segment;

/// One file of a thread's history chain.
#[derive(Clone, Debug)]
pub struct Link {
    /// The file, open.
    pub segment: Segment,
    /// Its header.
    pub header: Header,
    /// The seq (in the composed log) of its first own line.
    pub start: u64,
    /// The ordinal its first own line should carry: the header's
    /// `history_base.end_ordinal_exclusive`, or 0.
    pub ordinal_base: u64,
    /// Lines of this file that are part of the history: all for the
    /// current file, those before the next link's cut for a base.
    pub lines: u64,
}

/// How a thread was forked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fork {
    /// A paginated fork: the parent's history is referenced through
    /// `history_base` (no line copied).
    Reference {
        /// `forked_from_id`.
        parent: String,
        /// `forked_from_ordinal_exclusive`.
        ordinal_exclusive: Option<u64>,
    },
    /// A legacy fork: the parent's lines were copied into the file.
    Copy {
        /// `forked_from_id`.
        parent: String,
    },
}

/// A thread, open for reading.
#[derive(Debug)]
pub struct Thread {
    files: ThreadFiles,
    chain: Vec<Link>,
    log: Log,
    backend: Arc<dyn Backend>,
}

impl Thread {
    pub(crate) async fn open(home: &CodexHome, files: ThreadFiles) -> Result<Thread> {
        let current = home.open_segment(files.current().clone())?;
        let header = current.header().await?;
        // Walk the history_base links back to the root.
        let mut chain = vec![(current, header)];
        let mut seen = HashSet::from([files.current().name.rollout]);
        while let Some(base) = chain[chain.len() - 1].1.meta.history_base() {
            let path = chain[chain.len() - 1].0.path().to_owned();
            let missing = || CodexError::MissingBase {
                path: path.clone(),
                base: base.rollout.clone(),
                home: home.root().to_owned(),
            };
            let rollout = Uuid::parse_str(&base.rollout).map_err(|_| missing())?;
            if !seen.insert(rollout) {
                return Err(CodexError::LineageCycle { path });
            }
            let file = home.rollout_file(&rollout)?.ok_or_else(missing)?;
            let segment = home.open_segment(file)?;
            let header = segment.header().await?;
            chain.push((segment, header));
        }
        chain.reverse();
        let (chain, backend) = compose(chain).await?;
        let id = LogId::new(files.id.to_string())?;
        let log = Log::open(id, Arc::clone(&backend), LogConfig::default())?;
        Ok(Thread {
            files,
            chain,
            log,
            backend,
        })
    }

    /// The thread id.
    #[must_use]
    pub fn id(&self) -> &Uuid {
        &self.files.id
    }

    /// The thread's files on disk.
    #[must_use]
    pub fn files(&self) -> &ThreadFiles {
        &self.files
    }

    /// The history chain, root first; the last link is the current file.
    #[must_use]
    pub fn chain(&self) -> &[Link] {
        &self.chain
    }

    /// The current file's header: the thread's metadata.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.chain[self.chain.len() - 1].header
    }

    /// The thread's history mode (never unknown: an unknown mode fails
    /// the open).
    #[must_use]
    pub fn mode(&self) -> &HistoryMode {
        &self.header().meta.history_mode
    }

    /// How it was forked, if it was.
    #[must_use]
    pub fn fork(&self) -> Option<Fork> {
        let meta = &self.header().meta;
        let parent = meta.forked_from_id.clone()?;
        Some(if meta.history_base().is_some() {
            Fork::Reference {
                parent,
                ordinal_exclusive: meta.forked_from_ordinal_exclusive(),
            }
        } else {
            Fork::Copy { parent }
        })
    }

    /// The whole history as a spool log (read-only): pages, cursors and
    /// tails of the engine work on it.
    #[must_use]
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Lines in the history.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.backend.next_seq().0
    }

    /// Whether the history has no line.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The link holding history seq `seq`, and the line's index in its file.
    #[must_use]
    pub fn locate(&self, seq: u64) -> Option<(&Link, u64)> {
        let link = self.chain.iter().rev().find(|l| l.start <= seq)?;
        let local = seq - link.start;
        (local < link.lines).then_some((link, local))
    }

    /// Reads history lines `[from, to)`, each with its seq.
    pub async fn read_lines(&self, from: u64, to: u64) -> Result<Vec<(u64, RolloutLine)>> {
        Ok(self
            .read_raw(from, to)
            .await?
            .into_iter()
            .map(|(seq, bytes)| (seq, RolloutLine::parse(bytes)))
            .collect())
    }

    /// Reads history lines `[from, to)` as bytes, each with its seq (for
    /// readers that parse only some lines).
    pub async fn read_raw(&self, from: u64, to: u64) -> Result<Vec<(u64, bytes::Bytes)>> {
        let records =
            crate::segment::read_records(self.backend.as_ref(), from, to.min(self.len())).await?;
        Ok(records.into_iter().map(|r| (r.seq.0, r.payload)).collect())
    }

    /// The thread's metadata as Codex extracts it (§2.3, §8 case 24): the
    /// header, updated by later session_meta lines of the same id (a
    /// legacy metadata update appends a full copy): the last `memory_mode`
    /// wins, and `git` is replaced only by a line that has one. Lines of
    /// another id (a legacy fork's copied parent header) change nothing.
    pub async fn metadata(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let header = self.header();
        let mut meta = header.meta.payload.clone();
        let link = &self.chain[self.chain.len() - 1];
        let lines = self
            .read_lines(link.start + header.seq + 1, link.start + link.lines)
            .await?;
        for (_, line) in lines {
            let Some(crate::Item::SessionMeta(update)) = line.envelope().map(|e| &e.item) else {
                continue;
            };
            if update.id != header.meta.id {
                continue;
            }
            for key in ["memory_mode", "git"] {
                if let Some(value) = update.payload.get(key) {
                    meta.insert(key.to_owned(), value.clone());
                }
            }
        }
        Ok(meta)
    }

    /// For a legacy fork: where the copy of the parent's history sits in
    /// this file, as `(first line, lines)`, found by comparing bytes with
    /// the parent's current file; `None` if the parent is gone or nothing
    /// matches (the copy starts at the line holding the parent's header).
    pub async fn copied_prefix(&self, home: &CodexHome) -> Result<Option<(u64, u64)>> {
        let Some(Fork::Copy { parent }) = self.fork() else {
            return Ok(None);
        };
        let Ok(parent_id) = Uuid::parse_str(&parent) else {
            return Ok(None);
        };
        let Ok(files) = home.thread_files(&parent_id) else {
            return Ok(None);
        };
        let parent = home.open_segment(files.current().clone())?;
        let parent_lines = parent.read_lines(0, parent.lines()).await?;
        let own = self.read_lines(0, self.len()).await?;
        let Some(first) = parent_lines.first() else {
            return Ok(None);
        };
        let Some(start) = own
            .iter()
            .position(|(_, line)| line.bytes() == first.bytes())
        else {
            return Ok(None);
        };
        let copied = own[start..]
            .iter()
            .zip(&parent_lines)
            .take_while(|((_, a), b)| a.bytes() == b.bytes())
            .count();
        Ok(Some((start as u64, copied as u64)))
    }
}

/// Builds the composed backend over `chain` (root first), checking every
/// cut.
async fn compose(chain: Vec<(Segment, Header)>) -> Result<(Vec<Link>, Arc<dyn Backend>)> {
    let mut links: Vec<Link> = Vec::with_capacity(chain.len());
    let mut composed: Option<Arc<dyn Backend>> = None;
    for (segment, header) in chain {
        let own: Arc<dyn Backend> = Arc::new(segment.backend().clone());
        let base = header.meta.history_base();
        let (start, ordinal_base, backend) = match (composed.take(), base, links.last_mut()) {
            (Some(parent), Some(base), Some(link)) => {
                let local = link
                    .segment
                    .backend()
                    .seq_at_offset(base.end_byte_offset)
                    .ok_or_else(|| CodexError::BaseOffset {
                        path: segment.path().to_owned(),
                        base_path: link.segment.path().to_owned(),
                        offset: base.end_byte_offset,
                        len: link
                            .segment
                            .backend()
                            .offset_of(Seq(link.lines))
                            .unwrap_or(0),
                    })?;
                link.lines = local.0.min(link.lines);
                let cut = link.start + link.lines;
                if cut != base.end_ordinal_exclusive {
                    let next_ordinal = next_ordinal_before(link, local.0).await?;
                    if next_ordinal != Some(base.end_ordinal_exclusive) {
                        return Err(CodexError::LineageMismatch {
                            path: segment.path().to_owned(),
                            base_path: link.segment.path().to_owned(),
                            offset: base.end_byte_offset,
                            lines: cut,
                            next_ordinal,
                            end_ordinal_exclusive: base.end_ordinal_exclusive,
                        });
                    }
                }
                let lineage: Arc<dyn Backend> = Arc::new(Lineage::new(parent, Seq(cut), own));
                (cut, base.end_ordinal_exclusive, lineage)
            }
            _ => (0, 0, own),
        };
        composed = Some(backend);
        links.push(Link {
            lines: segment.lines(),
            segment,
            header,
            start,
            ordinal_base,
        });
    }
    let backend =
        composed.ok_or_else(|| CodexError::Invalid("a thread needs at least one file".into()))?;
    Ok((links, backend))
}

/// The ordinal after the last ordinal among `link`'s first `lines` lines.
async fn next_ordinal_before(link: &Link, lines: u64) -> Result<Option<u64>> {
    let mut to = lines;
    while to > 0 {
        let from = to.saturating_sub(64);
        let chunk = link.segment.read_lines(from, to).await?;
        for line in chunk.iter().rev() {
            if let LineView::Envelope(envelope) = line.view() {
                return Ok(envelope.ordinal.and_then(|o| o.checked_add(1)));
            }
        }
        to = from;
    }
    Ok(None)
}
