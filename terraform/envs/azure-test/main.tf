# Real-Azure test environment (see terraform/README.md): apply, run scripts/test-cloud.sh on
# output.url, destroy. Credentials come from the usual Azure environment (az login, or a
# federated identity). The vault has purge protection OFF so that a test run purges what it
# deleted and destroy leaves nothing behind: this also exercises the backend's default
# delete-then-purge path. Production vaults keep the module default (purge protection on).

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.42.0, < 6.0.0"
    }
  }
}

variable "vault_name" {
  description = "Globally unique name for the test vault (3..24 characters)."
  type        = string
}

variable "resource_group_name" {
  description = "Existing resource group to create the test vault in."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
  default     = "westeurope"
}

variable "prefix" {
  description = "Secret-name prefix of the test namespace (a-z, 0-9, '-'). No default: a test must name its namespace."
  type        = string
}

variable "runner_ip_cidrs" {
  description = "Public address(es) of the machine that runs the tests, let through the vault firewall."
  type        = list(string)
}

provider "azurerm" {
  features {
    key_vault {
      # destroy purges the test vault (allowed: purge protection is off here).
      purge_soft_delete_on_destroy = true
    }
  }
}

data "azurerm_client_config" "current" {}

module "store" {
  #checkov:skip=CKV_AZURE_110:a test vault must be purgeable so that destroy leaves nothing (production keeps the module default: on)
  #checkov:skip=CKV_AZURE_42:same: the test vault is deliberately not purge-protected; soft delete itself stays on (7 days)
  source = "../../modules/azure-token-store"

  vault_name               = var.vault_name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  prefix                   = var.prefix
  principal_id             = data.azurerm_client_config.current.object_id
  purge_protection_enabled = false # a test vault must be purgeable, see above
  allowed_ip_cidrs         = var.runner_ip_cidrs
  tags                     = { "token-store-env" = "azure-test" }
}

output "url" {
  description = "TOKEN_STORE_URL for scripts/test-cloud.sh (delete=purge)."
  value       = module.store.url
}

output "prefix" {
  description = "The namespace under test."
  value       = module.store.prefix
}
