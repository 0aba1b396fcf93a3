use super::*;
use crate::schema::ddl::tests::build;
use crate::schema::system_keyspaces::with_system;
use storage::sim::{FaultKind, SimFs};

const KS: &str =
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

fn sample() -> Schema {
    build(&[
        KS,
        "CREATE TABLE ks.t (k int, c text, s set<int> static, v frozen<map<text, list<int>>>, \
         w tuple<int, text>, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC) \
         AND comment = 'x' AND bloom_filter_fp_chance = 0.1",
        "ALTER TABLE ks.t DROP w",
    ])
}

fn dir() -> PathBuf {
    PathBuf::from("/data/schema")
}

#[test]
fn round_trip_keeps_user_keyspaces_only() {
    let fs = SimFs::new();
    assert!(load(&fs, &dir()).unwrap().is_none());
    let schema = sample();
    save(&fs, &dir(), &schema).unwrap();
    let loaded = load(&fs, &dir()).unwrap().unwrap();
    assert!(loaded.keyspace("system").is_none());
    assert_eq!(with_system(loaded), schema);
}

#[test]
fn every_flipped_byte_is_detected() {
    let fs = SimFs::new();
    save(&fs, &dir(), &sample()).unwrap();
    let path = dir().join(FILE_NAME);
    let len = fs.read_all(&path).unwrap().len() as u64;
    for offset in (0..len).step_by(7) {
        fs.corrupt(&path, offset, 0x01).unwrap();
        let e = load(&fs, &dir()).unwrap_err();
        assert!(matches!(e, PersistError::Corrupt { .. }), "{offset}: {e}");
        assert!(e.to_string().contains("refusing to start"));
        fs.corrupt(&path, offset, 0x01).unwrap();
    }
    fs.truncate(&path, len - 1).unwrap();
    assert!(matches!(
        load(&fs, &dir()),
        Err(PersistError::Corrupt { .. })
    ));
}

#[test]
fn a_crash_before_the_rename_keeps_the_old_catalog() {
    let fs = SimFs::new();
    let old = build(&[KS]);
    save(&fs, &dir(), &old).unwrap();
    fs.halt_on(FaultKind::SyncData, "schema.db.tmp", 0);
    assert!(save(&fs, &dir(), &sample()).is_err());
    fs.restart();
    assert_eq!(with_system(load(&fs, &dir()).unwrap().unwrap()), old);
    assert!(!fs.exists(&dir().join("schema.db.tmp")));
}

#[test]
fn a_crash_before_the_directory_sync_leaves_old_or_new() {
    let fs = SimFs::new();
    let old = build(&[KS]);
    save(&fs, &dir(), &old).unwrap();
    fs.halt_on(FaultKind::SyncDir, "schema", 0);
    assert!(save(&fs, &dir(), &sample()).is_err());
    fs.restart();
    let loaded = with_system(load(&fs, &dir()).unwrap().unwrap());
    assert!(loaded == old || loaded == sample());
}

#[test]
fn decoding_garbage_never_panics() {
    for len in 0..64 {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert!(decode_file(&bytes).is_err());
        let _ = codec::decode(&bytes);
    }
}

/// A catalog the version 1 codec wrote (before timestamps and tombstones):
/// `ks` (SimpleStrategy 1) with `t` as in `sample()` (w dropped), and `nts`
/// (NetworkTopologyStrategy dc1: 3, durable_writes false) with
/// `u (k int PRIMARY KEY, v text) WITH gc_grace_seconds = 5`. Frozen: never
/// regenerate it.
const CATALOG_V1: &[u8] = include_bytes!("catalog_v1.bin");

