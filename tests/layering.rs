//! The workspace's layering, checked: which of our crates may depend on which
//! (docs/ARCHITECTURE.md). A new edge fails this test until the architecture
//! allows it.

use std::collections::BTreeSet;
use std::process::Command;

/// Our crates and the crates of ours each may depend on (normal dependencies;
/// dev-dependencies of tests are free).
const ALLOWED: &[(&str, &[&str])] = &[
    ("storage", &[]),
    ("cql-lite", &[]),
    ("cluster", &["storage"]),
    // The process tier speaks CQL; the simulation tier (feature `sim`) runs
    // the node's own code over storage's and cluster's test doubles.
    ("jepsen-like", &["cql-lite", "cluster", "storage", "basalt"]),
    ("basalt", &["storage", "cluster", "cql-lite"]),
];

#[test]
fn crates_depend_only_on_what_the_architecture_allows() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours: BTreeSet<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ours, "every workspace crate has a line in ALLOWED");
    for package in packages {
        let name = package["name"].as_str().expect("name");
        let may = ALLOWED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, may)| *may)
            .expect("listed");
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let dep_name = dep["name"].as_str().expect("dependency name");
            let normal = dep["kind"].is_null();
            if normal && ours.contains(dep_name) {
                assert!(
                    may.contains(&dep_name),
                    "{name} must not depend on {dep_name} (docs/ARCHITECTURE.md)"
                );
            }
        }
    }
}
