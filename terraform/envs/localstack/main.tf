# The AWS module applied to LocalStack (localstack/start-localstack.sh, SERVICES must include secretsmanager,kms,iam,sts) on 127.0.0.1, with test credentials. Used by
# scripts/test-terraform-apply.sh: apply, run the conformance suite on output.url, destroy.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }
}

variable "endpoint" {
  description = "The emulator's endpoint on loopback."
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "prefix" {
  description = "Secret-name prefix for this run (ends in '/'); the apply script makes a fresh one."
  type        = string
  default     = "tf-localstack/"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = false
  skip_region_validation      = true

  endpoints {
    iam            = var.endpoint
    kms            = var.endpoint
    secretsmanager = var.endpoint
    sts            = var.endpoint
  }
}

module "store" {
  source = "../../modules/aws-token-store"

  name     = "localstack"
  prefix   = var.prefix
  endpoint = var.endpoint
  tags     = { "token-store:env" = "localstack" }
}

output "url" {
  description = "TOKEN_STORE_URL of the applied store."
  value       = module.store.url
}

output "prefix" {
  description = "The store's prefix, to check that nothing is left after destroy."
  value       = module.store.prefix
}

output "policy_arn" {
  description = "ARN of the store's IAM policy in the emulator."
  value       = module.store.policy_arn
}

output "kms_key_arn" {
  description = "ARN of the store's KMS key in the emulator."
  value       = module.store.kms_key_arn
}
