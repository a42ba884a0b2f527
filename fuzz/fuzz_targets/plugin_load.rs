//! Arbitrary bytes as an encoder plugin (see `checks::plugin_load`).
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::plugin_load(data));
