output "url" {
  description = "The store URL for TOKEN_STORE_URL: azure-keyvault://<vault-host>/<prefix>?delete=purge|soft, the deletion mode matching the vault's purge protection. Holds no credential."
  value       = "azure-keyvault://${trimsuffix(replace(azurerm_key_vault.store.vault_uri, "https://", ""), "/")}/${var.prefix}?delete=${local.delete_mode}"
}

output "vault_id" {
  description = "Resource id of the vault."
  value       = azurerm_key_vault.store.id
}

output "vault_uri" {
  description = "https://<vault-host>/ of the vault."
  value       = azurerm_key_vault.store.vault_uri
}

output "role_definition_id" {
  description = "Resource id of the store's custom role (assign it to further identities at the vault's scope)."
  value       = azurerm_role_definition.store.role_definition_resource_id
}

output "delete_mode" {
  description = "The backend deletion mode the URL carries: soft (purge-protected vault) or purge."
  value       = local.delete_mode
}

output "prefix" {
  description = "The store's secret-name prefix, for scripts that check what is left after a test."
  value       = var.prefix
}
