//! The whole parent/child protocol on a tiny fjall run: children are spawned, their JSON lines
//! collected, medians taken and the table printed.

use std::process::Command;

#[test]
fn tiny_fjall_run_prints_a_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_storage-bench"))
        .args([
            "--engines",
            "fjall",
            "--keys",
            "2000",
            "--reads",
            "1000",
            "--reps",
            "2",
        ])
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("running storage-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("medians of 2 run(s)"), "{stdout}");
    for row in [
        "(a) insert",
        "(b) insert",
        "(c) random point read",
        "(d) point read",
        "(e) full",
    ] {
        assert!(stdout.contains(row), "missing {row}: {stdout}");
    }
    assert!(stdout.contains("peak RSS"), "{stdout}");
    // Both repetitions ran both phases; data directories are cleaned up.
    assert_eq!(stderr.matches("fjall Main").count(), 2, "{stderr}");
    assert_eq!(stderr.matches("fjall Synced").count(), 2, "{stderr}");
    let left = std::fs::read_dir(dir.path()).expect("list").count();
    assert_eq!(left, 0, "the run's temp root is removed");
}

#[test]
fn child_rejects_unknown_phase_pairing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_storage-bench"))
        .args(["--engine", "fjall", "--phase", "group", "--keys", "10"])
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("running storage-bench");
    assert!(!out.status.success(), "fjall has no group-commit row");
}
