use super::*;
use crate::schema::system_keyspaces::with_system;
use crate::schema::version::schema_version;
use crate::schema::{ColumnKind, Replication, sort_columns};
use cql_lite::byte_comparable::Order;
use cql_lite::types::CqlType;
use proptest::prelude::*;

/// Table ids counted from 1, so tests are deterministic.
#[derive(Debug, Default)]
pub(crate) struct CountingIds(u128);

impl IdSource for CountingIds {
    fn table_id(&mut self, _seed: &[u8]) -> [u8; 16] {
        self.0 += 1;
        self.0.to_be_bytes()
    }
}

const DCS: &[String] = &[];

fn run(schema: &Schema, cql: &str) -> Result<Option<Change>, ErrorResponse> {
    let stmt = cql_lite::parse(cql).unwrap_or_else(|e| panic!("{cql}: {e:?}"));
    let ctx = DdlContext {
        session_keyspace: Some("ks"),
        timestamp_micros: 1_000,
        data_centers: DCS,
    };
    apply(schema, &stmt, &ctx, &mut DerivedIds)
}

/// Applies each statement in turn, all of which must change the schema.
pub(crate) fn build(cqls: &[&str]) -> Schema {
    let mut schema = with_system(Schema::default());
    for cql in cqls {
        schema = run(&schema, cql)
            .unwrap_or_else(|e| panic!("{cql}: {e:?}"))
            .unwrap_or_else(|| panic!("{cql}: no change"))
            .schema;
    }
    schema
}

fn err(schema: &Schema, cql: &str) -> ErrorResponse {
    match run(schema, cql) {
        Err(e) => e,
        Ok(c) => panic!("{cql} should fail, got {c:?}"),
    }
}

const KS: &str =
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

#[test]
fn create_keyspace_simple_and_network_topology() {
    let schema = build(&[
        KS,
        "CREATE KEYSPACE nts WITH replication = {'class': \
         'org.apache.cassandra.locator.NetworkTopologyStrategy', 'dc1': 3, 'dc2': '2'} \
         AND durable_writes = false",
    ]);
    assert_eq!(
        schema.keyspace("ks").unwrap().replication,
        Replication::Simple {
            replication_factor: 1
        }
    );
    let nts = schema.keyspace("nts").unwrap();
    assert!(!nts.durable_writes);
    assert_eq!(
        nts.replication,
        Replication::NetworkTopology {
            data_centers: [("dc1".to_owned(), 3), ("dc2".to_owned(), 2)].into()
        }
    );
}

#[test]
fn keyspace_errors_are_cassandras() {
    let schema = build(&[KS]);
    let e = err(&schema, KS);
    assert_eq!(
        e.kind,
        ErrorKind::AlreadyExists {
            keyspace: "ks".into(),
            table: String::new()
        }
    );
    assert!(
        run(&schema, &KS.replace("KEYSPACE", "KEYSPACE IF NOT EXISTS"))
            .unwrap()
            .is_none()
    );
    let e = err(
        &schema,
        "CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy'}",
    );
    assert_eq!(e.kind, ErrorKind::ConfigError);
    assert_eq!(
        e.message,
        "SimpleStrategy requires a replication_factor strategy option."
    );
    let e = err(
        &schema,
        "CREATE KEYSPACE k2 WITH replication = {'class': 'Nope', 'replication_factor': 1}",
    );
    assert_eq!(e.kind, ErrorKind::ConfigError);
    let e = err(
        &schema,
        "CREATE KEYSPACE k2 WITH foo = 1 AND replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    assert_eq!(e.kind, ErrorKind::SyntaxError);
    assert_eq!(e.message, "Unknown property 'foo'");
    let e = err(&schema, "DROP KEYSPACE nope");
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Invalid, "Keyspace 'nope' doesn't exist")
    );
    assert!(
        run(&schema, "DROP KEYSPACE IF EXISTS nope")
            .unwrap()
            .is_none()
    );
    assert_eq!(
        err(&schema, "DROP KEYSPACE system").kind,
        ErrorKind::Unauthorized
    );
    assert_eq!(
        err(&schema, "CREATE TABLE system.t (k int PRIMARY KEY)").kind,
        ErrorKind::Unauthorized
    );
}

