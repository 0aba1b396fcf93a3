#!/usr/bin/env bash
# Compatibility check with the Python ecosystem: installs the DataStax Python
# driver and cqlsh from PyPI into a virtual environment, starts a release node
# on a private port and data directory, and runs check.py against it through
# both; then starts three nodes with `basalt cluster` (127.0.0.1-3, CQL on the
# port + 10) and runs cluster_check.py against them.
# Usage: tests/compat/python.sh  (from the repository root).
# BASALT_PROFILE=debug uses a debug build (CI already has one) instead of release.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${BASALT_COMPAT_DIR:-$root/target/compat}"
venv="$work/venv"
port="${BASALT_COMPAT_PORT:-19042}"

mkdir -p "$work"
if [ ! -x "$venv/bin/cqlsh" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        'cassandra-driver==3.30.1' 'cqlsh==6.2.2'
fi

profile="${BASALT_PROFILE:-release}"
if [ "$profile" = release ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin basalt
else
    cargo build --quiet --manifest-path "$root/Cargo.toml" --bin basalt
fi
rm -rf "$work/data"
"$root/target/$profile/basalt" server --data-dir "$work/data" \
    --native-transport-port "$port" >"$work/node.log" 2>&1 &
node=$!
trap 'kill -TERM $node 2>/dev/null || true; wait $node 2>/dev/null || true' EXIT

# The node is up when its port accepts connections (30 s at most).
for _ in $(seq 1 300); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done

export CQLSH_NO_BUNDLED=TRUE
# On a failure, the end of each node's log says what the node was doing.
show_logs() {
    for log in "$@"; do
        [ -f "$log" ] || continue
        echo "--- last lines of $log"
        tail -n 40 "$log"
    done
}
if ! timeout 300 "$venv/bin/python" "$root/tests/compat/check.py" 127.0.0.1 "$port" "$venv/bin/cqlsh"; then
    show_logs "$work/node.log"
    exit 1
fi
echo "python compatibility: ok"

# The same driver against three nodes (127.0.0.1-3): discovery through
# system.peers, the token map against nodetool getendpoints, QUORUM and ALL.
cluster_dir="$work/cluster"
cluster_port=$((port + 10))
bin="$root/target/$profile/basalt"
"$bin" cluster --dir "$cluster_dir" clear >/dev/null 2>&1 || true
trap '"$bin" cluster --dir "$cluster_dir" clear >/dev/null 2>&1 || true; kill -TERM $node 2>/dev/null || true; wait $node 2>/dev/null || true' EXIT
"$bin" cluster --dir "$cluster_dir" start --nodes 3 --base-port "$cluster_port"
if ! timeout 300 "$venv/bin/python" "$root/tests/compat/cluster_check.py" "$cluster_port" "$bin"; then
    show_logs "$cluster_dir"/node*/node.log
    exit 1
fi
echo "python cluster compatibility: ok"
