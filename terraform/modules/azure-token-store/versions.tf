# Terraform >= 1.5 and OpenTofu: no provider-defined functions, no ephemeral blocks.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.42.0, < 6.0.0"
    }
  }
}
