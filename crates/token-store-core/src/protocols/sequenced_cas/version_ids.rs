//! Version ids that encode a sequence number, for the one-call compare-and-swap.
//!
//! Every index version written through [`put_if_current`](super::put_if_current) gets the id `token-store-v1-` + 20 decimal digits
//! (35 characters; AWS takes `ClientRequestToken` values of 32..64 characters and uses them
//! as the VersionId; neither AWS nor LocalStack nor moto requires UUID syntax). The version
//! written on top of version `seq` is `seq + 1`, so every writer that read the same version
//! sends the *same* `ClientRequestToken`, and Secrets Manager accepts only the first of them
//! (a reused token with different data is refused; with the same data it is an idempotent
//! no-op).
//!
//! A version id not in this format (a random UUID from a plain `PutSecretValue`, e.g. by an
//! older release that used staging labels) has no sequence; its successor starts a new run at
//! a multiple of 10^9 picked by a hash of the foreign id. Starting every foreign base at
//! sequence 0 would be fragile: once `…01` exists (the index was created by this release),
//! every later foreign version would map to the already used `…01` and each compare-and-swap
//! from it would conflict forever. Native runs stay below 10^9 writes; two foreign ids collide
//! only when their hashes agree modulo 10^9 and their runs overlap.

/// Prefix of every index version id this crate writes.
pub const VERSION_PREFIX: &str = "token-store-v1-";
const SEQ_DIGITS: usize = 20;
const RUN: u64 = 1_000_000_000;

/// The version id of sequence number `seq`.
fn format(seq: u64) -> String {
    format!("{VERSION_PREFIX}{seq:0SEQ_DIGITS$}")
}

/// The sequence number of a version id in our format; `None` for any other id.
fn parse(version: &str) -> Option<u64> {
    let digits = version.strip_prefix(VERSION_PREFIX)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The version id of the first index version (`CreateSecret`).
pub fn first() -> String {
    format(1)
}

/// The version id a compare-and-swap from `expected` writes.
pub fn successor(expected: &str) -> String {
    match parse(expected).and_then(|seq| seq.checked_add(1)) {
        Some(next) => format(next),
        None => format(foreign_base(expected) + 1),
    }
}

/// Start of the run a foreign version id continues in: (1 + FNV-1a(id) mod 10^9) × 10^9.
fn foreign_base(version: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in version.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (1 + hash % RUN) * RUN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        assert_eq!(first(), "token-store-v1-00000000000000000001");
        for seq in [0, 1, 9, 10, 999_999_999, 1_000_000_001, u64::MAX] {
            let id = format(seq);
            assert!((32..=64).contains(&id.len()), "{id}: AWS takes 32..64");
            assert_eq!(id.len(), 35);
            assert_eq!(parse(&id), Some(seq), "{id}");
        }
        assert_eq!(successor(&format(41)), format(42));
        assert_eq!(parse(&successor(&first())), Some(2));
    }

    #[test]
    fn foreign_ids_start_a_distinct_run() {
        for foreign in [
            "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
            "token-store-v1-1",
            "token-store-v1-0000000000000000000x",
            "token-store-v1-000000000000000000001",
            "token-store-v1-99999999999999999999",
            "",
        ] {
            assert_eq!(parse(foreign), None, "{foreign:?}");
            let next = successor(foreign);
            let seq = parse(&next).expect("the successor is in our format");
            assert!(seq > RUN && seq % RUN == 1, "{foreign:?} → {seq}");
            assert_eq!(
                successor(foreign),
                next,
                "deterministic: racing writers agree"
            );
        }
        // u64::MAX has no successor: treated as foreign rather than wrapping to 0.
        assert!(parse(&successor(&format(u64::MAX))).unwrap() > RUN);
        assert_ne!(
            successor("6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
            successor("6f9619ff-8b86-d011-b42d-00cf4fc964fe")
        );
    }
}
