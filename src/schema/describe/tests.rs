use super::*;
use crate::schema::ddl::tests::build;
use crate::schema::system::tests::node;

fn schema() -> Schema {
    build(&[
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE KEYSPACE nts WITH replication = {'class': 'NetworkTopologyStrategy', 'DC1': 3} \
         AND durable_writes = false",
        "CREATE TABLE ks.kv (k int PRIMARY KEY, v text)",
        "CREATE TABLE ks.\"Wide\" (a int, b text, c timeuuid, s int static, v map<text, int>, \
         \"select\" int, PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC) \
         AND comment = 'it''s' AND compaction = {'class': 'LeveledCompactionStrategy', \
         'sstable_size_in_mb': 64}",
    ])
}

fn texts(rows: &Rows) -> Vec<Vec<String>> {
    rows.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| String::from_utf8(c.as_ref().unwrap().to_vec()).unwrap())
                .collect()
        })
        .collect()
}

fn run(stmt: &str, session: Option<&str>) -> Result<Rows, ErrorResponse> {
    let cql_lite::ast::Statement::Describe(d) = cql_lite::parse(stmt).unwrap() else {
        panic!("{stmt} is not DESCRIBE");
    };
    describe(&schema(), &d, session, &SystemTables::new(node()))
}

const KV: &str = "CREATE TABLE ks.kv (
    k int PRIMARY KEY,
    v text
) WITH additional_write_policy = '99p'
    AND bloom_filter_fp_chance = 0.01
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND cdc = false
    AND comment = ''
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}
    AND compression = {'chunk_length_in_kb': '4', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
    AND crc_check_chance = 1.0
    AND default_time_to_live = 0
    AND extensions = {}
    AND gc_grace_seconds = 864000
    AND max_index_interval = 2048
    AND memtable_flush_period_in_ms = 0
    AND min_index_interval = 128
    AND read_repair = 'BLOCKING'
    AND speculative_retry = '99p';";

const WIDE_HEAD: &str = "CREATE TABLE ks.\"Wide\" (
    a int,
    b text,
    c timeuuid,
    s int static,
    \"select\" int,
    v map<text, int>,
    PRIMARY KEY ((a, b), c)
) WITH CLUSTERING ORDER BY (c DESC)
    AND additional_write_policy = '99p'";

#[test]
fn describe_table_matches_cassandra_4() {
    let rows = run("DESCRIBE TABLE ks.kv", None).unwrap();
    let Columns::Specs(specs) = &rows.metadata.columns else {
        panic!("specs")
    };
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["keyspace_name", "type", "name", "create_statement"]);
    assert!(
        specs
            .iter()
            .all(|s| s.keyspace == "system" && s.table == "describe")
    );
    assert_eq!(texts(&rows), [["ks", "table", "kv", KV]]);
    let wide = &texts(&run("DESC \"Wide\"", Some("ks")).unwrap())[0][3];
    assert!(wide.starts_with(WIDE_HEAD), "{wide}");
    assert!(wide.contains("AND comment = 'it''s'"));
    assert!(wide.contains(
        "compaction = {'class': 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy', \
         'max_threshold': '32', 'min_threshold': '4', 'sstable_size_in_mb': '64'}"
    ));
}

#[test]
fn describe_keyspace_lists_its_statements() {
    let rows = texts(&run("DESCRIBE KEYSPACE ks", None).unwrap());
    assert_eq!(
        rows[0][3],
        "CREATE KEYSPACE ks WITH replication = {'class': \
         'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '1'}  AND \
         durable_writes = true;"
    );
    assert_eq!(rows.len(), 3);
    let only = texts(&run("DESCRIBE ONLY KEYSPACE nts", None).unwrap());
    assert_eq!(
        only,
        [[
            "nts",
            "keyspace",
            "nts",
            "CREATE KEYSPACE nts WITH replication = {'class': \
             'org.apache.cassandra.locator.NetworkTopologyStrategy', 'DC1': '3'}  AND \
             durable_writes = false;"
        ]]
    );
}

#[test]
fn listings_and_schema() {
    let keyspaces = texts(&run("DESCRIBE KEYSPACES", None).unwrap());
    assert!(keyspaces.contains(&vec!["ks".into(), "keyspace".into(), "ks".into()]));
    assert!(keyspaces.iter().any(|r| r[0] == "system"));
    let tables = texts(&run("DESCRIBE TABLES", Some("ks")).unwrap());
    assert_eq!(tables.len(), 2);
    let schema_rows = texts(&run("DESCRIBE SCHEMA", None).unwrap());
    assert!(schema_rows.iter().all(|r| !r[0].starts_with("system")));
    assert_eq!(schema_rows.len(), 4);
    let full = texts(&run("DESCRIBE FULL SCHEMA", None).unwrap());
    assert!(full.iter().any(|r| r[2] == "local"));
    assert!(run("DESCRIBE TYPES", None).unwrap().rows.is_empty());
}

#[test]
fn describe_errors() {
    let e = run("DESCRIBE KEYSPACE nope", None).unwrap_err();
    assert_eq!(e.message, "'nope' not found in keyspaces");
    let e = run("DESCRIBE TABLE ks.nope", None).unwrap_err();
    assert_eq!(e.message, "'nope' not found in keyspace 'ks'");
    assert!(run("DESCRIBE TABLE t", None).is_err());
}

#[test]
fn describe_cluster_adds_ownership_in_a_user_keyspace() {
    let rows = run("DESCRIBE CLUSTER", None).unwrap();
    assert_eq!(rows.metadata.columns.count(), 3);
    assert_eq!(
        texts(&rows),
        [[
            "Test Cluster",
            "org.apache.cassandra.dht.Murmur3Partitioner",
            SNITCH
        ]]
    );
    let rows = run("DESCRIBE CLUSTER", Some("ks")).unwrap();
    assert_eq!(rows.metadata.columns.count(), 4);
    let ownership =
        value::deserialize(&ownership_type(), rows.rows[0][3].as_ref().unwrap()).unwrap();
    let CqlValue::Map(entries) = ownership else {
        panic!("map")
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].1,
        CqlValue::List(vec![CqlValue::Text("127.0.0.1:7000".into())])
    );
}

#[test]
fn java_doubles() {
    assert_eq!(java_double(0.01), "0.01");
    assert_eq!(java_double(1.0), "1.0");
    assert_eq!(java_double(0.1), "0.1");
    assert_eq!(java_double(1e-5), "1.0E-5");
}