#[test]
fn alter_keyspace_expands_the_nts_shorthand() {
    let stmt = cql_lite::parse(
        "CREATE KEYSPACE n WITH replication = {'class': 'NetworkTopologyStrategy', \
         'replication_factor': 3, 'dc2': 1}",
    )
    .unwrap();
    let dcs = ["dc1".to_owned(), "dc2".to_owned()];
    let ctx = DdlContext {
        session_keyspace: None,
        timestamp_micros: 0,
        data_centers: &dcs,
    };
    let change = apply(&Schema::default(), &stmt, &ctx, &mut CountingIds::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        change.schema.keyspace("n").unwrap().replication,
        Replication::NetworkTopology {
            data_centers: [("dc1".to_owned(), 3), ("dc2".to_owned(), 1)].into()
        }
    );
    let schema = build(&[KS, "ALTER KEYSPACE ks WITH durable_writes = false"]);
    assert!(!schema.keyspace("ks").unwrap().durable_writes);
}

#[test]
fn create_table_orders_columns_and_assigns_ids() {
    let schema = build(&[
        KS,
        "CREATE TABLE t (b int, a int, z text, c text, s int static, y frozen<list<int>>, \
         PRIMARY KEY ((b, a), z, c)) WITH CLUSTERING ORDER BY (z DESC, c ASC) \
         AND gc_grace_seconds = 10 AND compaction = {'class': 'LeveledCompactionStrategy'}",
    ]);
    let t = schema.table("ks", "t").unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["b", "a", "z", "c", "s", "y"]);
    let ids: Vec<u32> = t.columns.iter().map(|c| c.id.0).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    assert_eq!(t.next_column_id, 6);
    assert_eq!(t.column("z").unwrap().order, Order::Desc);
    assert_eq!(t.column("s").unwrap().kind, ColumnKind::Static);
    assert_eq!(t.column("a").unwrap().position, 1);
    assert_eq!(t.column("y").unwrap().ty, CqlType::list(CqlType::Int, true));
    assert_eq!(t.params.gc_grace_seconds, 10);
    assert_eq!(
        t.params.compaction["class"],
        "org.apache.cassandra.db.compaction.LeveledCompactionStrategy"
    );
    assert_eq!(t.params.compaction["min_threshold"], "4");
    assert_eq!(t.id[6] >> 4, 3, "a name-based (derived) uuid");
}

#[expect(clippy::too_many_lines, reason = "one table of cases, each a line")]
#[test]
fn create_table_errors() {
    let schema = build(&[KS, "CREATE TABLE t (k int PRIMARY KEY, v int)"]);
    let cases: &[(&str, ErrorKind)] = &[
        (
            "CREATE TABLE t (k int PRIMARY KEY)",
            ErrorKind::AlreadyExists {
                keyspace: "ks".into(),
                table: "t".into(),
            },
        ),
        (
            "CREATE TABLE nope.t (k int PRIMARY KEY)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY, s int static)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k list<int> PRIMARY KEY)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int, c duration, PRIMARY KEY (k, c))",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY, v counter)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY, v list<list<int>>)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY, v frozen<int>)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int, c int, d int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (d ASC, c ASC)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (k ASC)",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH nope = 1",
            ErrorKind::SyntaxError,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH gc_grace_seconds = -1",
            ErrorKind::ConfigError,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH default_time_to_live = 630720001",
            ErrorKind::ConfigError,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH compaction = {'class': 'Foo'}",
            ErrorKind::ConfigError,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH compaction = {'class': 'SizeTieredCompactionStrategy', 'x': '1'}",
            ErrorKind::ConfigError,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH compression = {'class': 'LZ4Compressor', 'chunk_length_in_kb': 3}",
            ErrorKind::ConfigError,
        ),
        (
            "CREATE TABLE u (k int PRIMARY KEY) WITH bloom_filter_fp_chance = 0",
            ErrorKind::ConfigError,
        ),
        (
            "CREATE TABLE u (k int, v int, k int, PRIMARY KEY (k))",
            ErrorKind::Invalid,
        ),
        (
            "CREATE TABLE u (k int, PRIMARY KEY (x))",
            ErrorKind::Invalid,
        ),
    ];
    for (cql, kind) in cases {
        assert_eq!(&err(&schema, cql).kind, kind, "{cql}");
    }
    assert!(
        run(&schema, "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)")
            .unwrap()
            .is_none()
    );
    let e = err(
        &schema,
        "CREATE TABLE u (k int, c int, d int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (c ASC)",
    );
    assert_eq!(
        e.message,
        "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive"
    );
    let stmt = cql_lite::parse("CREATE TABLE u (k int PRIMARY KEY)").unwrap();
    let ctx = DdlContext {
        session_keyspace: None,
        timestamp_micros: 0,
        data_centers: DCS,
    };
    let e = apply(&schema, &stmt, &ctx, &mut CountingIds::default()).unwrap_err();
    assert!(e.message.starts_with("No keyspace has been specified"));
}