#[test]
fn a_version_1_catalog_still_loads() {
    let loaded = decode_file(CATALOG_V1).unwrap();
    let t = loaded.table("ks", "t").unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["k", "c", "s", "v"]);
    assert_eq!(t.params.comment, "x");
    assert_eq!(t.dropped.len(), 1);
    assert_eq!(t.dropped[0].name, "w");
    assert_eq!((t.created_at, t.altered_at), (0, 0));
    assert!(t.columns.iter().all(|c| c.added_at == 0));
    let nts = loaded.keyspace("nts").unwrap();
    assert!(!nts.durable_writes);
    assert_eq!(nts.tables["u"].params.gc_grace_seconds, 5);
    assert!(loaded.dropped_keyspaces.is_empty());
    // Apart from the timestamps and ids it is what the same DDL builds today.
    let mut today = build(&[
        KS,
        "CREATE TABLE ks.t (k int, c text, s set<int> static, v frozen<map<text, list<int>>>, \
         w tuple<int, text>, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC) \
         AND comment = 'x' AND bloom_filter_fp_chance = 0.1",
        "ALTER TABLE ks.t DROP w",
        "CREATE KEYSPACE nts WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} \
         AND durable_writes = false",
        "CREATE TABLE nts.u (k int PRIMARY KEY, v text) WITH gc_grace_seconds = 5",
    ]);
    zero_timestamps(&mut today);
    // Its ids were drawn when it was written; today's are derived.
    for (ks, table) in [("ks", "t"), ("nts", "u")] {
        let id = loaded.table(ks, table).unwrap().id;
        let keyspace = today.keyspaces.get_mut(ks).unwrap();
        std::sync::Arc::make_mut(keyspace.tables.get_mut(table).unwrap()).id = id;
    }
    assert_eq!(with_system(loaded.clone()), today);
    // Saved again, it is written in the current format and reads back equal.
    let fs = SimFs::new();
    save(&fs, &dir(), &loaded).unwrap();
    let bytes = fs.read_all(&dir().join(FILE_NAME)).unwrap();
    assert_eq!(bytes[4], FORMAT_VERSION);
    assert_eq!(load(&fs, &dir()).unwrap().unwrap(), loaded);
}

fn zero_timestamps(schema: &mut Schema) {
    for k in schema.keyspaces.values_mut() {
        k.created_at = 0;
        k.altered_at = 0;
        for t in k.tables.values_mut() {
            let t = std::sync::Arc::make_mut(t);
            if t.is_virtual {
                continue;
            }
            t.created_at = 0;
            t.altered_at = 0;
            t.columns.iter_mut().for_each(|c| c.added_at = 0);
            t.dropped.iter_mut().for_each(|d| d.dropped_at = 1_000);
        }
    }
}

#[test]
fn a_remote_schema_that_breaks_the_model_is_refused() {
    let good = sample();
    assert!(codec::decode_user_schema(&codec::encode(&good)).is_ok());
    // A key column out of position would make query execution index past a key.
    let mut bad = good.clone();
    let ks = bad.keyspaces.get_mut("ks").unwrap();
    let t = std::sync::Arc::make_mut(ks.tables.get_mut("t").unwrap());
    t.columns[1].position = 3;
    assert!(codec::decode_user_schema(&codec::encode(&bad)).is_err());
    // A system keyspace cannot arrive from another node.
    let mut renamed = good.clone();
    let mut ks = renamed.keyspaces.remove("ks").unwrap();
    ks.name = "systex".into();
    renamed.keyspaces.insert("systex".into(), ks);
    let mut bytes = codec::encode(&renamed);
    let at = bytes.windows(6).position(|w| w == b"systex").unwrap();
    bytes[at..at + 6].copy_from_slice(b"system");
    assert!(codec::decode_user_schema(&bytes).is_err());
    // Truncations never panic.
    let bytes = codec::encode(&good);
    for len in 0..bytes.len() {
        assert!(codec::decode_user_schema(&bytes[..len]).is_err());
    }
}

#[test]
fn a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_catalog() {
    use storage::sim::replace_crash_points;
    let old = build(&[KS]);
    for (kind, at) in replace_crash_points(&dir().join(FILE_NAME)) {
        let fs = SimFs::new();
        save(&fs, &dir(), &old).unwrap();
        fs.halt_on(kind, &at, 0);
        assert!(
            save(&fs, &dir(), &sample()).is_err(),
            "{kind:?} never happened"
        );
        fs.restart();
        let loaded = with_system(load(&fs, &dir()).unwrap().unwrap());
        assert!(loaded == old || loaded == sample(), "{kind:?}");
        assert!(!fs.exists(&dir().join("schema.db.tmp")), "{kind:?}");
        save(&fs, &dir(), &sample()).unwrap();
        fs.crash();
        assert_eq!(with_system(load(&fs, &dir()).unwrap().unwrap()), sample());
    }
}

#[test]
fn a_version_1_catalog_file_on_disk_still_loads() {
    let fs = SimFs::new();
    fs.create_dir_all(&dir()).unwrap();
    fs.write_all(&dir().join(FILE_NAME), CATALOG_V1).unwrap();
    let loaded = load(&fs, &dir()).unwrap().unwrap();
    assert_eq!(loaded, decode_file(CATALOG_V1).unwrap());
    assert!(loaded.keyspace("nts").is_some());
}
