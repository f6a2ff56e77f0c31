//! Secret names as each service allows them: one checker for every backend, driven by the
//! rules the backend declares (its alphabet and its longest name).

use crate::config::config_error;
use crate::{Error, ErrorKind, Result};

/// A service's naming rules, as a backend declares them.
#[derive(Debug, Clone, Copy)]
pub struct NameRules {
    /// The backend name errors carry.
    pub backend: &'static str,
    /// Longest whole secret name the service accepts.
    pub max_name: usize,
    /// Room kept for the engine's relative names (`index`, `token-<id>`, shard names): a
    /// prefix may be `max_name - relative_reserve` long.
    pub relative_reserve: usize,
    /// Whether a prefix may hold this character.
    pub prefix_char: fn(char) -> bool,
    /// The characters `prefix_char` accepts, for error messages.
    pub prefix_chars: &'static str,
    /// How full names spell the `-` of a relative name (`'-'`; AWS `'/'`).
    pub separator: char,
    /// Whether the service compares names case-insensitively (Key Vault): listed names are
    /// read in lowercase.
    pub case_insensitive: bool,
}

impl NameRules {
    /// The longest prefix allowed.
    pub fn max_prefix(&self) -> usize {
        self.max_name - self.relative_reserve
    }

    /// `ConfigInvalid` unless `prefix` is 1..=[`max_prefix`](Self::max_prefix) characters the
    /// service allows.
    pub fn check_prefix(&self, prefix: &str) -> Result<()> {
        let max = self.max_prefix();
        if prefix.is_empty() || prefix.len() > max {
            return Err(config_error(
                self.backend,
                format!(
                    "the secret name prefix must be 1..={max} characters, got {}",
                    prefix.len()
                ),
            ));
        }
        if let Some(bad) = prefix.chars().find(|c| !(self.prefix_char)(*c)) {
            return Err(config_error(
                self.backend,
                format!(
                    "the secret name prefix may hold only {}; found {bad:?}",
                    self.prefix_chars
                ),
            ));
        }
        Ok(())
    }

    /// `InvalidInput` unless `relative` is an engine name: 1..=`relative_reserve` characters
    /// of `[a-z0-9-]`.
    pub fn check_relative(&self, relative: &str) -> Result<()> {
        if is_relative_name(relative, self.relative_reserve) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!("secret name {relative:?} is not a relative name of [a-z0-9-]"),
            )
            .with_backend(self.backend))
        }
    }
}

/// A store's namespace: its prefix, checked against the service's [`NameRules`], which maps
/// relative names to full secret names and back.
#[derive(Debug, Clone)]
pub struct Namespace {
    rules: NameRules,
    prefix: String,
}

impl Namespace {
    /// `ConfigInvalid` when `prefix` breaks `rules` ([`NameRules::check_prefix`]).
    pub fn new(rules: NameRules, prefix: &str) -> Result<Self> {
        rules.check_prefix(prefix)?;
        let prefix = prefix.to_owned();
        Ok(Self { rules, prefix })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full name of `relative` (`InvalidInput` when it is not a relative name).
    pub fn full(&self, relative: &str) -> Result<String> {
        self.rules.check_relative(relative)?;
        let spelled = relative.replace('-', self.rules.separator.encode_utf8(&mut [0; 4]));
        Ok(format!("{}{spelled}", self.prefix))
    }

    /// The relative name of a listed full name, when it is in this namespace and starts with
    /// `relative_prefix` (names another program put beside ours are not).
    pub fn relative_of(&self, listed: &str, relative_prefix: &str) -> Option<String> {
        let listed = match self.rules.case_insensitive {
            true => listed.to_ascii_lowercase(),
            false => listed.to_owned(),
        };
        let spelled = listed.strip_prefix(&self.prefix)?;
        let relative = spelled.replace(self.rules.separator, "-");
        let ours = relative.starts_with(relative_prefix) && self.full(&relative).ok()? == listed;
        ours.then_some(relative)
    }
}

fn is_relative_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: NameRules = NameRules {
        backend: "t",
        max_name: 12,
        relative_reserve: 8,
        prefix_char: |c| c.is_ascii_lowercase() || c == '-',
        prefix_chars: "a-z and '-'",
        separator: '-',
        case_insensitive: false,
    };

    #[test]
    fn prefixes_follow_the_declared_rules() {
        assert_eq!(RULES.max_prefix(), 4);
        assert!(RULES.check_prefix("ab-").is_ok());
        for bad in ["", "abcde", "A", "a_"] {
            let error = RULES.check_prefix(bad).unwrap_err();
            assert_eq!(
                (error.kind(), error.backend()),
                (ErrorKind::ConfigInvalid, "t")
            );
        }
    }

    #[test]
    fn relative_names_are_engine_names() {
        assert!(RULES.check_relative("token-1").is_ok());
        for bad in ["", "Index", "a_b", "123456789"] {
            assert_eq!(
                RULES.check_relative(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn namespaces_map_names_both_ways() {
        let plain = Namespace::new(RULES, "p-").unwrap();
        assert_eq!(plain.full("token-1").unwrap(), "p-token-1");
        assert_eq!(plain.relative_of("p-token-1", "token-").unwrap(), "token-1");
        for (listed, wanted) in [("p-index", "token-"), ("q-token-1", ""), ("p-", "")] {
            assert_eq!(plain.relative_of(listed, wanted), None, "{listed}");
        }
        let slashed = NameRules {
            separator: '/',
            case_insensitive: true,
            ..RULES
        };
        let slashed = Namespace::new(slashed, "p-").unwrap();
        assert_eq!(slashed.full("token-1").unwrap(), "p-token/1");
        assert_eq!(slashed.relative_of("P-Token/1", "").unwrap(), "token-1");
        assert_eq!(
            slashed.relative_of("p-token-1", ""),
            None,
            "not our spelling"
        );
        assert!(Namespace::new(RULES, "P").is_err());
    }
}
