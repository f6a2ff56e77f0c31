//! Secret names: the configured prefix plus the engine's relative name, spelled by AWS's rules.
//!
//! AWS allows `A-Za-z0-9/_+=.@-` and up to 512 characters (its output model says 256, so we
//! stay within 256). It also warns against names ending in a hyphen and six characters (they
//! are mistaken for the random ARN suffix), which `token-123456` would do. So the `-` of a
//! relative name becomes `/`: `index` → `<prefix>index`, `token-42` → `<prefix>token/42`.
//! Relative names never contain `/`, so the mapping is reversible.

use token_store_core::{Error, Result};

/// The prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "token-store/";

/// Longest name we create (the smaller of AWS's two documented limits).
const MAX_NAME: usize = 256;
/// Longest relative name the engine uses (`token-` and a 10-digit id), with room to spare.
const MAX_RELATIVE: usize = 24;

/// Longest accepted prefix.
pub const MAX_PREFIX: usize = MAX_NAME - MAX_RELATIVE;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// Check a prefix against AWS's naming rules.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(Error::invalid_input("the secret name prefix is empty"));
    }
    if prefix.len() > MAX_PREFIX {
        return Err(Error::invalid_input(format!(
            "the secret name prefix is {} characters; at most {MAX_PREFIX} are allowed",
            prefix.len()
        )));
    }
    if let Some(bad) = prefix.chars().find(|c| !is_name_char(*c)) {
        return Err(Error::invalid_input(format!(
            "the secret name prefix holds {bad:?}; AWS allows only letters, digits and /_+=.@-"
        )));
    }
    Ok(())
}

/// Maps the engine's relative names to full secret names under one prefix and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// Names under `prefix` (validated).
    pub fn new(prefix: &str) -> Result<Self> {
        validate_prefix(prefix)?;
        Ok(Self {
            prefix: prefix.to_string(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Full secret name of a relative name (`[a-z0-9-]`, checked).
    pub fn full(&self, relative: &str) -> Result<String> {
        let valid = !relative.is_empty()
            && relative.len() <= MAX_RELATIVE
            && relative
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(Error::invalid_input(format!(
                "secret name {relative:?} is not a relative name of [a-z0-9-]"
            )));
        }
        Ok(format!("{}{}", self.prefix, relative.replace('-', "/")))
    }

    /// The relative name of a full name under this prefix, `None` for names outside it.
    pub fn relative(&self, full: &str) -> Option<String> {
        let rest = full.strip_prefix(&self.prefix)?;
        let relative = rest.replace('/', "-");
        self.full(&relative).ok().filter(|f| f == full)?;
        Some(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let names = Names::new("apps/crm/").unwrap();
        assert_eq!(names.full("index").unwrap(), "apps/crm/index");
        assert_eq!(names.full("token-123456").unwrap(), "apps/crm/token/123456");
        assert_eq!(
            names.relative("apps/crm/token/123456").as_deref(),
            Some("token-123456")
        );
        assert_eq!(names.relative("apps/other/index"), None);
        assert_eq!(names.relative("apps/crm/Index"), None);
    }

    #[test]
    fn prefixes_follow_aws_rules() {
        for good in ["a", "token-store/", "x_+=.@-/y", &"p".repeat(MAX_PREFIX)] {
            assert!(validate_prefix(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "sp ace",
            "ümlaut",
            "semi;colon",
            "star*",
            &"p".repeat(MAX_PREFIX + 1),
        ] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_names_are_checked() {
        let names = Names::new("p/").unwrap();
        for bad in ["", "UPPER", "a/b", "x".repeat(25).as_str()] {
            assert!(names.full(bad).is_err(), "{bad}");
        }
    }
}
