"""Helpers for the static tests: parse the modules' HCL (python-hcl2) and the Rust backends.

python-hcl2 8 keeps string literals quoted ('"x"') and expressions as '${…}'; `unq` and
`block` undo that so the tests read like the HCL.
"""
import pathlib
import re

import hcl2
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"


def unq(value):
    """A literal string without its quotes; lists element-wise; anything else unchanged."""
    if isinstance(value, list):
        return [unq(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_dir(path):
    """All .tf files of a directory merged: {block type: [bodies]}."""
    merged = {}
    for tf in sorted(pathlib.Path(path).glob("*.tf")):
        with open(tf) as f:
            for kind, bodies in hcl2.load(f).items():
                merged.setdefault(kind, []).extend(bodies)
    return merged


def labelled(parsed, kind, *labels):
    """The body of `kind "l1" "l2" {…}` (resource, data, variable, output), or KeyError."""
    for body in parsed.get(kind, []):
        node = body
        for label in labels:
            node = {unq(k): v for k, v in node.items()}.get(label)
            if node is None:
                break
        if node is not None:
            return node
    raise KeyError(f"{kind} {' '.join(labels)}")


def labelled_all(parsed, kind):
    """[(labels…, body)] of every block of `kind` with two labels (resource/data) or one."""
    found = []
    for body in parsed.get(kind, []):
        for k1, v1 in body.items():
            if isinstance(v1, dict) and not v1.get("__is_block__", False):
                for k2, v2 in v1.items():
                    found.append(((unq(k1), unq(k2)), v2))
            else:
                found.append(((unq(k1),), v1))
    return found


def local(parsed, name):
    for body in parsed.get("locals", []):
        if name in body:
            return body[name]
    raise KeyError(f"local.{name}")


def rust_sources(crate):
    return "\n".join(p.read_text() for p in sorted((ROOT / "crates" / crate / "src").rglob("*.rs")))


def sdk_calls(crate):
    """Operations the crate calls on its SDK client: `client.op(` or `.client\\n.op(`."""
    ops = set(re.findall(r"\bclient\s*\.\s*([a-z][a-z0-9_]*)\s*\(", rust_sources(crate)))
    return ops - {"as_ref", "clone", "config", "endpoint"}


def pascal(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


@pytest.fixture(scope="session")
def aws():
    return load_dir(MODULES / "aws-token-store")


@pytest.fixture(scope="session")
def gcp():
    return load_dir(MODULES / "gcp-token-store")


@pytest.fixture(scope="session")
def azure():
    return load_dir(MODULES / "azure-token-store")
