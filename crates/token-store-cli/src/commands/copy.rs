//! Copying tokens between two stores keeping ids: plan (what is missing or different),
//! copy (concurrent, with a progress bar), verify (count and field-by-field compare).
//! `export`, `import` and `migrate` are this one copy; a second run copies only what the
//! first did not finish.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use serde::Serialize;
use token_store::raw::SecretIndexStore;
use token_store::{Result, Token, TokenStore};

/// How to copy.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Tokens written concurrently.
    pub jobs: usize,
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// Whether tokens in the target that the source lacks count as a difference.
    pub extras_differ: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// One token to write.
#[derive(Debug)]
struct Write {
    token: Token,
    /// The target holds a field the source lacks: a save never clears a field, so the target
    /// token is deleted first.
    reset: bool,
    /// The id is new to the target.
    new: bool,
}

/// What a copy found and did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Tokens in the source.
    pub source_tokens: usize,
    /// Tokens in the target before the copy.
    pub target_tokens_before: usize,
    /// Tokens the target lacked.
    pub missing: usize,
    /// Tokens the target held with other values.
    pub different: usize,
    /// Tokens already identical in the target.
    pub unchanged: usize,
    /// Tokens written (0 on a dry run).
    pub written: usize,
    /// Seconds spent writing.
    pub write_seconds: f64,
    /// The verification pass (absent on a dry run).
    pub verify: Option<Verify>,
    /// Index entries a repair of a cloud target added and removed when the first
    /// verification found tokens missing or different (a lost index update), before it verified again.
    pub repaired: Option<(usize, usize)>,
}

/// The verification pass: the target read again and compared with the source.
#[derive(Debug, Default, Serialize)]
pub struct Verify {
    /// Tokens in the target after the copy.
    pub target_tokens: usize,
    /// Source ids the target lacks.
    pub missing: Vec<String>,
    /// Source ids whose target token differs, with the differing field names (never values).
    pub different: BTreeMap<String, Vec<&'static str>>,
    /// Target ids the source lacks.
    pub extra: Vec<String>,
    /// Whether this counts as a difference (exit code 4).
    pub failed: bool,
}

impl Report {
    /// Tokens written per second.
    pub fn rate(&self) -> f64 {
        if self.write_seconds > 0.0 {
            self.written as f64 / self.write_seconds
        } else {
            0.0
        }
    }

    /// Whether the verification found a difference.
    pub fn failed(&self) -> bool {
        self.verify.as_ref().is_some_and(|v| v.failed)
    }
}

/// Copy every token of `source` to `target`. `index` is the target's index engine when it is
/// a cloud store: when the verification finds a token missing or different, the index is
/// repaired from the token secrets and the target verified again.
pub async fn copy(
    source: &dyn TokenStore,
    target: &dyn TokenStore,
    index: Option<&SecretIndexStore>,
    options: Options,
) -> Result<Report> {
    let wanted: Vec<Token> = source
        .get_tokens()
        .await?
        .into_iter()
        .map(Token::normalized)
        .collect();
    let before = by_id(target.get_tokens().await?);
    let mut report = Report {
        source_tokens: wanted.len(),
        target_tokens_before: before.len(),
        ..Report::default()
    };
    let mut writes = Vec::new();
    for token in &wanted {
        match before.get(id_of(token)) {
            None => writes.push(Write {
                token: token.clone(),
                reset: false,
                new: true,
            }),
            Some(stored) if stored == token => report.unchanged += 1,
            Some(stored) => writes.push(Write {
                token: token.clone(),
                reset: clears_a_field(stored, token),
                new: false,
            }),
        }
    }
    report.missing = writes.iter().filter(|w| w.new).count();
    report.different = writes.len() - report.missing;
    if options.dry_run {
        return Ok(report);
    }
    let bar = progress_bar(writes.len(), options.progress);
    let started = Instant::now();
    futures::stream::iter(writes.into_iter().map(Ok))
        .try_for_each_concurrent(options.jobs.max(1), |write| {
            let bar = &bar;
            async move {
                let id = id_of(&write.token).to_string();
                if write.reset {
                    target.delete_token(&id).await?;
                }
                target.save_token(&write.token).await?;
                tracing::info!(id, new = write.new, "copied token");
                bar.inc(1);
                Ok(())
            }
        })
        .await
        .inspect_err(|_| bar.abandon())?;
    bar.finish();
    report.write_seconds = started.elapsed().as_secs_f64();
    report.written = bar.position() as usize;
    let mut verified = verify(&wanted, target, options.extras_differ).await?;
    if let Some(index) =
        index.filter(|_| !verified.missing.is_empty() || !verified.different.is_empty())
    {
        tracing::warn!(
            missing = verified.missing.len(),
            different = verified.different.len(),
            "the target's index lost updates; repairing it"
        );
        let repair = index.repair().await?;
        report.repaired = Some((repair.entries_added, repair.entries_fixed));
        verified = verify(&wanted, target, options.extras_differ).await?;
    }
    report.verify = Some(verified);
    Ok(report)
}

