#!/usr/bin/env bash
# CQL benchmark: latte drives a release node with prepared INSERTs (16-byte key,
# 100-byte value, CL ONE), then prepared point SELECTs by key after a restart has
# flushed the data to SSTables. Prints latte's reports and the node's CPU time
# per operation (utime + stime from /proc/PID/stat over the run).
#
# Usage: bench/cql/run.sh [duration, default 30s] [rows for reads, default 1000000]
#                         [insert rate, read rate: also run at these fixed rates]
# The fixed-rate runs give latencies at a given load (e.g. half the maximum).
# Installs latte (cargo install latte-cli) if it is not on PATH.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
duration="${1:-30s}"
rows="${2:-1000000}"
insert_rate="${3:-}"
read_rate="${4:-}"
work="${BASALT_BENCH_DIR:-$root/target/cql-bench}"
port=9042
command -v latte >/dev/null || cargo install latte-cli --locked
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin basalt
rm -rf "$work" && mkdir -p "$work"
cd "$work"   # latte writes its report files to the working directory

node=""
start_node() {
    "$root/target/release/basalt" server --data-dir "$work/data" >>"$work/node.log" 2>&1 &
    node=$!
    for _ in $(seq 1 300); do
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "node did not start" >&2; exit 1
}
stop_node() { kill -TERM "$node"; wait "$node" || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$node/stat"; }
trap 'kill -TERM $node 2>/dev/null || true' EXIT

# ops/s from latte's report, CPU µs per op from the node's ticks.
report() {
    local name=$1 ticks=$2 log=$3
    local ops; ops=$(grep -m1 -E '^ *Throughput' "$log" | awk '{print $3}' | tr -d ',')
    local secs=${duration%s}
    python3 - "$name" "$ticks" "$ops" "$secs" <<'PY'
import os, sys
name, ticks, ops, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3] or 0), float(sys.argv[4])
hz = os.sysconf("SC_CLK_TCK")
total_ops = ops * secs
cpu_us = ticks / hz * 1e6
print(f"{name}: {ops:,.0f} ops/s, server CPU {cpu_us / max(total_ops, 1):.2f} µs/op")
PY
}

start_node
latte schema "$root/bench/cql/insert.rn" 127.0.0.1
# The fixed-rate run goes first, on a fresh node: after the full-speed run the
# node is still flushing and compacting what it took in.
if [ -n "$insert_rate" ]; then
    latte run "$root/bench/cql/insert.rn" --consistency ONE -d "$duration" -t 1 -p 256 \
        -r "$insert_rate" 127.0.0.1 | tee "$work/insert-rated.txt"
    stop_node && rm -rf "$work/data" && start_node
    latte schema "$root/bench/cql/insert.rn" 127.0.0.1
fi
before=$(cpu_ticks)
latte run "$root/bench/cql/insert.rn" --consistency ONE -d "$duration" -t 1 -p 256 127.0.0.1 | tee "$work/insert.txt"
report insert $(( $(cpu_ticks) - before )) "$work/insert.txt"

latte schema "$root/bench/cql/read.rn" 127.0.0.1
latte load "$root/bench/cql/read.rn" --consistency ONE -P rows="$rows" 127.0.0.1 >"$work/load.txt"
stop_node   # drain: memtables flushed to SSTables
start_node
before=$(cpu_ticks)
latte run "$root/bench/cql/read.rn" --consistency ONE -P rows="$rows" -d "$duration" -t 1 -p 256 127.0.0.1 | tee "$work/read.txt"
report read $(( $(cpu_ticks) - before )) "$work/read.txt"
if [ -n "$read_rate" ]; then
    latte run "$root/bench/cql/read.rn" --consistency ONE -P rows="$rows" -d "$duration" -t 1 \
        -p 256 -r "$read_rate" 127.0.0.1 | tee "$work/read-rated.txt"
fi
stop_node
