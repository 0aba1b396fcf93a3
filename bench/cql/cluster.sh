#!/usr/bin/env bash
# Three-node benchmark: `basalt cluster` starts 3 release nodes on 127.0.0.1-3
# (base port 19042: CQL 19042, storage 19043, admin 19044), latte drives
# prepared QUORUM inserts and then point reads (16-byte key, 100-byte value)
# with RF 3 through all three nodes (token-aware), and the script reports the
# CPU time all three nodes spent per operation (from /proc/PID/stat).
#
# Usage: bench/cql/cluster.sh [duration, default 30s] [rows for reads, default 300000]
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
duration="${1:-30s}"
rows="${2:-300000}"
work="${BASALT_BENCH_DIR:-$root/target/cql-cluster-bench}"
command -v latte >/dev/null || cargo install latte-cli --locked
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin basalt
bin="$root/target/release/basalt"
"$bin" cluster --dir "$work" clear >/dev/null 2>&1 || true
mkdir -p "$work" && cd "$work"
trap '"$bin" cluster --dir "$work" clear >/dev/null 2>&1 || true' EXIT
"$bin" cluster --dir "$work" start --nodes 3 --base-port 19042

pids() { cat "$work"/node*/pid; }
ticks() { local t=0; for p in $(pids); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
report() {
    local name=$1 ticks=$2 log=$3
    local ops; ops=$(grep -m1 -E '^ *Throughput' "$log" | awk '{print $3}' | tr -d ',')
    python3 - "$name" "$ticks" "$ops" "${duration%s}" <<'PY'
import os, sys
name, ticks, ops, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3] or 0), float(sys.argv[4])
cpu_us = ticks / os.sysconf("SC_CLK_TCK") * 1e6
print(f"{name}: {ops:,.0f} ops/s, CPU of the three nodes {cpu_us / max(ops * secs, 1):.2f} µs/op")
PY
}

hosts="127.0.0.1:19042 127.0.0.2:19042 127.0.0.3:19042"
latte schema "$root/bench/cql/insert.rn" -P rf=3 $hosts
before=$(ticks)
latte run "$root/bench/cql/insert.rn" -P rf=3 --consistency QUORUM -d "$duration" -t 1 -p 256 $hosts | tee insert.txt
report "QUORUM insert" $(( $(ticks) - before )) insert.txt

latte schema "$root/bench/cql/read.rn" -P rf=3 $hosts
latte load "$root/bench/cql/read.rn" -P rf=3 -P rows="$rows" --consistency QUORUM $hosts >load.txt
before=$(ticks)
latte run "$root/bench/cql/read.rn" -P rf=3 -P rows="$rows" --consistency QUORUM -d "$duration" -t 1 -p 256 $hosts | tee read.txt
report "QUORUM read" $(( $(ticks) - before )) read.txt
