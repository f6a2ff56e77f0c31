variable "function_name" {
  description = "Name of the Lambda function (and of its role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.function_name))
    error_message = "function_name: 1..56 letters, digits, '-' or '_' (the role is <name>-role)."
  }
}

variable "zip_path" {
  description = "Path of the deployment package: the zip that examples/lambda-zoho builds (a Rust `bootstrap` for the provided.al2023 runtime)."
  type        = string
}

variable "store_url" {
  description = "TOKEN_STORE_URL of the function: the url output of modules/aws-token-store."
  type        = string
}

variable "store_policy_arn" {
  description = "The policy_arn output of modules/aws-token-store: the function's only access to Secrets Manager."
  type        = string
}

variable "env_kms_key_arn" {
  description = "Customer-managed KMS key for the function's environment variables; its key policy must let the function's role decrypt directly. Not the store's key: that one is usable only through Secrets Manager. null: the AWS-managed aws/lambda key."
  type        = string
  default     = null
}

variable "log_kms_key_arn" {
  description = "Customer-managed KMS key for the log group; its key policy must allow the CloudWatch Logs service principal. null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "handler" {
  description = "Handler name; a Rust custom-runtime function ignores it but Lambda requires one."
  type        = string
  default     = "bootstrap"
}

variable "runtime" {
  description = "Lambda runtime of the package."
  type        = string
  default     = "provided.al2023"
}

variable "architecture" {
  description = "Instruction set of the package: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture: arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds (a token refresh is a few Secrets Manager calls and one OAuth call)."
  type        = number
  default     = 30
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions; caps parallel writers of the store's index (each one retries on conflict). -1: unreserved."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365
}

variable "environment" {
  description = "Further environment variables (no secrets: they are visible to anyone who can read the function's configuration; keep credentials in the store)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for the function, its role and log group."
  type        = map(string)
  default     = {}
}
