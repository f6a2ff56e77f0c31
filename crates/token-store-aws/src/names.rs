//! Secret names: the configured prefix plus the engine's relative name, spelled by AWS's rules.
//!
//! AWS allows `A-Za-z0-9/_+=.@-` and up to 512 characters (its output model says 256, so we
//! stay within 256). It also warns against names ending in a hyphen and six characters (they
//! are mistaken for the random ARN suffix), which `token-123456` would do. So the `-` of a
//! relative name becomes `/`: `index` → `<prefix>index`, `token-42` → `<prefix>token/42`.
//! Relative names never contain `/`, so the mapping is reversible.

use token_store_core::raw::NameRules;

use crate::error::BACKEND;

/// The prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "token-store/";

/// AWS's naming rules as this crate uses them.
pub(crate) const RULES: NameRules = NameRules {
    backend: BACKEND,
    max_name: 256,
    relative_reserve: 24,
    prefix_char: |c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c),
    prefix_chars: "letters, digits and /_+=.@- (AWS's name characters)",
    separator: '/',
    case_insensitive: false,
};

/// The longest prefix allowed: 256 minus room for the engine's relative names.
pub const MAX_PREFIX: usize = 232;

#[cfg(test)]
mod tests {
    use super::*;
    use token_store_core::raw::Namespace;

    #[test]
    fn round_trip() {
        let names = Namespace::new(RULES, "apps/crm/").unwrap();
        assert_eq!(names.full("index").unwrap(), "apps/crm/index");
        assert_eq!(names.full("token-123456").unwrap(), "apps/crm/token/123456");
        assert_eq!(
            names.relative_of("apps/crm/token/123456", "").as_deref(),
            Some("token-123456")
        );
        assert_eq!(names.relative_of("apps/other/index", ""), None);
        assert_eq!(names.relative_of("apps/crm/Index", ""), None);
    }

    #[test]
    fn prefixes_follow_aws_rules() {
        assert_eq!(RULES.max_prefix(), MAX_PREFIX);
        for good in ["a", "token-store/", "x_+=.@-/y", &"p".repeat(MAX_PREFIX)] {
            assert!(Namespace::new(RULES, good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "sp ace",
            "ümlaut",
            "semi;colon",
            "star*",
            &"p".repeat(MAX_PREFIX + 1),
        ] {
            assert!(Namespace::new(RULES, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_names_are_checked() {
        let names = Namespace::new(RULES, "p/").unwrap();
        for bad in ["", "UPPER", "a/b", "x".repeat(25).as_str()] {
            assert!(names.full(bad).is_err(), "{bad}");
        }
    }
}
