//! Tags (GCP: labels) put on every secret a store creates: one checker for every backend,
//! driven by the limits the backend declares, like [`NameRules`](crate::raw::NameRules) for
//! names. Error messages are written from the same limits, so they always match the check.

use crate::Result;
use crate::config::config_error;

/// The characters tags may hold, and how messages describe them.
type Alphabet = (fn(char) -> bool, &'static str);

/// A service's limits on the tags of one secret, as a backend declares them:
/// `TagRules::new("aws", 50, 127, 255).reserving("aws:")`.
#[derive(Debug, Clone, Copy)]
pub struct TagRules {
    backend: &'static str,
    noun: &'static str,
    max_tags: usize,
    max_key: usize,
    max_value: usize,
    reserved_prefix: Option<&'static str>,
    alphabet: Option<Alphabet>,
    key_starts_with_letter: bool,
}

impl TagRules {
    /// Tags of `backend`: at most `max_tags` on one secret (this library's own included), keys
    /// 1..=`max_key` characters, values at most `max_value`.
    pub const fn new(
        backend: &'static str,
        max_tags: usize,
        max_key: usize,
        max_value: usize,
    ) -> Self {
        Self {
            backend,
            noun: "tag",
            max_tags,
            max_key,
            max_value,
            reserved_prefix: None,
            alphabet: None,
            key_starts_with_letter: false,
        }
    }

    /// What the service calls them in messages (default `"tag"`; GCP `"label"`).
    pub const fn named(mut self, noun: &'static str) -> Self {
        self.noun = noun;
        self
    }

    /// A key prefix the service keeps for itself (AWS `aws:`).
    pub const fn reserving(mut self, prefix: &'static str) -> Self {
        self.reserved_prefix = Some(prefix);
        self
    }

    /// The only characters keys and values may hold, and how messages describe them.
    pub const fn alphabet(mut self, allowed: fn(char) -> bool, described: &'static str) -> Self {
        self.alphabet = Some((allowed, described));
        self
    }

    /// Keys must start with a letter (of the alphabet).
    pub const fn key_starts_with_letter(mut self) -> Self {
        self.key_starts_with_letter = true;
        self
    }

    /// `ConfigInvalid` unless every one of the user's `tags` is allowed and they fit beside
    /// the `own` tags this library adds. Keys and values are configuration, never secret, so
    /// the error names them.
    pub fn check<K, V>(&self, tags: impl IntoIterator<Item = (K, V)>, own: usize) -> Result<()>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut count = own;
        for (key, value) in tags {
            let (key, value) = (key.as_ref(), value.as_ref());
            if !self.key_ok(key) || !self.value_ok(value) {
                let message = format!("invalid {} {key:?}={value:?}: {}", self.noun, self.rule());
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

    fn key_ok(&self, key: &str) -> bool {
        let starts_with_letter = key.starts_with(|c: char| c.is_alphabetic());
        (1..=self.max_key).contains(&key.chars().count())
            && self.in_alphabet(key)
            && (starts_with_letter || !self.key_starts_with_letter)
            && self.reserved_prefix.is_none_or(|p| !key.starts_with(p))
    }

    fn value_ok(&self, value: &str) -> bool {
        value.chars().count() <= self.max_value && self.in_alphabet(value)
    }

    fn in_alphabet(&self, text: &str) -> bool {
        self.alphabet
            .is_none_or(|(allowed, _)| text.chars().all(allowed))
    }

    /// The rules in words, for error messages.
    fn rule(&self) -> String {
        let mut rule = format!("keys are 1..={} characters", self.max_key);
        if self.key_starts_with_letter {
            rule.push_str(" starting with a letter");
        }
        if let Some(prefix) = self.reserved_prefix {
            rule.push_str(&format!(", not starting with {prefix}"));
        }
        rule.push_str(&format!(", values at most {}", self.max_value));
        if let Some((_, described)) = self.alphabet {
            rule.push_str(&format!("; both of {described}"));
        }
        rule
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const RULES: TagRules = TagRules::new("t", 3, 8, 4).reserving("sys:");
    const LOWER: TagRules = TagRules::new("t", 3, 8, 4)
        .named("label")
        .alphabet(|c| c.is_ascii_lowercase() || c == '-', "a-z and '-'")
        .key_starts_with_letter();

    #[test]
    fn allowed_tags_that_fit_pass() {
        assert!(RULES.check([("team", "crm"), ("Env", "")], 1).is_ok());
        assert!(RULES.check(Vec::<(String, String)>::new(), 3).is_ok());
        assert!(LOWER.check([("team-a", "crm")], 0).is_ok());
    }

    #[test]
    fn a_bad_key_or_value_or_too_many_tags_are_config_errors() {
        for (rules, tags, own) in [
            (RULES, vec![("", "x")], 0),
            (RULES, vec![("sys:a", "x")], 0),
            (RULES, vec![("longer-key", "x")], 0),
            (RULES, vec![("a", "longer")], 0),
            (RULES, vec![("a", "x"), ("b", "y")], 2),
            (LOWER, vec![("Team", "x")], 0),
            (LOWER, vec![("-team", "x")], 0),
            (LOWER, vec![("team", "X")], 0),
        ] {
            let error = rules.check(tags.clone(), own).unwrap_err();
            assert_eq!(
                (error.kind(), error.backend()),
                (ErrorKind::ConfigInvalid, "t"),
                "{tags:?}"
            );
        }
    }

    #[test]
    fn messages_state_the_declared_limits() {
        let message = RULES.check([("sys:a", "x")], 0).unwrap_err().to_string();
        assert!(
            message.contains("keys are 1..=8 characters, not starting with sys:, values at most 4"),
            "{message}"
        );
        let message = LOWER.check([("Team", "x")], 0).unwrap_err().to_string();
        assert!(
            message.contains("invalid label") && message.contains("starting with a letter"),
            "{message}"
        );
        let message = RULES.check([("a", "x")], 3).unwrap_err().to_string();
        assert!(message.contains("at most 3 tags"), "{message}");
    }
}