#[expect(clippy::too_many_lines, reason = "one table of cases, each a line")]
#[test]
fn alter_table_add_drop_rename_with() {
    let schema = build(&[
        KS,
        "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))",
        "ALTER TABLE t ADD w text",
        "ALTER TABLE t DROP v",
        "ALTER TABLE t ADD v map<text, int>",
        "ALTER TABLE t RENAME c TO cc",
        "ALTER TABLE t WITH comment = 'hi' AND default_time_to_live = 60",
    ]);
    let t = schema.table("ks", "t").unwrap();
    let cols: Vec<(&str, u32)> = t
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.id.0))
        .collect();
    assert_eq!(cols, [("k", 0), ("cc", 1), ("v", 4), ("w", 3)]);
    assert_eq!(t.next_column_id, 5);
    assert_eq!(t.dropped.len(), 1);
    // Every statement ran at 1 000 µs; each is stamped after the one before.
    assert_eq!((t.dropped[0].id.0, t.dropped[0].dropped_at), (2, 1_003));
    assert_eq!(t.params.comment, "hi");
    assert_eq!(t.params.default_time_to_live, 60);

    let cases: &[(&str, ErrorKind, &str)] = &[
        (
            "ALTER TABLE t ADD w int",
            ErrorKind::Invalid,
            "Column with name 'w' already exists",
        ),
        (
            "ALTER TABLE t DROP k",
            ErrorKind::Invalid,
            "Cannot drop PRIMARY KEY column k",
        ),
        (
            "ALTER TABLE t DROP nope",
            ErrorKind::Invalid,
            "Column nope was not found in table 'ks.t'",
        ),
        (
            "ALTER TABLE nope ADD x int",
            ErrorKind::Invalid,
            "Table 'ks.nope' doesn't exist",
        ),
        (
            "ALTER TABLE t RENAME w TO x",
            ErrorKind::Invalid,
            "Cannot rename non PRIMARY KEY column w",
        ),
        (
            "ALTER TABLE t WITH nope = 1",
            ErrorKind::SyntaxError,
            "Unknown property 'nope'",
        ),
        (
            "DROP TABLE nope",
            ErrorKind::Invalid,
            "Table 'ks.nope' doesn't exist",
        ),
    ];
    for (cql, kind, message) in cases {
        let e = err(&schema, cql);
        assert_eq!((&e.kind, e.message.as_str()), (kind, *message), "{cql}");
    }
    assert!(
        run(&schema, "ALTER TABLE t ADD IF NOT EXISTS w int")
            .unwrap()
            .is_none()
    );
    assert!(
        run(&schema, "ALTER TABLE t DROP IF EXISTS nope")
            .unwrap()
            .is_none()
    );
    assert!(
        run(&schema, "ALTER TABLE t WITH comment = 'hi'")
            .unwrap()
            .is_none()
    );
    assert!(run(&schema, "DROP TABLE IF EXISTS nope").unwrap().is_none());
    let dropped = run(&schema, "DROP TABLE t").unwrap().unwrap();
    assert!(dropped.schema.table("ks", "t").is_none());
    assert_eq!(
        dropped.event,
        SchemaChange {
            change_type: SchemaChangeType::Dropped,
            target: SchemaChangeTarget::Table {
                keyspace: "ks".into(),
                table: "t".into()
            }
        }
    );
}

