# The serverless example (examples/lambda-zoho) deployed with the token store's policy:
# a role that can only use the store (and write its own logs), TOKEN_STORE_URL set.

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.function_name}-role"
  description        = "Role of ${var.function_name}: the token store's policy and its own log group"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "store" {
  role       = aws_iam_role.function.name
  policy_arn = var.store_policy_arn
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# Logs of this function only, instead of the account-wide AWSLambdaBasicExecutionRole.
data "aws_iam_policy_document" "logs" {
  statement {
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "own-log-group"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_117:the function calls Secrets Manager and the OAuth server over their public endpoints; a VPC adds NAT cost and nothing here needs it
  #checkov:skip=CKV_AWS_116:invoked synchronously (API or schedule); a failed refresh is retried by the caller, there is no event to park in a DLQ
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile outside this module; the package is built by the project's own script
  function_name    = var.function_name
  description      = "token-store example: Zoho OAuth tokens kept in Secrets Manager"
  role             = aws_iam_role.function.arn
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.env_kms_key_arn

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = merge(var.environment, { TOKEN_STORE_URL = var.store_url })
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy_attachment.store, aws_iam_role_policy.logs, aws_cloudwatch_log_group.function]
  tags       = var.tags
}
