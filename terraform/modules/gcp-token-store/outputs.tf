output "url" {
  description = "The store URL for TOKEN_STORE_URL: gcp-secretmanager://<project id>/<prefix>[?endpoint=…]. Holds no credential."
  value       = "gcp-secretmanager://${var.project_id}/${var.prefix}${var.endpoint == null ? "" : "?endpoint=${urlencode(var.endpoint)}"}"
}

output "service_account_email" {
  description = "The service account the function runs as (attach it to the Cloud Run service / function)."
  value       = google_service_account.store.email
}

output "condition_expression" {
  description = "The IAM condition that limits the per-secret role to the prefix."
  value       = google_project_iam_member.secrets.condition[0].expression
}

output "labels" {
  description = "Labels for the secrets the store creates (pass to the store's builder)."
  value       = var.labels
}

output "prefix" {
  description = "The store's secret-id prefix, for scripts that check what is left after a test."
  value       = var.prefix
}
