//! Hostile input for the CQL parser: random text and random token soups never make it
//! panic, and every error points inside the input.

use proptest::prelude::*;

/// Words and symbols the grammar uses, so random sequences get deep into the parser.
const VOCABULARY: &[&str] = &[
    "SELECT",
    "INSERT",
    "INTO",
    "UPDATE",
    "DELETE",
    "FROM",
    "WHERE",
    "AND",
    "SET",
    "VALUES",
    "BEGIN",
    "UNLOGGED",
    "BATCH",
    "APPLY",
    "USING",
    "TTL",
    "TIMESTAMP",
    "IF",
    "NOT",
    "EXISTS",
    "CREATE",
    "ALTER",
    "DROP",
    "KEYSPACE",
    "TABLE",
    "WITH",
    "PRIMARY",
    "KEY",
    "STATIC",
    "CLUSTERING",
    "ORDER",
    "BY",
    "DESC",
    "ASC",
    "LIMIT",
    "PER",
    "PARTITION",
    "ALLOW",
    "FILTERING",
    "DISTINCT",
    "JSON",
    "AS",
    "IN",
    "CONTAINS",
    "TOKEN",
    "count",
    "writetime",
    "CAST",
    "DESCRIBE",
    "KEYSPACES",
    "TABLES",
    "SCHEMA",
    "FULL",
    "CLUSTER",
    "USE",
    "TRUNCATE",
    "ADD",
    "RENAME",
    "TO",
    "list",
    "set",
    "map",
    "frozen",
    "tuple",
    "int",
    "text",
    "k",
    "v",
    "t",
    "ks",
    "\"Q\"",
    "1",
    "-",
    "2.5",
    "'s'",
    "$$d$$",
    "0xff",
    "1h",
    "NaN",
    "Infinity",
    "true",
    "null",
    "?",
    ":n",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    ",",
    ";",
    ".",
    ":",
    "=",
    "!=",
    "<=",
    ">=",
    "+",
    "+=",
    "-=",
    "*",
    "550e8400-e29b-41d4-a716-446655440000",
];

fn check(input: &str) {
    if let Err(error) = cql_lite::parse(input) {
        let lines = u32::try_from(input.lines().count().max(1)).unwrap_or(u32::MAX);
        assert!(
            error.line >= 1 && error.line <= lines + 1,
            "{error:?} for {input:?}"
        );
        let _ = error.to_string();
    }
}

proptest! {
    #[test]
    fn random_text_never_panics(input in "\\PC{0,200}") {
        check(&input);
    }

    #[test]
    fn random_token_sequences_never_panic(
        words in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..60)
    ) {
        check(&words.join(" "));
    }

    #[test]
    fn truncated_statements_never_panic(cut in 0usize..400) {
        let statement = "CREATE TABLE IF NOT EXISTS ks.t (k int, c frozen<map<text, list<int>>>, \
            v set<int> STATIC, PRIMARY KEY ((k), c)) WITH CLUSTERING ORDER BY (c DESC) AND \
            compaction = {'class': 'LeveledCompactionStrategy'}";
        let cut = statement.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(statement.len());
        check(&statement[..cut]);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{", "(", "frozen<"] {
        let deep = open.repeat(100_000);
        let input = if open == "frozen<" {
            format!("CREATE TABLE t (k {deep}int PRIMARY KEY)")
        } else {
            format!("INSERT INTO t (k) VALUES ({deep}1)")
        };
        assert!(cql_lite::parse(&input).is_err());
    }
    let selectors = "f(".repeat(100_000);
    assert!(cql_lite::parse(&format!("SELECT {selectors}k FROM t")).is_err());
}
