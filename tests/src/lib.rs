//! Cross-crate and end-to-end suites live in `tests/tests/*.rs`; this library is empty.
