//! The values the index keeps in its secrets, and how concurrent versions of them merge.
//!
//! * A [`Shard`] maps hashed lookup keys to token ids: `{"v":2,"e":{"<key>.<id>":"<stamp>"}}`,
//!   where a stamp is a base-36 millisecond time and `~<stamp>` marks a removed entry (a
//!   tombstone). Entries merge last-writer-wins per entry, so any two versions merge into one
//!   holding every update of both. A shard that grew too big or too busy is `split` into two
//!   children (see [`super::tree`]); its entries stay frozen as the children's starting point. `w` counts its writes per minute over the last 24 hours (its write rate), `n` its versions.
//!   Where the backend rolls shards to new generations, a shard can instead be `r`olled: its
//!   entries are then the starting point of the next generation. Generation 0 keeps `p`, the
//!   latest generation registered; a later generation keeps in `x` the older generations
//!   (secret names) not deleted yet with the time each was frozen. A shard that uses any of
//!   these is written as format 3.
//! * The [`Root`] (`index`) holds the id high-water mark `hi`, so deleted ids are never handed
//!   out again. A root of format 1 is the whole index of the first format; it is converted on
//!   first use ([`Root::legacy_entries`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::Key;
use crate::lookup::id_number;
use crate::{Error, Result};

const DELETED: char = '~';
/// Minutes in the window the write rate is measured over.
pub(crate) const RATE_WINDOW_MINUTES: u64 = 24 * 60;

/// A value kept in an index secret, mergeable across concurrent writers.
pub(crate) trait Mergeable: Clone + Send + Sync {
    /// The value of a secret that does not exist yet.
    fn empty() -> Self;
    /// Decode a stored value (`Corrupt` when it is not one).
    fn decode(value: &str) -> Result<Self>;
    /// Encode for storage.
    fn encode(&self) -> String;
    /// The version this value was derived from (merge-log protocol).
    fn base(&self) -> Option<&str>;
    /// Record the version this value is derived from.
    fn set_base(&mut self, base: Option<String>);
    /// Merge a concurrent version into this one (commutative, idempotent).
    fn merge(&mut self, other: &Self);
    /// Whether both hold the same content, whatever their base.
    fn same_content(&self, other: &Self) -> bool;
    /// Drop tombstones stamped before `cutoff` and write times outside the rate window.
    fn prune(&mut self, tombstone_cutoff: u64, now_minute: u64);
    /// Record one more write at `now_ms`.
    fn record_write(&mut self, now_ms: u64);
    /// When the last write recorded was made (ms since the epoch; 0 when unknown).
    fn last_write_ms(&self) -> u64;
    /// Whether the value takes no more changes (a split or rolled shard).
    fn frozen(&self) -> bool {
        false
    }
    /// Whether both are frozen the same way (or both not at all).
    fn same_freeze(&self, other: &Self) -> bool {
        self.frozen() == other.frozen()
    }
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A parsed entry stamp: `(stamp, live)`.
fn parse_stamp(raw: &str) -> Result<(u64, bool)> {
    let (digits, live) = match raw.strip_prefix(DELETED) {
        Some(rest) => (rest, false),
        None => (raw, true),
    };
    let stamp = u64::from_str_radix(digits, 36)
        .map_err(|_| Error::corrupt("index entry with a bad timestamp"))?;
    Ok((stamp, live))
}

fn format_stamp(stamp: u64, live: bool) -> String {
    if live {
        to_base36(stamp)
    } else {
        format!("{DELETED}{}", to_base36(stamp))
    }
}

/// Writes per minute. Concurrent versions merge by the larger count per minute (an
/// undercount only while writers race).
type WriteLog = BTreeMap<u64, u32>;

fn merge_writes(mine: &mut WriteLog, theirs: &WriteLog) {
    for (minute, count) in theirs {
        let entry = mine.entry(*minute).or_default();
        *entry = (*entry).max(*count);
    }
}

fn writes_since(log: &WriteLog, now_minute: u64) -> usize {
    let from = now_minute.saturating_sub(RATE_WINDOW_MINUTES);
    log.range(from + 1..).map(|(_, n)| *n as usize).sum()
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn prune_writes(log: &mut WriteLog, now_minute: u64) {
    let from = now_minute.saturating_sub(RATE_WINDOW_MINUTES);
    log.retain(|&m, _| m > from);
}

/// One index shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shard {
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<String>,
    /// Split into two children: look one level deeper.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) split: bool,
    /// Rolled: the next generation of the same path holds the entries now.
    #[serde(default, rename = "r", skip_serializing_if = "std::ops::Not::not")]
    pub(crate) rolled: bool,
    /// Generation 0 only: the latest generation registered (none is deleted before it is).
    #[serde(default, rename = "p", skip_serializing_if = "is_zero_u32")]
    pub(crate) pointer: u32,
    /// Older generations (of this path or a split parent) not deleted yet: secret name →
    /// when it was frozen (ms). A deleted one may come back with a concurrent version; it
    /// is then deleted again (deleting a missing secret succeeds).
    #[serde(default, rename = "x", skip_serializing_if = "BTreeMap::is_empty")]
    frozen_generations: BTreeMap<String, u64>,
    /// Writes per minute in the last 24 hours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    w: WriteLog,
    /// When the last write was made (ms since the epoch), for backends that limit versions
    /// per secret per second.
    #[serde(default, skip_serializing_if = "is_zero")]
    t: u64,
    /// Versions written (an estimate under concurrency: merged by maximum).
    #[serde(default)]
    pub(crate) n: u64,
    /// `<key>.<id>` → stamp.
    #[serde(default)]
    e: BTreeMap<String, String>,
}

/// One live entry of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) id: String,
    pub(crate) stamp: u64,
}

