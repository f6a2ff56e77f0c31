"""Drive the Zoho CRM Python SDK's own DBStore (zohocrmsdk8-0) from the command line.

Used by the interop test (crates/token-store-sql/tests/zoho_interop.rs) and the benchmark.
Tokens travel as JSON objects with the fields of token-store's `Token`:
id, user_name, client_id, client_secret, refresh_token, access_token, grant_token,
expiry_time (epoch ms, integer), redirect_url, api_domain.

    python dbstore.py save      < tokens.json   # save each token, print them with their ids
    python dbstore.py find      < queries.json  # find_token for each query, print result or null
    python dbstore.py by-id ID                  # find_token_by_id
    python dbstore.py list                      # get_tokens

Connection: DBSTORE_HOST, DBSTORE_PORT, DBSTORE_USER, DBSTORE_PASSWORD, DBSTORE_DATABASE,
DBSTORE_TABLE (defaults: the SDK's own).
"""

import json
import os
import sys

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import DBStore
from zohocrmsdk.src.com.zoho.crm.api import UserSignature

FIELDS = ("id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
          "grant_token", "expiry_time", "redirect_url", "api_domain")


def store():
    """The SDK's DBStore for the configured database."""
    env = os.environ
    return DBStore(
        host=env.get("DBSTORE_HOST", "localhost"),
        database_name=env.get("DBSTORE_DATABASE", "zohooauth"),
        user_name=env.get("DBSTORE_USER", "root"),
        password=env.get("DBSTORE_PASSWORD", ""),
        port_number=env.get("DBSTORE_PORT", "3306"),
        table_name=env.get("DBSTORE_TABLE", "oauthtoken"),
    )


def to_oauth(fields):
    """An OAuthToken holding exactly the given fields (the rest None), as the SDK builds them."""
    token = object.__new__(OAuthToken)
    DBStore.set_oauth_token(token)
    if fields.get("id") is not None:
        token.set_id(fields["id"])
    if fields.get("user_name") is not None:
        token.set_user_signature(UserSignature(fields["user_name"]))
    for name in ("client_id", "client_secret", "refresh_token", "access_token", "grant_token",
                 "redirect_url", "api_domain"):
        if fields.get(name) is not None:
            getattr(token, "set_" + name)(fields[name])
    if fields.get("expiry_time") is not None:
        token.set_expires_in(str(fields["expiry_time"]))
    return token


def from_oauth(token):
    """The JSON object of an OAuthToken."""
    if token is None:
        return None
    signature = token.get_user_signature()
    expiry = token.get_expires_in()
    return {
        "id": token.get_id(),
        "user_name": signature.get_name() if signature is not None else None,
        "client_id": token.get_client_id(),
        "client_secret": token.get_client_secret(),
        "refresh_token": token.get_refresh_token(),
        "access_token": token.get_access_token(),
        "grant_token": token.get_grant_token(),
        "expiry_time": int(expiry) if expiry not in (None, "") else None,
        "redirect_url": token.get_redirect_url(),
        "api_domain": token.get_api_domain(),
    }


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    db = store()
    if command == "save":
        saved = []
        for fields in json.load(sys.stdin):
            token = to_oauth(fields)
            db.save_token(token)
            saved.append(from_oauth(token))
        print(json.dumps(saved))
    elif command == "find":
        print(json.dumps([from_oauth(db.find_token(to_oauth(q))) for q in json.load(sys.stdin)]))
    elif command == "by-id":
        print(json.dumps(from_oauth(db.find_token_by_id(argv[2]))))
    elif command == "list":
        print(json.dumps([from_oauth(t) for t in db.get_tokens()]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
