//! libFuzzer entry for [`ragasense_fuzz_oracles::package_load`]: see its documentation for
//! the input and what counts as a crash.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ragasense_fuzz_oracles::package_load(data));
