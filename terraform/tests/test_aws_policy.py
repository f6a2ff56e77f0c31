"""The AWS module's IAM policy allows exactly what crates/token-store-aws calls, on the prefix."""
import re

from conftest import labelled, local, pascal, rust_sources, sdk_calls, unq

PREFIX_PATTERN = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.prefix}*"
# AWS offers no resource-level permission for these (Service Authorization Reference):
# they may only be granted on "*".
NOT_RESOURCE_SCOPED = {"secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"}


def backend_actions():
    """IAM actions the AWS backend needs, derived from its source so the two cannot drift."""
    actions = {f"secretsmanager:{pascal(op)}" for op in sdk_calls("token-store-aws")}
    source = rust_sources("token-store-aws")
    # CreateSecret with Tags is authorised as TagResource as well.
    if re.search(r"create_secret\(\)[\s\S]{0,600}?\.(set_)?tags\(", source):
        actions.add("secretsmanager:TagResource")
    return actions


def error_operations():
    """The operations the backend names in its errors: `map_sdk_error("X", ..)` and `let call = "X"`."""
    source = rust_sources("token-store-aws")
    names = re.findall(r'map_sdk_error\(\s*"(\w+)"', source) + re.findall(r'let call = "(\w+)";', source)
    return {f"secretsmanager:{name}" for name in names}


def statements(aws):
    doc = labelled(aws, "data", "aws_iam_policy_document", "store")
    return doc["statement"], [d["\"statement\""]["content"][0] for d in doc.get("dynamic", [])]


def secret_actions(stmts):
    return {a for s in stmts for a in unq(s["actions"]) if a.startswith("secretsmanager:")}


def check_policy(stmts, expected):
    """The problems of a parsed statement list against the expected action set."""
    problems = []
    got = secret_actions(stmts)
    if got != expected:
        problems.append(f"actions differ: extra {sorted(got - expected)}, missing {sorted(expected - got)}")
    for s in stmts:
        resources = unq(s["resources"])
        actions = set(unq(s["actions"]))
        if "*" in resources and not actions <= NOT_RESOURCE_SCOPED:
            problems.append(f"{unq(s['sid'])}: '*' resource for {sorted(actions - NOT_RESOURCE_SCOPED)}")
        if any("*" in a for a in actions):
            problems.append(f"{unq(s['sid'])}: wildcard action")
        if unq(s.get("effect", '"Allow"')) != "Allow":
            problems.append(f"{unq(s['sid'])}: not an Allow")
    return problems


def test_the_source_derivation_sees_every_call():
    # Two derivations from the Rust source agree: the SDK calls and the operations its errors name.
    calls = {f"secretsmanager:{pascal(op)}" for op in sdk_calls("token-store-aws")}
    assert calls == error_operations()
    assert "secretsmanager:GetSecretValue" in calls and len(calls) >= 5


def test_policy_actions_equal_the_backend_calls(aws):
    static, _ = statements(aws)
    assert check_policy(static, backend_actions()) == []


def test_secret_operations_are_scoped_to_the_prefix(aws):
    static, _ = statements(aws)
    assert unq(local(aws, "secret_arn_pattern")) == PREFIX_PATTERN
    for s in static:
        resources = unq(s["resources"])
        if resources != ["*"]:
            assert resources == ["${local.secret_arn_pattern}"], s


def test_the_checker_rejects_a_broader_policy(aws):
    static, _ = statements(aws)
    widened = [dict(s) for s in static]
    widened[0] = dict(widened[0], resources=['"*"'])
    assert any("'*' resource" in p for p in check_policy(widened, backend_actions()))
    extra = [dict(static[0], actions=static[0]["actions"] + ['"secretsmanager:DescribeSecret"'])] + static[1:]
    assert any("extra ['secretsmanager:DescribeSecret']" in p for p in check_policy(extra, backend_actions()))
    fewer = [dict(static[0], actions=static[0]["actions"][1:])] + static[1:]
    assert any("missing" in p for p in check_policy(fewer, backend_actions()))


def test_prefix_must_end_in_a_slash():
    # The regex of the prefix validation, read from variables.tf (RE2 and Python agree here).
    text = open(__file__.replace("tests/test_aws_policy.py", "modules/aws-token-store/variables.tf")).read()
    pattern = re.search(r'regex\("(\^[^"]+\$)", var\.prefix\)', text).group(1).replace("\\\\", "\\")
    good = ["apps/crm/", "token-store-test/ci/", "a/"]
    bad = ["", "crm", "apps/crm", "crm*/", "/abs/", "a b/"]
    assert [p for p in good if not re.match(pattern, p)] == []
    assert [p for p in bad if re.match(pattern, p)] == []


def test_kms_key_rotates_and_is_only_used_through_secrets_manager(aws):
    key = labelled(aws, "resource", "aws_kms_key", "store")
    assert key["enable_key_rotation"] is True
    assert key["policy"] == "${data.aws_iam_policy_document.key[0].json}"
    key_policy = labelled(aws, "data", "aws_iam_policy_document", "key")["statement"]
    use = [s for s in key_policy if "kms:Decrypt" in unq(s["actions"])]
    assert len(use) == 1
    conditions = {unq(c["variable"]): unq(c["values"]) for c in use[0]["condition"]}
    assert conditions["kms:ViaService"] == ["secretsmanager.${local.region}.amazonaws.com"]
    assert conditions["kms:CallerAccount"] == ["${local.account_id}"]
    admin = [s for s in key_policy if unq(s["sid"]) == "KeyAdministration"][0]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:*"} & set(unq(admin["actions"]))


def test_policy_grants_the_key_to_the_store_only_via_secrets_manager(aws):
    _, dynamic = statements(aws)
    assert len(dynamic) == 1
    kms = dynamic[0]
    assert set(unq(kms["actions"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert kms["resources"] == "${local.kms_key_arns}"
    assert unq(kms["condition"][0]["variable"]) == "kms:ViaService"
    # The backend passes the key on CreateSecret, so the key is really used.
    assert ".set_kms_key_id(" in rust_sources("token-store-aws")


def test_url_output_matches_the_backend_url_form(aws):
    url = labelled(aws, "output", "url")["value"]
    assert unq(url).startswith("aws-secretsmanager://${var.prefix}?")
    query = local(aws, "url_query")
    for key in ("region=", "endpoint=", "kms_key_id=", "recovery_window_days="):
        assert key in query
        assert f'"{key.rstrip("=")}"' in rust_sources("token-store-aws"), key
