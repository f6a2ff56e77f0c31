variable "vault_name" {
  description = "Name of the Key Vault to create for the store (globally unique, 3..24 letters, digits, '-'). The vault is the store's own: Key Vault RBAC cannot scope a role to a name prefix, so the vault is the boundary."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$", var.vault_name))
    error_message = "vault_name: 3..24 letters, digits and '-', starting with a letter, not ending in '-'."
  }
}

variable "resource_group_name" {
  description = "Existing resource group for the vault."
  type        = string
}

variable "location" {
  description = "Azure region of the vault, e.g. westeurope."
  type        = string
}

variable "prefix" {
  description = "Secret-name prefix of the store inside the vault (the <prefix> of azure-keyvault://<vault-host>/<prefix>): lower-case letters, digits and '-', as the backend requires."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,95}$", var.prefix))
    error_message = "prefix: 1..95 characters of a-z, 0-9 and '-'."
  }
}

variable "principal_id" {
  description = "Object id of the identity the function runs as (its managed identity or service principal); it gets the store's role on the vault. null: no assignment (add one later)."
  type        = string
  default     = null
}

variable "purge_protection_enabled" {
  description = "Purge protection. true (the default, for production): a deleted secret cannot be purged before soft_delete_retention_days, and the store must run with ?delete=soft (it recovers a deleted name when it writes it again); the output URL says so. false: the store deletes and then purges at once (the backend's default), so names are reusable immediately and a test vault leaves nothing behind. Once on, Azure never lets it be turned off."
  type        = bool
  default     = true
}

variable "soft_delete_retention_days" {
  description = "Days a deleted secret (and a deleted vault) stays recoverable, 7..90. Soft delete itself is always on in Azure. 7 by default: a deleted token is kept a week, and with purge protection a deleted name is blocked for the shortest time Azure allows."
  type        = number
  default     = 7

  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days: 7..90."
  }
}

variable "allowed_ip_cidrs" {
  description = "Public IPv4 addresses or CIDR ranges allowed through the vault firewall (the test runner, the function's egress). Everything else is denied, trusted Azure services excepted."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the vault."
  type        = map(string)
  default     = {}
}
