# The AWS side of one token store: an IAM policy that allows exactly the Secrets Manager calls
# the AWS backend (crates/token-store-aws) makes, on the store's prefix only, and an optional
# customer-managed KMS key. The secrets themselves are created by the store at run time.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  # Secret ARNs end in "-" and 6 random characters, so the prefix pattern needs the "*".
  secret_arn_pattern = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.prefix}*"
  account_root       = "arn:${local.partition}:iam::${local.account_id}:root"
  key_admins         = length(var.kms_key_administrator_arns) > 0 ? var.kms_key_administrator_arns : [local.account_root]
  kms_key_arns       = var.create_kms_key ? [aws_kms_key.store[0].arn] : []
}

# The store's own calls. Keep in step with crates/token-store-aws/src/backend.rs: the static
# test (terraform/tests/test_aws_policy.py) derives the set from the Rust source and fails
# when the two differ.
data "aws_iam_policy_document" "store" {
  statement {
    sid    = "TokenStoreSecretsUnderPrefix"
    effect = "Allow"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:DeleteSecret",
      "secretsmanager:GetSecretValue",
      # Versions written per day, for `token-store doctor`'s quota check.
      "secretsmanager:ListSecretVersionIds",
      "secretsmanager:PutSecretValue",
      "secretsmanager:RestoreSecret",
      # CreateSecret sends the store's ownership tags, which AWS authorises as TagResource.
      "secretsmanager:TagResource",
    ]
    resources = [local.secret_arn_pattern]
  }

  # AWS offers no resource-level permission for these two: ListSecrets returns names and
  # metadata only, and BatchGetSecretValue returns a value only where GetSecretValue on that
  # secret is allowed too (the statement above: the prefix).
  statement {
    sid    = "TokenStoreBatchReadAndList"
    effect = "Allow"
    actions = [
      "secretsmanager:BatchGetSecretValue",
      "secretsmanager:ListSecrets",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.create_kms_key ? [1] : []
    content {
      sid       = "TokenStoreKeyThroughSecretsManager"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "store" {
  name        = "token-store-${var.name}"
  description = "token-store ${var.name}: the Secrets Manager calls of the store on ${var.prefix}* only"
  policy      = data.aws_iam_policy_document.store.json
  tags        = var.tags
}
