//! `list`, `show` and `find`: read-only views, secrets redacted unless revealed.

use std::io::IsTerminal;

use serde_json::json;
use token_store::Token;

use super::Ctx;
use crate::cli::FindArgs;
use crate::error::{CliError, OK};
use crate::output::table;
use crate::view;

/// `list`: every token as a table row.
pub async fn list(ctx: &Ctx) -> Result<u8, CliError> {
    let store = ctx.open().await?;
    let tokens = store.tokens().get_tokens().await?;
    let now = view::now_ms();
    ctx.out.result(
        || {
            let rows: Vec<Vec<String>> = tokens.iter().map(|t| view::row(t, now)).collect();
            let noun = if tokens.len() == 1 { "token" } else { "tokens" };
            format!("{}{} {noun}", table(&view::HEADER, &rows), tokens.len())
        },
        || json!({ "tokens": tokens.iter().map(|t| view::json(t, false, now)).collect::<Vec<_>>() }),
    );
    Ok(OK)
}

/// `show ID`.
pub async fn show(ctx: &Ctx, id: &str, reveal: bool) -> Result<u8, CliError> {
    let store = ctx.open().await?;
    let token = store
        .tokens()
        .find_token_by_id(id)
        .await?
        .ok_or_else(|| CliError::not_found(format!("no token with id {id:?}")))?;
    print_token(ctx, &token, reveal);
    Ok(OK)
}

/// `find --user U | --access-token T | --refresh-token T --client-id C --client-secret S`.
pub async fn find(ctx: &Ctx, args: &FindArgs) -> Result<u8, CliError> {
    let store = ctx.open().await?;
    let query = Token {
        user_name: args.user.clone(),
        access_token: args.access_token.clone(),
        refresh_token: args.refresh_token.clone(),
        grant_token: args.grant_token.clone(),
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        ..Token::default()
    };
    let token = store
        .tokens()
        .find_token(&query)
        .await?
        .ok_or_else(|| CliError::not_found("no token matches that key"))?;
    print_token(ctx, &token, args.reveal);
    Ok(OK)
}

fn print_token(ctx: &Ctx, token: &Token, reveal: bool) {
    if reveal && std::io::stdout().is_terminal() {
        eprintln!("warning: secret values are printed on this terminal (--reveal)");
    }
    let now = view::now_ms();
    ctx.out.result(
        || view::detail(token, reveal, now),
        || view::json(token, reveal, now),
    );
}
