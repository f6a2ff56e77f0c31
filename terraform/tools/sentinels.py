"""Secrets just outside a test prefix, to prove a suite run touched nothing it does not own.

  sentinels.py create ENDPOINT PREFIX   # before the run: a sibling namespace and an unrelated name
  sentinels.py check  ENDPOINT PREFIX   # after it: both still there, values unchanged; then removed
Run with the moto venv's Python (it has boto3); for LocalStack and moto on loopback only.
"""
import sys

import boto3

action, endpoint, prefix = sys.argv[1:4]
client = boto3.client(
    "secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="test", aws_secret_access_key="test",
)
# "apps/x/" -> "apps/x-sibling/…" (shares every character but the slash) and an unrelated name.
names = [prefix.rstrip("/") + "-sibling/index", "sentinel-outside/" + prefix.strip("/").replace("/", "-")]

if action == "create":
    for name in names:
        client.create_secret(Name=name, SecretString=f"sentinel {name}")
    print(f"sentinels created: {names}")
elif action == "check":
    bad = []
    for name in names:
        try:
            value = client.get_secret_value(SecretId=name)["SecretString"]
            if value != f"sentinel {name}":
                bad.append(f"{name} changed")
        except client.exceptions.ResourceNotFoundException:
            bad.append(f"{name} deleted")
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    print(f"sentinels: {'FAILED ' + str(bad) if bad else 'untouched'}")
    sys.exit(1 if bad else 0)
else:
    sys.exit(f"unknown action {action}")
