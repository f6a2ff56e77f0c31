//! `doctor`: checks in order, each printed ✓ or ✗ with what to do; a check that cannot run
//! because an earlier one failed is skipped.

use serde::Serialize;
use serde_json::json;
use token_store::raw::{INDEX_NAME, TOKEN_PREFIX};

use super::Ctx;
use super::stats::index_size;
use crate::credentials;
use crate::error::{CHECK_FAILED, CliError, OK};
use crate::store::{self, Cloud, Store};

/// Share of a per-secret daily version cap (AWS: 100) at which `doctor` reports the index
/// secret as at risk.
const AT_RISK_PERCENT: usize = 80;

/// One check's outcome.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    /// `true` ✓, `false` ✗, `None` skipped.
    ok: Option<bool>,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: Some(true),
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            ok: Some(false),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn error(name: &'static str, error: token_store::Error) -> Self {
        let error = CliError::from(error);
        Self::fail(name, error.message, error.hint)
    }

    fn line(&self) -> String {
        let mark = match self.ok {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "-",
        };
        let mut line = format!("{mark} {}: {}", self.name, self.detail);
        if let Some(fix) = &self.fix {
            line += &format!("\n    → {fix}");
        }
        line
    }
}

/// Run every check and print them; exit code 4 on any ✗.
pub async fn run(ctx: &Ctx) -> Result<u8, CliError> {
    let url = ctx.url()?;
    let checks = checks(url).await;
    let failed = checks.iter().any(|c| c.ok == Some(false));
    ctx.out.result(
        || {
            checks
                .iter()
                .map(Check::line)
                .collect::<Vec<_>>()
                .join("\n")
        },
        || json!({ "ok": !failed, "checks": checks }),
    );
    Ok(if failed { CHECK_FAILED } else { OK })
}

const NAMES: [&str; 6] = [
    "store URL",
    "credentials",
    "service answers",
    "permissions",
    "index",
    "quotas",
];

async fn checks(url: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    let url_check = match credentials::parse(url) {
        Ok(kind) => Check::pass(NAMES[0], format!("parses ({kind} store)")),
        Err(e) => Check::error(NAMES[0], e),
    };
    let parsed = url_check.ok == Some(true);
    checks.push(url_check);
    if parsed {
        checks.push(match credentials::source(url) {
            Ok(from) => Check::pass(NAMES[1], from),
            Err(missing) => Check::fail(NAMES[1], "none found", missing),
        });
        if let Some(store) = service(url, &mut checks).await {
            checks.push(permissions(&store).await);
            checks.push(index(&store).await);
            checks.push(quotas(&store).await);
        }
    }
    for name in &NAMES[checks.len()..] {
        checks.push(Check {
            name,
            ok: None,
            detail: "skipped (an earlier check failed)".into(),
            fix: None,
        });
    }
    checks
}

/// Open the store and make one read.
async fn service(url: &str, checks: &mut Vec<Check>) -> Option<Store> {
    let store = match store::open(url).await {
        Ok(store) => store,
        Err(e) => {
            checks.push(Check::error(NAMES[2], e));
            return None;
        }
    };
    let read = match store.cloud() {
        Some(cloud) => cloud
            .backend
            .get(INDEX_NAME)
            .await
            .map(|_| "the index secret was read".to_string()),
        None => store
            .tokens()
            .get_tokens()
            .await
            .map(|t| format!("{} tokens read", t.len())),
    };
    match read {
        Ok(detail) => {
            checks.push(Check::pass(NAMES[2], detail));
            Some(store)
        }
        Err(e) => {
            checks.push(Check::error(NAMES[2], e));
            None
        }
    }
}

/// List, read, write and delete a probe secret under the prefix (cloud stores).
async fn permissions(store: &Store) -> Check {
    let Some(cloud) = store.cloud() else {
        return Check::pass(
            NAMES[3],
            "read works; write not probed on a file or SQL store (a probe token would use up an id)",
        );
    };
    match probe(cloud).await {
        Ok(()) => Check::pass(
            NAMES[3],
            "list, read, write and delete of a probe secret under the prefix",
        ),
        Err((step, e)) => {
            let error = CliError::from(e);
            Check::fail(
                NAMES[3],
                format!("{step} failed: {}", error.message),
                error.hint,
            )
        }
    }
}

async fn probe(cloud: &Cloud) -> Result<(), (&'static str, token_store::Error)> {
    let name = format!("doctor-probe-{}", std::process::id());
    let backend = &cloud.backend;
    backend.list(TOKEN_PREFIX).await.map_err(|e| ("list", e))?;
    backend
        .put(&name, "token-store doctor probe")
        .await
        .map_err(|e| ("write", e))?;
    let read = backend.get(&name).await.map_err(|e| ("read", e));
    let deleted = backend.delete(&name).await.map_err(|e| ("delete", e));
    match read?.map(|v| v.value) {
        Some(value) if value == "token-store doctor probe" => deleted,
        _ => Err((
            "read",
            token_store::Error::corrupt("the probe secret read back differently"),
        )),
    }
}

/// The index agrees with the token secrets (cloud stores).
async fn index(store: &Store) -> Check {
    let Some(cloud) = store.cloud() else {
        return Check::pass(
            NAMES[4],
            format!("a {} store has no separate index", store.kind),
        );
    };
    match index_size(cloud).await {
        Ok(i) if i.entries == i.token_secrets => Check::pass(
            NAMES[4],
            format!(
                "{} index secrets list all {} token secrets",
                i.secrets, i.token_secrets
            ),
        ),
        Ok(i) => Check::fail(
            NAMES[4],
            format!(
                "the index lists {} tokens but {} token secrets exist",
                i.entries, i.token_secrets
            ),
            "run `token-store repair` to rebuild the index from the token secrets",
        ),
        Err(e) => Check::error(NAMES[4], e),
    }
}

/// Quotas at risk: where the service caps versions per secret and day (AWS), versions written
/// to one index secret in the last 24 hours.
async fn quotas(store: &Store) -> Check {
    let Some(cloud) = store.cloud() else {
        return Check::pass(NAMES[5], "no service quota applies");
    };
    let Some(per_day) = cloud.backend.limits().versions_per_day else {
        return Check::pass(
            NAMES[5],
            format!(
                "no per-secret version quota on {} (project/vault limits: README, Known limits)",
                store.kind
            ),
        );
    };
    let at_risk = per_day as usize * AT_RISK_PERCENT / 100;
    match crate::quota::busiest_index_secret(cloud).await {
        Ok((busiest, n)) if n < at_risk => Check::pass(
            NAMES[5],
            format!(
                "busiest index secret {busiest}: {n} versions in 24 h ({} allows {per_day})",
                store.kind
            ),
        ),
        Ok((busiest, n)) => Check::fail(
            NAMES[5],
            format!(
                "index secret {busiest} got {n} versions in 24 h ({} allows {per_day})",
                store.kind
            ),
            "fewer writers or refreshes, or run `token-store repair` to let busy shards split",
        ),
        Err(e) => Check::error(NAMES[5], e),
    }
}
