use super::*;
use cql_lite::{SchemaChangeTarget, SchemaChangeType};
use storage::EngineOptions;
use storage::ManualClock;
use storage::sim::SimFs;

fn engine(fs: &SimFs) -> Arc<Engine> {
    let options = EngineOptions::new("/data", Arc::new(ManualClock::new(1_700_000_000)));
    Arc::new(Engine::open(Arc::new(fs.clone()), options).unwrap())
}

fn open(fs: &SimFs, engine: Arc<Engine>) -> SchemaService {
    SchemaService::open(
        Arc::new(fs.clone()),
        Path::new("/data"),
        engine,
        vec!["dc1".into()],
    )
    .unwrap()
}

async fn exec(service: &SchemaService, cql: &str) -> Result<Option<SchemaChange>, ErrorResponse> {
    let stmt = cql_lite::parse(cql).unwrap();
    service.execute(&stmt, Some("ks"), 1_000).await
}

const KS: &str =
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

#[tokio::test]
async fn ddl_creates_storage_persists_and_announces() {
    let fs = SimFs::new();
    let engine = engine(&fs);
    let service = open(&fs, engine.clone());
    let v0 = service.version();
    let mut events = service.subscribe();
    let change = exec(&service, KS).await.unwrap().unwrap();
    assert_eq!(change.change_type, SchemaChangeType::Created);
    assert_eq!(events.recv().await.unwrap(), change);
    exec(&service, "CREATE TABLE t (k int PRIMARY KEY, v int)")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(service.version(), v0);
    let id = service.current().table("ks", "t").unwrap().table_id();
    assert!(engine.tables().contains(&id));
    exec(&service, "ALTER TABLE t WITH gc_grace_seconds = 5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(engine.table_options(id).unwrap().gc_grace_seconds, 5);
    assert!(
        exec(&service, "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)")
            .await
            .unwrap()
            .is_none()
    );
    assert!(exec(&service, "DROP TABLE nope").await.is_err());
    let version = service.version();
    let schema = service.current();
    drop(service);

    // Reopen over the same disk: the same schema and version come back.
    let reopened = open(&fs, engine.clone());
    assert_eq!(*reopened.current(), *schema);
    assert_eq!(reopened.version(), version);

    let dropped = exec(&reopened, "DROP KEYSPACE ks").await.unwrap().unwrap();
    assert_eq!(
        dropped.target,
        SchemaChangeTarget::Keyspace {
            keyspace: "ks".into()
        }
    );
    assert!(!engine.tables().contains(&id));
    // No user keyspace is left, but the keyspace's tombstone is content (other
    // nodes must learn of the drop), so the version is not the empty schema's.
    let current = reopened.current();
    assert!(current.keyspace("ks").is_none());
    assert!(current.dropped_keyspaces.contains_key("ks"));
    assert_eq!(reopened.version(), schema_version(&current));
    assert_ne!(reopened.version(), v0);
}

#[tokio::test]
async fn open_recreates_missing_storage_tables() {
    let fs = SimFs::new();
    let engine_a = engine(&fs);
    let service = open(&fs, engine_a.clone());
    exec(&service, KS).await.unwrap();
    exec(&service, "CREATE TABLE t (k int PRIMARY KEY)")
        .await
        .unwrap();
    let id = service.current().table("ks", "t").unwrap().table_id();
    engine_a.drop_table(id).unwrap();
    let service = open(&fs, engine_a.clone());
    assert!(engine_a.tables().contains(&id));
    assert!(service.current().table("ks", "t").is_some());
}

#[tokio::test]
async fn a_corrupt_catalog_refuses_to_open() {
    let fs = SimFs::new();
    let engine = engine(&fs);
    let service = open(&fs, engine.clone());
    exec(&service, KS).await.unwrap();
    fs.corrupt(Path::new("/data/schema/schema.db"), 12, 0xFF)
        .unwrap();
    let e = SchemaService::open(Arc::new(fs.clone()), Path::new("/data"), engine, Vec::new())
        .unwrap_err();
    assert!(
        matches!(e, OpenError::Persist(PersistError::Corrupt { .. })),
        "{e}"
    );
}

#[tokio::test]
async fn replace_installs_a_remote_schema() {
    let fs = SimFs::new();
    let engine = engine(&fs);
    let service = open(&fs, engine.clone());
    let remote = crate::schema::ddl::tests::build(&[KS, "CREATE TABLE ks.t (k int PRIMARY KEY)"]);
    service.replace(remote.clone()).await.unwrap();
    assert_eq!(*service.current(), remote);
    assert_eq!(service.version(), schema_version(&remote));
    let id = remote.table("ks", "t").unwrap().table_id();
    assert!(engine.tables().contains(&id));
}

#[test]
fn storage_diff_is_empty_for_equal_schemas() {
    let a = crate::schema::ddl::tests::build(&[KS, "CREATE TABLE ks.t (k int PRIMARY KEY)"]);
    assert_eq!(storage_diff(&a, &a).unwrap(), StorageDiff::default());
    let b = crate::schema::system_keyspaces::with_system(Schema::default());
    let diff = storage_diff(&a, &b).unwrap();
    assert_eq!(diff.drop.len(), 1);
    assert!(storage_diff(&b, &a).unwrap().create.len() == 1);
}

async fn exec_at(service: &SchemaService, cql: &str, at: i64) {
    let stmt = cql_lite::parse(cql).unwrap();
    service.execute(&stmt, Some("ks"), at).await.unwrap();
}

/// Ships `from`'s schema to `to` as bytes, as nodes do.
async fn ship(from: &SchemaService, to: &SchemaService) -> bool {
    let bytes = from.encode_user_schema();
    let remote = crate::schema::decode_user_schema(&bytes).unwrap();
    to.merge_remote(remote).await.unwrap()
}

fn drain(events: &mut broadcast::Receiver<SchemaChange>) -> Vec<SchemaChange> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

#[tokio::test]
async fn merge_remote_converges_two_nodes_and_announces() {
    let (fs_a, fs_b) = (SimFs::new(), SimFs::new());
    let (engine_a, engine_b) = (engine(&fs_a), engine(&fs_b));
    let a = open(&fs_a, engine_a.clone());
    let b = open(&fs_b, engine_b.clone());
    exec_at(&a, KS, 10).await;
    exec_at(&a, "CREATE TABLE t (k int PRIMARY KEY, v int)", 20).await;
    let mut events = b.subscribe();
    assert!(ship(&a, &b).await);
    assert_eq!(a.version(), b.version());
    let id = b.current().table("ks", "t").unwrap().table_id();
    assert!(engine_b.tables().contains(&id));
    let got = drain(&mut events);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].change_type, SchemaChangeType::Created);
    assert_eq!(
        got[1].target,
        SchemaChangeTarget::Table {
            keyspace: "ks".into(),
            table: "t".into()
        }
    );
    assert!(!ship(&a, &b).await, "nothing new the second time");

    // Concurrent creates of one table name with different columns: both
    // nodes keep the same one and the loser's storage goes.
    exec_at(&a, "CREATE TABLE u (k int PRIMARY KEY)", 30).await;
    exec_at(&b, "CREATE TABLE u (k int PRIMARY KEY, x int)", 30).await;
    let (ua, ub) = (
        a.current().table("ks", "u").unwrap().table_id(),
        b.current().table("ks", "u").unwrap().table_id(),
    );
    // Whichever node lost the race learns it from the other.
    let b_changed = ship(&a, &b).await;
    let a_changed = ship(&b, &a).await;
    assert!(a_changed != b_changed);
    assert_eq!(a.version(), b.version());
    let winner = a.current().table("ks", "u").unwrap().table_id();
    assert_eq!(winner, ua.max(ub));
    let loser = ua.min(ub);
    assert!(!engine_a.tables().contains(&loser) && !engine_b.tables().contains(&loser));
    assert!(engine_a.tables().contains(&winner) && engine_b.tables().contains(&winner));

    // A drop travels too, and survives a restart.
    exec_at(&b, "DROP KEYSPACE ks", 40).await;
    assert!(ship(&b, &a).await);
    assert!(a.current().keyspace("ks").is_none());
    assert!(!engine_a.tables().contains(&id));
    let version = a.version();
    drop(a);
    let reopened = open(&fs_a, engine_a.clone());
    assert_eq!(reopened.version(), version);
}

