//! The guest workspace's own unit tests — the SDK (IPC decoding, sink buffering, options), and
//! each built-in encoder's tests, including the CSV and JSON-lines fast paths checked byte for
//! byte against arrow-csv and arrow-json — run natively, so that `cargo test` is the whole suite.

use std::path::Path;

use crate::support::{cargo, guest_target_dir, host_triple, stderr, stdout};

#[test]
fn the_guest_crates_pass_their_own_unit_tests() {
    let guest_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-formats");
    // Natively, in the target directory host/build.rs builds the guests in (same lock file).
    let output = cargo(&guest_dir)
        .args(["test", "--workspace", "--target", &host_triple()])
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .output()
        .unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(output.status.success(), "{out}\n{err}");
    let passed: Vec<usize> = out
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .filter(|&passed| passed > 0)
        .collect();
    // Every crate with tests ran them: the SDK, arrow, csv, jsonl, npy, parquet (and doctests).
    for suite in [
        "atio_encoder_sdk",
        "atio_format_arrow",
        "atio_format_csv",
        "atio_format_jsonl",
        "atio_format_npy",
        "atio_format_parquet",
    ] {
        assert!(err.contains(suite), "no test binary for {suite}:\n{err}");
    }
    assert!(
        passed.len() >= 6,
        "too few suites passed tests ({passed:?}):\n{out}"
    );
}
