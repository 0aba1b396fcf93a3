//! Any bytes given to the mutation decoder: an error or a mutation that
//! re-encodes to something that decodes to itself, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storage::Mutation;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Mutation::decode(data) {
        let again = Mutation::decode(&m.to_bytes()).expect("a decoded mutation re-encodes");
        assert_eq!(again, m);
    }
});
