//! Hinted handoff that survives restarts: the durable [`store::HintStore`]
//! the coordinator leaves writes in for replicas that are down or did not
//! answer, and [`replay::HintReplayer`], which sends them once the replica is
//! alive again.
//!
//! On disk, `<dir>/<host-id>-<n>.hints` per target host: append-only files of
//! `storage::durable`, a versioned header then length + CRC32C framed
//! records, each the write's creation time in ms and the encoded
//! [`storage::Mutation`] (`docs/design/hints.md`). A host's files are deleted
//! once every hint in them was acknowledged.
//!
//! The write path never does the disk I/O itself: hints go through a bounded
//! queue ([`queue`]) to the store's writer thread.

mod queue;
pub(crate) mod replay;
pub(crate) mod store;

pub use replay::{HintReplayer, ReplayConfig, ReplayError};
pub use store::{HintClock, HintCounters, HintFile, HintStore, HintStoreConfig};
