variable "name" {
  description = "Short name of this store (letters, digits, '-'), used for the IAM policy and the KMS alias."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,48}$", var.name))
    error_message = "name: 1 to 48 letters, digits or '-'."
  }
}

variable "prefix" {
  description = "Secret-name prefix of the store's namespace, e.g. \"apps/crm/\". Every secret the store writes is named <prefix>…; the IAM policy allows exactly arn:…:secret:<prefix>*. Must end in '/' so that the wildcard cannot reach a sibling namespace (\"crm/\" never matches \"crm-old/…\")."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_+=.@-][A-Za-z0-9/_+=.@-]{0,400}/$", var.prefix))
    error_message = "prefix: secret-name characters (letters, digits, / _ + = . @ -), ending in '/', no wildcard."
  }
}

variable "create_kms_key" {
  description = "Create a customer-managed KMS key (rotation on, key policy below) and have the store encrypt its secrets with it. false: secrets use the AWS-managed aws/secretsmanager key."
  type        = bool
  default     = true
}

variable "kms_deletion_window_days" {
  description = "Waiting period (7..30 days) before a destroyed KMS key is deleted; its secrets cannot be read once it is."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days: 7..30."
  }
}

variable "kms_key_administrator_arns" {
  description = "IAM principals (ARNs) allowed to administer the KMS key (not to use it). Empty: the account root, i.e. IAM policies of the account decide."
  type        = list(string)
  default     = []
}

variable "recovery_window_days" {
  description = "Recovery window the store uses when it deletes a token secret (7..30), or 0 to delete at once (ForceDeleteWithoutRecovery, the backend's default). Goes into the output URL."
  type        = number
  default     = 0

  validation {
    condition     = var.recovery_window_days == 0 || (var.recovery_window_days >= 7 && var.recovery_window_days <= 30)
    error_message = "recovery_window_days: 0 or 7..30."
  }
}

variable "endpoint" {
  description = "Secrets Manager endpoint put into the output URL, for emulators (e.g. http://127.0.0.1:4566). null: the AWS endpoint of the provider's region."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource this module creates (the KMS key, the alias has none, the IAM policy)."
  type        = map(string)
  default     = {}
}
