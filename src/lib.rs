//! Basalt's node: configuration, write-timestamp clock and command line.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod hlc;
