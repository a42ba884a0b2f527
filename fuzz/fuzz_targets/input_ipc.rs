//! Arbitrary bytes as Arrow IPC input, stream and file (see `checks::columnar_input`).
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::columnar_input(data, atio::input::InputFormat::Arrow));
