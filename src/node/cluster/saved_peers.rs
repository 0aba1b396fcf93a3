//! The ring as this node last knew it, kept across restarts
//! (`<data dir>/peers`), as Cassandra keeps `system.peers`.
//!
//! Gossip learns the other nodes only once they answer. A node restarted
//! while some peers are down, or before gossip reached them, would otherwise
//! route with a ring of just the nodes it has heard from: every token range
//! falls to them, and a QUORUM write is acknowledged by nodes that do not
//! replicate the key, where no later read looks. With the saved ring the
//! routing snapshot holds every owner from the start; those gossip has not
//! confirmed are down until it does, so such a write is refused
//! (Unavailable) or hinted, never misplaced.
//!
//! The file is text, replaced atomically through `storage::durable`: a
//! first line `basalt-peers 1`, then one line per peer with tab-separated
//! fields `host_id endpoint datacenter rack tokens` (tokens comma-separated
//! decimal i64). It is a cache: unreadable or corrupt, it is ignored with a
//! warning and gossip rebuilds the ring.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cluster::Status;
use cluster::membership::{Member, parse_host_id};
use storage::{FileSystem, Token, durable};

use crate::uuids::format_uuid;

const FILE: &str = "peers";
const HEADER: &str = "basalt-peers 1";
/// 1,000 peers of 256 tokens take about 5 MiB: anything larger is garbage.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The saved ring of one node: what it loaded at start, and where it saves.
#[derive(Debug)]
pub(crate) struct SavedPeers {
    fs: std::sync::Arc<dyn FileSystem>,
    path: PathBuf,
    /// The peers loaded at start; members gossip has not described yet are
    /// taken from here.
    loaded: Vec<Member>,
    /// What was last written, so an unchanged ring is not rewritten.
    written: Mutex<Vec<Member>>,
}

impl SavedPeers {
    /// Loads `<dir>/peers` (nothing when absent or unreadable).
    pub(crate) fn load(fs: std::sync::Arc<dyn FileSystem>, dir: &Path) -> SavedPeers {
        let path = dir.join(FILE);
        let loaded = match read(fs.as_ref(), &path) {
            Ok(peers) => peers,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "ignoring the saved peers");
                Vec::new()
            }
        };
        SavedPeers {
            fs,
            written: Mutex::new(loaded.clone()),
            path,
            loaded,
        }
    }

    /// The peers saved at the last run.
    pub(crate) fn loaded(&self) -> &[Member] {
        &self.loaded
    }

    /// Saves the data-owning members of `members` but `local` when they
    /// differ from what was last written. Blocking: call it off the runtime.
    pub(crate) fn save(&self, members: &[Member], local: SocketAddr) {
        let owners: Vec<Member> = members
            .iter()
            .filter(|m| m.endpoint != local && owns_data(m))
            .cloned()
            .collect();
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if same_ring(&written, &owners) {
            return;
        }
        match durable::replace_atomically(self.fs.as_ref(), &self.path, encode(&owners).as_bytes())
        {
            Ok(()) => *written = owners,
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "could not save the peers");
            }
        }
    }
}

/// Whether a member owns token ranges (what the saved ring is for).
fn owns_data(m: &Member) -> bool {
    matches!(
        m.status,
        Status::Normal | Status::Leaving | Status::Shutdown
    ) && !m.tokens.is_empty()
}

/// Whether two lists name the same owners with the same placement.
fn same_ring(a: &[Member], b: &[Member]) -> bool {
    let key = |m: &Member| {
        (
            m.host_id,
            m.endpoint,
            m.datacenter.clone(),
            m.rack.clone(),
            m.tokens.clone(),
        )
    };
    a.len() == b.len() && a.iter().map(key).eq(b.iter().map(key))
}

fn read(fs: &dyn FileSystem, path: &Path) -> Result<Vec<Member>, String> {
    durable::remove_stale_temp(fs, path).map_err(|e| e.to_string())?;
    match durable::read_whole(fs, path, MAX_FILE_BYTES).map_err(|e| e.to_string())? {
        None => Ok(Vec::new()),
        Some(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
            decode(&text)
        }
    }
}

/// The file's text for `peers`.
pub(crate) fn encode(peers: &[Member]) -> String {
    let mut out = format!("{HEADER}\n");
    for m in peers {
        let tokens: Vec<String> = m.tokens.iter().map(|t| t.0.to_string()).collect();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            format_uuid(&m.host_id.0),
            m.endpoint,
            m.datacenter,
            m.rack,
            tokens.join(",")
        ));
    }
    out
}

/// The peers in a file's text; an error names the first bad line.
pub(crate) fn decode(text: &str) -> Result<Vec<Member>, String> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err("not a peers file (bad first line)".to_owned());
    }
    lines
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(n, line)| decode_line(line).ok_or_else(|| format!("line {}: malformed", n + 2)))
        .collect()
}

fn decode_line(line: &str) -> Option<Member> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [host_id, endpoint, datacenter, rack, tokens] = fields.as_slice() else {
        return None;
    };
    let tokens: Option<Vec<Token>> = tokens
        .split(',')
        .map(|t| t.parse::<i64>().ok().map(Token))
        .collect();
    let tokens = tokens?;
    if tokens.is_empty() || datacenter.is_empty() || rack.is_empty() {
        return None;
    }
    Some(Member {
        endpoint: endpoint.parse().ok()?,
        host_id: parse_host_id(host_id)?,
        datacenter: (*datacenter).to_owned(),
        rack: (*rack).to_owned(),
        tokens,
        status: Status::Normal,
        native_address: None,
        schema_version: None,
        release_version: None,
        load: None,
    })
}

#[cfg(test)]
mod tests;
