//! Tags (GCP: labels) put on every secret a store creates: one checker for every backend,
//! driven by the rules the backend declares, like [`NameRules`](crate::raw::NameRules) for names.

use crate::Result;
use crate::config::config_error;

/// A service's rules for the tags on one secret, as a backend declares them.
#[derive(Debug, Clone, Copy)]
pub struct TagRules {
    /// The backend name errors carry.
    pub backend: &'static str,
    /// What the service calls them (`"tag"`, `"label"`), for error messages.
    pub noun: &'static str,
    /// Most tags one secret may carry, this library's own included.
    pub max_tags: usize,
    /// Whether the service accepts this key (its length, alphabet, reserved prefixes).
    pub key_ok: fn(&str) -> bool,
    /// Whether the service accepts this value.
    pub value_ok: fn(&str) -> bool,
    /// What `key_ok` and `value_ok` accept, for error messages.
    pub allowed: &'static str,
}

impl TagRules {
    /// `ConfigInvalid` unless every one of the user's `tags` is allowed and they fit beside
    /// the `own` tags this library adds. Keys and values are named in the error; they are
    /// configuration, never secret.
    pub fn check<K, V>(&self, tags: impl IntoIterator<Item = (K, V)>, own: usize) -> Result<()>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut count = own;
        for (key, value) in tags {
            let (key, value) = (key.as_ref(), value.as_ref());
            if !(self.key_ok)(key) || !(self.value_ok)(value) {
                let message = format!("invalid {} {key:?}={value:?}: {}", self.noun, self.allowed);
                return Err(config_error(self.backend, message));
            }
            count += 1;
        }
        if count > self.max_tags {
            let message = format!(
                "at most {} {}s per secret, {own} of them this library's; got {count}",
                self.max_tags, self.noun
            );
            return Err(config_error(self.backend, message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const RULES: TagRules = TagRules {
        backend: "t",
        noun: "tag",
        max_tags: 3,
        key_ok: |key| !key.is_empty() && !key.starts_with("sys:"),
        value_ok: |value| value.len() <= 4,
        allowed: "keys not empty nor starting with sys:, values at most 4 bytes",
    };

    #[test]
    fn allowed_tags_that_fit_pass() {
        assert!(RULES.check([("team", "crm"), ("env", "dev")], 1).is_ok());
        assert!(RULES.check(Vec::<(String, String)>::new(), 3).is_ok());
    }

    #[test]
    fn a_bad_key_or_value_or_too_many_tags_are_config_errors() {
        for (tags, own) in [
            (vec![("", "x")], 0),
            (vec![("sys:a", "x")], 0),
            (vec![("a", "longer")], 0),
            (vec![("a", "x"), ("b", "y")], 2),
        ] {
            let error = RULES.check(tags.clone(), own).unwrap_err();
            assert_eq!(
                (error.kind(), error.backend()),
                (ErrorKind::ConfigInvalid, "t"),
                "{tags:?}"
            );
        }
        let message = RULES.check([("a", "x")], 3).unwrap_err().to_string();
        assert!(message.contains("at most 3 tags"), "{message}");
    }
}
