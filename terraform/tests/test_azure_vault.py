"""The Azure module's vault: RBAC only, purge protection on by default with the matching
backend deletion mode, and a role holding exactly the data actions of crates/token-store-azure."""
from conftest import labelled, local, sdk_calls, unq

KV = "Microsoft.KeyVault/vaults/secrets/"
# SDK call -> RBAC data action (the access-policy permission each REST operation requires:
# get, set, list, delete, purge, recover).
DATA_ACTION = {
    "get_secret": KV + "getSecret/action",
    "set_secret": KV + "setSecret/action",
    "list_secret_properties": KV + "readMetadata/action",
    "list_secret_properties_versions": KV + "readMetadata/action",
    "get_deleted_secret": KV + "readMetadata/action",
    "delete_secret": KV + "delete",
    "purge_deleted_secret": KV + "purge/action",
    "recover_deleted_secret": KV + "recover/action",
}
SOFT_ONLY = {"recover_deleted_secret"}
PURGE_ONLY = {"purge_deleted_secret"}


def data_actions(azure):
    """(always, when purge protection is on, when it is off) from the concat(…) local."""
    text = local(azure, "data_actions")
    always, soft, purge = text.split("]", 3)[:3]
    grab = lambda part: {a for a in part.replace("\n", " ").split('"') if a.startswith(KV)}
    return grab(always), grab(soft), grab(purge)


def test_every_backend_call_has_a_data_action():
    calls = sdk_calls("token-store-azure")
    assert calls and calls <= set(DATA_ACTION), f"unmapped: {sorted(calls - set(DATA_ACTION))}"


def test_role_holds_exactly_the_backend_data_actions_per_mode(azure):
    calls = sdk_calls("token-store-azure")
    always, soft, purge = data_actions(azure)
    assert always | soft == {DATA_ACTION[c] for c in calls - PURGE_ONLY}
    assert always | purge == {DATA_ACTION[c] for c in calls - SOFT_ONLY}
    assert KV + "purge/action" not in always | soft
    role = labelled(azure, "resource", "azurerm_role_definition", "store")
    assert role["permissions"][0]["data_actions"] == "${local.data_actions}"
    assert role["permissions"][0]["actions"] == []
    assert role["scope"] == "${azurerm_key_vault.store.id}"


def test_vault_uses_rbac_and_purge_protection_by_default(azure):
    vault = labelled(azure, "resource", "azurerm_key_vault", "store")
    assert vault["rbac_authorization_enabled"] is True
    assert "access_policy" not in vault
    assert vault["purge_protection_enabled"] == "${var.purge_protection_enabled}"
    assert labelled(azure, "variable", "purge_protection_enabled")["default"] is True
    assert vault["soft_delete_retention_days"] == "${var.soft_delete_retention_days}"
    assert unq(vault["network_acls"][0]["default_action"]) == "Deny"


def test_url_deletion_mode_follows_purge_protection(azure):
    mode = local(azure, "delete_mode")
    assert mode == '${var.purge_protection_enabled ? "soft" : "purge"}'
    url = unq(labelled(azure, "output", "url")["value"])
    assert url.startswith("azure-keyvault://") and url.endswith("/${var.prefix}?delete=${local.delete_mode}")


def test_role_assignment_is_at_vault_scope(azure):
    assignment = labelled(azure, "resource", "azurerm_role_assignment", "store")
    assert assignment["scope"] == "${azurerm_key_vault.store.id}"
    assert assignment["role_definition_id"] == "${azurerm_role_definition.store.role_definition_resource_id}"
