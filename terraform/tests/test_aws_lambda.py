"""The Lambda module: the function reaches the store only through the store's policy, logs
only to its own group, and gets TOKEN_STORE_URL."""
import pytest

from conftest import MODULES, labelled, labelled_all, load_dir, unq


@pytest.fixture(scope="module")
def fn():
    return load_dir(MODULES / "aws-lambda-token-store")


def test_role_gets_the_store_policy_and_nothing_broad(fn):
    resources = labelled_all(fn, "resource")
    attachments = [labels[1] for labels, _ in resources if labels[0] == "aws_iam_role_policy_attachment"]
    store = labelled(fn, "resource", "aws_iam_role_policy_attachment", "store")
    assert store["policy_arn"] == "${var.store_policy_arn}"
    text = "".join(p.read_text() for p in (MODULES / "aws-lambda-token-store").glob("*.tf"))
    assert "arn:aws:iam::aws:policy" not in text, "no AWS-managed policy (e.g. AWSLambdaBasicExecutionRole)"
    assert attachments == ["store"]


def test_log_permissions_are_scoped_to_the_function_log_group(fn):
    logs = labelled(fn, "data", "aws_iam_policy_document", "logs")["statement"]
    assert len(logs) == 1
    assert unq(logs[0]["resources"]) == ["${aws_cloudwatch_log_group.function.arn}:*"]
    assert set(unq(logs[0]["actions"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_function_gets_the_store_url(fn):
    function = labelled(fn, "resource", "aws_lambda_function", "function")
    variables = function["environment"][0]["variables"]
    assert "TOKEN_STORE_URL" in variables and "var.store_url" in variables, variables
    assert function["tracing_config"][0]["mode"] == '"Active"'
    assert function["source_code_hash"] == "${filebase64sha256(var.zip_path)}"
