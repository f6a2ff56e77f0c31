//! `delete ID` and `delete --all`, with confirmation on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::json;

use super::Ctx;
use crate::error::{CliError, OK};

/// Delete one token (which must exist) or every token.
pub async fn run(ctx: &Ctx, id: Option<&str>, all: bool, yes: bool) -> Result<u8, CliError> {
    let store = ctx.open().await?;
    let tokens = store.tokens();
    let (question, count) = if all {
        let count = tokens.get_tokens().await?.len();
        (
            format!("Delete all {count} tokens of this {} store?", store.kind),
            count,
        )
    } else {
        let id = id.unwrap_or_default();
        let token = tokens
            .find_token_by_id(id)
            .await?
            .ok_or_else(|| CliError::not_found(format!("no token with id {id:?}")))?;
        let user = token.user_name.as_deref().unwrap_or("no user name");
        (format!("Delete token {id} ({user})?"), 1)
    };
    if !yes {
        confirm(&question)?;
    }
    match id.filter(|_| !all) {
        Some(id) => tokens.delete_token(id).await?,
        None => tokens.delete_tokens().await?,
    }
    ctx.out.result(
        || format!("deleted {count} token{}", if count == 1 { "" } else { "s" }),
        || json!({ "deleted": count }),
    );
    Ok(OK)
}

/// Ask on the terminal; without a terminal, refuse (scripts pass `--yes`).
fn confirm(question: &str) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::usage(
            "refusing to delete without confirmation",
            "pass --yes to delete from a script",
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).ok();
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage(
            "not confirmed; nothing was deleted",
            "answer y, or pass --yes",
        ))
    }
}
