//! Basalt's cluster layer: partitioner, token ring, gossip, messaging, the
//! coordinator, hints, repair and streaming.
//!
//! Nothing is implemented yet: this crate is an empty placeholder in the
//! workspace so the layering (`cluster` depends on `storage` only) is fixed from
//! the start. It is built by the cluster issue.
#![forbid(unsafe_code)]
