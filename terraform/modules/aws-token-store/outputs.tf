locals {
  url_query = join("&", compact([
    "region=${local.region}",
    var.endpoint == null ? "" : "endpoint=${urlencode(var.endpoint)}",
    var.create_kms_key ? "kms_key_id=${urlencode(aws_kms_key.store[0].arn)}" : "",
    var.recovery_window_days == 0 ? "" : "recovery_window_days=${var.recovery_window_days}",
  ]))
}

output "url" {
  description = "The store URL for TOKEN_STORE_URL: aws-secretsmanager://<prefix>?region=…[&endpoint=…][&kms_key_id=…][&recovery_window_days=…]. Holds no credential."
  value       = "aws-secretsmanager://${var.prefix}?${local.url_query}"
}

output "policy_arn" {
  description = "ARN of the IAM policy to attach to the role of the function that uses the store."
  value       = aws_iam_policy.store.arn
}

output "policy_json" {
  description = "The policy document itself (no secret in it), for review and for the static tests."
  value       = data.aws_iam_policy_document.store.json
}

output "secret_arn_pattern" {
  description = "arn:…:secret:<prefix>*, the only secrets the policy reaches."
  value       = local.secret_arn_pattern
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key, or null when create_kms_key is false."
  value       = var.create_kms_key ? aws_kms_key.store[0].arn : null
}

output "prefix" {
  description = "The store's secret-name prefix, for scripts that check what is left after a test."
  value       = var.prefix
}
