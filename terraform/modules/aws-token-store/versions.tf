# Terraform >= 1.5 and OpenTofu: no provider-defined functions, no ephemeral blocks.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }
}