#[test]
fn storage_options_follow_the_params() {
    let schema = build(&[
        KS,
        "CREATE TABLE t (k int PRIMARY KEY) WITH compaction = {'class': \
         'TimeWindowCompactionStrategy', 'compaction_window_unit': 'HOURS', \
         'compaction_window_size': 2} AND compression = {'class': 'LZ4Compressor', \
         'chunk_length_in_kb': 16} AND gc_grace_seconds = 5 AND default_time_to_live = 7 \
         AND bloom_filter_fp_chance = 0.1 AND memtable_flush_period_in_ms = 60000",
        "CREATE TABLE u (k int PRIMARY KEY) WITH compression = {'enabled': false}",
    ]);
    let o = storage_options(&schema.table("ks", "t").unwrap().params).unwrap();
    match o.compaction {
        storage::CompactionStrategyOptions::TimeWindow(w) => {
            assert_eq!(w.window_size_seconds, 7_200);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(o.compression.chunk_length_bytes, 16 * 1024);
    assert_eq!((o.gc_grace_seconds, o.default_ttl_seconds), (5, 7));
    assert_eq!(o.bloom_fp_chance, 0.1);
    assert_eq!(o.memtable_flush_period_ms, 60_000);
    let u = storage_options(&schema.table("ks", "u").unwrap().params).unwrap();
    assert_eq!(u.memtable_flush_period_ms, 0);
    assert_eq!(u.compression.compression, storage::Compression::None);
    assert!(storage_options(&crate::schema::TableParams::default()).is_ok());
}

#[test]
fn ddl_stamps_what_it_changes_and_no_op_ddl_changes_nothing() {
    let schema = build(&[
        KS,
        "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))",
        "ALTER TABLE t ADD w text",
    ]);
    let ks = schema.keyspace("ks").unwrap();
    assert_eq!((ks.created_at, ks.altered_at), (1_000, 1_000));
    let t = schema.table("ks", "t").unwrap();
    assert_eq!((t.created_at, t.altered_at), (1_001, 1_001));
    assert_eq!(t.column("v").unwrap().added_at, 1_001);
    assert_eq!(t.column("w").unwrap().added_at, 1_002);
    let version = schema_version(&schema);
    for no_op in [
        "ALTER KEYSPACE ks WITH durable_writes = true",
        "ALTER TABLE t WITH gc_grace_seconds = 864000",
        "ALTER TABLE t ADD IF NOT EXISTS w text",
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    ] {
        assert!(run(&schema, no_op).unwrap().is_none(), "{no_op}");
    }
    assert_eq!(schema_version(&schema), version);
    let altered = run(&schema, "ALTER TABLE t WITH comment = 'c'")
        .unwrap()
        .unwrap();
    assert_eq!(altered.schema.table("ks", "t").unwrap().altered_at, 1_003);
    assert_ne!(schema_version(&altered.schema), version);
    let renamed = run(&schema, "ALTER TABLE t RENAME c TO cc")
        .unwrap()
        .unwrap();
    let cc = renamed
        .schema
        .table("ks", "t")
        .unwrap()
        .column("cc")
        .unwrap()
        .clone();
    assert_eq!((cc.id.0, cc.added_at), (1, 1_003));
    let dropped = run(&schema, "DROP TABLE t").unwrap().unwrap().schema;
    let ks = dropped.keyspace("ks").unwrap();
    let tomb = &ks.dropped_tables[&("t".to_owned(), t.id)];
    assert_eq!((tomb.created_at, tomb.dropped_at), (1_001, 1_003));
    assert_ne!(schema_version(&dropped), version);
    let gone = run(&dropped, "DROP KEYSPACE ks").unwrap().unwrap().schema;
    assert_eq!(gone.dropped_keyspaces["ks"].dropped_at, 1_004);
    let again = run(&gone, KS).unwrap().unwrap().schema;
    assert_eq!(again.keyspace("ks").unwrap().created_at, 1_005);
}

#[test]
fn an_explicit_table_id_is_never_given_twice() {
    let schema = build(&[
        KS,
        "CREATE TABLE ks.t (k int PRIMARY KEY) WITH id = 5a1c395e-b41f-11e5-9f22-ba0be0483c18",
    ]);
    let id = schema.table("ks", "t").unwrap().id;
    assert_eq!(
        crate::uuids::format_uuid(&id),
        "5a1c395e-b41f-11e5-9f22-ba0be0483c18"
    );
    let same =
        "CREATE TABLE ks.u (k int PRIMARY KEY) WITH id = 5a1c395e-b41f-11e5-9f22-ba0be0483c18";
    assert!(run(&schema, same).is_err(), "a live table has it");
    let dropped = run(&schema, "DROP TABLE t").unwrap().unwrap().schema;
    let again =
        "CREATE TABLE ks.t (k int PRIMARY KEY) WITH id = 5a1c395e-b41f-11e5-9f22-ba0be0483c18";
    let e = run(&dropped, again).unwrap_err();
    assert!(
        e.message.contains("was used by a dropped table"),
        "{}",
        e.message
    );
    // Without the option, the re-create gets a new derived id.
    assert!(
        run(&dropped, "CREATE TABLE ks.t (k int PRIMARY KEY)")
            .unwrap()
            .is_some()
    );
}

// ------------------------------------------------------------------ proptest

fn statement() -> impl Strategy<Value = String> {
    let table = prop::sample::select(vec!["t1", "t2", "t3"]);
    let column = prop::sample::select(vec!["a", "b", "c", "d"]);
    let ty = prop::sample::select(vec!["int", "text", "set<int>", "frozen<list<text>>"]);
    prop_oneof![
        Just(KS.to_owned()),
        Just("DROP KEYSPACE IF EXISTS ks".to_owned()),
        (table.clone(), any::<bool>()).prop_map(|(t, ck)| if ck {
            format!("CREATE TABLE IF NOT EXISTS {t} (k int, c text, s int static, v int, PRIMARY KEY (k, c))")
        } else {
            format!("CREATE TABLE IF NOT EXISTS {t} (k int PRIMARY KEY, v int)")
        }),
        table.clone().prop_map(|t| format!("DROP TABLE IF EXISTS {t}")),
        (table.clone(), column.clone(), ty)
            .prop_map(|(t, c, ty)| format!("ALTER TABLE {t} ADD {c} {ty}")),
        (table.clone(), column).prop_map(|(t, c)| format!("ALTER TABLE {t} DROP {c}")),
        (table, 0..3i32).prop_map(|(t, g)| format!("ALTER TABLE {t} WITH gc_grace_seconds = {g}")),
    ]
}

pub(crate) fn check_invariants(schema: &Schema) {
    for table in schema.keyspaces.values().flat_map(|k| k.tables.values()) {
        let mut ids: Vec<u32> = table.columns.iter().map(|c| c.id.0).collect();
        ids.extend(table.dropped.iter().map(|d| d.id.0));
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "column ids are never reused");
        assert!(ids.iter().all(|id| *id < table.next_column_id));
        for kind in [ColumnKind::PartitionKey, ColumnKind::Clustering] {
            let positions: Vec<usize> = table
                .columns
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.position)
                .collect();
            assert_eq!(positions, (0..positions.len()).collect::<Vec<_>>());
        }
        let mut sorted = table.columns.clone();
        sort_columns(&mut sorted);
        assert_eq!(sorted, table.columns);
    }
}

