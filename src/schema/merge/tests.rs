use super::*;
use crate::schema::ddl::tests::check_invariants;
use crate::schema::ddl::{DdlContext, IdSource, apply};
use crate::schema::system_keyspaces::with_system;
use crate::schema::version::schema_version;
use proptest::prelude::*;

/// Table ids as production derives them; `random` makes them unique per
/// node instead, as catalogs written before derived ids hold them.
#[derive(Debug)]
struct NodeIds {
    node: u128,
    count: u128,
    random: bool,
}

impl IdSource for NodeIds {
    fn table_id(&mut self, seed: &[u8]) -> [u8; 16] {
        if !self.random {
            return crate::schema::ddl::DerivedIds.table_id(seed);
        }
        self.count += 1;
        ((self.node << 64) | self.count).to_be_bytes()
    }
}

/// One simulated node: its schema, its clock, its ids.
struct Node {
    schema: Schema,
    ids: NodeIds,
}

impl Node {
    fn new(node: u128) -> Self {
        Node {
            schema: with_system(Schema::default()),
            ids: NodeIds {
                node,
                count: 0,
                random: false,
            },
        }
    }

    /// Runs `cql` at `at` µs; whether it changed the schema.
    fn run(&mut self, cql: &str, at: i64) -> bool {
        let stmt = cql_lite::parse(cql).unwrap_or_else(|e| panic!("{cql}: {e:?}"));
        let ctx = DdlContext {
            session_keyspace: Some("ks"),
            timestamp_micros: at,
            data_centers: &[],
        };
        match apply(&self.schema, &stmt, &ctx, &mut self.ids) {
            Ok(Some(change)) => {
                self.schema = change.schema;
                true
            }
            _ => false,
        }
    }

    fn pull(&mut self, other: &Node) {
        self.schema = with_system(merge(&self.schema, &other.schema));
    }
}

const KS: &str = "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

fn user(schema: &Schema) -> Schema {
    merge(schema, &Schema::default())
}

#[test]
fn ddl_on_one_node_reaches_the_other() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    assert!(a.run(KS, 10));
    assert!(a.run("CREATE TABLE t (k int PRIMARY KEY, v int)", 20));
    b.pull(&a);
    assert_eq!(b.schema, a.schema);
    assert_eq!(schema_version(&b.schema), schema_version(&a.schema));
    assert!(b.run("ALTER TABLE t ADD w text", 5));
    let w = b.schema.table("ks", "t").unwrap().column("w").unwrap();
    assert!(w.added_at > 20, "a change is stamped after what it saw");
    a.pull(&b);
    assert_eq!(a.schema, b.schema);
}

#[test]
fn concurrent_keyspace_creates_unite() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 11);
    b.run(KS, 12);
    b.run("CREATE TABLE u (k int PRIMARY KEY)", 13);
    let merged = merge(&a.schema, &b.schema);
    assert_eq!(merged, merge(&b.schema, &a.schema));
    let ks = merged.keyspace("ks").unwrap();
    assert_eq!(ks.created_at, 12);
    assert_eq!(ks.tables.keys().collect::<Vec<_>>(), ["t", "u"]);
}

#[test]
fn one_create_on_two_nodes_is_one_table() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    b.run(KS, 15);
    let cql = "CREATE TABLE IF NOT EXISTS t (k int, c text, v int, PRIMARY KEY (k, c))";
    a.run(cql, 20);
    b.run(cql, 25);
    let id = a.schema.table("ks", "t").unwrap().id;
    assert_eq!(b.schema.table("ks", "t").unwrap().id, id);
    let merged = merge(&a.schema, &b.schema);
    assert_eq!(merged, merge(&b.schema, &a.schema));
    let t = merged.table("ks", "t").unwrap();
    assert_eq!((t.id, t.created_at), (id, 25));
    assert_eq!(t.columns.len(), 3);
    // A drop on one node kills the table whatever the other's view says.
    a.pull(&b);
    a.run("DROP TABLE t", 30);
    assert!(merge(&a.schema, &b.schema).table("ks", "t").is_none());
}

