use std::sync::Arc;

use cluster::HostId;
use storage::sim::SimFs;

use super::*;

fn peer(i: u8, tokens: &[i64]) -> Member {
    Member {
        endpoint: SocketAddr::from(([127, 0, 0, i], 7000)),
        host_id: HostId([i; 16]),
        datacenter: "dc 1".to_owned(),
        rack: "rack1".to_owned(),
        tokens: tokens.iter().copied().map(Token).collect(),
        status: Status::Normal,
        native_address: None,
        schema_version: None,
        release_version: None,
        load: None,
    }
}

#[test]
fn peers_round_trip_through_the_text() {
    let peers = vec![peer(2, &[-5, 7]), peer(3, &[i64::MIN, i64::MAX])];
    assert_eq!(decode(&encode(&peers)).expect("decodes"), peers);
    assert_eq!(decode(&encode(&[])).expect("decodes"), Vec::new());
}

#[test]
fn bad_files_are_refused_not_misread() {
    assert!(decode("").is_err());
    assert!(decode("basalt-peers 2\n").is_err());
    let good = encode(&[peer(2, &[1])]);
    for bad in [
        good.replace("\t1\n", "\t\n"),
        good.replace("\t1\n", "\tx\n"),
        good.replace("127.0.0.2:7000", "nowhere"),
        good.replace("rack1\t", ""),
        format!("{good}extra\n"),
    ] {
        assert!(decode(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn saves_only_owners_other_than_the_local_node_and_reloads_them() {
    let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
    let dir = Path::new("/data");
    fs.create_dir_all(dir).expect("dir");
    let saved = SavedPeers::load(Arc::clone(&fs), dir);
    assert!(saved.loaded().is_empty());
    let local = peer(1, &[0]);
    let mut joining = peer(4, &[9]);
    joining.status = Status::Boot;
    let tokenless = peer(5, &[]);
    let members = vec![local.clone(), peer(2, &[3]), joining, tokenless];
    saved.save(&members, local.endpoint);
    let again = SavedPeers::load(Arc::clone(&fs), dir);
    assert_eq!(again.loaded(), &[peer(2, &[3])]);
}

#[test]
fn a_corrupt_file_is_ignored() {
    let fs: Arc<dyn FileSystem> = Arc::new(SimFs::new());
    let dir = Path::new("/data");
    fs.create_dir_all(dir).expect("dir");
    durable::replace_atomically(fs.as_ref(), &dir.join(FILE), b"garbage").expect("write");
    assert!(SavedPeers::load(fs, dir).loaded().is_empty());
}
