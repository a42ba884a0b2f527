//! Hostile plugins: each failure is a clear error, the original target stays intact, and no
//! staging file remains.

use std::path::Path;
use std::time::{Duration, Instant};

use arrow::array::RecordBatchIterator;
use atio::formats::EncoderChoice;
use atio::plugin::PluginLimits;
use atio::{ErrorKind, WriteOptions};

use crate::encoders::guest_wasm;
use crate::support::{assert_no_leftovers, run_atio, stderr};

/// Writes the sample through plugin `name` over an existing target; returns the error.
fn attack(name: &str, limits: PluginLimits) -> (atio::Error, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, b"original").unwrap();
    let plugin = guest_wasm(name);
    // Load (and compile) first, so the timing below measures only the write.
    let _ = atio::formats::load_file(&plugin, &PluginLimits::default());
    let options = WriteOptions {
        encoder: Some(EncoderChoice::PluginFile(plugin)),
        limits,
        ..WriteOptions::default()
    };
    let batches = atio::sample::batches(1000, 500);
    let started = Instant::now();
    let error = atio::write(
        &target,
        RecordBatchIterator::new(batches.into_iter().map(Ok), atio::sample::schema()),
        &options,
    )
    .expect_err("a hostile plugin must fail the write");
    let elapsed = started.elapsed();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"original",
        "{name}: original lost"
    );
    assert_no_leftovers(dir.path());
    (error, elapsed)
}

/// Instance slots (and their resident pages) are reused from one session to the next; a new
/// session must still get fresh memory (zeroed heap), never bytes the previous one left behind.
#[test]
fn a_session_cannot_read_memory_left_by_the_one_before() {
    let limits = PluginLimits::default();
    let plugin = atio::formats::load_file(&guest_wasm("atio_test_snoop"), &limits).unwrap();
    // The session's output: the marker bytes found, or nothing for `fill`.
    let run = |mode: &str| -> String {
        let session = plugin
            .open(
                &atio::sample::schema(),
                &[("mode".to_owned(), mode.to_owned())],
                Vec::new(),
                &limits,
                Path::new("snoop.txt"),
            )
            .unwrap();
        let finished = session.finish::<Vec<u8>>().unwrap();
        String::from_utf8(finished.destination).unwrap()
    };
    // The control: within one session the freed marker bytes are handed out again, and seen.
    let seen: usize = run("fill-then-peek").parse().unwrap();
    assert!(seen >= 64 << 20, "the probe is blind: {seen} marker bytes");
    for _ in 0..3 {
        assert_eq!(run("fill"), "");
        assert_eq!(run("peek"), "0", "a session read its predecessor's memory");
    }
}

#[test]
fn an_infinite_loop_times_out_within_twice_the_deadline() {
    let deadline = Duration::from_millis(500);
    let (error, elapsed) = attack(
        "atio_test_spin",
        PluginLimits {
            timeout: deadline,
            ..PluginLimits::default()
        },
    );
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(error.to_string().contains("timed out"), "{error}");
    assert!(elapsed < deadline * 2, "took {elapsed:?}");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let (error, _) = attack(
        "atio_test_alloc_bomb",
        PluginLimits {
            memory: 64 << 20,
            ..PluginLimits::default()
        },
    );
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(
        error.to_string().contains("memory limit of 64 MiB"),
        "{error}"
    );
}

#[test]
fn a_panic_carries_its_message() {
    let (error, _) = attack("atio_test_panic", PluginLimits::default());
    assert_eq!(error.kind(), ErrorKind::Plugin);
    let message = error.to_string();
    assert!(message.contains("atio-test-panic: boom"), "{message}");
    // The megabyte of chatter before it is neither a trap nor kept whole.
    assert!(message.contains("chatter line      0"), "the head is kept");
    assert!(
        message.contains("bytes of plugin stderr omitted"),
        "{message}"
    );
    assert!(message.len() < 30_000, "{} bytes of message", message.len());
}

#[test]
fn an_output_bomb_hits_the_quota() {
    let (error, _) = attack(
        "atio_test_output_bomb",
        PluginLimits {
            output_quota: Some(8 << 20),
            ..PluginLimits::default()
        },
    );
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(
        error
            .to_string()
            .contains("output quota of 8388608 bytes exceeded"),
        "{error}"
    );
}

#[test]
fn a_failing_finish_publishes_nothing() {
    let (error, _) = attack("atio_test_fail_finish", PluginLimits::default());
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(error.to_string().contains("finish failed"), "{error}");
}

#[test]
fn a_filesystem_importer_is_refused_at_load_listing_what_it_imports() {
    let error =
        atio::formats::load_file(&guest_wasm("atio_test_fs_import"), &PluginLimits::default())
            .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Plugin);
    let message = error.to_string();
    assert!(
        message.contains("refused") && message.contains("wasi:filesystem/"),
        "{message}"
    );
    let (error, _) = attack("atio_test_fs_import", PluginLimits::default());
    assert!(error.to_string().contains("wasi:filesystem/"), "{error}");
}