#[test]
fn a_re_create_after_a_drop_is_a_new_table_everywhere() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 11);
    b.pull(&a);
    let old = a.schema.table("ks", "t").unwrap().id;
    // a drops and re-creates the same definition; b still has the old table.
    a.run("DROP TABLE t", 20);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 21);
    let new = a.schema.table("ks", "t").unwrap().clone();
    assert_ne!(new.id, old, "a re-create never reuses the dropped id");
    assert_eq!(new.generation, 1);
    b.run("ALTER TABLE t WITH comment = 'late'", 40);
    for merged in [merge(&a.schema, &b.schema), merge(&b.schema, &a.schema)] {
        assert_eq!(merged.table("ks", "t").unwrap().id, new.id);
    }
    // b, having learnt of the drop, creates the name again: the same new id.
    let mut c = Node::new(3);
    c.pull(&a);
    c.run("DROP TABLE t", 50);
    c.run("CREATE TABLE t (k int PRIMARY KEY)", 51);
    b.pull(&c);
    b.run("CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)", 60);
    let third = b.schema.table("ks", "t").unwrap().id;
    assert!(third != old && third != new.id);
    // A re-created keyspace gives its tables new ids too.
    a.run("DROP KEYSPACE ks", 70);
    a.run(KS, 71);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 72);
    let again = a.schema.table("ks", "t").unwrap().id;
    assert!(again != old && again != new.id);
    assert_eq!(a.schema.keyspace("ks").unwrap().generation, 1);
}

#[test]
fn a_keyspace_tombstone_beats_older_incarnations_only() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    b.pull(&a);
    a.run("DROP KEYSPACE ks", 20);
    // b alters concurrently: the drop still wins.
    b.run("ALTER KEYSPACE ks WITH durable_writes = false", 30);
    let merged = merge(&a.schema, &b.schema);
    assert!(merged.keyspace("ks").is_none());
    assert_eq!(merged.dropped_keyspaces["ks"].dropped_at, 20);
    // A re-create after the drop wins over the tombstone.
    a.run(KS, 25);
    let merged = merge(&a.schema, &b.schema);
    assert!(merged.keyspace("ks").unwrap().created_at > 20);
}

#[test]
fn concurrent_table_creates_keep_the_greatest_id_everywhere() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    b.pull(&a);
    a.run("CREATE TABLE t (k int PRIMARY KEY, x int)", 20);
    b.run("CREATE TABLE t (k int PRIMARY KEY, y text)", 20);
    let ab = merge(&a.schema, &b.schema);
    assert_eq!(ab, merge(&b.schema, &a.schema));
    let t = ab.table("ks", "t").unwrap();
    let ids = [&a, &b].map(|n| n.schema.table("ks", "t").unwrap().id);
    assert_ne!(ids[0], ids[1], "different columns, different tables");
    assert_eq!(t.id, ids[0].max(ids[1]), "the greater id wins");
    assert!(
        t.column("x").is_none() != t.column("y").is_none(),
        "columns of different ids never mix"
    );
    // The winner dropped: the loser does not come back.
    b.pull(&a);
    b.run("DROP TABLE t", 30);
    let merged = merge(&a.schema, &b.schema);
    assert!(merged.table("ks", "t").is_none());
}

#[test]
fn drop_table_beats_a_concurrent_alter_and_loses_to_a_re_create() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 11);
    b.pull(&a);
    a.run("DROP TABLE t", 20);
    b.run("ALTER TABLE t WITH comment = 'late'", 40);
    let merged = merge(&a.schema, &b.schema);
    assert!(merged.table("ks", "t").is_none());
    let tomb = merged
        .keyspace("ks")
        .unwrap()
        .dropped_tables
        .values()
        .next()
        .unwrap();
    assert_eq!((tomb.created_at, tomb.dropped_at), (11, 20));
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 21);
    let merged = merge(&merged, &a.schema);
    assert!(merged.table("ks", "t").unwrap().created_at > 20);
}

