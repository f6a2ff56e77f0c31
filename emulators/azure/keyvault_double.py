"""A stateful Azure Key Vault double: the secrets data plane token-store uses, over HTTPS.

Usage: keyvault_double.py --port 8543 --cert-out cert.pem [--delete-delay 0.3]

It generates a throw-away CA and a certificate for ``localhost`` / ``127.0.0.1`` at start and
writes the CA's PEM to ``--cert-out`` (the tests trust it as their only root). What it serves, with the
real service's JSON shapes (checked against recorded real traffic by ``check_double.py``):

* ``PUT /secrets/{name}``; ``GET /secrets/{name}[/]``, ``GET /secrets/{name}/{version}``;
  ``PATCH /secrets/{name}/{version}``; ``GET /secrets/{name}/versions``; ``GET /secrets``;
  ``DELETE /secrets/{name}``; ``GET /deletedsecrets[/{name}]``;
  ``DELETE /deletedsecrets/{name}`` (purge); ``POST /deletedsecrets/{name}/recover``.
* Soft delete is asynchronous: for ``--delete-delay`` seconds after a delete the secret is
  "being deleted" (``GET /deletedsecrets/{name}`` 404, writes and purge 409
  ``ObjectIsBeingDeleted``); then it is deleted-but-recoverable (writes 409
  ``ObjectIsDeletedButRecoverable``). Recover is asynchronous the same way (the secret
  answers 404 until it is back).
* Lists page with ``maxresults`` (1..=25, default 25) and ``nextLink`` / ``$skiptoken``
  (sorted: secrets by name, versions by id, as recorded).
* Names ``^[0-9a-zA-Z-]{1,127}$`` (compared case-insensitively); values up to 25,600 bytes.
* A request without ``Authorization: Bearer`` gets the 401 bearer challenge.
* Test control (no auth): ``POST /_double/throttle`` with ``{"count": n, "retry_after": s,
  "path_contains": p}`` answers the next ``n`` data-plane requests (whose path contains
  ``p``, when given) 429 with ``Retry-After: s``;
  ``POST /_double/reset`` forgets every secret; ``GET /_double/health``.

Where the double cannot know the real behaviour, ``NOTES.md`` says so.
"""

import argparse
import base64
import datetime
import http.server
import ipaddress
import json
import os
import re
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_VALUE_BYTES = 25_600
MAX_PAGE = 25
RETENTION_SECONDS = 90 * 86400
CHALLENGE = (
    'Bearer authorization="https://login.windows.net/00000000-0000-0000-0000-000000000000", '
    'resource="https://vault.azure.net"'
)


