# Optional customer-managed key for the store's secrets (the backend passes it as KmsKeyId on
# CreateSecret). Rotation on; the key policy lets the administrators manage the key and lets
# principals of this account use it only through Secrets Manager in this region.

data "aws_iam_policy_document" "key" {
  # A key policy's resource "*" is the key it is attached to, nothing else, and a key policy
  # must name its administrators (or the key cannot be managed); usage below is conditioned.
  #checkov:skip=CKV_AWS_109:key policy: resource "*" means this key only; the administration statement is what keeps the key manageable
  #checkov:skip=CKV_AWS_111:key policy: resource "*" means this key only; usage is constrained by kms:ViaService and kms:CallerAccount
  #checkov:skip=CKV_AWS_356:key policy: "*" is the only resource a key policy can name (the key itself)
  count = var.create_kms_key ? 1 : 0

  # A key policy's resource "*" means this key. Without an administration statement the key
  # would become unmanageable.
  statement {
    sid    = "KeyAdministration"
    effect = "Allow"
    principals {
      type        = "AWS"
      identifiers = local.key_admins
    }
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]
  }

  # Use of the key is delegated to this account's IAM policies (the module's policy grants
  # it), and only for requests Secrets Manager makes on their behalf.
  statement {
    sid    = "UseThroughSecretsManagerOnly"
    effect = "Allow"
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "store" {
  count = var.create_kms_key ? 1 : 0

  description             = "token-store ${var.name}: encrypts the secrets under ${var.prefix}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "store" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/token-store-${var.name}"
  target_key_id = aws_kms_key.store[0].key_id
}
