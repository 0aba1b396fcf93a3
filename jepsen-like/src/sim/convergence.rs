//! The convergence verdict (P5) of a simulated run: every node's storage
//! dumped directly, compared key by key across the key's replicas, as the
//! process tier does through `/v1/dump`.

use std::collections::{BTreeMap, BTreeSet};

use crate::checker::Verdict;
use crate::final_phase::{Comparison, Dump, unknown};

use super::world::World;

/// The tables the workloads write.
const TABLES: [&str; 2] = ["register", "sets"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares the nodes' tables. With `every_node_a_replica` (as many nodes as
/// the replication factor) a node missing a key counts against it;
/// otherwise only the nodes holding a key are compared.
pub(crate) fn check(world: &World, every_node_a_replica: bool) -> Verdict {
    let started = world.started();
    if started.len() != world.nodes.len() {
        return unknown("not every node runs after the final phase".into());
    }
    let mut comparison = Comparison::default();
    for table in TABLES {
        let mut dumps: BTreeMap<usize, Dump> = BTreeMap::new();
        for (i, node) in &started {
            match node.dump_table("jepsen", table) {
                Ok(partitions) => {
                    let dump = partitions
                        .iter()
                        .map(|p| (String::from_utf8_lossy(&p.key).into_owned(), hex(&p.digest)))
                        .collect();
                    dumps.insert(*i, dump);
                }
                Err(e) => return unknown(format!("n{i}: cannot dump {table}: {e}")),
            }
        }
        let mut replicas_of = BTreeMap::new();
        if every_node_a_replica {
            let all: BTreeSet<usize> = dumps.keys().copied().collect();
            for key in dumps.values().flat_map(BTreeMap::keys) {
                replicas_of.insert(key.clone(), all.clone());
            }
        }
        comparison.add(table, &dumps, &replicas_of);
    }
    comparison.verdict()
}
