//! Lookup keys as the index stores them: a tag and a truncated, domain-separated SHA-256.
//!
//! A key is `<tag><hash>` with tag `u` (user name), `a` (access token), `r` (refresh token),
//! `g` (grant token) or `i` (the token id itself, so every token is reachable by a walk of
//! the index). The hash is 6 URL-safe base64 characters (36 bits); its bits, most
//! significant first, also choose the index shard (see [`super::tree`]). The index never holds
//! plaintext; a candidate found through a hash is always verified against its token secret.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::Token;
use crate::lookup::LookupKey;

/// Characters of a key hash.
pub(crate) const HASH_CHARS: usize = 6;
/// Bits a key hash carries, so the deepest possible shard.
pub(crate) const HASH_BITS: usize = HASH_CHARS * 6;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The hash of `value` under `tag` (identical to the first index format's hashes, so an old
/// index converts without reading any token).
pub(crate) fn key_hash(tag: &str, value: &str) -> String {
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

/// One hashed lookup key: tag character plus hash, e.g. `uAbC12x`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key(pub(crate) String);

impl Key {
    pub(crate) fn new(tag: char, hash: &str) -> Self {
        Self(format!("{tag}{hash}"))
    }

    /// The key of a lookup.
    pub(crate) fn of_lookup(key: &LookupKey<'_>) -> Self {
        let tag = match key {
            LookupKey::UserName(_) => 'u',
            LookupKey::AccessToken(_) => 'a',
            LookupKey::RefreshToken(_) => 'r',
            LookupKey::GrantToken(_) => 'g',
        };
        Self::new(tag, &key_hash(&tag.to_string(), key.value()))
    }

    /// The key that makes token `id` reachable by a walk of the index.
    pub(crate) fn of_id(id: &str) -> Self {
        Self::new('i', &key_hash("i", id))
    }

    pub(crate) fn tag(&self) -> char {
        self.0.chars().next().unwrap_or('?')
    }

    /// Bit `n` (0 = most significant) of the hash; `None` past the hash or on a bad character.
    pub(crate) fn bit(&self, n: usize) -> Option<bool> {
        let c = *self.0.as_bytes().get(1 + n / 6)?;
        let value = ALPHABET.iter().position(|&a| a == c)?;
        Some(value & (1 << (5 - n % 6)) != 0)
    }

    /// The first `depth` bits as `0`/`1` characters.
    pub(crate) fn path(&self, depth: usize) -> Option<String> {
        (0..depth)
            .map(|n| self.bit(n).map(|b| if b { '1' } else { '0' }))
            .collect()
    }
}

/// Every key of a stored token: its id key, then user, access, refresh and grant keys that
/// are present.
pub(crate) fn keys_of(token: &Token, id: &str) -> Vec<Key> {
    let mut keys = vec![Key::of_id(id)];
    for (tag, field) in [
        ('u', &token.user_name),
        ('a', &token.access_token),
        ('r', &token.refresh_token),
        ('g', &token.grant_token),
    ] {
        if let Some(value) = field.as_deref().filter(|v| !v.is_empty()) {
            keys.push(Key::new(tag, &key_hash(&tag.to_string(), value)));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_the_hash_characters() {
        let key = Key::new('u', "A_A___");
        assert_eq!(key.path(12).unwrap(), "000000111111");
        assert_eq!(key.bit(36), None);
        assert_eq!(key.path(0).unwrap(), "");
    }

    #[test]
    fn lookup_and_stored_keys_agree() {
        let token = Token::builder().user_name("a@b").access_token("x").build();
        let keys = keys_of(&token, "7");
        assert!(keys.contains(&Key::of_lookup(&LookupKey::UserName("a@b"))));
        assert!(keys.contains(&Key::of_lookup(&LookupKey::AccessToken("x"))));
        assert!(keys.contains(&Key::of_id("7")));
        assert_eq!(keys.len(), 3);
    }
}