fn entry_name(key: &Key, id: &str) -> String {
    format!("{}.{id}", key.0)
}

fn split_name(name: &str) -> Option<(Key, &str)> {
    let (key, id) = name.split_once('.')?;
    Some((Key(key.to_string()), id))
}

impl Shard {
    /// Live ids under `key`, by numeric id.
    pub(crate) fn candidates(&self, key: &Key) -> Vec<String> {
        let from = format!("{}.", key.0);
        let mut ids: Vec<String> = self
            .e
            .range(from.clone()..)
            .take_while(|(name, _)| name.starts_with(&from))
            .filter(|(_, raw)| parse_stamp(raw).is_ok_and(|(_, live)| live))
            .map(|(name, _)| name[from.len()..].to_string())
            .collect();
        ids.sort_by_key(|id| id_number(id));
        ids
    }

    /// Every live entry.
    pub(crate) fn live(&self) -> Vec<Entry> {
        self.e
            .iter()
            .filter_map(|(name, raw)| {
                let (stamp, live) = parse_stamp(raw).ok()?;
                let (key, id) = split_name(name)?;
                live.then(|| Entry {
                    key,
                    id: id.to_string(),
                    stamp,
                })
            })
            .collect()
    }

    fn current_stamp(&self, name: &str) -> Option<(u64, bool)> {
        self.e.get(name).and_then(|raw| parse_stamp(raw).ok())
    }

    /// Make `key → id` live. With `touch`, a live entry is re-stamped too (marks it verified).
    /// Returns whether anything changed.
    pub(crate) fn insert(&mut self, key: &Key, id: &str, stamp: u64, touch: bool) -> bool {
        let name = entry_name(key, id);
        let current = self.current_stamp(&name);
        if matches!(current, Some((_, true))) && !touch {
            return false;
        }
        let stamp = stamp.max(current.map_or(0, |(s, _)| s + 1));
        self.e.insert(name, format_stamp(stamp, true));
        true
    }

    /// Remove `key → id` (a tombstone). Returns whether anything changed.
    pub(crate) fn remove(&mut self, key: &Key, id: &str, stamp: u64) -> bool {
        let name = entry_name(key, id);
        match self.current_stamp(&name) {
            Some((current, true)) => {
                self.e
                    .insert(name, format_stamp(stamp.max(current + 1), false));
                true
            }
            _ => false,
        }
    }

