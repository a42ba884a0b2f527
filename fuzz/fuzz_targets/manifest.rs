//! Arbitrary bytes as a `_SUCCESS` manifest (see `checks::manifest`).
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::manifest(data));