/// Read the target again and compare it with the source, token by token and field by field.
async fn verify(wanted: &[Token], target: &dyn TokenStore, extras_differ: bool) -> Result<Verify> {
    let after = by_id(target.get_tokens().await?);
    let mut verify = Verify {
        target_tokens: after.len(),
        ..Verify::default()
    };
    for token in wanted {
        let id = id_of(token);
        match after.get(id) {
            None => verify.missing.push(id.to_string()),
            Some(stored) if stored != token => {
                verify
                    .different
                    .insert(id.to_string(), differing_fields(stored, token));
            }
            Some(_) => {}
        }
    }
    let source_ids: std::collections::BTreeSet<&str> = wanted.iter().map(id_of).collect();
    verify.extra = after
        .keys()
        .filter(|id| !source_ids.contains(id.as_str()))
        .cloned()
        .collect();
    verify.failed = !verify.missing.is_empty()
        || !verify.different.is_empty()
        || (extras_differ && !verify.extra.is_empty());
    Ok(verify)
}

fn by_id(tokens: Vec<Token>) -> BTreeMap<String, Token> {
    tokens
        .into_iter()
        .map(Token::normalized)
        .map(|t| (id_of(&t).to_string(), t))
        .collect()
}

fn id_of(token: &Token) -> &str {
    token.id.as_deref().unwrap_or_default()
}

/// The fields of a token as (name, value) pairs, for comparisons that name fields only.
fn fields(t: &Token) -> [(&'static str, Option<String>); 10] {
    [
        ("id", t.id.clone()),
        ("user_name", t.user_name.clone()),
        ("client_id", t.client_id.clone()),
        ("client_secret", t.client_secret.clone()),
        ("refresh_token", t.refresh_token.clone()),
        ("access_token", t.access_token.clone()),
        ("grant_token", t.grant_token.clone()),
        ("expiry_time", t.expiry_time.map(|e| e.to_string())),
        ("redirect_url", t.redirect_url.clone()),
        ("api_domain", t.api_domain.clone()),
    ]
}

fn differing_fields(a: &Token, b: &Token) -> Vec<&'static str> {
    fields(a)
        .into_iter()
        .zip(fields(b))
        .filter(|((_, x), (_, y))| x != y)
        .map(|((name, _), _)| name)
        .collect()
}

/// Whether saving `wanted` over `stored` would leave a field `wanted` lacks.
fn clears_a_field(stored: &Token, wanted: &Token) -> bool {
    fields(stored)
        .into_iter()
        .zip(fields(wanted))
        .any(|((_, s), (_, w))| s.is_some() && w.is_none())
}

fn progress_bar(len: usize, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} tokens  {rate}  ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            write!(w, "{:.0} tokens/s", state.per_sec()).ok();
        },
    )
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_compared_by_name_and_a_missing_field_needs_a_reset() {
        let stored = Token::builder()
            .user_name("u")
            .access_token("a1")
            .grant_token("g")
            .build();
        let wanted = Token::builder().user_name("u").access_token("a2").build();
        assert_eq!(
            differing_fields(&stored, &wanted),
            ["access_token", "grant_token"]
        );
        assert!(clears_a_field(&stored, &wanted));
        assert!(!clears_a_field(&wanted, &stored));
    }
}
