//! The batchlog: how a logged batch that spans partitions is applied
//! entirely or, after a coordinator failure, eventually.
//!
//! Before a coordinator applies such a batch, it stores the batch's
//! mutations on one or two other live nodes of its data center
//! ([`endpoints::batchlog_endpoints`], on distinct racks where the data
//! center has them) with `BATCH_STORE` and waits for every one of them. Then
//! it writes the mutations at the client's consistency level and, once that
//! succeeded, tells the batchlog nodes to forget the batch (`BATCH_REMOVE`).
//! A batch still in a node's [`store::BatchlogStore`] well after it arrived
//! (twice the write timeout, as in Cassandra) means its coordinator died or
//! its write failed: the node's [`replay::BatchlogReplayer`] writes the
//! mutations to their replicas itself and then drops the entry.
//!
//! Replays are idempotent: the mutations carry their write timestamps, so
//! applying a batch twice (a lost `BATCH_REMOVE`, a replay racing a slow
//! coordinator) changes nothing.

pub(crate) mod endpoints;
pub(crate) mod replay;
pub(crate) mod store;
pub(crate) mod wire;

pub(crate) use endpoints::batchlog_endpoints;
pub use replay::{BatchReplay, BatchlogReplayConfig, BatchlogReplayer};
pub use store::{BatchlogCounters, BatchlogStore, BatchlogStoreConfig, StoreError};
pub(crate) use wire::encode_batch_store;
pub use wire::{BatchId, BatchRemoveRequest, BatchStoreRequest};
