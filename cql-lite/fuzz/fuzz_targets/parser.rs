//! Any UTF-8 text given to the CQL parser: a statement or a positioned error, never a
//! panic or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cql_lite::parse(text);
    }
});
