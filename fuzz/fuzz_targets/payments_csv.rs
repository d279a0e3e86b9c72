#![no_main]
//! See `lea_notices::fuzzing::payments_csv`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lea_notices::fuzzing::payments_csv(data));
