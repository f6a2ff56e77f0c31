output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.function.arn
}

output "function_name" {
  description = "Name of the function (aws lambda invoke --function-name …)."
  value       = aws_lambda_function.function.function_name
}

output "role_arn" {
  description = "ARN of the function's role (the store's policy and its own log group only)."
  value       = aws_iam_role.function.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.function.name
}
