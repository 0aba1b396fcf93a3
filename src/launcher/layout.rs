//! What a local cluster looks like on disk: the nodes' names, addresses and
//! ports (`DIR/cluster.yaml`), and the `basalt.yaml` each node is started with.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LauncherError;
use crate::config::Config;

/// The cluster name every launched node is configured with.
pub(crate) const CLUSTER_NAME: &str = "basalt-local";
/// The most nodes one launcher cluster has: 127.0.0.1 … 127.0.0.9 keeps the
/// node names (`node1` … `node9`) and addresses in step.
pub const MAX_NODES: usize = 9;
/// The name of the layout file inside the cluster directory.
pub(super) const LAYOUT_FILE: &str = "cluster.yaml";

const DEFAULT_CQL_PORT: u16 = 9042;
const DEFAULT_STORAGE_PORT: u16 = 7000;
const DEFAULT_ADMIN_PORT: u16 = 7199;

/// One node of a local cluster: where it listens. Every node has its own
/// loopback address, so all of them can use the same port numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// `node1`, `node2`, …: also the node's directory inside the cluster's.
    pub name: String,
    /// `127.0.0.K` for node K: listen, rpc and internode address.
    pub address: IpAddr,
    /// CQL native protocol port.
    pub native_transport_port: u16,
    /// Internode messaging port.
    pub storage_port: u16,
    /// Admin API port (`nodetool`).
    pub admin_port: u16,
}

impl NodeSpec {
    /// Where CQL clients reach this node.
    pub fn cql_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.native_transport_port)
    }
}

/// The contents of `DIR/cluster.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Layout {
    pub(super) cluster_name: String,
    pub(super) nodes: Vec<NodeSpec>,
}

