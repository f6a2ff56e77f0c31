//! Secret ids and resource names: `<prefix><relative name>` within GCP's rules.

use token_store_core::Result;
use token_store_core::raw::{NameRules, Namespace, config_error};

/// Secret Manager's secret-id rules: `[A-Za-z0-9_-]`, at most 255 characters.
pub(crate) const RULES: NameRules = NameRules {
    backend: "gcp",
    max_name: 255,
    relative_reserve: 32,
    prefix_char: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
    prefix_chars: "letters, digits, '-' and '_'",
    separator: '-',
    case_insensitive: false,
};

/// A project and the namespace of a store's secret ids in it.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    project: String,
    ids: Namespace,
}

impl Names {
    pub(crate) fn new(project: &str, prefix: &str) -> Result<Self> {
        validate_project(project)?;
        let ids = Namespace::new(RULES, prefix)?;
        Ok(Self {
            project: project.to_owned(),
            ids,
        })
    }

    pub(crate) fn project(&self) -> &str {
        &self.project
    }

    pub(crate) fn prefix(&self) -> &str {
        self.ids.prefix()
    }

    /// `projects/<project>`, the parent of every secret.
    pub(crate) fn parent(&self) -> String {
        format!("projects/{}", self.project)
    }

    /// The secret id of a relative name: `<prefix><relative>`.
    pub(crate) fn id(&self, relative: &str) -> Result<String> {
        self.ids.full(relative)
    }

    /// `projects/<project>/secrets/<prefix><relative>`.
    pub(crate) fn secret(&self, relative: &str) -> Result<String> {
        Ok(format!("{}/secrets/{}", self.parent(), self.id(relative)?))
    }

    /// The resource name of one version of a secret.
    pub(crate) fn version(&self, relative: &str, version: &str) -> Result<String> {
        Ok(format!("{}/versions/{version}", self.secret(relative)?))
    }

    /// The relative name of a listed secret (the service names the project by number), when
    /// it is ours and starts with `relative_prefix`.
    pub(crate) fn relative_of(&self, resource: &str, relative_prefix: &str) -> Option<String> {
        let id = resource
            .rsplit_once("/secrets/")
            .map_or(resource, |(_, id)| id);
        self.ids.relative_of(id, relative_prefix)
    }
}

/// The number of a version resource name (`…/versions/12`).
pub(crate) fn version_number(resource: &str) -> Option<u64> {
    resource
        .rsplit_once("/versions/")
        .and_then(|(_, v)| v.parse().ok())
}

/// Project ids: lowercase letters, digits, `-`, `.` and `:` (domain-scoped ids), at most 100.
fn validate_project(project: &str) -> Result<()> {
    let ok = !project.is_empty()
        && project.len() <= 100
        && project
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(config_error(
            "gcp",
            format!(
                "invalid GCP project id {project:?}: use lowercase letters, digits, '-', '.', ':'"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use token_store_core::ErrorKind;

    #[test]
    fn builds_resource_names() {
        let names = Names::new("my-proj", "app_Tokens-").unwrap();
        assert_eq!(names.parent(), "projects/my-proj");
        assert_eq!(
            names.secret("index").unwrap(),
            "projects/my-proj/secrets/app_Tokens-index"
        );
        assert_eq!(
            names.version("token-7", "latest").unwrap(),
            "projects/my-proj/secrets/app_Tokens-token-7/versions/latest"
        );
    }

    #[test]
    fn rejects_bad_prefixes_and_names() {
        for bad in ["", "a/b", "a b", "ä", &"x".repeat(224)] {
            assert_eq!(
                Names::new("p", bad).unwrap_err().kind(),
                ErrorKind::ConfigInvalid,
                "{bad:?}"
            );
        }
        assert!(Names::new("p", &"x".repeat(223)).is_ok());
        assert_eq!(
            Names::new("Bad/Project", "x").unwrap_err().kind(),
            ErrorKind::ConfigInvalid
        );
        let names = Names::new("p", "x-").unwrap();
        for bad in ["", "../index", "Index", "a_b", &"a".repeat(33)] {
            assert_eq!(
                names.secret(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn maps_listed_names_back() {
        let names = Names::new("p", "ns1-").unwrap();
        // The service answers with the project number, not the id.
        assert_eq!(
            names
                .relative_of("projects/123/secrets/ns1-token-4", "token-")
                .as_deref(),
            Some("token-4")
        );
        assert_eq!(
            names.relative_of("projects/123/secrets/ns1-index", "token-"),
            None
        );
        assert_eq!(
            names.relative_of("projects/123/secrets/ns10-token-4", "token-"),
            None
        );
        assert_eq!(
            names.relative_of("projects/123/secrets/ns1-token_x", ""),
            None
        );
    }

    #[test]
    fn parses_version_numbers() {
        assert_eq!(version_number("projects/1/secrets/s/versions/12"), Some(12));
        assert_eq!(version_number("projects/1/secrets/s/versions/latest"), None);
        assert_eq!(version_number("garbage"), None);
    }
}
