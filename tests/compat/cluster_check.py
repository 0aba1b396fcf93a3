"""Drives a three-node Basalt cluster with the DataStax Python driver: the
driver discovers every node through system.peers, its token map puts each
key on the replicas the cluster itself names (`basalt nodetool getendpoints`),
and requests at QUORUM and ALL work through every node.

Usage: cluster_check.py BASE_PORT BASALT_BINARY
(nodes on 127.0.0.1-3, CQL on BASE_PORT, admin on BASE_PORT + 2).
Each check raises on failure; the script exits non-zero on the first one.
"""
import subprocess
import sys
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy, TokenAwarePolicy, WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

port, basalt = int(sys.argv[1]), sys.argv[2]
admin = port + 2
hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
# A DDL statement's response waits, in the driver, for every node to agree
# on the schema; each node makes the change durable with several fsyncs, so
# on a disk busy writing back (CI, right after a build) that can pass the
# driver's 10 s default. The check below still asserts that they agree.
DDL_TIMEOUT = 60


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def endpoints(keyspace, table, key):
    """The replicas of `key` as node 1 names them."""
    out = subprocess.run(
        [basalt, "nodetool", "-h", hosts[0], "-p", str(admin), "getendpoints", keyspace, table, key],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def connect(host, policy):
    profile = ExecutionProfile(load_balancing_policy=policy)
    return Cluster(
        [host],
        port=port,
        connect_timeout=10,
        max_schema_agreement_wait=DDL_TIMEOUT,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )


def wait_for_hosts(cluster, n, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        up = [h for h in cluster.metadata.all_hosts() if h.is_up]
        if len(up) >= n:
            return up
        time.sleep(0.5)
    return [h for h in cluster.metadata.all_hosts() if h.is_up]


def main():
    cluster = connect(hosts[0], TokenAwarePolicy(RoundRobinPolicy()))
    session = cluster.connect()
    up = wait_for_hosts(cluster, 3)
    check(sorted(h.address for h in up) == hosts, "the driver finds all three nodes through system.peers")
    token_map = cluster.metadata.token_map
    check(token_map is not None and len(token_map.ring) == 48, "the token map holds 3 x 16 vnode tokens")

    for ks, rf in (("compat_rf3", 3), ("compat_rf1", 1)):
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}",
            timeout=DDL_TIMEOUT,
        )
        session.execute(
            f"CREATE TABLE IF NOT EXISTS {ks}.kv (k text PRIMARY KEY, v text)", timeout=DDL_TIMEOUT
        )
    check(
        cluster.control_connection.wait_for_schema_agreement(wait_time=30),
        "schema agreement across the three nodes",
    )
    cluster.refresh_schema_metadata()

    owners = set()
    for i in range(40):
        key = f"key-{i}"
        routing_key = key.encode()
        for ks, rf in (("compat_rf3", 3), ("compat_rf1", 1)):
            replicas = sorted(h.address for h in cluster.metadata.get_replicas(ks, routing_key))
            if len(replicas) != rf or replicas != endpoints(ks, "kv", key):
                raise SystemExit(
                    f"FAILED: {ks} {key}: driver replicas {replicas}, nodetool {endpoints(ks, 'kv', key)}"
                )
            if rf == 1:
                owners.update(replicas)
    check(True, "the driver's token map names the replicas nodetool names (RF 3 and RF 1, 40 keys)")
    check(len(owners) == 3, "RF 1 keys spread over all three nodes")

    insert = session.prepare("INSERT INTO compat_rf3.kv (k, v) VALUES (?, ?)")
    insert.consistency_level = ConsistencyLevel.QUORUM
    for i in range(100):
        session.execute(insert, [f"row-{i}", f"value-{i}"])
    tokens = session.execute("SELECT k, token(k) FROM compat_rf3.kv")
    mismatched = [
        r.k for r in tokens if r[1] != token_map.token_class.from_key(r.k.encode()).value
    ]
    check(not mismatched, "token() on the cluster matches the driver's Murmur3 for every row")
    for host in hosts:
        single = connect(host, WhiteListRoundRobinPolicy([host]))
        s = single.connect()
        query = SimpleStatement(
            "SELECT k, v FROM compat_rf3.kv", consistency_level=ConsistencyLevel.ALL, fetch_size=30
        )
        rows = {r.k: r.v for r in s.execute(query) if r.k.startswith("row-")}
        single.shutdown()
        check(
            len(rows) == 100 and rows["row-7"] == "value-7",
            f"a paged scan at ALL coordinated by {host} returns every QUORUM write",
        )
    cluster.shutdown()


main()
