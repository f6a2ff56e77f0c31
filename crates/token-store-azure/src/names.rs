//! Secret names: `<prefix><relative name>` within Key Vault's rules.
//!
//! Key Vault names are 1..=127 characters of `[0-9a-zA-Z-]` and compared case-insensitively,
//! so this crate only ever spells them in lowercase: prefixes with uppercase letters are
//! rejected rather than silently folded.

use token_store_core::raw::NameRules;

/// Key Vault's naming rules, lowercase only.
pub(crate) const RULES: NameRules = NameRules {
    backend: "azure",
    max_name: MAX_NAME,
    relative_reserve: 32,
    prefix_char: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    prefix_chars: "a-z, 0-9 and '-' (Key Vault names are case-insensitive, so write it in lowercase)",
    separator: '-',
    case_insensitive: true,
};

/// Longest Key Vault secret name.
pub(crate) const MAX_NAME: usize = 127;
/// Longest prefix: room is kept for the engine's relative names.
pub const MAX_PREFIX: usize = 95;

#[cfg(test)]
mod tests {
    use super::*;
    use token_store_core::ErrorKind;
    use token_store_core::raw::Namespace;

    #[test]
    fn prefixes_are_checked() {
        assert!(RULES.check_prefix("token-store-").is_ok());
        assert!(RULES.check_prefix("a").is_ok());
        assert!(RULES.check_prefix(&"a".repeat(MAX_PREFIX)).is_ok());
        for bad in ["", "Token-", "a_b", "a/b", "a.b", "ä", "a b"] {
            let e = RULES.check_prefix(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConfigInvalid, "{bad:?}");
        }
        assert!(RULES.check_prefix(&"a".repeat(MAX_PREFIX + 1)).is_err());
    }

    #[test]
    fn full_names_stay_within_127() {
        let short = Namespace::new(RULES, "ts-").unwrap();
        assert_eq!(short.full("token-42").unwrap(), "ts-token-42");
        let long = Namespace::new(RULES, &"a".repeat(MAX_PREFIX)).unwrap();
        assert_eq!(long.full(&"1".repeat(32)).unwrap().len(), MAX_NAME);
        for bad in [
            long.full(&"1".repeat(33)),
            short.full("Index"),
            short.full(""),
        ] {
            assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn listed_names_map_back_case_insensitively() {
        let names = Namespace::new(RULES, "ts-").unwrap();
        let relative = |listed, wanted| names.relative_of(listed, wanted);
        assert_eq!(relative("TS-Token-7", "token-").as_deref(), Some("token-7"));
        assert_eq!(relative("ts-index", "").as_deref(), Some("index"));
        assert_eq!(relative("ts-index", "token-"), None);
        assert_eq!(relative("other-token-7", "token-"), None);
        assert_eq!(relative("ts-", ""), None);
    }
}
