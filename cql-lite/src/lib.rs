//! Basalt's CQL layer: the CQL parser, CQL types, and the native protocol v4
//! codec and server.
//!
//! Nothing is implemented yet: this crate is an empty placeholder in the
//! workspace so the layering (`cql-lite` depends on no other crate of ours) is
//! fixed from the start. It is built by the CQL issue.
#![forbid(unsafe_code)]
