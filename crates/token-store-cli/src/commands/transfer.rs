//! `export FILE`, `import FILE` and `migrate --to URL`: the one copy of [`super::copy`]
//! between the store and a Zoho CSV file (through the file crate's `FileStore`) or another store.

use std::path::Path;

use serde_json::json;
use token_store::TokenStore;
use token_store::file::FileStore;

use super::Ctx;
use super::copy::{self, Options, Report};
use crate::cli::MigrateArgs;
use crate::error::{CHECK_FAILED, CliError, OK};
use crate::store::{self, Calls, Store, total};

/// Tokens written concurrently by `export` and `import` when the target allows it.
const JOBS: usize = 4;

/// `export FILE`: the store's tokens into a Zoho CSV token file.
/// A token file this command created is removed again when the export fails before writing
/// a token (e.g. the store cannot be reached).
pub async fn export(ctx: &Ctx, file: &Path) -> Result<u8, CliError> {
    let source = ctx.open().await?;
    let created = !file.exists();
    let target = FileStore::open(file)?;
    let options = options(ctx, 1, false, true);
    match copy::copy(source.tokens(), &target, None, options).await {
        Ok(report) => finish(ctx, "export", &report, source.calls(), None),
        Err(e) => {
            if created && target.get_tokens().await.is_ok_and(|t| t.is_empty()) {
                let mut lock = file.as_os_str().to_owned();
                lock.push(".lock");
                std::fs::remove_file(file).ok();
                std::fs::remove_file(lock).ok();
            }
            Err(e.into())
        }
    }
}

/// `import FILE`: a Zoho CSV token file's tokens into the store. Tokens the store holds that
/// the file lacks are kept and do not fail the verification.
pub async fn import(ctx: &Ctx, file: &Path) -> Result<u8, CliError> {
    if !file.is_file() {
        return Err(CliError::not_found(format!(
            "no token file at {}",
            file.display()
        )));
    }
    let source = FileStore::open(file)?;
    let target = ctx.open().await?;
    let options = options(ctx, jobs_for(&target, JOBS), false, false);
    let report = copy::copy(&source, target.tokens(), index(&target), options).await?;
    finish(ctx, "import", &report, None, target.calls())
}

/// `migrate --to URL`: every token into another store, keeping ids.
pub async fn migrate(ctx: &Ctx, args: &MigrateArgs) -> Result<u8, CliError> {
    let source = ctx.open().await?;
    let target = store::open(&args.to).await?;
    let options = options(
        ctx,
        jobs_for(&target, usize::from(args.jobs)),
        args.dry_run,
        true,
    );
    let report = copy::copy(source.tokens(), target.tokens(), index(&target), options).await?;
    finish(ctx, "migrate", &report, source.calls(), target.calls())
}

fn options(ctx: &Ctx, jobs: usize, dry_run: bool, extras_differ: bool) -> Options {
    Options {
        jobs,
        dry_run,
        extras_differ,
        progress: ctx.out.progress(),
    }
}

/// The index engine of a cloud target.
fn index(target: &Store) -> Option<&token_store::raw::SecretIndexStore> {
    target.cloud().map(|cloud| &cloud.engine)
}

/// A file target's rows keep the order they are written in: write it one token at a time.
fn jobs_for(target: &Store, jobs: usize) -> usize {
    if target.kind == "file" { 1 } else { jobs }
}

fn finish(
    ctx: &Ctx,
    what: &str,
    report: &Report,
    source_calls: Option<Calls>,
    target_calls: Option<Calls>,
) -> Result<u8, CliError> {
    ctx.out.result(
        || text(what, report, source_calls.as_ref(), target_calls.as_ref()),
        || {
            json!({
                "command": what, "report": report, "tokens_per_second": report.rate(),
                "service_calls": { "source": source_calls, "target": target_calls },
            })
        },
    );
    if report.failed() {
        return Ok(CHECK_FAILED);
    }
    Ok(OK)
}

fn text(
    what: &str,
    r: &Report,
    source_calls: Option<&Calls>,
    target_calls: Option<&Calls>,
) -> String {
    let mut out = format!(
        "{what}: source {} tokens, target held {}: {} missing, {} different, {} already identical\n",
        r.source_tokens, r.target_tokens_before, r.missing, r.different, r.unchanged
    );
    let Some(verify) = &r.verify else {
        return out + "dry run: nothing written\n";
    };
    out += &format!(
        "wrote {} tokens in {:.1} s ({:.0} tokens/s)\n",
        r.written,
        r.write_seconds,
        r.rate()
    );
    if let Some((added, removed)) = r.repaired {
        out += &format!(
            "the first verification found tokens missing from the target's index (a lost index update): \
             repaired it ({added} entries added, {removed} removed) and verified again\n"
        );
    }
    for (side, calls) in [("source", source_calls), ("target", target_calls)] {
        if let Some(calls) = calls {
            let each: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
            out += &format!(
                "service calls, {side}: {} ({})\n",
                total(calls),
                each.join(", ")
            );
        }
    }
    if verify.failed {
        out += &format!(
            "✗ verification: target has {} tokens; {} missing {:?}, {} different {:?}, {} not in the source {:?}\n",
            verify.target_tokens,
            verify.missing.len(),
            first(&verify.missing),
            verify.different.len(),
            verify.different.iter().take(5).collect::<Vec<_>>(),
            verify.extra.len(),
            first(&verify.extra),
        );
    } else {
        out += &format!(
            "✓ verified: all {} source tokens are identical in the target ({} tokens there)\n",
            r.source_tokens, verify.target_tokens
        );
    }
    out
}

fn first(ids: &[String]) -> &[String] {
    &ids[..ids.len().min(5)]
}
