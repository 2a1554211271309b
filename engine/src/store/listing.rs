//! Listing a store's logs: by created or updated time, either order,
//! filtered by archive state and metadata fields, in pages with opaque
//! cursors.
//!
//! A cursor carries the catalog seq its first page read (`as_of`) and the
//! sort key of the last log it returned, with ties broken by id: every page
//! of one listing reads the catalog as it stood at `as_of`, so logs created
//! or updated meanwhile neither skip nor repeat, and logs created in the
//! same millisecond keep a total order.

use std::collections::BTreeSet;
use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::catalog::{Catalog, LogInfo};
use crate::{CursorProblem, Error, LogId, Result, crc32};

/// What a listing sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Creation time. Default.
    #[default]
    Created,
    /// Time of the last catalog change (metadata, archive state).
    Updated,
}

/// Which way a listing runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Newest first. Default.
    #[default]
    Descending,
    /// Oldest first.
    Ascending,
}

/// Which logs a listing includes by archive state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Archived {
    /// Live logs only. Default.
    #[default]
    Exclude,
    /// Archived logs only.
    Only,
    /// Both.
    Include,
}

/// A listing's query: the same for every page of one listing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    /// Sort key.
    pub sort: SortKey,
    /// Order.
    pub order: Order,
    /// Archive filter.
    pub archived: Archived,
    /// Top-level metadata fields that must equal these values.
    pub metadata: Vec<(String, serde_json::Value)>,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct ListPage {
    /// The logs, in the query's order.
    pub logs: Vec<LogInfo>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// Most logs one page returns (a larger `limit` is clamped to it).
pub const MAX_LIST_LIMIT: usize = 10_000;

const CURSOR_PREFIX: &str = "l1.";
const CURSOR_VERSION: u8 = 1;
/// Longest cursor string accepted, checked before decoding.
const CURSOR_MAX_CHARS: usize = 256;

/// A decoded listing cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListCursor {
    query: u64,
    as_of: u64,
    key: i64,
    id: LogId,
}

impl ListCursor {
    fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(30 + self.id.as_str().len() + 4);
        bytes.push(CURSOR_VERSION);
        bytes.extend_from_slice(&self.query.to_le_bytes());
        bytes.extend_from_slice(&self.as_of.to_le_bytes());
        bytes.extend_from_slice(&self.key.to_le_bytes());
        bytes.extend_from_slice(self.id.as_str().as_bytes());
        let crc = crc32(&[&bytes]);
        bytes.extend_from_slice(&crc.to_le_bytes());
        format!("{CURSOR_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn decode(s: &str) -> Result<ListCursor> {
        let malformed = Error::InvalidCursor {
            problem: CursorProblem::Malformed,
        };
        if s.len() > CURSOR_MAX_CHARS {
            return Err(malformed);
        }
        let body = s.strip_prefix(CURSOR_PREFIX).ok_or(malformed.clone())?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| malformed.clone())?;
        let (data, crc) = bytes.split_last_chunk::<4>().ok_or(Error::InvalidCursor {
            problem: CursorProblem::Truncated,
        })?;
        if data.len() < 25 + 1 {
            return Err(Error::InvalidCursor {
                problem: CursorProblem::Truncated,
            });
        }
        if crc32(&[data]) != u32::from_le_bytes(*crc) {
            return Err(Error::InvalidCursor {
                problem: CursorProblem::Tampered,
            });
        }
        if data[0] != CURSOR_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "listing cursor",
                found: u32::from(data[0]),
                supported: u32::from(CURSOR_VERSION),
            });
        }
        let word = |at: usize| -> [u8; 8] { data[at..at + 8].try_into().unwrap_or([0; 8]) };
        let id = std::str::from_utf8(&data[25..])
            .ok()
            .and_then(|id| LogId::new(id).ok())
            .ok_or(malformed)?;
        Ok(ListCursor {
            query: u64::from_le_bytes(word(1)),
            as_of: u64::from_le_bytes(word(9)),
            key: i64::from_le_bytes(word(17)),
            id,
        })
    }
}

