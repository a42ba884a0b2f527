//! Directory targets and hive partitions: idempotent re-runs, no orphans, no mixed reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use arrow::array::RecordBatchIterator;
use atio::{DatasetOptions, Durability, Options, StagedDir};

use crate::support::{assert_no_leftovers, atio, run_atio, stderr};

/// Every file under `dir` (relative path → bytes), hidden entries included.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                into.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Data files (not `_SUCCESS`) under `dir`.
fn data_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_keys()
        .filter(|path| !path.ends_with("_SUCCESS"))
        .collect()
}

fn csv(rows: &[(&str, &str, i64)]) -> String {
    let mut text = String::from("dt,region,v\n");
    for (dt, region, v) in rows {
        text.push_str(&format!("{dt},{region},{v}\n"));
    }
    text
}

fn write_csv(dir: &Path, input: &str, args: &[&str]) {
    std::fs::write(dir.join("in.csv"), input).unwrap();
    let mut full = vec!["write", "in.csv"];
    full.extend_from_slice(args);
    let output = run_atio(dir, &full, b"");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_rerun_replaces_its_partition_exactly_and_leaves_neighbours_alone() {
    let dir = tempfile::tempdir().unwrap();
    let day1 = [
        ("2025-01-15", "eu", 1),
        ("2025-01-15", "us", 2),
        ("2025-01-15", "eu", 3),
    ];
    let day2 = [("2025-01-16", "eu", 4)];
    let all: Vec<_> = day1.iter().chain(&day2).cloned().collect();
    let args = [
        "pop/",
        "--partition-by",
        "dt",
        "--format",
        "jsonl",
        "--rows-per-file",
        "1",
    ];
    write_csv(dir.path(), &csv(&all), &args);
    let pop = dir.path().join("pop");
    let first = snapshot(&pop);
    assert_eq!(
        data_files(&pop.join("dt=2025-01-15")).len(),
        3,
        "one part per row"
    );

    // Same input again: identical file set and bytes (manifests differ only in run metadata).
    write_csv(dir.path(), &csv(&all), &args);
    let second = snapshot(&pop);
    let neighbour_inode = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(pop.join("dt=2025-01-16/part-00000.jsonl")).unwrap(),
    );
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first {
        if !path.ends_with("_SUCCESS") {
            assert_eq!(bytes, &second[path], "{path:?}");
        }
    }

    // Day 1 re-run with fewer rows: its old extra parts are gone; day 2 untouched.
    write_csv(dir.path(), &csv(&day1[..1]), &args);
    assert_eq!(
        data_files(&pop.join("dt=2025-01-15")),
        vec![PathBuf::from("part-00000.jsonl")]
    );
    assert_eq!(
        std::fs::read_to_string(pop.join("dt=2025-01-15/part-00000.jsonl")).unwrap(),
        "{\"region\":\"eu\",\"v\":1}\n"
    );
    let inode_after = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(pop.join("dt=2025-01-16/part-00000.jsonl")).unwrap(),
    );
    assert_eq!(
        neighbour_inode, inode_after,
        "the neighbouring partition must not be rewritten"
    );
    atio::verify_dir(pop.join("dt=2025-01-15")).unwrap();
    atio::verify_dir(pop.join("dt=2025-01-16")).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn one_partition_can_be_replaced_by_path_and_if_changed_skips_identical_content() {
    let dir = tempfile::tempdir().unwrap();
    write_csv(
        dir.path(),
        "region,v\neu,1\n",
        &["pop/dt=2025-01-15/", "--format", "csv"],
    );
    let part = dir.path().join("pop/dt=2025-01-15");
    assert_eq!(
        std::fs::read_to_string(part.join("part-00000.csv")).unwrap(),
        "region,v\neu,1\n"
    );
    let manifest_before = std::fs::read(part.join("_SUCCESS")).unwrap();
    std::fs::write(dir.path().join("in.csv"), "region,v\neu,1\n").unwrap();
    let output = run_atio(
        dir.path(),
        &[
            "write",
            "in.csv",
            "pop/dt=2025-01-15/",
            "--format",
            "csv",
            "--if-changed",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        crate::support::stdout(&output).contains("unchanged"),
        "{}",
        crate::support::stdout(&output)
    );
    assert_eq!(
        std::fs::read(part.join("_SUCCESS")).unwrap(),
        manifest_before,
        "a no-op re-run swaps nothing"
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn verify_catches_a_missing_an_extra_and_an_altered_part() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("p");
    let mut staged = StagedDir::create(&part, &Options::default()).unwrap();
    staged.add_bytes("a/part-00000.txt", b"alpha").unwrap();
    staged.add_bytes("part-00001.txt", b"beta").unwrap();
    staged.commit().unwrap();
    atio::verify_dir(&part).unwrap();

    std::fs::write(part.join("extra.txt"), b"x").unwrap();
    let error = atio::verify_dir(&part).unwrap_err();
    assert!(
        error.to_string().contains("not in the manifest: extra.txt"),
        "{error}"
    );
    std::fs::remove_file(part.join("extra.txt")).unwrap();

    std::fs::write(part.join("part-00001.txt"), b"BETA").unwrap();
    let error = atio::verify_dir(&part).unwrap_err();
    assert!(
        error.to_string().contains("part-00001.txt does not match"),
        "{error}"
    );

    std::fs::remove_file(part.join("a/part-00000.txt")).unwrap();
    let output = run_atio(dir.path(), &["verify", "p"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("a/part-00000.txt is listed in the manifest but missing"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_failed_or_dropped_staging_leaves_the_old_directory_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("p");
    let mut staged = StagedDir::create(&part, &Options::default()).unwrap();
    staged.add_bytes("part-00000.txt", b"old").unwrap();
    staged.commit().unwrap();
    {
        let mut staged = StagedDir::create(&part, &Options::default()).unwrap();
        staged
            .add_bytes("part-00000.txt", b"new, never committed")
            .unwrap();
        assert!(staged.staging_path().exists());
    }
    assert_eq!(std::fs::read(part.join("part-00000.txt")).unwrap(), b"old");
    let mut staged = StagedDir::create(&part, &Options::default()).unwrap();
    let error = staged.add_bytes("../escape.txt", b"x").unwrap_err();
    assert!(error.to_string().contains("not a relative path"), "{error}");
    drop(staged);
    assert!(!dir.path().join("escape.txt").exists());
    atio::verify_dir(&part).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn the_journal_fallback_swaps_and_recover_completes_or_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("p");
    for content in [&b"one"[..], b"two"] {
        let mut staged = StagedDir::create(&part, &Options::default()).unwrap();
        staged.set_exchange(false);
        staged.add_bytes("part-00000.txt", content).unwrap();
        let report = staged.commit().unwrap();
        assert!(
            matches!(report.method, "journal" | "create"),
            "{}",
            report.method
        );
    }
    assert_eq!(std::fs::read(part.join("part-00000.txt")).unwrap(), b"two");
    assert_no_leftovers(dir.path());

    // A crash between the two renames: the target is gone, the new tree is staged.
    let staged_new = dir.path().join(".p.atio-stg-1-00000000-00000000");
    std::fs::create_dir(&staged_new).unwrap();
    std::fs::write(staged_new.join("part-00000.txt"), b"three").unwrap();
    let backup = dir.path().join(".p.atio-stg-1-00000000-00000000.old");
    std::fs::rename(&part, &backup).unwrap();
    std::fs::write(dir.path().join(".p.atio-intent"), r#"{"staging":".p.atio-stg-1-00000000-00000000","backup":".p.atio-stg-1-00000000-00000000.old"}"#).unwrap();
    assert_eq!(
        atio::recover(&part, &Options::default()).unwrap(),
        atio::Recovery::Completed
    );
    assert_eq!(
        std::fs::read(part.join("part-00000.txt")).unwrap(),
        b"three"
    );
    assert!(!backup.exists() && !dir.path().join(".p.atio-intent").exists());

    // A crash after moving the old tree aside but before the new one was complete: roll back.
    std::fs::rename(&part, &backup).unwrap();
    std::fs::write(dir.path().join(".p.atio-intent"), r#"{"staging":".p.atio-stg-1-00000000-00000000","backup":".p.atio-stg-1-00000000-00000000.old"}"#).unwrap();
    let output = run_atio(dir.path(), &["recover", "p"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        crate::support::stdout(&output).contains("RolledBack"),
        "{}",
        crate::support::stdout(&output)
    );
    assert_eq!(
        std::fs::read(part.join("part-00000.txt")).unwrap(),
        b"three"
    );
    assert_no_leftovers(dir.path());
}

/// What a power cut under `--durability none` can leave in the middle of a journal swap of
/// `out/dt=1`: the old tree moved aside to its hidden `.old` name, the new tree still staged
/// (`new`: its files, or `None` for none), and the swap journal written but empty (or, with
/// `journal: false`, lost altogether). Returns (backup, staged new tree) paths.
fn interrupted_swap(out: &Path, new: Option<&Path>, journal: bool) -> (PathBuf, PathBuf) {
    let staged = out.join(".dt=1.atio-stg-1-00000001-0000abcd");
    let backup = out.join(".dt=1.atio-stg-1-00000001-0000abcd.old");
    if let Some(new) = new {
        std::fs::rename(new, &staged).unwrap();
    }
    std::fs::rename(out.join("dt=1"), &backup).unwrap();
    if journal {
        std::fs::write(out.join(".dt=1.atio-intent"), b"").unwrap();
    }
    (backup, staged)
}

/// `atio --durability none write in.csv <target> --format csv`, with `rows` rows.
fn write_partition(dir: &Path, target: &str, rows: std::ops::Range<i64>) {
    let mut input = String::from("v\n");
    for v in rows {
        input.push_str(&format!("{v}\n"));
    }
    std::fs::write(dir.join("in.csv"), input).unwrap();
    let args = [
        "--durability",
        "none",
        "write",
        "in.csv",
        target,
        "--format",
        "csv",
        "--rows-per-file",
        "40",
    ];
    let output = run_atio(dir, &args, b"");
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn an_empty_swap_journal_after_a_power_cut_never_leaves_the_partition_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let part = out.join("dt=1");
    write_partition(dir.path(), "out/dt=1/", 0..100);
    let old = snapshot(&part);
    assert_eq!(old.len(), 4, "three parts and _SUCCESS: {:?}", old.keys());

    // The new tree was staged but its data never reached the disk: a part is empty, so it does
    // not match its manifest. `recover` puts the old tree back and says so.
    write_partition(dir.path(), "out/next/", 100..150);
    std::fs::write(out.join("next/part-00001.csv"), b"").unwrap();
    let (backup, staged) = interrupted_swap(&out, Some(&out.join("next")), true);
    let recovered = run_atio(dir.path(), &["recover", "out/dt=1"], b"");
    assert!(recovered.status.success(), "{}", stderr(&recovered));
    let said = crate::support::stdout(&recovered);
    assert!(said.contains("RolledBack"), "{said}");
    assert!(
        said.contains("swap journal") && said.contains("unreadable"),
        "{said}"
    );
    assert!(said.contains("moved the previous tree back"), "{said}");
    assert!(said.contains("does not match the manifest"), "{said}");
    assert_eq!(snapshot(&part), old, "the partition is back, byte for byte");
    assert!(!backup.exists() && !staged.exists());
    assert!(!out.join(".dt=1.atio-intent").exists());
    atio::verify_dir(&part).unwrap();

    // The new tree was complete (it matches its manifest): recovery moves it into place.
    write_partition(dir.path(), "out/next/", 100..150);
    let new = snapshot(&out.join("next"));
    interrupted_swap(&out, Some(&out.join("next")), true);
    let report = atio::recover_report(&part, &Options::default()).unwrap();
    assert_eq!(
        report.recovery,
        atio::Recovery::Completed,
        "{}",
        report.detail
    );
    assert!(
        report.detail.contains("moved the new tree"),
        "{}",
        report.detail
    );
    assert_eq!(snapshot(&part), new);
    assert_no_leftovers(dir.path());

    // `clean -r` after the same crash recovers first, then sweeps: the partition is back.
    let before = snapshot(&part);
    interrupted_swap(&out, None, true);
    let cleaned = run_atio(dir.path(), &["clean", "-r", "out"], b"");
    assert!(cleaned.status.success(), "{}", stderr(&cleaned));
    let said = crate::support::stdout(&cleaned);
    assert!(
        said.contains("recovered") && said.contains("dt=1"),
        "{said}"
    );
    assert_eq!(snapshot(&part), before);
    assert_no_leftovers(dir.path());

    // The next write recovers by itself, then replaces the partition.
    interrupted_swap(&out, None, true);
    write_partition(dir.path(), "out/dt=1/", 7..9);
    assert_eq!(
        std::fs::read(part.join("part-00000.csv")).unwrap(),
        b"v\n7\n8\n"
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn clean_never_sweeps_the_moved_aside_tree_of_a_missing_partition() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let part = out.join("dt=1");
    write_partition(dir.path(), "out/dt=1/", 0..100);
    let old = snapshot(&part);
    // The journal itself was lost: only the names tell what happened.
    let (backup, _) = interrupted_swap(&out, None, false);

    let dry = atio::clean(
        &out,
        &atio::CleanOptions {
            dry_run: true,
            recursive: true,
            older_than: Duration::ZERO,
        },
    )
    .unwrap();
    assert!(dry.removed.is_empty(), "{:?}", dry.removed);
    assert_eq!(dry.recovered.len(), 1, "{:?}", dry.recovered);
    assert!(
        dry.kept
            .iter()
            .any(|(path, why)| *path == backup && why.contains("interrupted swap")),
        "{:?}",
        dry.kept
    );
    assert!(
        backup.exists() && !part.exists(),
        "a dry run changes nothing"
    );

    let report = atio::clean(
        &out,
        &atio::CleanOptions {
            recursive: true,
            older_than: Duration::ZERO,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.recovered.len(), 1, "{report:?}");
    assert!(
        report.recovered[0].1.contains("no swap journal")
            && report.recovered[0]
                .1
                .contains("moved the previous tree back"),
        "{report:?}"
    );
    assert_eq!(snapshot(&part), old);
    assert_no_leftovers(dir.path());

    // `atio recover` does the same, and with nothing to do says so.
    interrupted_swap(&out, None, false);
    let recovered = run_atio(dir.path(), &["recover", "out/dt=1"], b"");
    assert!(recovered.status.success(), "{}", stderr(&recovered));
    assert!(
        crate::support::stdout(&recovered).contains("RolledBack"),
        "{}",
        crate::support::stdout(&recovered)
    );
    assert_eq!(snapshot(&part), old);
    let again = run_atio(dir.path(), &["recover", "out/dt=1"], b"");
    assert!(
        crate::support::stdout(&again).contains("Nothing: no interrupted swap"),
        "{}",
        crate::support::stdout(&again)
    );

    // A moved-aside tree whose partition is in place is an old copy: clean removes it.
    let stale = out.join(".dt=1.atio-stg-1-00000001-00001234.old");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("part-00000.csv"), b"stale").unwrap();
    // Written "on another host" (its host tag is not ours) an hour ago: past the threshold.
    std::fs::File::open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let report = atio::clean(
        &out,
        &atio::CleanOptions {
            older_than: Duration::from_secs(60),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.removed, vec![stale.clone()], "{report:?}");
    assert_eq!(snapshot(&part), old);
    assert_no_leftovers(dir.path());
}

/// Swaps the concurrent reader watches.
const SWAPS: usize = 200;

/// Environment variable that turns `reader_child_process_entry` into a reader loop.
const READER_CHILD: &str = "ATIO_TEST_READER_DIR";

/// Child-process entry point for the concurrent-reader test (re-executes this test binary):
/// verifies the directory against its manifest in a loop until `<dir>.stop` exists, and fails on
/// the first inconsistent view. In a normal test run the variable is unset: nothing to do.
#[test]
fn reader_child_process_entry() {
    let Ok(dir) = std::env::var(READER_CHILD) else {
        return;
    };
    let stop = PathBuf::from(format!("{dir}.stop"));
    let mut checks = 0u64;
    while !stop.exists() {
        let verified = atio::verify_dir(&dir)
            .unwrap_or_else(|error| panic!("inconsistent view after {checks} checks: {error}"));
        assert!(!verified.manifest.files.is_empty());
        checks += 1;
    }
    std::fs::write(format!("{dir}.checks"), checks.to_string()).unwrap();
}

#[test]
fn a_concurrent_reader_process_sees_only_complete_sets_during_200_swaps() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("dt=2025-01-15");
    let options = Options {
        durability: Durability::None,
        ..Options::default()
    };
    let commit = |round: usize| {
        let mut staged = StagedDir::create(&part, &options).unwrap();
        for file in 0..(1 + round % 4) {
            staged
                .add_bytes(
                    &format!("part-{file:05}.txt"),
                    format!("round {round} file {file}").as_bytes(),
                )
                .unwrap();
        }
        staged.commit().unwrap();
    };
    commit(0);
    let mut reader = crate::support::spawn_entry(
        "partitions::reader_child_process_entry",
        READER_CHILD,
        &part,
    );
    for round in 1..=SWAPS {
        commit(round);
    }
    std::fs::write(dir.path().join("dt=2025-01-15.stop"), b"").unwrap();
    assert!(
        reader.wait().unwrap().success(),
        "the reader saw an inconsistent directory"
    );
    let checks: u64 = std::fs::read_to_string(dir.path().join("dt=2025-01-15.checks"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(checks > 0, "the reader never ran");
    assert_eq!(
        atio::verify_dir(&part).unwrap().manifest.files.len(),
        1 + SWAPS % 4
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn sigkill_during_staging_or_swap_leaves_old_or_new_and_clean_removes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::from("v\n");
    for v in 0..200_000 {
        rows.push_str(&format!("{v}\n"));
    }
    std::fs::write(dir.path().join("in.csv"), &rows).unwrap();
    let args = [
        "write",
        "in.csv",
        "out/dt=1/",
        "--format",
        "csv",
        "--rows-per-file",
        "20000",
    ];
    assert!(run_atio(dir.path(), &args, b"").status.success());
    let part = dir.path().join("out/dt=1");
    let runs: Vec<String> = (0..12)
        .map(|attempt| {
            let mut child = atio()
                .args(args)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(10 + attempt * 25));
            let _ = child.kill();
            child.wait().unwrap();
            let verified = atio::verify_dir(&part)
                .unwrap_or_else(|error| panic!("attempt {attempt}: {error}"));
            assert_eq!(verified.manifest.rows, Some(200_000));
            verified.manifest.written_by.run_id
        })
        .collect();
    assert!(!runs.is_empty());
    let cleaned = run_atio(dir.path(), &["clean", "-r", "out"], b"");
    assert!(cleaned.status.success(), "{}", stderr(&cleaned));
    let started = Instant::now();
    assert_no_leftovers(dir.path());
    assert!(started.elapsed() < Duration::from_secs(5));
    atio::verify_dir(&part).unwrap();
}

#[test]
fn a_partition_column_that_does_not_exist_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let batches = atio::sample::batches(10, 10);
    let options = DatasetOptions {
        partition_by: vec!["day".into()],
        ..DatasetOptions::default()
    };
    let error = atio::write_dataset(
        dir.path().join("out"),
        RecordBatchIterator::new(batches.into_iter().map(Ok), atio::sample::schema()),
        &options,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("no column `day`") && error.to_string().contains("id, value"),
        "{error}"
    );
    assert!(
        !dir.path().join("out").exists()
            || std::fs::read_dir(dir.path().join("out"))
                .unwrap()
                .next()
                .is_none()
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn partition_values_are_escaped_hive_style() {
    assert_eq!(
        atio::escape_partition_value(Some("2025-01-15")),
        "2025-01-15"
    );
    assert_eq!(
        atio::escape_partition_value(Some("a/b=c:d%")),
        "a%2Fb%3Dc%3Ad%25"
    );
    assert_eq!(atio::escape_partition_value(Some("")), atio::NULL_PARTITION);
    assert_eq!(atio::escape_partition_value(None), atio::NULL_PARTITION);
    assert_eq!(atio::escape_partition_value(Some("..")), "..");
}

#[test]
fn max_open_files_is_bounded_by_the_plugin_session_pool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), csv(&[("2025-01-15", "eu", 1)])).unwrap();
    for count in ["0", "1001", "many"] {
        let output = run_atio(
            dir.path(),
            &[
                "write",
                "in.csv",
                "pop/",
                "--partition-by",
                "dt",
                "--max-open-files",
                count,
            ],
            b"",
        );
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("expected a number from 1 to 1000, got `{count}`")),
            "{}",
            stderr(&output)
        );
        assert!(!dir.path().join("pop").exists());
    }
}

/// npy parts stream with a rewritten header: `_SUCCESS` must list the hash of the final bytes.
#[test]
fn npy_parts_are_listed_with_the_hash_of_their_final_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::from("dt,v\n");
    for v in 0..3000 {
        input.push_str(&format!("2025-01-{},{v}\n", 15 + v % 2));
    }
    write_csv(
        dir.path(),
        &input,
        &["arrays/", "--partition-by", "dt", "--format", "npy"],
    );
    for (day, rows) in [("15", 1500), ("16", 1500)] {
        let partition = dir.path().join(format!("arrays/dt=2025-01-{day}"));
        atio::verify_dir(&partition).unwrap();
        let bytes = std::fs::read(partition.join("part-00000.npy")).unwrap();
        let header = String::from_utf8_lossy(&bytes[10..128]);
        assert!(header.contains(&format!("'shape': ({rows},)")), "{header}");
        assert_eq!(bytes.len(), 128 + rows * 8);
    }
    assert_no_leftovers(dir.path());
}
