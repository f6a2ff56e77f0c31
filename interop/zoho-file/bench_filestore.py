"""Throughput of the Zoho Python SDK's FileStore: find_token by user name, save_token of a
refreshed token (update) and of a new user (insert), one client, sequential calls, for token
files of several sizes; the same workload as crates/token-store-file/examples/file_bench.rs.
Run by scripts/bench-file.sh. Prints `RESULT <store> <rows> <operation> <ops/s>` lines.
The token file is seeded by writing its CSV as the SDK's save_token writes it (csv.writer,
minimal quoting, CRLF), not by a save per row, which would dominate the run at 5,000 rows.
Env: BENCH_DIR, BENCH_ROWS (default "10 1000 5000"), BENCH_ITERATIONS (default 2000).
"""

import csv
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from filestore import FileStore, to_oauth  # noqa: E402


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


HEADER = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
          "grant_token", "expiry_time", "redirect_uri", "api_domain"]


def seed(path, rows):
    """The token file holding user(0) to user(rows - 1) with ids 1 to rows."""
    with open(path, mode="w", newline="") as f:
        writer = csv.writer(f, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL)
        writer.writerow(HEADER)
        for n in range(rows):
            u = user(n)
            writer.writerow([str(n + 1), u["user_name"], u["client_id"], u["client_secret"],
                             u["refresh_token"], u["access_token"], "", str(u["expiry_time"]),
                             u["redirect_url"], u["api_domain"]])


def measure(iterations, op):
    start = time.perf_counter()
    for i in range(iterations):
        op(i)
    return iterations / (time.perf_counter() - start)


def bench(directory, rows, iterations):
    path = os.path.join(directory, f"bench-python-{rows}.txt")
    seed(path, rows)
    store = FileStore(path)

    def find(i):
        assert store.find_token(to_oauth({"user_name": user(i % rows)["user_name"]})) is not None

    def update(i):
        store.save_token(to_oauth({
            "user_name": user(i % rows)["user_name"],
            "access_token": f"1000.bench.access.refreshed.{i}",
            "expiry_time": 1764000000000 + i,
        }))

    def insert(i):
        store.save_token(to_oauth(user(rows + i)))

    results = [
        ("find_token(user)", measure(iterations, find)),
        ("save_token(update)", measure(iterations, update)),
        ("save_token(insert)", measure(max(iterations // 4, 1), insert)),
    ]
    for operation, ops in results:
        print(f"RESULT FileStore(python) {rows} {operation} {ops:.0f}", flush=True)
    os.remove(path)


def main():
    directory = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    iterations = int(os.environ.get("BENCH_ITERATIONS", "2000"))
    for rows in os.environ.get("BENCH_ROWS", "10 1000 5000").split():
        bench(directory, int(rows), iterations)


if __name__ == "__main__":
    main()
