//! Arbitrary bytes as CSV input (see `checks::input`).
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::input(data, atio::input::InputFormat::Csv));
