"""Every module and env: Terraform >= 1.5 / OpenTofu compatible, providers pinned, every
variable and output described, sensitive values marked, no provider-defined functions."""
import re

import pytest

from conftest import MODULES, TERRAFORM, labelled_all, load_dir, unq

DIRS = sorted(p.parent for p in TERRAFORM.glob("*/*/main.tf"))


def test_all_module_and_env_dirs_are_checked():
    names = {d.name for d in DIRS}
    assert {"aws-token-store", "gcp-token-store", "azure-token-store"} <= names
    assert {"localstack", "moto", "aws-test", "gcp-test", "azure-test"} <= names


@pytest.mark.parametrize("d", DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_terraform_block(d):
    blocks = load_dir(d).get("terraform", [])
    assert len(blocks) == 1, "one terraform block"
    assert unq(blocks[0]["required_version"]) == ">= 1.5.0"
    providers = blocks[0]["required_providers"][0]
    assert providers
    for name, spec in providers.items():
        if name.startswith("__"):
            continue
        assert unq(spec["source"]).startswith("hashicorp/"), name
        assert re.fullmatch(r">= \d+\.\d+\.\d+, < \d+\.0\.0", unq(spec["version"])), name


@pytest.mark.parametrize("d", DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_variables_and_outputs_are_described(d):
    parsed = load_dir(d)
    for kind in ("variable", "output"):
        for labels, body in labelled_all(parsed, kind):
            assert len(unq(body.get("description", ""))) > 10, f"{kind} {labels[0]} has no description"


@pytest.mark.parametrize("d", DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_no_newer_than_1_5_features(d):
    for tf in d.glob("*.tf"):
        text = tf.read_text()
        assert "provider::" not in text, f"{tf}: provider-defined function"
        assert not re.search(r"^\s*ephemeral\s", text, re.M), f"{tf}: ephemeral block"


@pytest.mark.parametrize("d", DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_outputs_hold_no_secret(d):
    for labels, body in labelled_all(load_dir(d), "output"):
        value = str(body.get("value", ""))
        if re.search(r"password|secret_string|access_key|client_secret|private_key", value):
            assert body.get("sensitive") is True, f"output {labels[0]} must be sensitive"
