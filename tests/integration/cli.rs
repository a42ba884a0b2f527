//! The `atio` binary: exit codes, messages, signals, kills.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    assert_no_leftovers, atio, leftovers, marker, run_atio, run_atio_env, stderr, stdout, xxh3,
};

#[test]
fn put_writes_stdin_atomically_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_atio(
        dir.path(),
        &["--json", "put", "out/data.bin"],
        b"from stdin",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["bytes"], 10);
    assert_eq!(report["hash"], xxh3(b"from stdin"));
    assert_eq!(report["durability"], "full");
    let path = dir.path().join("out/data.bin");
    assert_eq!(std::fs::read(&path).unwrap(), b"from stdin");
    assert_eq!(marker(&path)["bytes"], 10);
}

#[test]
fn verbose_prints_step_timings() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_atio(dir.path(), &["put", "--verbose", "t.bin"], b"x");
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    for step in [
        "setup",
        "write",
        "fsync",
        "rename",
        "dir fsync",
        "marker",
        "total",
    ] {
        assert!(err.contains(step), "missing {step} in {err}");
    }
    assert!(stdout(&output).contains("committed"));
}

#[test]
fn no_clobber_exits_with_the_conflict_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.txt"), b"keep").unwrap();
    let output = run_atio(dir.path(), &["put", "--no-clobber", "t.txt"], b"new");
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("t.txt") && err.contains("exists"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(std::fs::read(dir.path().join("t.txt")).unwrap(), b"keep");
    assert_no_leftovers(dir.path());
}

#[test]
fn verify_exits_1_with_a_precise_message() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run_atio(dir.path(), &["put", "f.bin"], b"abcdef")
            .status
            .success()
    );
    let ok = run_atio(dir.path(), &["verify", "f.bin"], b"");
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("ok f.bin"));

    std::fs::write(dir.path().join("f.bin"), b"abc").unwrap();
    let truncated = run_atio(dir.path(), &["verify", "f.bin"], b"");
    assert_eq!(truncated.status.code(), Some(1));
    assert!(
        stderr(&truncated).contains("size is 3 bytes but the marker records 6"),
        "{}",
        stderr(&truncated)
    );

    std::fs::write(dir.path().join("f.bin"), b"abcdeX").unwrap();
    let altered = run_atio(dir.path(), &["verify", "f.bin"], b"");
    assert_eq!(altered.status.code(), Some(1));
    assert!(
        stderr(&altered).contains("content hash"),
        "{}",
        stderr(&altered)
    );

    let missing = run_atio(dir.path(), &["verify", "nothing.bin"], b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no _SUCCESS marker"),
        "{}",
        stderr(&missing)
    );
}

/// Starts `atio put target` and feeds it some bytes, leaving stdin open so it is mid-write.
fn start_put_mid_write(dir: &std::path::Path) -> std::process::Child {
    let mut child = atio()
        .args(["put", "target.bin"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(&vec![7u8; 3 << 20])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while leftovers(dir).is_empty() {
        assert!(Instant::now() < deadline, "no staging file appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

#[test]
fn sigkill_mid_write_keeps_the_original_and_clean_sweeps_the_orphan() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        run_atio(dir.path(), &["put", "target.bin"], b"original")
            .status
            .success()
    );
    let mut child = start_put_mid_write(dir.path());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        std::fs::read(dir.path().join("target.bin")).unwrap() == b"original",
        "target replaced"
    );
    assert_eq!(
        marker(&dir.path().join("target.bin"))["hash"],
        xxh3(b"original")
    );
    assert_eq!(
        leftovers(dir.path()).len(),
        1,
        "the killed writer's staging file stays until clean"
    );

    let cleaned = run_atio(dir.path(), &["clean", "."], b"");
    assert!(cleaned.status.success(), "{}", stderr(&cleaned));
    assert!(
        stdout(&cleaned).contains("removed 1 staging file"),
        "{}",
        stdout(&cleaned)
    );
    assert_no_leftovers(dir.path());
    assert!(
        run_atio(dir.path(), &["verify", "target.bin"], b"")
            .status
            .success()
    );
}

#[test]
fn sigint_and_sigterm_remove_the_staging_file_and_exit_130() {
    for signal in [rustix::process::Signal::INT, rustix::process::Signal::TERM] {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            run_atio(dir.path(), &["put", "target.bin"], b"original")
                .status
                .success()
        );
        let child = start_put_mid_write(dir.path());
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, signal).unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(130),
            "{signal:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("interrupted"),
            "{}",
            stderr(&output)
        );
        assert!(
            std::fs::read(dir.path().join("target.bin")).unwrap() == b"original",
            "{signal:?}: target replaced"
        );
        assert_no_leftovers(dir.path());
    }
}

#[test]
fn permission_denied_names_the_path_and_step_and_uses_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("t.txt"), b"original").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let target = locked.join("t.txt");
    let output = crate::support::atio_unprivileged(&["put", target.to_str().unwrap()], dir.path());
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("stage") && err.contains("locked"), "{err}");
    assert!(
        err.contains("Permission denied") || err.contains("permission denied"),
        "{err}"
    );
    assert_eq!(std::fs::read(locked.join("t.txt")).unwrap(), b"original");
    assert_no_leftovers(dir.path());
}

