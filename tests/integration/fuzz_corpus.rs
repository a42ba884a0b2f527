//! The fuzz corpus as regression tests: every input checked in under `fuzz/corpus/<target>/` (the
//! seeds, and any input that ever crashed a target, added there when it is fixed) goes through the
//! same checks as the fuzz targets (`fuzz/fuzz_targets/checks.rs`) on every `cargo test`.

use std::path::PathBuf;

use atio::input::InputFormat;

#[path = "../../fuzz/fuzz_targets/checks.rs"]
mod checks;

/// The checked-in inputs of one fuzz target.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no corpus in {}", dir.display());
    inputs
}

/// Runs `check` on every input of `target`, naming the input that panicked.
fn replay(target: &str, check: impl Fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn csv_corpus_inputs_parse_or_fail_cleanly() {
    replay("input_csv", |data| checks::input(data, InputFormat::Csv));
}

#[test]
fn jsonl_corpus_inputs_parse_or_fail_cleanly() {
    replay("input_jsonl", |data| {
        checks::input(data, InputFormat::Jsonl)
    });
}

#[test]
fn arrow_ipc_corpus_inputs_read_or_fail_naming_the_input() {
    replay("input_ipc", |data| {
        checks::columnar_input(data, InputFormat::Arrow)
    });
}

#[test]
fn parquet_corpus_inputs_read_or_fail_naming_the_input() {
    replay("input_parquet", |data| {
        checks::columnar_input(data, InputFormat::Parquet)
    });
}

#[test]
fn manifest_corpus_inputs_parse_and_round_trip_or_fail_as_verification_errors() {
    replay("manifest", checks::manifest);
}

#[test]
fn plugin_corpus_inputs_load_or_fail_as_plugin_errors() {
    replay("plugin_load", checks::plugin_load);
}
