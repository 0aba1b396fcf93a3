use super::*;
use cql_lite::{SchemaChangeTarget, SchemaChangeType};
use storage::EngineOptions;
use storage::clock::ManualClock;
use storage::io::sim::SimFs;

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
    assert_eq!(reopened.version(), v0);
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
