#!/usr/bin/env bash
# jepsen-like in CI: the unit tests, then, where network namespaces can be
# created (root or CAP_NET_ADMIN), one short process-tier run with the `ci`
# profile (3 nodes, 60 s, partitions, kill, pause) against the debug build of
# basalt. Every step is bounded in time; the run tears its hosts down itself,
# also when the timeout below sends it SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0

timeout 1200 cargo test -p jepsen-like

if ip netns add jl-probe 2>/dev/null; then
    ip netns del jl-probe
else
    echo "skip: no network namespaces"
    exit 0
fi

if [ ! -x target/debug/basalt ]; then
    timeout 1800 cargo build -p basalt
fi
timeout 1200 cargo build -p jepsen-like
# The run's own hard deadline is its time plus 3 minutes; this is the backstop.
status=0
timeout --kill-after=30 420 target/debug/jepsen-like run --profile ci \
    --binary target/debug/basalt "$@" || status=$?
exit "$status"