class Reply(Exception):
    """An HTTP answer raised from inside a handler."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def error(status, code, message, inner=None):
    """A Key Vault error body: ``{"error": {"code", "message"[, "innererror"]}}``."""
    body = {"code": code, "message": message}
    if inner:
        body["innererror"] = {"code": inner}
    return Reply(status, {"error": body})


class Vault:
    """The vault's state; every method runs under one lock."""

    def __init__(self, delete_delay):
        self.delay = delete_delay
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.secrets = {}  # lower-case name -> {"name", "versions": {id: version}, "current"}
        self.deleted = {}  # lower-case name -> {"secret", "deleted", "visible_at"}
        self.recovering = {}  # lower-case name -> time the recovered secret is back
        self.throttle = (0, 0, "")

    # --- state transitions -------------------------------------------------------------

    def settle(self, key):
        """Finish a recover whose delay has passed."""
        until = self.recovering.get(key)
        if until is not None and time.time() >= until:
            del self.recovering[key]

    def live(self, key, name):
        self.settle(key)
        secret = self.secrets.get(key)
        if secret is None or key in self.recovering:
            raise error(404, "SecretNotFound", f"Secret not found: {name}")
        return secret

    def deleted_entry(self, key, name):
        entry = self.deleted.get(key)
        if entry is None or time.time() < entry["visible_at"]:
            raise error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return entry

    def check_writable(self, key, name):
        entry = self.deleted.get(key)
        if entry is not None:
            if time.time() < entry["visible_at"]:
                raise error(409, "Conflict", f"Secret {name} is currently being deleted.",
                            "ObjectIsBeingDeleted")
            raise error(409, "Conflict",
                        f"Secret {name} is currently in a deleted but recoverable state, and its "
                        "name cannot be reused; in this state, the secret can only be recovered "
                        "or purged.", "ObjectIsDeletedButRecoverable")
        self.settle(key)
        if key in self.recovering:
            raise error(409, "Conflict", f"Secret {name} is currently being recovered.",
                        "ObjectIsBeingRecovered")


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: auth, throttling, routing, JSON answers."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    vault: Vault = None

    def log_message(self, *_):  # quiet: the suites make thousands of calls
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if url.path.startswith("/_double/"):
                body = self.control(method, url.path, raw)
            else:
                body = self.data_plane(method, url.path, query, raw)
            self.answer(200 if body is not None else 204, body)
        except Reply as r:
            self.answer(r.status, r.body, r.headers)

    def answer(self, status, body, headers=None):
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def control(self, method, path, raw):
        vault = self.vault
        with vault.lock:
            if path == "/_double/health":
                return {"ok": True}
            if method == "POST" and path == "/_double/reset":
                vault.reset()
                return {"ok": True}
            if method == "POST" and path == "/_double/throttle":
                spec = json.loads(raw or b"{}")
                vault.throttle = (int(spec.get("count", 1)), int(spec.get("retry_after", 1)),
                                  str(spec.get("path_contains", "")))
                return {"ok": True}
        raise error(404, "NotFound", "no such control endpoint")

    def data_plane(self, method, path, query, raw):
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise Reply(401, {"error": {"code": "Unauthorized",
                                        "message": "Request is missing a Bearer or PoP token."}},
                        {"WWW-Authenticate": CHALLENGE})
        vault = self.vault
        with vault.lock:
            count, retry_after, path_part = vault.throttle
            if count > 0 and path_part in path:
                vault.throttle = (count - 1, retry_after, path_part)
                raise Reply(429, {"error": {"code": "Throttled",
                                            "message": "Request was not processed because too "
                                                       "many requests were received."}},
                            {"Retry-After": str(retry_after)})
        if "api-version" not in query:
            raise error(400, "BadParameter", "The api-version query parameter is missing.")
        body = json.loads(raw) if raw else {}
        with vault.lock:
            return Routes(vault, self.base_url(), query, body).dispatch(method, path)

    def base_url(self):
        host = self.headers.get("Host") or f"localhost:{self.server.server_address[1]}"
        return f"https://{host}"


