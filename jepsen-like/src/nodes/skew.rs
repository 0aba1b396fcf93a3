//! A node's wall clock, moved on purpose. The nodes run under libfaketime,
//! whose offset file the harness rewrites; whether the library really is
//! loaded is checked in each node's memory map, since a statically linked
//! binary would ignore `LD_PRELOAD` silently. Without it, a skew falls back
//! to restarting the node with `clock_offset` in its YAML (slower, and a
//! strobe becomes a single bump).

use std::sync::atomic::Ordering;

use super::{Cluster, NodeConfig};

impl Cluster {
    /// Checks that libfaketime is mapped into every running node; the nodes
    /// without it. Any such node switches every skew to the fallback.
    pub(crate) async fn check_faketime(&self) -> Vec<usize> {
        let mut missing = Vec::new();
        for i in 1..=self.len() {
            let loaded = match self.pid(i).await {
                Some(pid) => std::fs::read_to_string(format!("/proc/{pid}/maps"))
                    .is_ok_and(|maps| maps.contains("libfaketime")),
                None => false,
            };
            if !loaded {
                missing.push(i);
            }
        }
        self.faketime.store(missing.is_empty(), Ordering::Release);
        missing
    }

    /// Whether skews take effect at once (libfaketime), so a strobe works.
    pub(crate) fn clock_is_live(&self) -> bool {
        self.faketime.load(Ordering::Acquire)
    }

    /// Sets node `i`'s clock `offset_ms` from the true time: through
    /// libfaketime's file, or by restarting it with `clock_offset`.
    pub(crate) async fn skew(&self, i: usize, offset_ms: i64) -> Result<(), String> {
        if self.clock_is_live() {
            return self.set_clock(i, offset_ms);
        }
        let slot = self
            .offsets
            .get(i.wrapping_sub(1))
            .ok_or(format!("no node n{i}"))?;
        if slot.load(Ordering::Acquire) == offset_ms {
            return Ok(());
        }
        let files = self.files(i)?;
        let mut config = NodeConfig::new(self.subnet, i, &files.dir);
        config.clock_offset = offset_ms;
        std::fs::write(&files.config, config.to_yaml()).map_err(|e| e.to_string())?;
        slot.store(offset_ms, Ordering::Release);
        self.kill(i).await?;
        let why = format!("restarted with clock_offset {offset_ms} ms");
        self.start(i, &why).await
    }
}
