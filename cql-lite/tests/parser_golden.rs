//! Golden tests for the CQL parser: every `test_data/parser/*.cql` file holds cases, each
//! introduced by a `-- case: name` line, and the `.expected` file next to it holds each
//! case's input and its AST dump (`{:#?}`) or error. Files named `errors*.cql` must fail
//! to parse; all others must parse.
//!
//! Regenerate after a deliberate change with
//! `UPDATE_EXPECT=1 cargo test -p cql-lite --test parser_golden`, then review the diff.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step must fail the test"
)]

use std::fmt::Write as _;
use std::path::Path;

fn cases(text: &str) -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- case:") {
            cases.push((name.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = cases.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    for (_, body) in &mut cases {
        *body = body.trim().to_owned();
    }
    cases
}

/// The golden text for one file; cases that parse when they should fail (or the other
/// way round) go to `wrong`.
fn render(file: &str, text: &str, wrong: &mut Vec<String>) -> String {
    let must_fail = file.starts_with("errors");
    let mut out = String::new();
    for (name, input) in cases(text) {
        let result = cql_lite::parse(&input);
        if result.is_err() != must_fail {
            wrong.push(format!("{file}, case {name}: {result:?}"));
        }
        let dump = match result {
            Ok(statement) => format!("{statement:#?}"),
            Err(error) => format!("{error}\n{error:#?}"),
        };
        writeln!(out, "=== {name}\n{input}\n---\n{dump}\n").unwrap();
    }
    out
}

#[test]
fn parser_golden() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/parser");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cql"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no golden inputs in {}", dir.display());
    let mut mismatches = Vec::new();
    let mut wrong = Vec::new();
    for path in entries {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let actual = render(&file, &std::fs::read_to_string(&path).unwrap(), &mut wrong);
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(e, a)| e != a)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            mismatches.push(format!(
                "{}: first difference at line {}",
                expected_path.display(),
                line + 1
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong outcome:\n{}", wrong.join("\n"));
    assert!(
        mismatches.is_empty(),
        "golden files differ (rerun with UPDATE_EXPECT=1 and review the diff):\n{}",
        mismatches.join("\n")
    );
}