impl ListQuery {
    /// A fingerprint of the query, so a cursor is only used with its own.
    fn fingerprint(&self) -> u64 {
        let mut text = format!("{:?}|{:?}|{:?}", self.sort, self.order, self.archived);
        for (field, value) in &self.metadata {
            text.push('|');
            text.push_str(&serde_json::to_string(field).unwrap_or_default());
            text.push('=');
            text.push_str(&value.to_string());
        }
        // FNV-1a, as log ids are fingerprinted.
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    fn admits(&self, info: &LogInfo) -> bool {
        let archived = match self.archived {
            Archived::Exclude => !info.archived,
            Archived::Only => info.archived,
            Archived::Include => true,
        };
        archived
            && self
                .metadata
                .iter()
                .all(|(field, value)| info.metadata.get(field) == Some(value))
    }

    fn key(&self, info: &LogInfo) -> i64 {
        match self.sort {
            SortKey::Created => info.created_ms,
            SortKey::Updated => info.updated_ms,
        }
    }
}

/// One page of `query` from `cursor` (the first page if `None`).
pub(crate) fn list(
    catalog: &Catalog,
    query: &ListQuery,
    cursor: Option<&str>,
    limit: usize,
) -> Result<ListPage> {
    let limit = limit.clamp(1, MAX_LIST_LIMIT);
    let fingerprint = query.fingerprint();
    let (as_of, after) = match cursor {
        None => (catalog.next(), None),
        Some(s) => {
            let c = ListCursor::decode(s)?;
            if c.query != fingerprint {
                return Err(Error::InvalidCursor {
                    problem: CursorProblem::OtherQuery,
                });
            }
            if c.as_of < catalog.horizon() || c.as_of > catalog.next() {
                return Err(Error::InvalidCursor {
                    problem: CursorProblem::Expired,
                });
            }
            (c.as_of, Some((c.key, c.id)))
        }
    };
    let descending = query.order == Order::Descending;
    let beyond = |key: &(i64, LogId)| match &after {
        None => true,
        Some(a) if descending => key < a,
        Some(a) => key > a,
    };

    // Logs changed since `as_of` are placed by their state then; the rest
    // come from the current index, whose keys are the same as then.
    let changed = catalog.changed_since(as_of);
    // A log deleted since is left out: it can no longer be opened.
    let mut then: Vec<(i64, LogId, &LogInfo)> = changed
        .iter()
        .filter(|id| catalog.get(id).is_some())
        .filter_map(|id| catalog.state_at(id, as_of))
        .filter(|info| query.admits(info))
        .map(|info| (query.key(info), info.id.clone(), info))
        .filter(|(key, id, _)| beyond(&(*key, id.clone())))
        .collect();
    then.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    if descending {
        then.reverse();
    }
    let index = catalog.index_by(query.sort == SortKey::Updated);
    let current = unchanged_from(index, &changed, after.as_ref(), descending)
        .filter_map(|(key, id)| catalog.get(id).map(|info| (*key, id.clone(), info)))
        .filter(|(_, _, info)| query.admits(info));

    // Merge the two ordered runs, taking one more than a page to know
    // whether another follows.
    let mut then = then.into_iter().peekable();
    let mut current = current.peekable();
    let mut out: Vec<(i64, LogId, &LogInfo)> = Vec::with_capacity(limit.min(catalog.len()) + 1);
    while out.len() <= limit {
        let take_then = match (then.peek(), current.peek()) {
            (Some(a), Some(b)) => ((a.0, &a.1) < (b.0, &b.1)) != descending,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_then {
            then.next()
        } else {
            current.next()
        };
        out.extend(next);
    }
    let more = out.len() > limit;
    out.truncate(limit);
    let next = match (more, out.last()) {
        (true, Some((key, id, _))) => Some(
            ListCursor {
                query: fingerprint,
                as_of,
                key: *key,
                id: id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(ListPage {
        logs: out.into_iter().map(|(_, _, info)| info.clone()).collect(),
        next,
    })
}

/// The index's entries past `after` in the listing's order, without the
/// changed ones.
fn unchanged_from<'a>(
    index: &'a BTreeSet<(i64, LogId)>,
    changed: &'a BTreeSet<&'a LogId>,
    after: Option<&(i64, LogId)>,
    descending: bool,
) -> Box<dyn Iterator<Item = &'a (i64, LogId)> + 'a> {
    let iter: Box<dyn Iterator<Item = &'a (i64, LogId)> + 'a> = match (after, descending) {
        (None, false) => Box::new(index.iter()),
        (None, true) => Box::new(index.iter().rev()),
        (Some(a), false) => Box::new(index.range((Bound::Excluded(a.clone()), Bound::Unbounded))),
        (Some(a), true) => Box::new(
            index
                .range((Bound::Unbounded, Bound::Excluded(a.clone())))
                .rev(),
        ),
    };
    Box::new(iter.filter(move |(_, id)| !changed.contains(id)))
}
