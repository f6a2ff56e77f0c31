# The Azure side of one token store: a Key Vault with RBAC authorisation and a custom role
# that holds exactly the secret data actions the Azure backend (crates/token-store-azure)
# uses, assigned to the function's identity at the vault's scope.

data "azurerm_client_config" "current" {}

locals {
  # Deletion mode of the backend that fits the vault: purge needs a vault without purge
  # protection; recover-on-write (soft) works on any vault.
  delete_mode = var.purge_protection_enabled ? "soft" : "purge"
  # GetSecret, SetSecret, ReadMetadata (list secrets and versions), DeleteSecret, and the
  # action that clears a deleted name: Purge or Recover.
  data_actions = concat([
    "Microsoft.KeyVault/vaults/secrets/delete",
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    "Microsoft.KeyVault/vaults/secrets/setSecret/action",
    ], var.purge_protection_enabled ? [
    "Microsoft.KeyVault/vaults/secrets/recover/action",
    ] : [
    "Microsoft.KeyVault/vaults/secrets/purge/action",
  ])
}

resource "azurerm_key_vault" "store" {
  # Serverless functions outside a VNet reach the vault over its public endpoint; the
  # firewall (network_acls) denies everything but allowed_ip_cidrs and trusted services.
  #checkov:skip=CKV_AZURE_189:public endpoint needed by functions outside a VNet; network_acls default Deny with an allow list
  #checkov:skip=CKV2_AZURE_32:a private endpoint needs the caller's VNet and private DNS zone, which this module does not own
  name                = var.vault_name
  resource_group_name = var.resource_group_name
  location            = var.location
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"

  # Access is Azure RBAC only: no access policies, so the role below is the whole story.
  rbac_authorization_enabled = true
  purge_protection_enabled   = var.purge_protection_enabled
  soft_delete_retention_days = var.soft_delete_retention_days

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.allowed_ip_cidrs
  }

  tags = var.tags
}

resource "azurerm_role_definition" "store" {
  name        = "token-store ${var.vault_name}"
  scope       = azurerm_key_vault.store.id
  description = "token-store: the secret operations of the store on vault ${var.vault_name}"

  permissions {
    actions      = []
    data_actions = local.data_actions
  }

  assignable_scopes = [azurerm_key_vault.store.id]
}

resource "azurerm_role_assignment" "store" {
  count = var.principal_id == null ? 0 : 1

  scope              = azurerm_key_vault.store.id
  role_definition_id = azurerm_role_definition.store.role_definition_resource_id
  principal_id       = var.principal_id
}
