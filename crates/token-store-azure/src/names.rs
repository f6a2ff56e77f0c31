//! Secret names: `<prefix><relative name>` within Key Vault's rules.
//!
//! Key Vault names are 1..=127 characters of `[0-9a-zA-Z-]` and compared case-insensitively,
//! so this crate only ever spells them in lowercase: prefixes with uppercase letters are
//! rejected rather than silently folded.

use token_store_core::{Error, ErrorKind, Result};

/// Longest Key Vault secret name.
pub(crate) const MAX_NAME: usize = 127;
/// Room kept for the engine's relative names (`token-` + a 20-digit id is 26 characters).
const RELATIVE_RESERVE: usize = 32;
/// Longest prefix accepted.
pub const MAX_PREFIX: usize = MAX_NAME - RELATIVE_RESERVE;

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// Check a configured prefix: 1..=[`MAX_PREFIX`] characters of `[a-z0-9-]`.
pub(crate) fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX {
        return Err(config(format!(
            "the secret name prefix must be 1..={MAX_PREFIX} characters, got {}",
            prefix.len()
        )));
    }
    if let Some(bad) = prefix.chars().find(|c| !is_name_char(*c)) {
        return Err(config(format!(
            "the secret name prefix may hold only a-z, 0-9 and '-' (Key Vault names are \
             case-insensitive, so write it in lowercase); found {bad:?}"
        )));
    }
    Ok(())
}

/// The full secret name of a relative name, checked against Key Vault's rules.
pub(crate) fn full_name(prefix: &str, relative: &str) -> Result<String> {
    if relative.is_empty() || !relative.chars().all(is_name_char) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "relative secret names hold only a-z, 0-9 and '-'",
        )
        .with_backend("azure"));
    }
    let name = format!("{prefix}{relative}");
    if name.len() > MAX_NAME {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "secret name would be {} characters; Key Vault allows {MAX_NAME}",
                name.len()
            ),
        )
        .with_backend("azure"));
    }
    Ok(name)
}

/// The relative name of a listed secret name when it lies in our namespace and starts with
/// `relative_prefix` (compared in lowercase, as Key Vault does).
pub(crate) fn relative_of(prefix: &str, listed: &str, relative_prefix: &str) -> Option<String> {
    let listed = listed.to_ascii_lowercase();
    let relative = listed.strip_prefix(prefix)?;
    (relative.starts_with(relative_prefix)
        && !relative.is_empty()
        && relative.chars().all(is_name_char))
    .then(|| relative.to_owned())
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::ConfigInvalid, message).with_backend("azure")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked() {
        assert!(validate_prefix("token-store-").is_ok());
        assert!(validate_prefix("a").is_ok());
        assert!(validate_prefix(&"a".repeat(MAX_PREFIX)).is_ok());
        for bad in ["", "Token-", "a_b", "a/b", "a.b", "ä", "a b"] {
            let e = validate_prefix(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConfigInvalid, "{bad:?}");
        }
        assert!(validate_prefix(&"a".repeat(MAX_PREFIX + 1)).is_err());
    }

    #[test]
    fn full_names_stay_within_127() {
        assert_eq!(full_name("ts-", "token-42").unwrap(), "ts-token-42");
        let prefix = "a".repeat(MAX_PREFIX);
        assert_eq!(full_name(&prefix, &"1".repeat(32)).unwrap().len(), MAX_NAME);
        assert_eq!(
            full_name(&prefix, &"1".repeat(33)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            full_name("p-", "Index").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            full_name("p-", "").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn listed_names_map_back_case_insensitively() {
        assert_eq!(
            relative_of("ts-", "TS-Token-7", "token-").as_deref(),
            Some("token-7")
        );
        assert_eq!(relative_of("ts-", "ts-index", "").as_deref(), Some("index"));
        assert_eq!(relative_of("ts-", "ts-index", "token-"), None);
        assert_eq!(relative_of("ts-", "other-token-7", "token-"), None);
        assert_eq!(relative_of("ts-", "ts-", ""), None);
    }
}
