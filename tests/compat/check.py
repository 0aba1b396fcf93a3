"""Drives a Basalt node with the DataStax Python driver and with cqlsh.

Each check raises on failure; the script exits non-zero on the first one.
"""
import subprocess
import sys
import uuid

from cassandra.cluster import Cluster
from cassandra.query import BatchStatement, SimpleStatement

host, port, cqlsh = sys.argv[1], int(sys.argv[2]), sys.argv[3]


# DDL makes the change durable with several fsyncs, which a disk busy
# writing back (CI, right after a build) can stretch past the driver's 10 s.
DDL_TIMEOUT = 60


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def driver_checks():
    cluster = Cluster([host], port=port, connect_timeout=10)
    session = cluster.connect()
    check(cluster.metadata.cluster_name is not None, "driver connects and reads system.local")
    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS compat WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        timeout=DDL_TIMEOUT,
    )
    session.set_keyspace("compat")
    session.execute(
        "CREATE TABLE IF NOT EXISTS events (id int, at timestamp, tags set<text>, "
        "body text, PRIMARY KEY (id, at)) WITH CLUSTERING ORDER BY (at DESC)",
        timeout=DDL_TIMEOUT,
    )
    check("events" in cluster.metadata.keyspaces["compat"].tables, "DDL visible in driver metadata")
    table = cluster.metadata.keyspaces["compat"].tables["events"]
    check([c.name for c in table.clustering_key] == ["at"], "clustering key in metadata")

    insert = session.prepare("INSERT INTO events (id, at, tags, body) VALUES (?, ?, ?, ?)")
    batch = BatchStatement()
    for i in range(50):
        batch.add(insert, (i % 5, 1_700_000_000_000 + i, {"a", f"t{i}"}, f"body {i}"))
    session.execute(batch)
    rows = list(session.execute(SimpleStatement("SELECT * FROM events", fetch_size=7)))
    check(len(rows) == 50, "paged full scan returns every row")
    one = list(session.execute("SELECT id, at, body FROM events WHERE id = %s LIMIT 3", (2,)))
    check(len(one) == 3 and one[0].at > one[1].at, "descending clustering order and LIMIT")
    count = session.execute("SELECT count(*) FROM events WHERE id = 1").one()[0]
    check(count == 10, "count(*)")
    token = session.execute("SELECT token(id) FROM events WHERE id = 1 LIMIT 1").one()[0]
    check(token == -4069959284402364209, "token() matches Cassandra's Murmur3")
    session.execute("DELETE FROM events WHERE id = 1")
    check(session.execute("SELECT * FROM events WHERE id = 1").one() is None, "partition delete")
    key = uuid.uuid4()
    session.execute("CREATE TABLE IF NOT EXISTS kv (k uuid PRIMARY KEY, v text)", timeout=DDL_TIMEOUT)
    session.execute("INSERT INTO kv (k, v) VALUES (%s, %s) USING TTL 100", (key, "x"))
    ttl = session.execute("SELECT ttl(v) FROM kv WHERE k = %s", (key,)).one()[0]
    check(0 < ttl <= 100, "TTL and ttl()")
    cluster.shutdown()


def cqlsh_checks():
    def run(statement):
        out = subprocess.run(
            [cqlsh, host, str(port), "-e", statement],
            capture_output=True, text=True, timeout=60,
        )
        if out.returncode != 0:
            raise SystemExit(f"FAILED: cqlsh {statement!r}: {out.stderr}")
        return out.stdout

    out = run("SELECT id, body FROM compat.events WHERE id = 3 LIMIT 2;")
    check("body 48" in out and "(2 rows)" in out, "cqlsh SELECT")
    out = run("DESCRIBE KEYSPACES;")
    check("compat" in out and "system_schema" in out, "cqlsh DESCRIBE KEYSPACES")
    out = run("DESCRIBE TABLE compat.events;")
    check("CREATE TABLE compat.events" in out and "CLUSTERING ORDER BY (at DESC)" in out,
          "cqlsh DESCRIBE TABLE")
    run("INSERT INTO compat.kv (k, v) VALUES (uuid(), 'from cqlsh');")
    out = run("SELECT v FROM compat.kv;")
    check("from cqlsh" in out, "cqlsh INSERT then SELECT")


driver_checks()
cqlsh_checks()
