//! `MemoryStore`: a process-local `TokenStore`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::lookup::{find_match, merge_for_save, next_id, parse_id, validate_for_save};
use crate::{Result, Token, TokenStore};

/// Tokens in a map behind one lock: for tests, caches and single-process tools.
/// Nothing survives the process.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Tokens keyed by numeric id.
    tokens: BTreeMap<u64, Token>,
    /// Highest id ever assigned, so deleted ids are not handed out again.
    highest_id: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn find_token(&self, query: &Token) -> Result<Option<Token>> {
        let query = query.clone().normalized();
        let state = self.state.lock().await;
        Ok(find_match(&query, state.tokens.values()).map(|stored| {
            let mut found = query.clone();
            found.merge_from(stored);
            found
        }))
    }

    async fn save_token(&self, token: &Token) -> Result<Token> {
        let token = token.clone().normalized();
        validate_for_save(&token)?;
        let mut state = self.state.lock().await;
        let existing = match &token.id {
            Some(id) => state.tokens.get(&parse_id(id)?).cloned(),
            None => find_match(&token, state.tokens.values()).cloned(),
        };
        let mut row = merge_for_save(&token, existing.as_ref())?;
        if row.id.is_none() {
            let highest = state.highest_id.to_string();
            row.id = Some(next_id(
                state
                    .tokens
                    .values()
                    .filter_map(|t| t.id.as_deref())
                    .chain([highest.as_str()]),
            )?);
        }
        let id = parse_id(row.id.as_deref().expect("id assigned"))?;
        state.highest_id = state.highest_id.max(id);
        state.tokens.insert(id, row.clone());
        Ok(row)
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        let id = parse_id(id)?;
        self.state.lock().await.tokens.remove(&id);
        Ok(())
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        Ok(self.state.lock().await.tokens.values().cloned().collect())
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.state.lock().await.tokens.clear();
        Ok(())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<Token>> {
        let id = parse_id(id)?;
        Ok(self.state.lock().await.tokens.get(&id).cloned())
    }
}
