//! INSERT, UPDATE, DELETE and BATCH: statements turned into storage mutations.