#[test]
fn columns_union_and_ids_given_twice_are_poisoned() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    a.run("CREATE TABLE t (k int PRIMARY KEY, v int)", 11);
    b.pull(&a);
    // The same column added on both: one column.
    a.run("ALTER TABLE t ADD same text", 20);
    b.run("ALTER TABLE t ADD same text", 21);
    let merged = merge(&a.schema, &b.schema);
    let t = merged.table("ks", "t").unwrap();
    assert_eq!(t.column("same").unwrap().added_at, 21);
    // Different columns given the same id: neither survives, the id stays used.
    a.run("ALTER TABLE t ADD x int", 30);
    b.run("ALTER TABLE t ADD y text", 31);
    a.run("ALTER TABLE t DROP v", 32);
    let merged = merge(&a.schema, &b.schema);
    let t = merged.table("ks", "t").unwrap();
    assert!(t.column("x").is_none() && t.column("y").is_none());
    assert!(t.column("v").is_none());
    let poisoned: Vec<_> = t
        .dropped
        .iter()
        .filter(|d| d.dropped_at == POISONED)
        .collect();
    assert_eq!(poisoned.len(), 1);
    assert_eq!(t.next_column_id, 4);
    assert_eq!(merged, merge(&b.schema, &a.schema));
}

#[test]
fn table_options_come_from_the_later_alter() {
    let (mut a, mut b) = (Node::new(1), Node::new(2));
    a.run(KS, 10);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 11);
    b.pull(&a);
    b.run("ALTER TABLE t WITH comment = 'b'", 21);
    a.run("ALTER TABLE t WITH comment = 'a'", 20);
    let merged = merge(&a.schema, &b.schema);
    assert_eq!(merged.table("ks", "t").unwrap().params.comment, "b");
}

#[test]
fn purge_drops_old_tombstones_but_each_names_newest() {
    let mut a = Node::new(1);
    a.run(KS, 10);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 11);
    a.run("DROP TABLE t", 20);
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 21);
    a.run("DROP TABLE t", 22);
    a.run("CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", 30);
    a.run("DROP KEYSPACE k2", 40);
    let mut schema = a.schema.clone();
    assert!(!purge(&mut schema, 20));
    assert!(purge(&mut schema, 41));
    let left: Vec<u32> = schema
        .keyspace("ks")
        .unwrap()
        .dropped_tables
        .values()
        .map(|t| t.generation)
        .collect();
    assert_eq!(left, [1], "the newest generation stays");
    assert_eq!(
        schema.dropped_keyspaces.len(),
        1,
        "keyspace tombstones stay"
    );
    // So a CREATE after the purge still makes a new generation.
    a.schema = schema;
    a.run("CREATE TABLE t (k int PRIMARY KEY)", 50);
    assert_eq!(a.schema.table("ks", "t").unwrap().generation, 2);
}

// ------------------------------------------------------------------ proptest

fn statement() -> impl Strategy<Value = String> {
    let table = prop::sample::select(vec!["t1", "t2"]);
    let column = prop::sample::select(vec!["a", "b", "d"]);
    let ty = prop::sample::select(vec!["int", "text", "set<int>"]);
    prop_oneof![
        2 => Just(KS.to_owned()),
        1 => Just("DROP KEYSPACE IF EXISTS ks".to_owned()),
        2 => any::<bool>().prop_map(|d| format!("ALTER KEYSPACE ks WITH durable_writes = {d}")),
        8 => (table.clone(), any::<bool>()).prop_map(|(t, ck)| if ck {
            format!("CREATE TABLE IF NOT EXISTS {t} (k int, c text, s int static, v int, PRIMARY KEY (k, c))")
        } else {
            format!("CREATE TABLE IF NOT EXISTS {t} (k int PRIMARY KEY, v int)")
        }),
        3 => table.clone().prop_map(|t| format!("DROP TABLE IF EXISTS {t}")),
        10 => (table.clone(), column.clone(), ty)
            .prop_map(|(t, c, ty)| format!("ALTER TABLE {t} ADD {c} {ty}")),
        5 => (table.clone(), column).prop_map(|(t, c)| format!("ALTER TABLE {t} DROP {c}")),
        4 => (table.clone(), 0..3i32)
            .prop_map(|(t, g)| format!("ALTER TABLE {t} WITH gc_grace_seconds = {g}")),
        2 => (table, any::<bool>()).prop_map(|(t, back)| if back {
            format!("ALTER TABLE {t} RENAME kk TO k")
        } else {
            format!("ALTER TABLE {t} RENAME k TO kk")
        }),
    ]
}

