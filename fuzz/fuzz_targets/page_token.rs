#![no_main]
//! See `lea_notices::fuzzing::page_token`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lea_notices::fuzzing::page_token(data));
