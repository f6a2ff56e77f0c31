//! The whole engine conformance suite on the Azure backend, against the Key Vault double
//! (or Lowkey Vault).

mod common;

token_store_core::__store_cases!(common::harness_for_engine();
    find_on_empty_store_is_none, first_save_gets_id_1, find_by_user_name, find_by_bare_access_token,
    access_token_with_client_id_is_not_bare, find_by_grant_token_with_credentials,
    find_by_refresh_token_with_credentials, refresh_without_credentials_matches_nothing,
    grant_is_tried_before_refresh, user_name_wins_over_tokens, empty_user_name_matches_nothing,
    merge_fills_only_empty_fields, find_by_id, invalid_ids_are_rejected, same_user_saved_twice_is_one_token,
    save_never_clears_a_field, refresh_token_rotation, save_with_explicit_id, save_without_credentials_is_rejected,
    delete_token_removes_only_it, delete_token_is_idempotent, delete_tokens_empties_the_store,
    delete_tokens_leaves_other_namespaces, ids_are_numeric_past_ten, get_tokens_lists_many,
    hostile_strings_round_trip, long_values_round_trip, over_long_values_are_rejected,
    concurrent_saves_of_distinct_users, concurrent_saves_of_one_user, debug_redacts_secrets,
    expiry_time_round_trips, header_like_values_are_data, close_and_reopen);

token_store_core::__engine_cases!(common::harness();
    engine_call_counts, engine_failed_save_converges_at_every_call, engine_index_has_no_plaintext,
    engine_stale_entry_never_answers, engine_lost_index_is_repaired, engine_index_grows_past_one_secret,
    engine_first_format_index_is_upgraded, engine_repair_folds_duplicate_users,
    engine_too_large_token_makes_no_call, engine_interleaved_index_writers_lose_nothing,
    engine_interleaved_same_user_saves_leave_one_token, engine_corrupt_token_secret_is_an_error);
