# The GCP side of one token store: a service account for the function, with exactly the
# Secret Manager permissions the GCP backend (crates/token-store-gcp) uses.
#
# IAM conditions name Secret Manager resources by project NUMBER, not project id:
# resource.name is "projects/<number>/secrets/<secret id>" for a secret and
# ".../versions/<n>" for its versions, so a startsWith on the secret prefix covers both.
# secrets.create and secrets.list are checked on the parent project, whose resource.name
# never starts with the secret prefix, so they sit in a second role without that condition.

data "google_project" "store" {
  project_id = var.project_id
}

locals {
  secret_name_prefix = "projects/${data.google_project.store.number}/secrets/${var.prefix}"
  role_suffix        = replace(var.name, "-", "_")
}

resource "google_service_account" "store" {
  project      = var.project_id
  account_id   = "token-store-${var.name}"
  display_name = "token-store ${var.name}"
  description  = "Uses the token store on secrets ${var.prefix}* of ${var.project_id}"
}

# Per-secret permissions: what the backend does to its own secrets and their versions.
resource "google_project_iam_custom_role" "secrets" {
  project     = var.project_id
  role_id     = "tokenStore_${local.role_suffix}_secrets"
  title       = "token-store ${var.name}: its secrets"
  description = "Access, add, list and destroy versions and delete secrets; granted with a condition on the secret prefix"
  permissions = [
    "secretmanager.secrets.delete",
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.destroy",
    "secretmanager.versions.list",
  ]
}

# Project-level permissions: creating a secret and listing names (never payloads).
resource "google_project_iam_custom_role" "project" {
  project     = var.project_id
  role_id     = "tokenStore_${local.role_suffix}_project"
  title       = "token-store ${var.name}: create and list"
  description = "Create secrets and list secret names; these are checked on the project, where no secret-name condition can apply"
  permissions = [
    "secretmanager.secrets.create",
    "secretmanager.secrets.list",
  ]
}

resource "google_project_iam_member" "secrets" {
  project = var.project_id
  role    = google_project_iam_custom_role.secrets.id
  member  = "serviceAccount:${google_service_account.store.email}"

  condition {
    title       = "token-store-${var.name}-prefix"
    description = "Only secrets whose id starts with ${var.prefix}"
    expression  = "resource.name.startsWith(\"${local.secret_name_prefix}\")"
  }
}

resource "google_project_iam_member" "project" {
  project = var.project_id
  role    = google_project_iam_custom_role.project.id
  member  = "serviceAccount:${google_service_account.store.email}"
}