/// A step of a history: node `node` runs a statement, or pulls another's schema.
#[derive(Debug, Clone)]
enum Step {
    Ddl { node: usize, cql: String, skew: i64 },
    Pull { node: usize, from: usize },
}

fn step(nodes: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..nodes, statement(), 0..40i64)
            .prop_map(|(node, cql, skew)| Step::Ddl { node, cql, skew }),
        1 => (0..nodes, 0..nodes).prop_map(|(node, from)| Step::Pull { node, from }),
    ]
}

/// Runs a history on `n` nodes; their final schemas.
fn play(n: usize, steps: &[Step]) -> Vec<Schema> {
    let mut nodes: Vec<Node> = (0..n).map(|i| Node::new(i as u128 + 1)).collect();
    // A common start, as a cluster has once its keyspace is created.
    nodes[0].run(KS, 0);
    for i in 1..n {
        nodes[i].schema = nodes[0].schema.clone();
    }
    for (i, s) in steps.iter().enumerate() {
        match s {
            Step::Ddl { node, cql, skew } => {
                // Clocks skewed per step, so nodes' changes race.
                nodes[*node].run(cql, i as i64 * 10 + skew);
            }
            Step::Pull { node, from } => {
                let other = Node {
                    schema: nodes[*from].schema.clone(),
                    ids: NodeIds {
                        node: 0,
                        count: 0,
                        random: false,
                    },
                };
                nodes[*node].pull(&other);
            }
        }
        check_invariants(&nodes[i % n].schema);
    }
    nodes.into_iter().map(|n| n.schema).collect()
}

fn check_merged(schema: &Schema) {
    check_invariants(schema);
    for t in schema.keyspaces.values().flat_map(|k| k.tables.values()) {
        let mut names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "live column names are unique");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn merge_is_a_join_over_three_nodes(steps in prop::collection::vec(step(3), 1..60)) {
        let s = play(3, &steps);
        let (a, b, c) = (&s[0], &s[1], &s[2]);
        for x in &s {
            prop_assert_eq!(&merge(x, x), &user(x), "idempotent");
            check_merged(&merge(x, x));
        }
        prop_assert_eq!(merge(a, b), merge(b, a), "commutative");
        let reference = merge(&merge(a, b), c);
        check_merged(&reference);
        let orders = [
            merge(a, &merge(b, c)),
            merge(&merge(b, c), a),
            merge(&merge(a, c), b),
            merge(b, &merge(c, a)),
            merge(&merge(c, b), a),
            merge(c, &merge(a, b)),
        ];
        for other in &orders {
            prop_assert_eq!(other, &reference);
            prop_assert_eq!(schema_version(other), schema_version(&reference));
        }
        prop_assert_eq!(&merge(a, &reference), &reference, "absorbing");
    }

    #[test]
    fn nodes_converge_after_exchanging(steps in prop::collection::vec(step(2), 1..60)) {
        let s = play(2, &steps);
        let (mut a, mut b) = (s[0].clone(), s[1].clone());
        a = with_system(merge(&a, &b));
        b = with_system(merge(&b, &a));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(schema_version(&a), schema_version(&b));
        // The merged schema survives the codec unchanged.
        let decoded = crate::schema::codec::decode(&crate::schema::codec::encode(&a)).unwrap();
        prop_assert_eq!(with_system(decoded), a);
    }
}
