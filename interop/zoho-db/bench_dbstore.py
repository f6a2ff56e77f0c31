"""Throughput of the Zoho Python SDK's DBStore: find_token by user name and save_token (refresh
of a stored user), one client, sequential calls, on a 10-row table (the most it can hold: its
id is a string MAX(id) + 1, so the 11th insert repeats id "10"). Run by scripts/bench-sql.sh.
Prints `RESULT <store> <operation> <ops/s>` lines. Connection settings as in dbstore.py.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dbstore import store, to_oauth  # noqa: E402

USERS = 10


def user(n):
    return {
        "user_name": f"bench{n}@example.com:8000{n}",
        "client_id": "1000.BENCHCLIENT",
        "client_secret": "bench-secret",
        "refresh_token": f"1000.bench.refresh.{n}",
        "access_token": f"1000.bench.access.{n}",
        "expiry_time": 1764000000000,
        "redirect_url": "https://example.com/callback",
        "api_domain": "https://www.zohoapis.eu",
    }


def measure(iterations, op):
    start = time.perf_counter()
    for i in range(iterations):
        op(i)
    return iterations / (time.perf_counter() - start)


def main():
    iterations = int(os.environ.get("BENCH_ITERATIONS", "2000"))
    db = store()
    db.delete_tokens()
    for n in range(USERS):
        db.save_token(to_oauth(user(n)))

    def find(i):
        token = to_oauth({"user_name": user(i % USERS)["user_name"]})
        db.find_token(token)
        assert token.get_access_token() is not None

    def save(i):
        fields = user(i % USERS)
        fields["access_token"] = f"1000.bench.access.refreshed.{i}"
        fields["expiry_time"] = 1764000000000 + i
        db.save_token(to_oauth(fields))

    print(f"RESULT ZohoDBStore find_by_user {measure(iterations, find):.0f}")
    print(f"RESULT ZohoDBStore save_refresh {measure(iterations, save):.0f}")
    try:
        db.save_token(to_oauth(user(USERS)))
        print("RESULT ZohoDBStore save_insert_11th_row ok")
    except Exception as e:  # the SDK wraps the duplicate-key error
        print(f"RESULT ZohoDBStore save_insert_11th_row fails ({type(e).__name__}: duplicate id from string MAX(id))")
    db.delete_tokens()


if __name__ == "__main__":
    main()