#[test]
fn demo_writes_and_verifies_the_sample_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_atio(dir.path(), &["demo", "out"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("verified"), "{}", stdout(&output));
    assert!(
        run_atio(dir.path(), &["verify", "out/sample.csv"], b"")
            .status
            .success()
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn write_converts_csv_to_parquet_and_jsonl_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.csv"),
        b"id,name,score\n1,ann,0.5\n2,bob,\n3,cy,2.25\n",
    )
    .unwrap();
    let output = run_atio(
        dir.path(),
        &[
            "--json",
            "write",
            "in.csv",
            "out/scores.parquet",
            "-o",
            "compression=gzip",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["rows"], 3);
    assert_eq!(report["format"], "parquet");
    let file = std::fs::File::open(dir.path().join("out/scores.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.map(Result::unwrap).next().unwrap();
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.schema().field(1).name(), "name");
    assert_eq!(batch.column(2).null_count(), 1);

    let lines = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": null}\n";
    let output = run_atio(
        dir.path(),
        &["write", "-", "out.csv", "--input-format", "jsonl"],
        lines,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "a,b\n1,x\n2,\n"
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn write_errors_name_the_problem_and_use_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), b"a\n1\n").unwrap();
    let unknown = run_atio(dir.path(), &["write", "in.csv", "out.xlsx"], b"");
    assert_eq!(unknown.status.code(), Some(9), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("known formats"),
        "{}",
        stderr(&unknown)
    );
    let bad_option = run_atio(
        dir.path(),
        &["write", "in.csv", "out.csv", "-o", "delimiter=ab"],
        b"",
    );
    assert_eq!(
        bad_option.status.code(),
        Some(10),
        "{}",
        stderr(&bad_option)
    );
    assert!(
        stderr(&bad_option).contains("delimiter"),
        "{}",
        stderr(&bad_option)
    );
    let missing = run_atio(dir.path(), &["write", "nope.csv", "out.csv"], b"");
    assert_eq!(missing.status.code(), Some(7), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("nope.csv"),
        "{}",
        stderr(&missing)
    );
    assert!(!dir.path().join("out.csv").exists());
    assert_no_leftovers(dir.path());
}

#[test]
fn plugins_can_be_added_listed_inspected_used_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let run = |args: &[&str]| {
        let output = run_atio_env(dir.path(), args, &[("ATIO_PLUGIN_DIR", &plugins)]);
        (output.status.code(), stdout(&output), stderr(&output))
    };
    let fail_finish = crate::encoders::guest_wasm("atio_test_fail_finish");
    let (code, out, err) = run(&["plugins", "add", fail_finish.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("installed test-fail-finish"), "{out}");
    let (_, out, _) = run(&["plugins", "list"]);
    assert!(
        out.contains("parquet") && out.contains("test-fail-finish") && out.contains("installed"),
        "{out}"
    );
    let (code, out, err) = run(&["plugins", "inspect", "test-fail-finish"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("contract    atio:encoder@0.1.2") && out.contains("sha256"),
        "{out}"
    );
    let (code, out, err) = run(&["plugins", "inspect", "parquet"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("parts       exported: one file on several instances"),
        "{out}"
    );
    std::fs::write(dir.path().join("in.csv"), b"a\n1\n").unwrap();
    let (code, _, err) = run(&["write", "in.csv", "out.txt", "--format", "test-fail-finish"]);
    assert_eq!(code, Some(11), "{err}");
    assert!(err.contains("finish failed"), "{err}");
    let (code, _, err) = run(&[
        "plugins",
        "add",
        crate::encoders::guest_wasm("atio_test_fs_import")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(code, Some(11), "{err}");
    assert!(err.contains("wasi:filesystem"), "{err}");
    let (code, out, _) = run(&["plugins", "remove", "test-fail-finish"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("removed"));
    let (_, out, _) = run(&["plugins", "list"]);
    assert!(!out.contains("test-fail-finish"), "{out}");
    assert_no_leftovers(dir.path());
}

#[test]
fn an_installed_plugin_replaced_on_disk_runs_as_what_it_now_is() {
    // Installed plugins are loaded by the sha256 recorded at install time only while the file
    // still has the recorded content hash; otherwise the compiled code cached for the old
    // bytes would run in place of the new ones.
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let run = |args: &[&str]| {
        let output = run_atio_env(dir.path(), args, &[("ATIO_PLUGIN_DIR", &plugins)]);
        (output.status.code(), stderr(&output))
    };
    let fail_finish = crate::encoders::guest_wasm("atio_test_fail_finish");
    let (code, err) = run(&["plugins", "add", fail_finish.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(dir.path().join("in.csv"), b"a\n1\n").unwrap();
    let write = ["write", "in.csv", "out.txt", "--format", "test-fail-finish"];
    let (code, err) = run(&write);
    assert_eq!(code, Some(11), "{err}");
    assert!(err.contains("finish failed"), "{err}");
    std::fs::copy(
        crate::encoders::guest_wasm("atio_test_panic"),
        plugins.join("test-fail-finish.wasm"),
    )
    .unwrap();
    let (code, err) = run(&write);
    assert_eq!(code, Some(11), "{err}");
    assert!(err.contains("atio-test-panic: boom"), "{err}");
    assert!(!dir.path().join("out.txt").exists());
}

#[test]
fn a_plugin_description_that_misstates_its_file_cannot_plant_compiled_code() {
    // Even with a description whose content hash matches the swapped file (an edit, or an xxh3
    // collision), nothing is compiled and cached under the sha256 it claims.
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let fresh_cache = dir.path().join("cache");
    let run = |args: &[&str]| {
        let env = [
            ("ATIO_PLUGIN_DIR", &*plugins),
            ("ATIO_CACHE_DIR", &*fresh_cache),
        ];
        let output = run_atio_env(dir.path(), args, &env);
        (output.status.code(), stderr(&output))
    };
    let fail_finish = crate::encoders::guest_wasm("atio_test_fail_finish");
    let (code, err) = run(&["plugins", "add", fail_finish.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::remove_dir_all(&fresh_cache).unwrap();
    let panic_wasm = std::fs::read(crate::encoders::guest_wasm("atio_test_panic")).unwrap();
    std::fs::write(plugins.join("test-fail-finish.wasm"), &panic_wasm).unwrap();
    let description = plugins.join("test-fail-finish.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&description).unwrap()).unwrap();
    let claimed = json["sha256"].as_str().unwrap().to_owned();
    json["content_hash"] = xxh3(&panic_wasm).into();
    std::fs::write(&description, serde_json::to_vec(&json).unwrap()).unwrap();
    std::fs::write(dir.path().join("in.csv"), b"a\n1\n").unwrap();
    let (code, err) = run(&["write", "in.csv", "out.txt", "--format", "test-fail-finish"]);
    assert_eq!(code, Some(11), "{err}");
    assert!(
        err.contains(&format!("not the {claimed} it was recorded with")),
        "{err}"
    );
    let planted = std::fs::read_dir(&fresh_cache)
        .into_iter()
        .flatten()
        .any(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&claimed)
        });
    assert!(!planted, "compiled code was cached under {claimed}");
    assert!(!dir.path().join("out.txt").exists());
}

#[test]
fn a_plugin_file_seen_before_is_known_by_content_hash_and_a_wrong_record_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::write(dir.path().join("in.csv"), b"a\n1\n").unwrap();
    let plugin = crate::encoders::guest_wasm("atio_format_jsonl");
    let wasm = std::fs::read(&plugin).unwrap();
    let record = cache.join(format!("{}.sha256", &xxh3(&wasm)["xxh3-128:".len()..]));
    let write = |expect_remembered: bool| {
        let args = [
            "write",
            "in.csv",
            "out.jsonl",
            "--plugin",
            plugin.to_str().unwrap(),
            "-v",
        ];
        let output = run_atio_env(dir.path(), &args, &[("ATIO_CACHE_DIR", &cache)]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let remembered = stderr(&output).contains("sha256 remembered by content hash");
        assert_eq!(remembered, expect_remembered, "{}", stderr(&output));
        assert_eq!(
            std::fs::read(dir.path().join("out.jsonl")).unwrap(),
            b"{\"a\":1}\n"
        );
        marker(&dir.path().join("out.jsonl"))["encoder"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let sha256 = write(false);
    assert_eq!(std::fs::read_to_string(&record).unwrap(), sha256);
    assert_eq!(write(true), sha256);
    // A wrong record (nothing is cached under the sha256 it names) is caught and replaced.
    for wrong in ["0".repeat(64), "not a sha256".to_owned()] {
        std::fs::write(&record, &wrong).unwrap();
        assert_eq!(write(false), sha256);
        assert_eq!(std::fs::read_to_string(&record).unwrap(), sha256);
    }
}

#[test]
fn a_corrupt_compile_cache_entry_is_recompiled_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::write(dir.path().join("in.csv"), b"a\n1\n").unwrap();
    let run = || {
        atio()
            .args(["write", "in.csv", "out.jsonl"])
            .current_dir(dir.path())
            .env("ATIO_CACHE_DIR", &cache)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .expect("a cache entry");
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).unwrap();
    let output = run();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap(),
        "{\"a\":1}\n"
    );
    atio::verify(&entry).expect("the entry was rewritten and matches its manifest again");
}

/// Where virtual memory is capped too tightly for the plugin instance pool (`ulimit -v`), atio
/// still writes, allocating plugin memory per session (and says so with `--verbose`).
#[test]
fn a_virtual_memory_cap_falls_back_from_the_plugin_instance_pool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), b"a,b\n1,2\n3,4\n").unwrap();
    // 16 GiB: room for one plugin instance's 4 GiB reservation, not for the pool's terabytes.
    let output = std::process::Command::new("sh")
        .args(["-c", "ulimit -v 16777216 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_atio"))
        .args(["write", "in.csv", "out.parquet", "--verbose"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("plugin instance pool unavailable"),
        "{}",
        stderr(&output)
    );
    let file = std::fs::File::open(dir.path().join("out.parquet")).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
}
