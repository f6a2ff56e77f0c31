//! Reasoning over a secret's version list: write order and create-race outcomes.
//!
//! Key Vault has no conditional write and its version ids are random, so the only order
//! between versions is their `created` time, in whole seconds. Both functions here are pure
//! so they can be tested without a service.

/// One listed version of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionInfo {
    /// The 32-hex-character version id.
    pub(crate) id: String,
    /// Creation time, Unix seconds.
    pub(crate) created: i64,
    /// Whether the version can be read.
    pub(crate) enabled: bool,
}

/// Enabled versions written after `since` (all when `since` is `None` or not listed),
/// oldest first. Versions created in the same second as `since` are included unless
/// `known_before(version, since)` says they are older: the order within a second is
/// otherwise unknown, and the engine's merge is idempotent, so a superset is safe.
pub(crate) fn after<'a>(
    versions: &'a [VersionInfo],
    since: Option<&str>,
    known_before: impl Fn(&str, &str) -> bool,
) -> Vec<&'a VersionInfo> {
    let floor = since
        .and_then(|s| versions.iter().find(|v| v.id == s))
        .map(|v| v.created);
    let mut picked: Vec<&VersionInfo> = versions
        .iter()
        .filter(|v| v.enabled && Some(v.id.as_str()) != since)
        .filter(|v| match (floor, since) {
            (Some(t), Some(base)) => {
                v.created > t || (v.created == t && !known_before(&v.id, base))
            }
            _ => true,
        })
        .collect();
    picked.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    picked
}

/// What a create that wrote version `mine` learns from the version list.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CreateOutcome {
    /// Every other version was written strictly later: the name was ours first.
    Won,
    /// Another version was written before ours or in the same second. `restore` is the
    /// winner's version (alone in the earliest second), to make current again if ours still
    /// is; `None` when a tie in the earliest second means nobody won.
    Lost {
        /// Version id whose value to restore.
        restore: Option<String>,
    },
}

/// Decide a create race. `preexisting` versions (those brought back by recovering a
/// soft-deleted secret, created at or before `preexisting_until`) do not compete.
///
/// A tie in the same second counts as a loss for both sides, and nothing orders a tie. A
/// creator lists only once its write's second is over, so it sees every same-second rival:
/// at most one creator wins, the winner is alone in the earliest second (the version a loser
/// restores), and in a tie all lose (the engine then takes another id; the name keeps
/// whichever tied value is current).
pub(crate) fn create_outcome(
    mine: &str,
    versions: &[VersionInfo],
    preexisting_until: Option<i64>,
) -> CreateOutcome {
    let Some(my_created) = versions.iter().find(|v| v.id == mine).map(|v| v.created) else {
        return CreateOutcome::Lost { restore: None };
    };
    let rivals: Vec<&VersionInfo> = versions
        .iter()
        .filter(|v| v.id != mine)
        .filter(|v| preexisting_until.is_none_or(|t| v.created > t))
        .collect();
    if rivals.iter().all(|v| v.created > my_created) {
        return CreateOutcome::Won;
    }
    // The winner, if any, is alone in the earliest second; a tie there means nobody won and
    // the current value stays (a late restore would race the engine reading it).
    let first_second = rivals.iter().map(|v| v.created).min().unwrap_or(my_created);
    let first: Vec<&&VersionInfo> = rivals
        .iter()
        .filter(|v| v.created == first_second)
        .collect();
    let restore = match first.as_slice() {
        [winner] if my_created > first_second && winner.enabled => Some(winner.id.clone()),
        _ => None,
    };
    CreateOutcome::Lost { restore }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, created: i64) -> VersionInfo {
        VersionInfo {
            id: id.to_owned(),
            created,
            enabled: true,
        }
    }

    #[test]
    fn after_orders_by_time_and_keeps_ties() {
        let list = [v("c", 12), v("a", 10), v("b", 11), v("b2", 11), v("z", 9)];
        let none = |_: &str, _: &str| false;
        let ids: Vec<&str> = after(&list, Some("b"), none)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["b2", "c"]);
        let ids: Vec<&str> = after(&list, None, none)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["z", "a", "b", "b2", "c"]);
        // An unknown base reads everything.
        assert_eq!(after(&list, Some("gone"), none).len(), 5);
    }

    #[test]
    fn after_drops_same_second_versions_known_to_be_older() {
        let list = [v("a", 10), v("b", 11), v("b0", 11), v("b2", 11), v("c", 12)];
        let b0_first = |earlier: &str, later: &str| earlier == "b0" && later == "b";
        let ids: Vec<&str> = after(&list, Some("b"), b0_first)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["b2", "c"]);
    }

    #[test]
    fn after_skips_disabled_versions() {
        let mut list = vec![v("a", 10), v("b", 11), v("c", 12)];
        list[2].enabled = false;
        let ids: Vec<&str> = after(&list, Some("a"), |_, _| false)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(ids, ["b"]);
    }

    #[test]
    fn sole_or_first_creator_wins() {
        assert_eq!(create_outcome("m", &[v("m", 5)], None), CreateOutcome::Won);
        assert_eq!(
            create_outcome("m", &[v("m", 5), v("late", 6)], None),
            CreateOutcome::Won
        );
    }

    #[test]
    fn later_or_tied_creator_loses_and_restores_the_first_creator() {
        assert_eq!(
            create_outcome("m", &[v("first", 4), v("m", 5)], None),
            CreateOutcome::Lost {
                restore: Some("first".into())
            }
        );
        // The third creator also lost; the first one's value is put back, not the third's.
        assert_eq!(
            create_outcome("m", &[v("first", 4), v("m", 5), v("third", 6)], None),
            CreateOutcome::Lost {
                restore: Some("first".into())
            }
        );
        // A tie is a loss for both sides, and nobody won: nothing is restored.
        assert_eq!(
            create_outcome("a", &[v("a", 5), v("b", 5)], None),
            CreateOutcome::Lost { restore: None }
        );
        assert_eq!(
            create_outcome("c", &[v("a", 5), v("b", 5), v("c", 6)], None),
            CreateOutcome::Lost { restore: None }
        );
    }

    #[test]
    fn recovered_versions_do_not_compete() {
        assert_eq!(
            create_outcome("m", &[v("old", 1), v("older", 0), v("m", 5)], Some(3)),
            CreateOutcome::Won
        );
        assert_eq!(
            create_outcome("m", &[v("old", 1), v("rival", 4), v("m", 5)], Some(3)),
            CreateOutcome::Lost {
                restore: Some("rival".into())
            }
        );
    }

    #[test]
    fn unlisted_own_version_is_a_loss_without_restore() {
        assert_eq!(
            create_outcome("m", &[v("x", 1)], None),
            CreateOutcome::Lost { restore: None }
        );
    }
}
