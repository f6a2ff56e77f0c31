# Real-GCP test environment (see terraform/README.md): apply, run scripts/test-cloud.sh on
# output.url as the service account, destroy. Credentials come from the usual Google
# environment (gcloud auth application-default login, or a workload identity).

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.20.0, < 7.0.0"
    }
  }
}

variable "project_id" {
  description = "GCP project to test in (Secret Manager API enabled)."
  type        = string
}

variable "prefix" {
  description = "Secret-id prefix of the test namespace, ending in '_' or '-', e.g. \"tstest_<you>_\". No default: a test must name its namespace."
  type        = string
}

provider "google" {
  project = var.project_id
}

module "store" {
  source = "../../modules/gcp-token-store"

  project_id = var.project_id
  name       = "test"
  prefix     = var.prefix
  labels     = { "token-store-env" = "gcp-test" }
}

output "url" {
  description = "TOKEN_STORE_URL for scripts/test-cloud.sh."
  value       = module.store.url
}

output "service_account_email" {
  description = "Impersonate it (GOOGLE_IMPERSONATE_SERVICE_ACCOUNT) to check least privilege."
  value       = module.store.service_account_email
}

output "prefix" {
  description = "The namespace under test."
  value       = module.store.prefix
}
