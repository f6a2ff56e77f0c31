//! What `doctor` says about a URL before connecting: does it parse, and where would the
//! credentials come from (the lookup order of each service's SDK, as the backends use it).

use std::path::PathBuf;

use token_store::Result;

use crate::store::kind_of;
use token_store::raw::env_var as var;

/// The backend a URL names, after checking it the way the backend will (cloud URLs fully;
/// file and SQL URLs are checked when the store is opened).
pub fn parse(url: &str) -> Result<&'static str> {
    let scheme = token_store::scheme_of(url)?;
    (scheme.check)(url)?;
    Ok(scheme.backend)
}

fn home_file(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(var("HOME")?).join(relative);
    path.is_file().then_some(path)
}

/// Where the credentials for `url` come from, or what to do when none are found.
pub fn source(url: &str) -> std::result::Result<String, String> {
    match kind_of(url) {
        Some("aws") => aws(),
        Some("gcp") => Ok(gcp(url)),
        Some("azure") => Ok(azure()),
        Some("mysql") => Ok(
            if url
                .split_once('@')
                .is_some_and(|(auth, _)| auth.contains(':'))
            {
                "user and password in the URL".into()
            } else {
                "no password in the URL (the server must allow it)".into()
            },
        ),
        _ => Ok("none needed (file permissions apply)".into()),
    }
}

fn aws() -> std::result::Result<String, String> {
    if var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some() {
        return Ok("environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".into());
    }
    if let Some(profile) = var("AWS_PROFILE") {
        return Ok(format!("profile {profile:?} of the shared config files"));
    }
    if let Some(path) = home_file(".aws/credentials") {
        return Ok(format!("shared credentials file {}", path.display()));
    }
    if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        return Ok("web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into());
    }
    if var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        return Ok("container credentials endpoint (ECS/Lambda)".into());
    }
    if var("AWS_EC2_METADATA_DISABLED").as_deref() == Some("true") {
        return Err(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or ~/.aws/credentials"
                .into(),
        );
    }
    Ok("EC2 instance metadata (the last place the AWS SDK looks)".into())
}

fn gcp(url: &str) -> String {
    if url.contains("endpoint=http%3A") || url.contains("endpoint=http:") {
        return "anonymous (an http:// emulator endpoint)".into();
    }
    if let Some(path) = var("GOOGLE_APPLICATION_CREDENTIALS") {
        return format!("key file named by GOOGLE_APPLICATION_CREDENTIALS ({path})");
    }
    if let Some(path) = home_file(".config/gcloud/application_default_credentials.json") {
        return format!("gcloud application default credentials {}", path.display());
    }
    "the metadata server (GCE, Cloud Run, Cloud Functions)".into()
}

fn azure() -> String {
    if var("AZURE_TENANT_ID").is_some()
        && var("AZURE_CLIENT_ID").is_some()
        && var("AZURE_CLIENT_SECRET").is_some()
    {
        "service principal from the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)".into()
    } else if var("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        "workload identity (AZURE_FEDERATED_TOKEN_FILE)".into()
    } else if var("IDENTITY_ENDPOINT").is_some() || var("MSI_ENDPOINT").is_some() {
        "managed identity".into()
    } else {
        "developer tools login (az / azd)".into()
    }
}
