use super::*;
use crate::schema::ddl::tests::build;
use std::net::Ipv4Addr;

pub(crate) fn node() -> NodeInfo {
    NodeInfo {
        cluster_name: "Test Cluster".into(),
        listen_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        listen_port: 7000,
        rpc_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        native_port: 9042,
        data_center: "datacenter1".into(),
        rack: "rack1".into(),
        host_id: [7; 16],
        tokens: vec![-5, 10],
        partitioner: crate::schema::system_keyspaces::PARTITIONER.into(),
        release_version: crate::schema::RELEASE_VERSION.into(),
        cql_version: crate::schema::CQL_VERSION.into(),
        gossip_generation: 1_700_000_000,
    }
}

fn schema() -> Schema {
    build(&[
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.t (k int, c int, v frozen<list<int>>, PRIMARY KEY (k, c)) \
         WITH CLUSTERING ORDER BY (c DESC)",
        "ALTER TABLE ks.t DROP v",
    ])
}

fn rows(schema: &Schema, ks: &str, t: &str) -> (Arc<TableDef>, Vec<Vec<Option<CqlValue>>>) {
    let tables = SystemTables::new(node());
    let table = schema.table(ks, t).unwrap().clone();
    let rows = tables.rows(schema, &table).unwrap();
    for row in &rows {
        assert_eq!(row.len(), table.columns.len());
    }
    (table, rows)
}

fn get<'a>(table: &TableDef, row: &'a [Option<CqlValue>], column: &str) -> &'a Option<CqlValue> {
    let i = table.columns.iter().position(|c| c.name == column).unwrap();
    &row[i]
}

use std::sync::Arc;

#[test]
fn system_local_is_one_row_with_the_schema_version() {
    let schema = schema();
    let (t, rows) = rows(&schema, "system", "local");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(get(&t, row, "key"), &Some(CqlValue::Text("local".into())));
    assert_eq!(
        get(&t, row, "schema_version"),
        &Some(CqlValue::Uuid(schema_version(&schema)))
    );
    assert_eq!(
        get(&t, row, "release_version"),
        &Some(CqlValue::Text("5.0.0".into()))
    );
    assert_eq!(
        get(&t, row, "tokens"),
        &Some(CqlValue::Set(vec![
            CqlValue::Text("-5".into()),
            CqlValue::Text("10".into())
        ]))
    );
    assert_eq!(get(&t, row, "truncated_at"), &None);
}

#[test]
fn system_local_shows_the_truncated_tables() {
    let schema = schema();
    let t = schema.table("ks", "t").unwrap().clone();
    let id = t.table_id();
    let times: TruncationTimes =
        Arc::new(move |table| (table == id).then_some(1_700_000_000_123_456));
    let tables = SystemTables::new(node()).with_truncation_times(times);
    let local = schema.table("system", "local").unwrap().clone();
    let rows = tables.rows(&schema, &local).unwrap();
    let mut record = vec![0u8; 12];
    record.extend_from_slice(&1_700_000_000_123i64.to_be_bytes());
    assert_eq!(
        get(&local, &rows[0], "truncated_at"),
        &Some(CqlValue::Map(vec![(
            CqlValue::Uuid(t.id),
            CqlValue::Blob(record)
        )]))
    );
}

#[test]
fn peers_are_empty_until_set() {
    let schema = schema();
    assert!(rows(&schema, "system", "peers_v2").1.is_empty());
    let tables = SystemTables::new(node());
    tables.set_peers(vec![PeerInfo {
        address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        port: 7000,
        native_address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        native_port: 9042,
        data_center: "dc".into(),
        rack: "r".into(),
        host_id: [1; 16],
        tokens: vec![1],
        release_version: "5.0.0".into(),
        schema_version: None,
    }]);
    let peers = schema.table("system", "peers").unwrap();
    let rows = tables.rows(&schema, peers).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(get(peers, &rows[0], "rpc_address").is_some());
}

#[test]
fn system_schema_describes_user_and_system_tables() {
    let schema = schema();
    let (t, ks_rows) = rows(&schema, "system_schema", "keyspaces");
    let ks = ks_rows
        .iter()
        .find(|r| get(&t, r, "keyspace_name") == &Some(CqlValue::Text("ks".into())))
        .unwrap();
    assert_eq!(
        get(&t, ks, "replication"),
        &Some(CqlValue::Map(vec![
            (
                CqlValue::Text("class".into()),
                CqlValue::Text("org.apache.cassandra.locator.SimpleStrategy".into())
            ),
            (
                CqlValue::Text("replication_factor".into()),
                CqlValue::Text("1".into())
            ),
        ]))
    );
    let (t, table_rows) = rows(&schema, "system_schema", "tables");
    assert!(
        table_rows.iter().all(|r| get(&t, r, "flags")
            == &Some(CqlValue::Set(vec![CqlValue::Text("compound".into())])))
    );
    assert!(
        table_rows
            .iter()
            .any(|r| get(&t, r, "table_name") == &Some(CqlValue::Text("local".into())))
    );
    let (t, columns) = rows(&schema, "system_schema", "columns");
    assert!(
        columns
            .iter()
            .all(|r| get(&t, r, "clustering_order").is_some())
    );
    let c = columns
        .iter()
        .find(|r| {
            get(&t, r, "keyspace_name") == &Some(CqlValue::Text("ks".into()))
                && get(&t, r, "column_name") == &Some(CqlValue::Text("c".into()))
        })
        .unwrap();
    assert_eq!(
        get(&t, c, "clustering_order"),
        &Some(CqlValue::Text("desc".into()))
    );
    assert_eq!(get(&t, c, "position"), &Some(CqlValue::Int(0)));
    let (t, dropped) = rows(&schema, "system_schema", "dropped_columns");
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        get(&t, &dropped[0], "type"),
        &Some(CqlValue::Text("frozen<list<int>>".into()))
    );
    assert!(rows(&schema, "system_schema", "views").1.is_empty());
}

#[test]
fn rows_are_sorted_by_key() {
    let schema = schema();
    let (t, columns) = rows(&schema, "system_schema", "columns");
    let keys: Vec<Vec<Option<CqlValue>>> = columns.iter().map(|r| r[..3].to_vec()).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| {
        let text = |v: &Option<CqlValue>| match v {
            Some(CqlValue::Text(s)) => s.clone(),
            _ => String::new(),
        };
        a.iter().map(text).cmp(b.iter().map(text))
    });
    assert_eq!(keys, sorted);
    assert_eq!(t.columns[2].name, "column_name");
}
