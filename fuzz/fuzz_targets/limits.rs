#![no_main]
//! See `lea_notices::fuzzing::limits_walk`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lea_notices::fuzzing::limits_walk(data));
