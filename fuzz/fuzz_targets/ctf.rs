#![no_main]
//! See `lea_notices::fuzzing::ctf_xml`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lea_notices::fuzzing::ctf_xml(data));
