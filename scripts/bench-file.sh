#!/usr/bin/env bash
# Benchmark: ops/s of find and save for token-store's FileStore and for the Zoho Python SDK's
# FileStore, same workload, same disk (.cache/bench-file/), side by side in one run, printed as
# one table. BENCH_ITERATIONS (default 2000) per figure, BENCH_ROWS (default "10 1000 5000") file
# sizes (each file is seeded by writing its CSV; the whole run takes about 2 minutes).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

ZOHO_PY="$("$REPO/interop/zoho-db/setup-venv.sh")"
export BENCH_DIR="${BENCH_DIR:-$REPO/.cache/bench-file}"
export BENCH_ITERATIONS="${BENCH_ITERATIONS:-2000}"
export BENCH_ROWS="${BENCH_ROWS:-10 1000 5000}"
mkdir -p "$BENCH_DIR"

cargo build --release -q -p token-store-file --example file_bench
target_dir="$(cargo metadata --format-version 1 --no-deps | "$ZOHO_PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
echo "$BENCH_ITERATIONS calls per figure (inserts: a quarter), one client, files in $BENCH_DIR," \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$target_dir/release/examples/file_bench" | tee -a "$results" >&2
"$ZOHO_PY" "$REPO/interop/zoho-file/bench_filestore.py" | tee -a "$results" >&2

echo
printf '%-6s %-20s %14s %14s %8s\n' rows operation "rust ops/s" "python ops/s" ratio
awk '/^RESULT/ { key = $3 " " $4; order[key] = ++n; if ($2 ~ /rust/) rust[key] = $5; else py[key] = $5 }
     END { for (k in order) keys[order[k]] = k
           for (i = 1; i <= n; i++) { k = keys[i]; if (!(k in rust)) continue; split(k, p, " ")
             printf "%-6s %-20s %14s %14s %7.1fx\n", p[1], p[2], rust[k], py[k], (py[k] > 0 ? rust[k] / py[k] : 0) } }' "$results"
