"""The GCP module grants exactly the permissions of crates/token-store-gcp's calls, the
per-secret ones only under a condition on the prefix that names the project by number."""
from conftest import labelled, local, sdk_calls, unq

# Secret Manager RPC -> the IAM permission Google checks for it (API reference pages).
PERMISSION = {
    "access_secret_version": "secretmanager.versions.access",
    "add_secret_version": "secretmanager.versions.add",
    "create_secret": "secretmanager.secrets.create",
    "delete_secret": "secretmanager.secrets.delete",
    "destroy_secret_version": "secretmanager.versions.destroy",
    "list_secret_versions": "secretmanager.versions.list",
    "list_secrets": "secretmanager.secrets.list",
}
# Checked on the parent project, where resource.name is the project: no secret condition fits.
PROJECT_LEVEL = {"secretmanager.secrets.create", "secretmanager.secrets.list"}


def role_permissions(gcp, name):
    return set(unq(labelled(gcp, "resource", "google_project_iam_custom_role", name)["permissions"]))


def test_every_backend_call_has_a_known_permission():
    calls = sdk_calls("token-store-gcp")
    assert calls and calls <= set(PERMISSION), f"unmapped calls: {sorted(calls - set(PERMISSION))}"


def test_roles_hold_exactly_the_backend_permissions(gcp):
    needed = {PERMISSION[c] for c in sdk_calls("token-store-gcp")}
    secrets, project = role_permissions(gcp, "secrets"), role_permissions(gcp, "project")
    assert secrets | project == needed
    assert project == needed & PROJECT_LEVEL
    assert not secrets & PROJECT_LEVEL


def test_per_secret_role_is_conditioned_on_the_prefix_by_project_number(gcp):
    binding = labelled(gcp, "resource", "google_project_iam_member", "secrets")
    assert binding["role"] == "${google_project_iam_custom_role.secrets.id}"
    expression = unq(binding["condition"][0]["expression"])
    assert expression == 'resource.name.startsWith(\\"${local.secret_name_prefix}\\")'
    prefix = unq(local(gcp, "secret_name_prefix"))
    # Conditions see projects/<number>/…, never the project id.
    assert prefix == "projects/${data.google_project.store.number}/secrets/${var.prefix}"


def test_unconditional_binding_holds_only_project_level_permissions(gcp):
    binding = labelled(gcp, "resource", "google_project_iam_member", "project")
    assert "condition" not in binding
    assert binding["role"] == "${google_project_iam_custom_role.project.id}"
    assert role_permissions(gcp, "project") <= PROJECT_LEVEL


def test_url_output_uses_the_project_id(gcp):
    url = unq(labelled(gcp, "output", "url")["value"])
    assert url.startswith("gcp-secretmanager://${var.project_id}/${var.prefix}")