    /// Entries (live and tombstones) whose key hash has `bit` at position `depth`.
    pub(crate) fn half(&self, depth: usize, bit: bool) -> Shard {
        let mut half = Shard::empty();
        // Both children carry the parent path's generations still to delete.
        half.frozen_generations = self.frozen_generations.clone();
        half.e = self
            .e
            .iter()
            .filter(|(name, _)| split_name(name).and_then(|(k, _)| k.bit(depth)) == Some(bit))
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect();
        half
    }

    /// Writes recorded in the rate window ending at `now_minute`.
    pub(crate) fn writes_in_window(&self, now_minute: u64) -> usize {
        writes_since(&self.w, now_minute)
    }

    /// Writes recorded in this minute and the one before.
    pub(crate) fn writes_in_last_two_minutes(&self, now_minute: u64) -> usize {
        self.w
            .range(now_minute.saturating_sub(1)..)
            .map(|(_, n)| *n as usize)
            .sum()
    }

    /// Mark split. The entries stay, frozen: a child that does not exist yet starts from its
    /// half of them.
    pub(crate) fn mark_split(&mut self) {
        self.split = true;
    }

    /// The first value of the generation after this rolled one (`generation`): the same
    /// entries and write rate of the path, no versions or writes of its own yet (its secret
    /// is new), and this generation queued for deletion (generation 0 is never deleted: it
    /// keeps the pointer).
    pub(crate) fn next_generation(&self, rolled_secret: &str, generation: u32) -> Shard {
        let mut next = self.clone();
        next.rolled = false;
        next.split = false;
        next.base = None;
        next.n = 0;
        next.t = 0;
        next.pointer = 0;
        if generation > 0 {
            next.frozen_generations
                .insert(rolled_secret.to_string(), self.t);
        }
        next
    }

    /// The older generations frozen at or before `cutoff_ms` (secret names).
    pub(crate) fn generations_due(&self, cutoff_ms: u64) -> Vec<String> {
        self.frozen_generations
            .iter()
            .filter(|(_, frozen_at)| **frozen_at <= cutoff_ms)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Record that these older generations are deleted.
    pub(crate) fn forget_generations(&mut self, deleted: &[String]) {
        for name in deleted {
            self.frozen_generations.remove(name);
        }
    }

    fn uses_generations(&self) -> bool {
        self.rolled || self.pointer > 0 || !self.frozen_generations.is_empty()
    }
}

impl Mergeable for Shard {
    fn empty() -> Self {
        Self {
            v: 2,
            ..Self::default()
        }
    }

    fn decode(value: &str) -> Result<Self> {
        let shard: Self = serde_json::from_str(value)
            .map_err(|e| Error::corrupt("index shard is not valid shard JSON").with_source(e))?;
        if !(2..=3).contains(&shard.v) {
            return Err(Error::corrupt(format!(
                "index shard format version {} is not supported",
                shard.v
            )));
        }
        for (name, raw) in &shard.e {
            parse_stamp(raw)?;
            split_name(name).ok_or_else(|| Error::corrupt("index entry without an id"))?;
        }
        Ok(shard)
    }

    fn encode(&self) -> String {
        // Format 3 only where generations are used, so that an older reader refuses a
        // rolled shard instead of writing to it.
        let v = if self.uses_generations() { 3 } else { 2 };
        serde_json::to_string(&Shard { v, ..self.clone() }).unwrap_or_default()
    }

    fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn set_base(&mut self, base: Option<String>) {
        self.base = base;
    }

