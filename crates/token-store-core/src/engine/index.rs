//! The index secret: lookup-key hashes → token ids, mergeable across concurrent writers.
//!
//! Format (JSON): `{"v":1,"base":"<version>","hi":42,"e":{"7":"<hashes>@<ms>", "9":"~@<ms>"}}`.
//! Each live entry holds four 6-character hashes (user name, access, refresh, grant token; `-`
//! for an absent field) of a domain-separated SHA-256 truncated to 36 bits; a candidate found through
//! a hash is always verified against its token secret, so collisions cost a read, never a
//! wrong answer. `~` marks a deleted entry (a tombstone). Entries merge last-writer-wins on
//! their millisecond timestamp, so any two index versions merge into one that holds every
//! update of both ([`Index::merge`]).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lookup::{LookupKey, id_number};
use crate::{Error, ErrorKind, Result, Token};

const HASH_CHARS: usize = 6;
const ABSENT: &str = "-";
const DELETED: &str = "~";

/// The decoded index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Index {
    /// Format version.
    v: u32,
    /// The version this value was derived from (merge-log protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<String>,
    /// The highest id ever assigned, so deleted ids are not handed out again.
    #[serde(default)]
    hi: u64,
    /// Entries by token id.
    #[serde(default)]
    e: BTreeMap<String, String>,
}

/// The hashes of one token's lookup keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryKeys(String);

impl EntryKeys {
    /// The keys of a stored token.
    pub(crate) fn of(token: &Token) -> Self {
        let fields = [
            &token.user_name,
            &token.access_token,
            &token.refresh_token,
            &token.grant_token,
        ];
        let tags = ["u", "a", "r", "g"];
        Self(
            tags.iter()
                .zip(fields)
                .map(
                    |(tag, value)| match value.as_deref().filter(|v| !v.is_empty()) {
                        Some(v) => key_hash(tag, v),
                        None => ABSENT.to_string(),
                    },
                )
                .collect::<Vec<_>>()
                .join(","),
        )
    }

    fn slot(&self, position: usize) -> &str {
        self.0.split(',').nth(position).unwrap_or(ABSENT)
    }
}

fn key_hash(tag: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"token-store-index\0")
        .chain_update(tag)
        .chain_update(b"\0")
        .chain_update(value)
        .finalize();
    let mut encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..6]);
    encoded.truncate(HASH_CHARS);
    encoded
}

fn lookup_slot(key: &LookupKey<'_>) -> (usize, String) {
    match key {
        LookupKey::UserName(v) => (0, key_hash("u", v)),
        LookupKey::AccessToken(v) => (1, key_hash("a", v)),
        LookupKey::RefreshToken(v) => (2, key_hash("r", v)),
        LookupKey::GrantToken(v) => (3, key_hash("g", v)),
    }
}

/// A parsed entry value.
struct Entry<'a> {
    keys: Option<EntryKeys>,
    stamp: u64,
    raw: &'a str,
}

fn parse_entry(raw: &str) -> Result<Entry<'_>> {
    let (body, stamp) = raw
        .rsplit_once('@')
        .ok_or_else(|| Error::corrupt("index entry without timestamp"))?;
    let stamp = u64::from_str_radix(stamp, 36)
        .map_err(|_| Error::corrupt("index entry with a bad timestamp"))?;
    let keys = (body != DELETED).then(|| EntryKeys(body.to_string()));
    Ok(Entry { keys, stamp, raw })
}

fn format_entry(keys: Option<&EntryKeys>, stamp: u64) -> String {
    let body = keys.map_or(DELETED, |k| k.0.as_str());
    format!("{body}@{}", to_base36(stamp))
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
    String::from_utf8(out).expect("ascii digits")
}

impl Index {
    /// An empty index.
    pub(crate) fn empty() -> Self {
        Self {
            v: 1,
            ..Self::default()
        }
    }

    /// Decode a stored index value.
    pub(crate) fn decode(value: &str) -> Result<Self> {
        let index: Self = serde_json::from_str(value)
            .map_err(|e| Error::corrupt("index secret is not valid index JSON").with_source(e))?;
        if index.v != 1 {
            return Err(Error::corrupt(format!(
                "index format version {} is not supported",
                index.v
            )));
        }
        for raw in index.e.values() {
            parse_entry(raw)?;
        }
        Ok(index)
    }

