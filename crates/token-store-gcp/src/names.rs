//! Secret ids and resource names: `<prefix><relative name>` within GCP's rules.

use token_store_core::{Error, ErrorKind, Result};

/// Longest GCP secret id.
const MAX_SECRET_ID: usize = 255;
/// Room kept for the engine's relative names (`token-` + a 10-digit id is 16 characters).
const RELATIVE_RESERVE: usize = 32;

/// The project and prefix that place relative names into the service's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    project: String,
    prefix: String,
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl Names {
    /// Validated names for `project` and secret-id `prefix`.
    pub(crate) fn new(project: &str, prefix: &str) -> Result<Self> {
        validate_project(project)?;
        validate_prefix(prefix)?;
        Ok(Self {
            project: project.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The project id.
    pub(crate) fn project(&self) -> &str {
        &self.project
    }

    /// The secret-id prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `projects/<project>`.
    pub(crate) fn parent(&self) -> String {
        format!("projects/{}", self.project)
    }

    /// `projects/<project>/secrets/<prefix><relative>` for a checked relative name.
    pub(crate) fn secret(&self, relative: &str) -> Result<String> {
        validate_relative(relative)?;
        Ok(format!(
            "projects/{}/secrets/{}{relative}",
            self.project, self.prefix
        ))
    }

    /// The resource name of `version` (a number or `latest`) of a relative secret.
    pub(crate) fn version(&self, relative: &str, version: &str) -> Result<String> {
        Ok(format!("{}/versions/{version}", self.secret(relative)?))
    }

    /// The relative name of a listed secret resource name (`projects/<any>/secrets/<id>`)
    /// when its id starts with our prefix followed by `relative_prefix`.
    pub(crate) fn relative_of(&self, resource: &str, relative_prefix: &str) -> Option<String> {
        let id = resource
            .rsplit_once("/secrets/")
            .map_or(resource, |(_, id)| id);
        let relative = id.strip_prefix(self.prefix.as_str())?;
        (relative.starts_with(relative_prefix) && validate_relative(relative).is_ok())
            .then(|| relative.to_owned())
    }
}

/// The version number at the end of a version resource name (`…/versions/7` → 7).
pub(crate) fn version_number(resource: &str) -> Option<u64> {
    resource
        .rsplit_once("/versions/")
        .and_then(|(_, v)| v.parse().ok())
}

fn config_error(message: String) -> Error {
    Error::new(ErrorKind::ConfigInvalid, message).with_backend("gcp")
}

/// A project id (`my-project-123`), domain-scoped id (`example.com:proj`) or number.
pub(crate) fn validate_project(project: &str) -> Result<()> {
    let ok = !project.is_empty()
        && project.len() <= 100
        && project
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(config_error(format!(
            "invalid GCP project id {project:?}: use lowercase letters, digits, '-', '.', ':'"
        )))
    }
}

/// A secret-id prefix: 1..=223 characters of `[A-Za-z0-9_-]`, so every secret id stays within 255.
pub(crate) fn validate_prefix(prefix: &str) -> Result<()> {
    let max = MAX_SECRET_ID - RELATIVE_RESERVE;
    if prefix.is_empty() || prefix.len() > max || !prefix.chars().all(is_id_char) {
        return Err(config_error(format!(
            "invalid secret-id prefix {prefix:?}: use 1..={max} characters of letters, digits, '-' and '_'"
        )));
    }
    Ok(())
}

/// A relative name from the engine: `[a-z0-9-]`, 1..=32 characters.
pub(crate) fn validate_relative(relative: &str) -> Result<()> {
    let ok = !relative.is_empty()
        && relative.len() <= RELATIVE_RESERVE
        && relative
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid relative secret name {relative:?}"),
        )
        .with_backend("gcp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