#[test]
fn garbage_bytes_are_not_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.wasm");
    std::fs::write(&fake, b"\0asm\x01\0\0\0 definitely not a component").unwrap();
    let error = atio::formats::load_file(&fake, &PluginLimits::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(
        error.to_string().contains("fake.wasm")
            && error
                .to_string()
                .contains("not a valid WebAssembly component"),
        "{error}"
    );
}

#[test]
fn the_cli_maps_plugin_failures_to_exit_code_11() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), b"a,b\n1,2\n").unwrap();
    std::fs::write(dir.path().join("out.txt"), b"original").unwrap();
    let plugin = guest_wasm("atio_test_panic");
    let output = run_atio(
        dir.path(),
        &[
            "write",
            "in.csv",
            "out.txt",
            "--plugin",
            plugin.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(11), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("atio-test-panic: boom"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("encode `"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(dir.path().join("out.txt")).unwrap(),
        b"original"
    );
    assert_no_leftovers(dir.path());
}

/// Writes through plugin `header-abuse` in `mode` over an existing target: the committed bytes
/// (checked against the report's hash), or the error (the original then intact, nothing left).
fn abuse_header(mode: &str) -> Result<Vec<u8>, atio::Error> {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, b"original").unwrap();
    let options = WriteOptions {
        encoder: Some(EncoderChoice::PluginFile(guest_wasm(
            "atio_test_header_abuse",
        ))),
        encoder_options: vec![("mode".into(), mode.into())],
        ..WriteOptions::default()
    };
    let batches = atio::sample::batches(10, 10);
    let written = atio::write(
        &target,
        RecordBatchIterator::new(batches.into_iter().map(Ok), atio::sample::schema()),
        &options,
    );
    match written {
        Ok(report) => {
            let bytes = std::fs::read(&target).unwrap();
            assert_eq!(report.hash, atio::hash::hash_bytes(&bytes), "{mode}");
            atio::verify(&target).unwrap();
            Ok(bytes)
        }
        Err(error) => {
            assert_eq!(std::fs::read(&target).unwrap(), b"original", "{mode}");
            assert_no_leftovers(dir.path());
            Err(error)
        }
    }
}

#[test]
fn header_rewrites_are_checked_by_the_host_and_a_refusal_is_final() {
    assert_eq!(abuse_header("good").unwrap(), b"HEADbody");
    // Reserved but never rewritten: still hashed right (from the file, at commit).
    assert_eq!(abuse_header("unused").unwrap(), b"....body");
    // A refused reservation is not final: the plugin goes on writing.
    assert_eq!(
        String::from_utf8(abuse_header("late").unwrap()).unwrap(),
        "body;reserve-header comes once, before the first write"
    );
    for (mode, expected) in [
        (
            "unreserved",
            "misused its output: rewrite-header without reserve-header",
        ),
        (
            "too-long",
            "misused its output: rewrite-header of 8 bytes, but 4 were reserved",
        ),
        (
            "beyond-written",
            "misused its output: rewrite-header of 32 bytes, but only 10 were written",
        ),
        // The plugin ignores the refusal and reports success: nothing is committed anyway.
        (
            "ignore",
            "misused its output: rewrite-header of 8 bytes, but 4 were reserved",
        ),
        (
            "oversized",
            "a header of 65537 bytes is over the 65536-byte limit",
        ),
    ] {
        let error = abuse_header(mode).unwrap_err();
        assert!(error.to_string().contains(expected), "{mode}: {error}");
    }
}

/// 0.1.1 added the header calls; a plugin built against 0.1.0 (without them) still runs.
#[test]
fn a_plugin_built_against_the_first_contract_still_runs() {
    let plugin = guest_wasm("atio_test_contract_0_1_0");
    let loaded = atio::formats::load_file(&plugin, &PluginLimits::default()).unwrap();
    assert_eq!(loaded.contract_version, "0.1.0");
    assert!(
        loaded
            .imports
            .iter()
            .any(|name| name == "atio:encoder/sink@0.1.0"),
        "{:?}",
        loaded.imports
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lines.txt");
    let options = WriteOptions {
        encoder: Some(EncoderChoice::PluginFile(plugin)),
        ..WriteOptions::default()
    };
    let batches = atio::sample::batches(30, 10);
    atio::write(
        &target,
        RecordBatchIterator::new(batches.into_iter().map(Ok), atio::sample::schema()),
        &options,
    )
    .unwrap();
    let text = std::fs::read_to_string(&target).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[2].starts_with("batch 3: "), "{text}");
}