proptest! {
    #[test]
    fn random_ddl_keeps_the_invariants(stmts in prop::collection::vec(statement(), 1..30)) {
        let mut schema = with_system(Schema::default());
        let mut ids = CountingIds::default();
        let mut all_ids: BTreeMap<(String, String, [u8; 16]), u32> = BTreeMap::new();
        for (i, cql) in stmts.iter().enumerate() {
            let stmt = cql_lite::parse(cql).unwrap();
            let ctx = DdlContext {
                session_keyspace: Some("ks"),
                timestamp_micros: i as i64,
                data_centers: DCS,
            };
            let before = schema_version(&schema);
            if let Ok(Some(change)) = apply(&schema, &stmt, &ctx, &mut ids) {
                prop_assert_ne!(&change.schema, &schema);
                prop_assert_ne!(schema_version(&change.schema), before);
                schema = change.schema;
            }
            check_invariants(&schema);
            // A table's id never hands out a column id twice over its life.
            for t in schema.keyspaces.values().flat_map(|k| k.tables.values()) {
                let key = (t.keyspace.clone(), t.name.clone(), t.id);
                let last = all_ids.entry(key).or_insert(0);
                prop_assert!(t.next_column_id >= *last);
                *last = t.next_column_id;
            }
        }
        let version = schema_version(&schema);
        let reencoded = crate::schema::codec::decode(&crate::schema::codec::encode(&schema)).unwrap();
        prop_assert_eq!(schema_version(&with_system(reencoded)), version);
    }
}

use std::collections::BTreeMap;
