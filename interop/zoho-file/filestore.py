"""Drive the Zoho CRM Python SDK's own FileStore (zohocrmsdk8-0) from the command line.

Used by the interop test (crates/token-store-file/tests/zoho_interop.rs). Tokens travel as
JSON objects with the fields of token-store's `Token`: id, user_name, client_id,
client_secret, refresh_token, access_token, grant_token, expiry_time (epoch ms, integer),
redirect_url, api_domain; absent fields are null.

    python filestore.py init  FILE               # the FileStore constructor (create / migrate)
    python filestore.py save  FILE < tokens.json  # save_token each, print them with their ids
    python filestore.py find  FILE < queries.json # find_token each, print the result or null
    python filestore.py by-id FILE ID             # find_token_by_id
    python filestore.py list  FILE                # get_tokens
"""

import json
import sys

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api import UserSignature

TEXT_FIELDS = ("client_id", "client_secret", "refresh_token", "access_token", "grant_token",
               "redirect_url", "api_domain")


def to_oauth(fields):
    """An OAuthToken holding exactly the given fields (the rest None), as the SDK's stores build them."""
    token = object.__new__(OAuthToken)
    FileStore.set_oauth_token(token)
    if fields.get("id") is not None:
        token.set_id(fields["id"])
    if fields.get("user_name") is not None:
        token.set_user_signature(UserSignature(fields["user_name"]))
    for name in TEXT_FIELDS:
        if fields.get(name) is not None:
            getattr(token, "set_" + name)(fields[name])
    if fields.get("expiry_time") is not None:
        token.set_expires_in(str(fields["expiry_time"]))
    return token


def from_oauth(token):
    """The JSON object of an OAuthToken (None stays None)."""
    if token is None:
        return None
    signature = token.get_user_signature()
    expiry = token.get_expires_in()
    fields = {name: getattr(token, "get_" + name)() for name in TEXT_FIELDS}
    fields["id"] = token.get_id()
    fields["user_name"] = signature.get_name() if signature is not None else None
    fields["expiry_time"] = int(expiry) if expiry not in (None, "") else None
    return fields


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    command, path = argv[1], argv[2]
    store = FileStore(path)
    if command == "init":
        print("null")
    elif command == "save":
        saved = []
        for fields in json.load(sys.stdin):
            token = to_oauth(fields)
            store.save_token(token)
            saved.append(from_oauth(token))
        print(json.dumps(saved))
    elif command == "find":
        print(json.dumps([from_oauth(store.find_token(to_oauth(q))) for q in json.load(sys.stdin)]))
    elif command == "by-id":
        print(json.dumps(from_oauth(store.find_token_by_id(argv[3]))))
    elif command == "list":
        print(json.dumps([from_oauth(t) for t in store.get_tokens()]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
