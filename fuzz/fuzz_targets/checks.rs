//! What each fuzz target asserts, shared with the test suite: `tests/integration/fuzz_corpus.rs`
//! replays the checked-in corpus (and every crash turned regression input) through these same
//! functions on every `cargo test`, so no fuzzing toolchain is needed to keep them fixed.

use std::path::Path;
use std::time::Duration;

use atio::ErrorKind;
use atio::input::{InputFormat, open, read_stream};
use atio::manifest::{DirManifest, Manifest};
use atio::plugin::{CacheMode, Plugin, PluginLimits, component_sha256};

/// Arbitrary bytes as CSV or JSON-lines input: schema inference and every batch end in a value
/// or an error, never a panic (a panic in the reader would take `atio write` down mid-write).
pub fn input(data: &[u8], format: InputFormat) {
    let source = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(reader) = read_stream(source, format, Path::new("fuzz-input")) else {
        return;
    };
    for batch in reader {
        if batch.is_err() {
            break;
        }
    }
}

/// Arbitrary bytes as a columnar input: an Arrow IPC stream (from a byte stream), and an Arrow
/// IPC file and a Parquet file (from a scratch file). Opening and every batch end in a value or
/// an error naming the input, never a panic; `.ci/fuzz.sh` runs these targets under tight
/// memory limits, so a small input that makes the readers allocate gigabytes is a crash too.
pub fn columnar_input(data: &[u8], format: InputFormat) {
    let label = Path::new("fuzz-input");
    let reader = match format {
        InputFormat::Arrow => {
            read_stream(Box::new(std::io::Cursor::new(data.to_vec())), format, label)
                .map(|reader| drain(reader, label))
        }
        _ => Ok(()),
    };
    if let Err(error) = reader {
        assert_input_error(&error, label);
    }
    let extension = match format {
        InputFormat::Parquet => "parquet",
        _ => "arrow",
    };
    let file = std::env::temp_dir().join(format!("atio-fuzz-{}.{extension}", std::process::id()));
    std::fs::write(&file, data).expect("scratch file");
    if let Err(error) = open(&file, Some(format)).map(|reader| drain(reader, &file)) {
        assert_input_error(&error, &file);
    }
    let _ = std::fs::remove_file(&file);
}

fn drain(reader: atio::input::BatchReader, label: &Path) {
    for batch in reader {
        if let Err(error) = batch {
            let error = atio::input::arrow_error(label, error);
            assert_input_error(&error, label);
            break;
        }
    }
}

/// An input's error names the input and blames it (or the I/O reading it), nothing else.
fn assert_input_error(error: &atio::Error, label: &Path) {
    assert_eq!(error.path(), label, "{error}");
    assert!(
        matches!(
            error.kind(),
            ErrorKind::InvalidInput | ErrorKind::UnsupportedFormat
        ),
        "{error}"
    );
}

/// Arbitrary bytes as a `_SUCCESS` manifest (file and directory kinds): parsing returns a value
/// or a `verification` error, never a panic; and what parses survives a write and re-read with
/// the fields `verify` relies on unchanged.
pub fn manifest(data: &[u8]) {
    let path = Path::new("fuzz._SUCCESS");
    match Manifest::from_json(data, path) {
        Ok(manifest) => {
            let again = Manifest::from_json(&manifest.to_json(), path)
                .expect("a manifest atio wrote parses back");
            assert_eq!(
                (&again.name, again.bytes, &again.hash, again.rows),
                (
                    &manifest.name,
                    manifest.bytes,
                    &manifest.hash,
                    manifest.rows
                )
            );
        }
        Err(error) => assert_eq!(error.kind(), ErrorKind::Verification),
    }
    match DirManifest::from_json(data, path) {
        Ok(manifest) => {
            let again = DirManifest::from_json(&manifest.to_json(), path)
                .expect("a directory manifest atio wrote parses back");
            assert_eq!(again.files, manifest.files);
            assert!(again.same_content(&manifest));
        }
        Err(error) => assert_eq!(error.kind(), ErrorKind::Verification),
    }
}

/// Arbitrary bytes as an encoder plugin: loading (validation, compilation, the import allowlist,
/// the contract check, instantiation, `info`) ends in a plugin or a `plugin` error, never a
/// panic. A valid component gets compiled and cached: point ATIO_CACHE_DIR at scratch space.
pub fn plugin_load(data: &[u8]) {
    let limits = PluginLimits {
        timeout: Duration::from_secs(5),
        memory: 64 << 20,
        output_quota: Some(1 << 20),
    };
    let sha256 = component_sha256(data);
    if let Err(error) = Plugin::load_with("fuzz.wasm", data, &sha256, &limits, CacheMode::Use) {
        assert_eq!(error.kind(), ErrorKind::Plugin, "{error}");
    }
}
