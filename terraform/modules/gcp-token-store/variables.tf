variable "project_id" {
  description = "GCP project id that holds the store's secrets (the <project> of the store URL)."
  type        = string
}

variable "name" {
  description = "Short name of this store: the service account is token-store-<name>, the custom roles tokenStore_<name>_*. Lower-case letters, digits and '-'."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,17}$", var.name))
    error_message = "name: 1 to 18 lower-case letters, digits or '-', starting with a letter (the service account id is token-store-<name>, at most 30 characters)."
  }
}

variable "prefix" {
  description = "Secret-id prefix of the store's namespace, e.g. \"crm_\". The IAM condition allows the per-secret permissions only on projects/<project number>/secrets/<prefix>…. End it with '_' or '-' so that it cannot be the start of another namespace's name by accident."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,222}$", var.prefix)) && can(regex("[_-]$", var.prefix))
    error_message = "prefix: 1..222 letters, digits, '_' or '-' (the backend's rule), ending in '_' or '-'."
  }
}

variable "labels" {
  description = "Labels for the secrets the store creates. GCP's service accounts, roles and IAM bindings take no labels; this map is returned in the labels output for the store's configuration (GcpSecretManagerStoreBuilder labels)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels: GCP label keys start with a lower-case letter; keys and values use lower-case letters, digits, '_' and '-', at most 63 characters."
  }
}

variable "endpoint" {
  description = "Secret Manager endpoint put into the output URL, for emulators (e.g. http://127.0.0.1:8086). null: Google's endpoint."
  type        = string
  default     = null
}