impl Layout {
    /// `count` nodes on 127.0.0.1 … 127.0.0.`count`. Without `base_port` every
    /// node uses Cassandra's ports (CQL 9042, storage 7000, admin 7199); with
    /// it, every node uses CQL `base`, storage `base + 1`, admin `base + 2`.
    ///
    /// The ports stay the same on every node, rather than shifting per node,
    /// because a seed given as a bare address means "that host, on my own
    /// storage port", as in Cassandra.
    pub(super) fn new(count: usize, base_port: Option<u16>) -> Result<Layout, LauncherError> {
        if !(1..=MAX_NODES).contains(&count) {
            return Err(LauncherError::NodeCount(count));
        }
        let (cql, storage, admin) = match base_port {
            None => (DEFAULT_CQL_PORT, DEFAULT_STORAGE_PORT, DEFAULT_ADMIN_PORT),
            Some(base) => match (base.checked_add(1), base.checked_add(2)) {
                (Some(storage), Some(admin)) if base > 0 => (base, storage, admin),
                _ => return Err(LauncherError::BasePort(base)),
            },
        };
        let nodes = (1..=count)
            .map(|k| NodeSpec {
                name: format!("node{k}"),
                // `count` ≤ 9, so the last octet always fits.
                address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, u8::try_from(k).unwrap_or(1))),
                native_transport_port: cql,
                storage_port: storage,
                admin_port: admin,
            })
            .collect();
        Ok(Layout {
            cluster_name: CLUSTER_NAME.to_owned(),
            nodes,
        })
    }

    /// Reads `DIR/cluster.yaml`.
    pub(super) fn load(dir: &Path) -> Result<Layout, LauncherError> {
        let path = dir.join(LAYOUT_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                LauncherError::NoCluster(dir.to_path_buf())
            } else {
                LauncherError::io(&path, e)
            }
        })?;
        serde_yaml_ng::from_str(&text).map_err(|e| LauncherError::Layout {
            path,
            problem: e.to_string(),
        })
    }

    /// Writes `DIR/cluster.yaml`.
    pub(super) fn save(&self, dir: &Path) -> Result<(), LauncherError> {
        let path = dir.join(LAYOUT_FILE);
        let text = serde_yaml_ng::to_string(self).map_err(|e| LauncherError::Layout {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        std::fs::write(&path, text).map_err(|e| LauncherError::io(&path, e))
    }

    /// The seed list every node gets: the first node. Its port is written out
    /// only when it is not the default, so that a default cluster's YAML reads
    /// exactly like a hand-written one.
    fn seeds(&self) -> Vec<String> {
        let Some(first) = self.nodes.first() else {
            return Vec::new();
        };
        if first.storage_port == DEFAULT_STORAGE_PORT {
            vec![first.address.to_string()]
        } else {
            vec![SocketAddr::new(first.address, first.storage_port).to_string()]
        }
    }

    /// The configuration `node` runs with, its data and commit log under
    /// `node_dir/data`.
    pub(super) fn node_config(&self, node: &NodeSpec, node_dir: &Path) -> Config {
        let data = node_dir.join("data");
        Config {
            cluster_name: self.cluster_name.clone(),
            listen_address: node.address,
            rpc_address: node.address,
            native_transport_port: node.native_transport_port,
            storage_port: node.storage_port,
            admin_port: node.admin_port,
            data_file_directories: vec![data.join("data")],
            commitlog_directory: data.join("commitlog"),
            num_tokens: 16,
            seeds: self.seeds(),
            dc: "datacenter1".to_owned(),
            rack: "rack1".to_owned(),
            ..Config::default()
        }
    }
}

/// The files of one node inside the cluster directory.
#[derive(Clone, Debug)]
pub(super) struct NodePaths {
    pub(super) dir: PathBuf,
    pub(super) config: PathBuf,
    pub(super) log: PathBuf,
    pub(super) pid: PathBuf,
}

impl NodePaths {
    pub(super) fn new(cluster_dir: &Path, node: &NodeSpec) -> NodePaths {
        let dir = cluster_dir.join(&node.name);
        NodePaths {
            config: dir.join("basalt.yaml"),
            log: dir.join("node.log"),
            pid: dir.join("pid"),
            dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_uses_cassandras_ports_on_one_address_per_node() {
        let layout = Layout::new(3, None).unwrap();
        let names: Vec<_> = layout.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["node1", "node2", "node3"]);
        assert_eq!(layout.nodes[2].cql_addr().to_string(), "127.0.0.3:9042");
        assert!(
            layout
                .nodes
                .iter()
                .all(|n| (n.storage_port, n.admin_port) == (7000, 7199))
        );
        assert_eq!(layout.seeds(), ["127.0.0.1"]);
    }

    #[test]
    fn base_port_gives_three_consecutive_ports() {
        let layout = Layout::new(2, Some(19_000)).unwrap();
        let n = &layout.nodes[1];
        assert_eq!(n.address.to_string(), "127.0.0.2");
        assert_eq!(
            (n.native_transport_port, n.storage_port, n.admin_port),
            (19_000, 19_001, 19_002)
        );
        assert_eq!(layout.seeds(), ["127.0.0.1:19001"]);
    }

    #[test]
    fn node_count_and_base_port_are_checked() {
        assert!(matches!(
            Layout::new(0, None),
            Err(LauncherError::NodeCount(0))
        ));
        assert!(matches!(
            Layout::new(10, None),
            Err(LauncherError::NodeCount(10))
        ));
        assert!(matches!(
            Layout::new(1, Some(65_534)),
            Err(LauncherError::BasePort(65_534))
        ));
        assert!(matches!(
            Layout::new(1, Some(0)),
            Err(LauncherError::BasePort(0))
        ));
    }

    #[test]
    fn node_config_round_trips_through_yaml() {
        let layout = Layout::new(3, None).unwrap();
        let config = layout.node_config(&layout.nodes[1], Path::new("/c/node2"));
        let read = Config::from_yaml_str(&config.to_yaml()).unwrap();
        assert_eq!(read, config);
        assert_eq!(read.cluster_name, "basalt-local");
        assert_eq!(read.listen_address.to_string(), "127.0.0.2");
        assert_eq!(read.rpc_address.to_string(), "127.0.0.2");
        assert_eq!(read.seeds, ["127.0.0.1"]);
        assert_eq!(read.num_tokens, 16);
        assert_eq!(
            read.data_file_directories,
            [PathBuf::from("/c/node2/data/data")]
        );
        assert_eq!(
            read.commitlog_directory,
            PathBuf::from("/c/node2/data/commitlog")
        );
    }

    #[test]
    fn layout_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(3, Some(20_000)).unwrap();
        layout.save(dir.path()).unwrap();
        assert_eq!(Layout::load(dir.path()).unwrap(), layout);
    }
}
