# Real-AWS test environment: what a team with an account runs (see terraform/README.md).
# apply -> scripts/test-cloud.sh on output.url -> destroy. Credentials come from the usual
# AWS environment (profile, SSO, role); nothing here holds one.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }
}

variable "region" {
  description = "AWS region to test in."
  type        = string
}

variable "prefix" {
  description = "Secret-name prefix of the test namespace, ending in '/', e.g. \"token-store-test/<you>/\". No default: a test must name its namespace."
  type        = string
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { "token-store:env" = "aws-test" }
  }
}

module "store" {
  source = "../../modules/aws-token-store"

  name                     = "aws-test"
  prefix                   = var.prefix
  kms_deletion_window_days = 7
}

output "url" {
  description = "TOKEN_STORE_URL for scripts/test-cloud.sh."
  value       = module.store.url
}

output "policy_arn" {
  description = "Attach to the role the tests run as to check least privilege."
  value       = module.store.policy_arn
}

output "prefix" {
  description = "The namespace under test."
  value       = module.store.prefix
}
