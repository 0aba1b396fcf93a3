//! The node's identity: its host id and tokens, chosen at first start and kept.
//!
//! Drivers key hosts by `host_id`, and tokens decide which data a node owns, so
//! both must survive restarts. They live in `<data dir>/node.identity`, a small
//! text file (`host_id <uuid>` and one `token <i64>` line each), written by
//! `storage::durable`'s atomic replace (`node.identity.tmp`, fsync, rename,
//! directory fsync) through the `FileSystem` seam.

use std::path::Path;

use storage::FileSystem;
use storage::durable;

use crate::uuids::{format_uuid, parse_uuid, random_uuid};

/// A node's host id and tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The host id (a version-4 uuid).
    pub host_id: [u8; 16],
    /// Tokens in ascending order.
    pub tokens: Vec<i64>,
}

const FILE: &str = "node.identity";
/// A host id and 65,536 tokens take under 2 MiB: anything larger is garbage.
const MAX_FILE_BYTES: u64 = 2 << 20;

/// Loads the identity stored under `dir`, or creates one with `num_tokens`
/// random tokens.
pub(crate) fn load_or_create(
    fs: &dyn FileSystem,
    dir: &Path,
    num_tokens: usize,
) -> std::io::Result<Identity> {
    let path = dir.join(FILE);
    // A save cut short before its rename: the identity it did not replace
    // (or its absence) is still the current one.
    durable::remove_stale_temp(fs, &path)?;
    match durable::read_whole(fs, &path, MAX_FILE_BYTES)? {
        Some(bytes) => decode(&bytes).map_err(|reason| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {reason}", path.display()),
            )
        }),
        None => {
            let identity = fresh(num_tokens);
            save(fs, dir, &identity)?;
            Ok(identity)
        }
    }
}

fn decode(bytes: &[u8]) -> Result<Identity, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    parse(text)
}

fn fresh(num_tokens: usize) -> Identity {
    let mut tokens: Vec<i64> = (0..num_tokens.max(1))
        .map(|_| crate::entropy::random::<i64>())
        .filter(|t| *t != i64::MIN)
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    Identity {
        host_id: random_uuid(),
        tokens,
    }
}

fn save(fs: &dyn FileSystem, dir: &Path, identity: &Identity) -> std::io::Result<()> {
    fs.create_dir_all(dir)?;
    let mut text = format!("host_id {}\n", format_uuid(&identity.host_id));
    for t in &identity.tokens {
        text.push_str(&format!("token {t}\n"));
    }
    durable::replace_atomically(fs, &dir.join(FILE), text.as_bytes())
}

fn parse(text: &str) -> Result<Identity, String> {
    let mut host_id = None;
    let mut tokens = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once(' ') {
            Some(("host_id", v)) => host_id = Some(parse_uuid(v).ok_or("bad host_id")?),
            Some(("token", v)) => tokens.push(v.parse().map_err(|_| format!("bad token {v}"))?),
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    let host_id = host_id.ok_or("no host_id")?;
    if tokens.is_empty() {
        return Err("no tokens".into());
    }
    tokens.sort_unstable();
    Ok(Identity { host_id, tokens })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::PathBuf;
    use storage::StdFs;
    use storage::sim::{SimFs, replace_crash_points};

    #[test]
    fn identity_survives_a_restart_and_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(&StdFs, dir.path(), 16).unwrap();
        assert_eq!(first.tokens.len(), 16);
        assert_eq!(load_or_create(&StdFs, dir.path(), 4).unwrap(), first);
        std::fs::write(dir.path().join(FILE), "host_id nope\n").unwrap();
        assert!(load_or_create(&StdFs, dir.path(), 16).is_err());
        std::fs::write(dir.path().join(FILE), [0xff, 0xfe]).unwrap();
        assert!(load_or_create(&StdFs, dir.path(), 16).is_err());
    }

    #[test]
    fn a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_identity() {
        let dir = PathBuf::from("/data");
        let (old, new) = (fresh(4), fresh(8));
        for (kind, at) in replace_crash_points(&dir.join(FILE)) {
            let fs = SimFs::new();
            save(&fs, &dir, &old).unwrap();
            fs.halt_on(kind, &at, 0);
            assert!(save(&fs, &dir, &new).is_err(), "{kind:?} never happened");
            fs.restart();
            let loaded = load_or_create(&fs, &dir, 1).unwrap();
            assert!(loaded == old || loaded == new, "{kind:?}");
            assert!(!fs.exists(&dir.join(format!("{FILE}.tmp"))));
        }
    }

    #[test]
    fn a_first_start_cut_short_starts_afresh_and_then_keeps_its_identity() {
        let dir = PathBuf::from("/data");
        for (kind, at) in replace_crash_points(&dir.join(FILE)) {
            let fs = SimFs::new();
            fs.halt_on(kind, &at, 0);
            assert!(load_or_create(&fs, &dir, 4).is_err(), "{kind:?}");
            fs.restart();
            let first = load_or_create(&fs, &dir, 4).unwrap();
            fs.crash();
            assert_eq!(load_or_create(&fs, &dir, 4).unwrap(), first, "{kind:?}");
        }
    }
}