    /// Encode for storage.
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).expect("index serializes")
    }

    /// Ids of live entries, by numeric id.
    pub(crate) fn live_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .e
            .iter()
            .filter(|(_, raw)| parse_entry(raw).is_ok_and(|e| e.keys.is_some()))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_by_key(|id| id_number(id));
        ids
    }

    /// The keys stored for a live id.
    pub(crate) fn keys_of(&self, id: &str) -> Option<EntryKeys> {
        self.e
            .get(id)
            .and_then(|raw| parse_entry(raw).ok())
            .and_then(|e| e.keys)
    }

    /// Live ids whose entry carries the hash of `key`, by numeric id.
    pub(crate) fn candidates(&self, key: &LookupKey<'_>) -> Vec<String> {
        let (slot, hash) = lookup_slot(key);
        let mut ids: Vec<String> = self
            .e
            .iter()
            .filter(|(_, raw)| {
                parse_entry(raw)
                    .ok()
                    .and_then(|e| e.keys)
                    .is_some_and(|k| k.slot(slot) == hash)
            })
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_by_key(|id| id_number(id));
        ids
    }

    /// The next id to assign: one more than any id the index holds or ever assigned.
    pub(crate) fn next_id(&self) -> Result<u64> {
        let max = self
            .e
            .keys()
            .map(|id| id_number(id))
            .filter(|n| *n != u64::MAX)
            .chain([self.hi])
            .max()
            .unwrap_or(0);
        if max >= crate::lookup::MAX_ID {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "no token id left: ids are limited to 10 digits",
            ));
        }
        Ok(max + 1)
    }

    /// Record `id` with `keys` at time `stamp`. Returns whether anything changed.
    pub(crate) fn upsert(&mut self, id: &str, keys: &EntryKeys, stamp: u64) -> bool {
        self.hi = self.hi.max(id_number(id).min(crate::lookup::MAX_ID));
        if self.keys_of(id).as_ref() == Some(keys) {
            return false;
        }
        let stamp = self.after_current(id, stamp);
        self.e
            .insert(id.to_string(), format_entry(Some(keys), stamp));
        true
    }

    /// Mark `id` deleted at time `stamp`. Returns whether anything changed.
    pub(crate) fn remove(&mut self, id: &str, stamp: u64) -> bool {
        if !self.e.contains_key(id) || self.keys_of(id).is_none() {
            return false;
        }
        let stamp = self.after_current(id, stamp);
        self.e.insert(id.to_string(), format_entry(None, stamp));
        true
    }

    /// A stamp strictly later than the entry's current one, so the new write wins merges.
    fn after_current(&self, id: &str, stamp: u64) -> u64 {
        let current = self
            .e
            .get(id)
            .and_then(|raw| parse_entry(raw).ok())
            .map_or(0, |e| e.stamp);
        stamp.max(current + 1)
    }

    /// Merge `other` into `self`: per id the later stamp wins (ties: the larger encoding).
    pub(crate) fn merge(&mut self, other: &Index) {
        self.hi = self.hi.max(other.hi);
        for (id, theirs) in &other.e {
            let take = match self.e.get(id) {
                None => true,
                Some(mine) => match (parse_entry(mine), parse_entry(theirs)) {
                    (Ok(m), Ok(t)) => (t.stamp, t.raw) > (m.stamp, m.raw),
                    (Err(_), Ok(_)) => true,
                    _ => false,
                },
            };
            if take {
                self.e.insert(id.clone(), theirs.clone());
            }
        }
    }

    /// Drop tombstones stamped before `cutoff`.
    pub(crate) fn prune_tombstones(&mut self, cutoff: u64) {
        self.e
            .retain(|_, raw| parse_entry(raw).is_ok_and(|e| e.keys.is_some() || e.stamp >= cutoff));
    }

    /// Whether both hold the same entries and id high-water mark (whatever their base).
    pub(crate) fn same_entries(&self, other: &Index) -> bool {
        self.hi == other.hi && self.e == other.e
    }

    /// Number of live entries.
    pub(crate) fn len(&self) -> usize {
        self.live_ids().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(user: &str, access: &str) -> Token {
        Token::builder()
            .user_name(user)
            .access_token(access)
            .build()
    }

    #[test]
    fn candidates_follow_hashes_and_never_hold_plaintext() {
        let mut index = Index::empty();
        index.upsert("1", &EntryKeys::of(&token("alice@example.com", "at-1")), 10);
        index.upsert("2", &EntryKeys::of(&token("bob@example.com", "at-2")), 11);
        assert_eq!(
            index.candidates(&LookupKey::UserName("alice@example.com")),
            vec!["1"]
        );
        assert_eq!(index.candidates(&LookupKey::AccessToken("at-2")), vec!["2"]);
        assert!(
            index
                .candidates(&LookupKey::RefreshToken("at-2"))
                .is_empty()
        );
        let encoded = index.encode();
        assert!(!encoded.contains("alice") && !encoded.contains("at-1"));
        assert_eq!(Index::decode(&encoded).unwrap(), index);
    }

    #[test]
    fn merge_keeps_every_concurrent_update_and_later_deletes() {
        let mut base = Index::empty();
        base.upsert("1", &EntryKeys::of(&token("a", "x")), 10);
        let mut left = base.clone();
        let mut right = base.clone();
        left.upsert("2", &EntryKeys::of(&token("b", "y")), 20);
        right.upsert("3", &EntryKeys::of(&token("c", "z")), 21);
        right.remove("1", 22);
        let mut merged = left.clone();
        merged.merge(&right);
        let mut other_way = right.clone();
        other_way.merge(&left);
        assert_eq!(merged, other_way);
        assert_eq!(merged.live_ids(), vec!["2", "3"]);
        assert_eq!(merged.next_id().unwrap(), 4);
    }

    #[test]
    fn deleted_ids_are_not_reassigned() {
        let mut index = Index::empty();
        index.upsert("7", &EntryKeys::of(&token("a", "x")), 1);
        index.remove("7", 2);
        index.prune_tombstones(u64::MAX);
        assert_eq!(index.next_id().unwrap(), 8);
    }

    #[test]
    fn corrupt_index_is_a_typed_error() {
        assert_eq!(
            Index::decode("{not json").unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(
            Index::decode(r#"{"v":1,"e":{"1":"abc"}}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Corrupt
        );
    }
}