class Routes:
    """The data-plane operations, run under the vault lock."""

    def __init__(self, vault, base, query, body):
        self.vault, self.base, self.query, self.body = vault, base, query, body
        self.full_attributes = query.get("api-version") != "7.0"

    def dispatch(self, method, path):
        # A trailing slash stays as an empty last part: `/secrets/{name}/` is the latest
        # version, as the SDKs spell it.
        parts = [urllib.parse.unquote(p) for p in path.lstrip("/").split("/")]
        match (method, parts):
            case ("GET", ["secrets"]):
                return self.list_secrets()
            case ("PUT", ["secrets", name]):
                return self.set_secret(name)
            case ("GET", ["secrets", name, "versions"]):
                return self.list_versions(name)
            case ("GET", ["secrets", name]):
                return self.get_secret(name, None)
            case ("GET", ["secrets", name, version]):
                return self.get_secret(name, version)
            case ("PATCH", ["secrets", name, version]):
                return self.update_secret(name, version)
            case ("DELETE", ["secrets", name]):
                return self.delete_secret(name)
            case ("GET", ["deletedsecrets"]):
                return self.list_deleted()
            case ("GET", ["deletedsecrets", name]):
                return self.deleted_bundle(self.vault.deleted_entry(name.lower(), name))
            case ("DELETE", ["deletedsecrets", name]):
                return self.purge(name)
            case ("POST", ["deletedsecrets", name, "recover"]):
                return self.recover(name)
        raise error(400, "BadParameter", f"The request {method} {path} is not supported.")

    # --- shapes --------------------------------------------------------------------------

    def attributes(self, version):
        attributes = dict(version["attributes"])
        attributes["recoveryLevel"] = "Recoverable+Purgeable"
        if self.full_attributes:
            attributes["recoverableDays"] = 90
        return attributes

    def bundle(self, secret, version, with_value=True):
        out = {}
        if with_value:
            out["value"] = version["value"]
        if version.get("contentType") is not None:
            out["contentType"] = version["contentType"]
        out["id"] = f"{self.base}/secrets/{secret['name']}/{version['id']}"
        out["attributes"] = self.attributes(version)
        if version.get("tags"):
            out["tags"] = version["tags"]
        return out

    def deleted_bundle(self, entry):
        secret = entry["secret"]
        out = {
            "recoveryId": f"{self.base}/deletedsecrets/{secret['name']}",
            "deletedDate": entry["deleted"],
            "scheduledPurgeDate": entry["deleted"] + RETENTION_SECONDS,
        }
        out.update(self.bundle(secret, secret["versions"][secret["current"]], with_value=False))
        return out

    def page(self, items, path):
        """One page of ``items``. Like the recorded service, the ``nextLink`` carries the
        ``api-version`` and a ``$skiptoken`` but no ``maxresults``; the token remembers the
        page size, so a client following the link verbatim keeps its page size."""
        size = self.query.get("maxresults")
        token = self.query.get("$skiptoken")
        start, token_size = 0, MAX_PAGE
        if token:
            start, token_size = map(int, base64.urlsafe_b64decode(token.encode()).split(b":"))
        size = size if size is not None else str(token_size)
        if not size.isdigit() or not 1 <= int(size) <= MAX_PAGE:
            raise error(400, "BadParameter", f"maxresults must be between 1 and {MAX_PAGE}.")
        size = int(size)
        chunk = items[start:start + size]
        next_link = None
        if start + size < len(items):
            skip = base64.urlsafe_b64encode(f"{start + size}:{size}".encode()).decode()
            next_link = (f"{self.base}{path}?api-version={self.query['api-version']}"
                         f"&$skiptoken={skip}")
        return {"value": chunk, "nextLink": next_link}

    def list_item(self, secret, version, with_version):
        item = self.bundle(secret, version, with_value=False)
        if not with_version:
            item["id"] = f"{self.base}/secrets/{secret['name']}"
        return item

    # --- operations ----------------------------------------------------------------------

    def set_secret(self, name):
        if not NAME.match(name):
            raise error(400, "BadParameter",
                        "The request URI contains an invalid name: names are 1-127 characters "
                        "of 0-9, a-z, A-Z and -.")
        value = self.body.get("value")
        if not isinstance(value, str):
            raise error(400, "BadParameter", "Property value is required.")
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise error(400, "BadParameter",
                        f"Secret value exceeds the maximum size of {MAX_VALUE_BYTES} bytes.")
        key = name.lower()
        self.vault.check_writable(key, name)
        now = int(time.time())
        requested = self.body.get("attributes") or {}
        version = {
            "id": uuid.uuid4().hex,
            "value": value,
            "contentType": self.body.get("contentType"),
            "tags": self.body.get("tags"),
            "attributes": {"enabled": requested.get("enabled", True),
                           **{k: requested[k] for k in ("nbf", "exp") if k in requested},
                           "created": now, "updated": now},
        }
        secret = self.vault.secrets.setdefault(key, {"name": name, "versions": {}})
        secret["versions"][version["id"]] = version
        secret["current"] = version["id"]
        return self.bundle(secret, version)

    def find_version(self, name, version_id):
        secret = self.vault.live(name.lower(), name)
        version = secret["versions"].get((version_id or secret["current"]).lower())
        if version is None:
            raise error(404, "SecretNotFound", f"Secret not found: {name}/{version_id}")
        return secret, version

    def get_secret(self, name, version_id):
        secret, version = self.find_version(name, version_id)
        if not version["attributes"]["enabled"]:
            raise error(403, "Forbidden", "Operation get is not allowed on a disabled secret.")
        return self.bundle(secret, version)

    def update_secret(self, name, version_id):
        secret, version = self.find_version(name, version_id)
        for field in ("contentType", "tags"):
            if field in self.body:
                version[field] = self.body[field]
        for field, value in (self.body.get("attributes") or {}).items():
            if field in ("enabled", "nbf", "exp"):
                version["attributes"][field] = value
        version["attributes"]["updated"] = int(time.time())
        return self.bundle(secret, version, with_value=False)

    def list_versions(self, name):
        """Versions sorted by id, as recorded; a missing secret lists none (recorded: 200)."""
        try:
            secret = self.vault.live(name.lower(), name)
        except Reply:
            return self.page([], f"/secrets/{name}/versions")
        versions = sorted(secret["versions"].values(), key=lambda v: v["id"])
        items = [self.list_item(secret, v, True) for v in versions]
        return self.page(items, f"/secrets/{secret['name']}/versions")

    def list_secrets(self):
        live = []
        for key in sorted(self.vault.secrets):
            self.vault.settle(key)
            if key not in self.vault.recovering:
                secret = self.vault.secrets[key]
                live.append(self.list_item(secret, secret["versions"][secret["current"]], False))
        return self.page(live, "/secrets")

    def delete_secret(self, name):
        key = name.lower()
        secret = self.vault.live(key, name)
        del self.vault.secrets[key]
        entry = {"secret": secret, "deleted": int(time.time()),
                 "visible_at": time.time() + self.vault.delay}
        self.vault.deleted[key] = entry
        return self.deleted_bundle(entry)

    def list_deleted(self):
        now = time.time()
        items = []
        for key in sorted(self.vault.deleted):
            entry = self.vault.deleted[key]
            if now >= entry["visible_at"]:
                item = self.deleted_bundle(entry)
                item["id"] = f"{self.base}/secrets/{entry['secret']['name']}"
                items.append(item)
        return self.page(items, "/deletedsecrets")

    def purge(self, name):
        key = name.lower()
        entry = self.vault.deleted.get(key)
        if entry is not None and time.time() < entry["visible_at"]:
            raise error(409, "Conflict", f"Secret {name} is currently being deleted.",
                        "ObjectIsBeingDeleted")
        self.vault.deleted_entry(key, name)
        del self.vault.deleted[key]
        return None

    def recover(self, name):
        key = name.lower()
        entry = self.vault.deleted.get(key)
        if entry is not None and time.time() < entry["visible_at"]:
            raise error(409, "Conflict", f"Secret {name} is currently being deleted.",
                        "ObjectIsBeingDeleted")
        entry = self.vault.deleted_entry(key, name)
        del self.vault.deleted[key]
        secret = entry["secret"]
        self.vault.secrets[key] = secret
        self.vault.recovering[key] = time.time() + self.vault.delay
        return self.bundle(secret, secret["versions"][secret["current"]], with_value=False)


def _certificate(subject, issuer, public_key, signing_key, is_ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def self_signed(ca_out):
    """Make a throw-away CA and a ``localhost`` / ``127.0.0.1`` server certificate it signs
    (rustls refuses a CA certificate as the server's own); write the CA's PEM to ``ca_out``
    for the clients to trust, and return an SSL context serving the server certificate."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("token-store Key Vault double CA", "token-store Key Vault double CA",
                      ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate("localhost", "token-store Key Vault double CA", key.public_key(), ca_key,
                        False)
    with tempfile.TemporaryDirectory() as tmp:
        chain, key_path = os.path.join(tmp, "chain.pem"), os.path.join(tmp, "key.pem")
        with open(chain, "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key_path)
    with open(ca_out, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    return context


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8543)
    parser.add_argument("--cert-out", required=True)
    parser.add_argument("--delete-delay", type=float, default=0.3)
    args = parser.parse_args()
    Handler.vault = Vault(args.delete_delay)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    context = self_signed(args.cert_out)
    # The handshake runs in the request's thread, not in the accepting one.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    print(f"Key Vault double on https://localhost:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