    /// Entries merge last-writer-wins; how a shard is frozen (split or rolled) is decided by
    /// the first frozen version merged, so merging versions in write order settles a race
    /// between a split and a roll the same way for every reader.
    fn merge(&mut self, other: &Self) {
        if !self.frozen() && other.frozen() {
            self.split = other.split;
            self.rolled = other.rolled;
        }
        self.pointer = self.pointer.max(other.pointer);
        for (name, frozen_at) in &other.frozen_generations {
            let entry = self.frozen_generations.entry(name.clone()).or_default();
            *entry = (*entry).max(*frozen_at);
        }
        self.n = self.n.max(other.n);
        merge_writes(&mut self.w, &other.w);
        self.t = self.t.max(other.t);
        for (name, theirs) in &other.e {
            let take = match self.e.get(name) {
                None => true,
                Some(mine) => match (parse_stamp(mine), parse_stamp(theirs)) {
                    (Ok(m), Ok(t)) => (t.0, !t.1) > (m.0, !m.1),
                    (Err(_), Ok(_)) => true,
                    _ => false,
                },
            };
            if take {
                self.e.insert(name.clone(), theirs.clone());
            }
        }
    }

    fn same_content(&self, other: &Self) -> bool {
        self.split == other.split
            && self.rolled == other.rolled
            && self.pointer == other.pointer
            && self.frozen_generations == other.frozen_generations
            && self.e == other.e
    }

    fn prune(&mut self, tombstone_cutoff: u64, now_minute: u64) {
        self.e.retain(|_, raw| {
            parse_stamp(raw).is_ok_and(|(stamp, live)| live || stamp >= tombstone_cutoff)
        });
        prune_writes(&mut self.w, now_minute);
    }

    fn record_write(&mut self, now_ms: u64) {
        *self.w.entry(now_ms / 60_000).or_default() += 1;
        self.t = now_ms;
        self.n += 1;
    }

    fn last_write_ms(&self) -> u64 {
        self.t
    }

    fn frozen(&self) -> bool {
        self.split || self.rolled
    }

    fn same_freeze(&self, other: &Self) -> bool {
        (self.split, self.rolled) == (other.split, other.rolled)
    }
}

/// The root secret: the id high-water mark (format 2), or a whole first-format index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Root {
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<String>,
    /// The highest id ever handed out.
    #[serde(default)]
    pub(crate) hi: u64,
    /// Writes per minute in the last 24 hours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    w: WriteLog,
    /// When the last write was made (ms since the epoch), for backends that limit versions
    /// per secret per second.
    #[serde(default, skip_serializing_if = "is_zero")]
    t: u64,
    /// Format 1 only: entries by id, `"<u>,<a>,<r>,<g>@<stamp>"` with `-` for absent keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    e: BTreeMap<String, String>,
}

impl Root {
    /// Whether this is a first-format index that still holds the entries.
    pub(crate) fn is_legacy(&self) -> bool {
        self.v == 1
    }

    /// The live entries of a first-format index as keys of this format.
    pub(crate) fn legacy_entries(&self) -> Vec<(Key, String)> {
        let mut out = Vec::new();
        for (id, raw) in &self.e {
            let Some((body, _)) = raw.rsplit_once('@') else {
                continue;
            };
            if body == "~" {
                continue;
            }
            out.push((Key::of_id(id), id.clone()));
            for (tag, hash) in ['u', 'a', 'r', 'g'].into_iter().zip(body.split(',')) {
                if hash != "-" {
                    out.push((Key::new(tag, hash), id.clone()));
                }
            }
        }
        out
    }

    /// The same root in format 2 (entries dropped: they live in shards now).
    pub(crate) fn upgraded(&self) -> Root {
        let highest = self
            .e
            .keys()
            .map(|id| id_number(id))
            .filter(|n| *n != u64::MAX);
        Root {
            v: 2,
            base: self.base.clone(),
            hi: highest.chain([self.hi]).max().unwrap_or(0),
            w: self.w.clone(),
            t: self.t,
            e: BTreeMap::new(),
        }
    }

    /// Writes recorded in the rate window ending at `now_minute`.
    pub(crate) fn writes_in_window(&self, now_minute: u64) -> usize {
        writes_since(&self.w, now_minute)
    }
}

impl Mergeable for Root {
    fn empty() -> Self {
        Self {
            v: 2,
            ..Self::default()
        }
    }

