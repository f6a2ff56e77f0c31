"""After `terraform destroy` of envs/localstack or envs/moto: assert the emulator holds nothing
of the store any more. Run with the moto venv's Python (it has boto3).

  check-nothing-left.py ENDPOINT PREFIX POLICY_NAME KMS_KEY_ARN
Exits 1 listing what is left: secrets under PREFIX (live or scheduled for deletion), the IAM
policy, or a KMS key that is not pending deletion (AWS never deletes a key at once).
"""
import sys

import boto3

endpoint, prefix, policy_name, key_arn = sys.argv[1:5]
session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
client = lambda name: session.client(name, endpoint_url=endpoint)
left = []

sm = client("secretsmanager")
pages = sm.get_paginator("list_secrets").paginate(
    Filters=[{"Key": "name", "Values": [prefix]}], IncludePlannedDeletion=True
)
left += [f"secret {s['Name']}" for page in pages for s in page["SecretList"] if s["Name"].startswith(prefix)]

iam = client("iam")
policies = [p for page in iam.get_paginator("list_policies").paginate(Scope="Local") for p in page["Policies"]]
left += [f"IAM policy {p['Arn']}" for p in policies if p["PolicyName"] == policy_name]

if key_arn:
    state = client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"]
    if state != "PendingDeletion":
        left.append(f"KMS key {key_arn} in state {state}")

for item in left:
    print(f"left after destroy: {item}")
print(f"nothing-left check: {'FAILED' if left else 'ok'} ({len(left)} item(s) left)")
sys.exit(1 if left else 0)
