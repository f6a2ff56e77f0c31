"""Replay the recorded real Key Vault traffic against the double; require the same answers.

Usage: check_double.py RECORDINGS_DIR VAULT_URL CA_PEM

For every recording (``recordings_to_json.py`` output) the double is reset, then each
recorded request is sent in order (the vault host replaced, recorded version ids and
``$skiptoken`` links replaced by the ones the double handed out). The double must answer
with the recorded status code and the same JSON shape: the same keys at every level, the
same value types (``null`` included), and the same ``error.code`` / ``innererror.code``.

Polling is timing, not behaviour: a run of identical GETs (the Python SDK polling a delete
or a recover) is replayed by polling the double until it gives the run's last status, and
every status seen on the way must be one the run recorded. Recordings of backup/restore
(opaque, service-encrypted blobs the double does not implement) are skipped and counted.
"""

import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

UNSUPPORTED = re.compile(r"/backup\?|/secrets/restore\?")
VERSION_ID = re.compile(r"/secrets/[^/]+/([0-9a-f]{32})$")


def shape(value):
    """The structure of a JSON value: keys and types, with error codes kept verbatim."""
    if isinstance(value, dict):
        out = {k: shape(v) for k, v in value.items()}
        if "code" in value and isinstance(value["code"], str):
            out["code"] = "code=" + value["code"]
        return out
    if isinstance(value, list):
        shapes = []
        for item in value:
            s = shape(item)
            if s not in shapes:
                shapes.append(s)
        return ["list", sorted(shapes, key=json.dumps)]
    return type(value).__name__


class Replayer:
    def __init__(self, vault, ca):
        self.vault = vault.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca)
        self.versions = {}
        self.next_links = {}

    def call(self, method, path_query, body, auth):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Bearer replay"
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.vault + path_query, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.context) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def target(self, uri):
        """The recorded URI on the double: host replaced, version ids and next links mapped."""
        parts = urllib.parse.urlsplit(uri)
        path = parts.path
        for recorded, ours in self.versions.items():
            path = path.replace(recorded, ours)
        if "$skiptoken" in parts.query:
            link = self.next_links.get(path.lower())
            if link is None:
                raise AssertionError(f"no next link handed out for {path}")
            return link
        return f"{path}?{parts.query}"

    def learn(self, recorded_body, our_body):
        """Remember our version id for a recorded one, and our next link of a list."""
        try:
            theirs, ours = json.loads(recorded_body), json.loads(our_body)
        except ValueError:
            return
        if not isinstance(theirs, dict) or not isinstance(ours, dict):
            return
        t, o = VERSION_ID.search(theirs.get("id") or ""), VERSION_ID.search(ours.get("id") or "")
        if t and o:
            self.versions[t.group(1)] = o.group(1)
        if ours.get("nextLink"):
            link = urllib.parse.urlsplit(ours["nextLink"])
            self.next_links[link.path.lower()] = f"{link.path}?{link.query}"


def runs(interactions):
    """Group consecutive identical GETs (polling, or re-reads) into one run."""
    grouped = []
    for item in interactions:
        last = grouped[-1][0] if grouped else None
        if last and item["method"] == "GET" == last["method"] and item["uri"] == last["uri"]:
            grouped[-1].append(item)
        else:
            grouped.append([item])
    return grouped


# Keys only a soft-delete vault puts into a DELETE answer. Some recordings come from vaults
# without soft delete (recoveryLevel "Purgeable"); the double always soft-deletes.
SOFT_DELETE_KEYS = ("recoveryId", "deletedDate", "scheduledPurgeDate")


def without_soft_delete_keys(recorded, ours):
    """Our DELETE answer as a vault without soft delete gives it, when the recording's was."""
    theirs = json.loads(recorded["body"])
    purgeable = (theirs.get("attributes") or {}).get("recoveryLevel") == "Purgeable"
    if recorded["method"] == "DELETE" and purgeable and "recoveryId" not in theirs:
        return {k: v for k, v in ours.items() if k not in SOFT_DELETE_KEYS}
    return ours


def compare(recorded, status, body, where):
    problems = []
    if status != recorded["status"]:
        problems.append(f"{where}: status {status}, recorded {recorded['status']}: {body[:200]}")
        return problems
    if recorded["status"] == 401:
        return problems
    theirs = recorded["body"] or ""
    if bool(theirs.strip()) != bool(body.strip()):
        problems.append(f"{where}: body {'present' if body else 'empty'}, recorded otherwise")
    elif theirs.strip():
        ours = shape(without_soft_delete_keys(recorded, json.loads(body)))
        if shape(json.loads(theirs)) != ours:
            problems.append(f"{where}: JSON shape differs\n  recorded {shape(json.loads(theirs))}"
                            f"\n  double   {ours}")
    return problems


def replay(path, vault, ca):
    """Replay one recording; return (interactions checked, problems)."""
    interactions = json.load(open(path, encoding="utf-8"))
    if any(UNSUPPORTED.search(i["uri"]) for i in interactions):
        return None, []
    replayer = Replayer(vault, ca)
    replayer.call("POST", "/_double/reset", b"", False)
    problems, checked = [], 0
    for run in runs(interactions):
        first = run[0]
        where = f"{os.path.basename(path)} {first['method']} {urllib.parse.urlsplit(first['uri']).path}"
        target = replayer.target(first["uri"])
        auth = first["status"] != 401
        allowed = {i["status"] for i in run}
        deadline = time.time() + 10
        while True:
            status, body, _ = replayer.call(first["method"], target, first["request_body"], auth)
            if status == run[-1]["status"] or status not in allowed or time.time() > deadline:
                break
            time.sleep(0.05)
        recorded = next((i for i in run if i["status"] == status), run[-1])
        problems += compare(recorded, status, body, where)
        replayer.learn(recorded["body"] or "", body)
        checked += len(run)
    return checked, problems


def main(directory, vault, ca):
    total, skipped, problems = 0, [], []
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    for name in names:
        checked, found = replay(os.path.join(directory, name), vault, ca)
        if checked is None:
            skipped.append(name)
            continue
        total += checked
        problems += found
    print(f"double vs recordings: {total} recorded interactions replayed from "
          f"{len(names) - len(skipped)} recordings; skipped (backup/restore): {len(skipped)}")
    for p in problems:
        print("MISMATCH", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