#[tokio::test]
async fn tombstones_past_the_horizon_are_purged_and_stay_purged() {
    let fs = SimFs::new();
    let service = open(&fs, engine(&fs)).with_tombstone_horizon(std::time::Duration::from_secs(1));
    exec_at(&service, KS, 10).await;
    exec_at(&service, "CREATE TABLE t (k int PRIMARY KEY)", 11).await;
    exec_at(&service, "DROP TABLE t", 20).await;
    exec_at(&service, "CREATE TABLE t (k int PRIMARY KEY)", 21).await;
    exec_at(&service, "DROP TABLE t", 22).await;
    let tombstones = |s: &SchemaService| s.current().keyspace("ks").unwrap().dropped_tables.len();
    let with_tombstones = service.current();
    assert_eq!(tombstones(&service), 2);
    // Within the horizon of the schema's latest change, they stay.
    assert!(!service.merge_remote(Schema::default()).await.unwrap());
    // A change more than the horizon later purges the older one (the name's
    // newest stays, keeping the next generation new)...
    exec_at(&service, &KS.replace("ks", "k2"), 5_000_000).await;
    assert_eq!(tombstones(&service), 1);
    // ... and a node still holding it does not bring it back.
    let remote = crate::schema::merge::merge(&with_tombstones, &Schema::default());
    assert!(!service.merge_remote(remote).await.unwrap());
    assert_eq!(tombstones(&service), 1);
}

#[tokio::test]
async fn concurrent_creates_of_one_table_converge_on_one_id() {
    let (fs_a, fs_b) = (SimFs::new(), SimFs::new());
    let (engine_a, engine_b) = (engine(&fs_a), engine(&fs_b));
    let a = open(&fs_a, engine_a.clone());
    let b = open(&fs_b, engine_b.clone());
    // Both nodes create the keyspace and the table without seeing each other,
    // at different times, as two clients running one script would.
    let ks = KS.replace("KEYSPACE", "KEYSPACE IF NOT EXISTS");
    let table = "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v int)";
    exec_at(&a, &ks, 10).await;
    exec_at(&a, table, 20).await;
    exec_at(&b, &ks, 15).await;
    exec_at(&b, table, 25).await;
    let ta = a.current().table("ks", "t").expect("t on a").table_id();
    let tb = b.current().table("ks", "t").expect("t on b").table_id();
    assert_eq!(ta, tb, "one CREATE on two nodes makes one table id");
    ship(&a, &b).await;
    ship(&b, &a).await;
    assert_eq!(a.version(), b.version());
    assert_eq!(a.current().table("ks", "t").expect("t").table_id(), ta);
    assert!(engine_a.tables().contains(&ta), "a kept its storage");
    assert!(engine_b.tables().contains(&ta), "b kept its storage");
}
