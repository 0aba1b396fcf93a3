//! Test support shared by the crate's unit tests: a reference model of what
//! reads must return, so memtable, read-path and engine tests check against one
//! definition instead of each keeping its own.

pub(crate) mod model;
