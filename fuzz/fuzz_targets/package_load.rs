//! libFuzzer entry for [`ragasense_fuzz_oracles::package_load`]: see its documentation for
//! the input and what counts as a crash.
//!
//! The loader turns the panics burn raises on some malformed weights into errors
//! (`raga_model::package::load_weights`); libFuzzer's panic hook would abort on them before
//! they unwind, so the default hook is put back. A panic that escapes the loader still
//! aborts (libfuzzer-sys catches it at the top), and memory errors and leaks of memory are
//! AddressSanitizer's as before.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        drop(std::panic::take_hook());
    },
    |data: &[u8]| ragasense_fuzz_oracles::package_load(data)
);