    fn decode(value: &str) -> Result<Self> {
        let root: Self = serde_json::from_str(value)
            .map_err(|e| Error::corrupt("index root is not valid index JSON").with_source(e))?;
        if root.v != 1 && root.v != 2 {
            return Err(Error::corrupt(format!(
                "index format version {} is not supported",
                root.v
            )));
        }
        Ok(root)
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn set_base(&mut self, base: Option<String>) {
        self.base = base;
    }

    fn merge(&mut self, other: &Self) {
        self.hi = self.hi.max(other.hi);
        merge_writes(&mut self.w, &other.w);
        self.t = self.t.max(other.t);
        if other.v == 2 {
            self.v = 2;
            self.e.clear();
        }
    }

    fn same_content(&self, other: &Self) -> bool {
        self.hi == other.hi && self.v == other.v
    }

    fn prune(&mut self, _tombstone_cutoff: u64, now_minute: u64) {
        prune_writes(&mut self.w, now_minute);
    }

    fn record_write(&mut self, now_ms: u64) {
        *self.w.entry(now_ms / 60_000).or_default() += 1;
        self.t = now_ms;
    }

    fn last_write_ms(&self) -> u64 {
        self.t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tag: char, hash: &str) -> Key {
        Key::new(tag, hash)
    }

    #[test]
    fn merge_keeps_every_concurrent_update_and_later_removals() {
        let mut base = Shard::empty();
        base.insert(&key('u', "AAAAAA"), "1", 10, false);
        let mut left = base.clone();
        let mut right = base.clone();
        left.insert(&key('u', "BBBBBB"), "2", 20, false);
        right.insert(&key('u', "CCCCCC"), "3", 21, false);
        right.remove(&key('u', "AAAAAA"), "1", 22);
        let mut merged = left.clone();
        merged.merge(&right);
        let mut other_way = right.clone();
        other_way.merge(&left);
        assert_eq!(merged, other_way);
        let ids: Vec<String> = merged.live().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, vec!["2", "3"]);
    }

    #[test]
    fn candidates_list_every_id_of_a_key_in_numeric_order() {
        let mut shard = Shard::empty();
        shard.insert(&key('u', "AAAAAA"), "10", 1, false);
        shard.insert(&key('u', "AAAAAA"), "9", 1, false);
        shard.insert(&key('u', "AAAAAB"), "1", 1, false);
        assert_eq!(shard.candidates(&key('u', "AAAAAA")), vec!["9", "10"]);
        let encoded = shard.encode();
        assert_eq!(Shard::decode(&encoded).unwrap(), shard);
    }

    #[test]
    fn halves_partition_by_bit_and_split_wins_merges() {
        let mut shard = Shard::empty();
        shard.insert(&key('u', "AAAAAA"), "1", 1, false);
        shard.insert(&key('u', "_AAAAA"), "2", 1, false);
        assert_eq!(shard.half(0, false).live().len(), 1);
        assert_eq!(shard.half(0, true).live()[0].id, "2");
        let mut split = shard.clone();
        split.mark_split();
        shard.merge(&split);
        assert!(
            shard.split && shard.live().len() == 2,
            "entries stay frozen"
        );
    }

    #[test]
    fn corrupt_values_are_typed_errors() {
        use crate::ErrorKind;
        assert_eq!(
            Shard::decode("{not json").unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(
            Shard::decode(r#"{"v":2,"e":{"uAAAAAA.1":"!!"}}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(
            Root::decode(r#"{"v":9}"#).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn a_first_format_index_converts_without_token_reads() {
        let root =
            Root::decode(r#"{"v":1,"hi":9,"e":{"3":"AAAAAA,-,BBBBBB,-@k","4":"~@k"}}"#).unwrap();
        assert!(root.is_legacy());
        let entries = root.legacy_entries();
        assert_eq!(entries.len(), 3);
        assert!(entries.contains(&(key('r', "BBBBBB"), "3".to_string())));
        assert_eq!(root.upgraded().hi, 9);
        assert!(!root.upgraded().is_legacy());
    }
}
