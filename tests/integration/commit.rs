//! The commit engine through the library API.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use atio::{AtomicFile, Durability, ErrorKind, Options, Symlinks};

use crate::support::{assert_no_leftovers, leftovers, marker, xxh3};

#[test]
fn write_bytes_publishes_data_and_a_matching_marker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.bin");
    let report = atio::write_bytes(&path, b"hello atio\n", &Options::default()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"hello atio\n");
    assert_eq!(report.bytes, 11);
    assert_eq!(report.hash, xxh3(b"hello atio\n"));
    assert_eq!(report.durability, Durability::Full);
    let manifest = marker(&path);
    assert_eq!(manifest["name"], "out.bin");
    assert_eq!(manifest["bytes"], 11);
    assert_eq!(manifest["hash"], xxh3(b"hello atio\n"));
    assert_eq!(manifest["run_id"], report.run_id);
    assert_eq!(manifest["atio_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["durability"], "full");
    assert_eq!(manifest["pid"], std::process::id());
    assert!(manifest["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(manifest["timings_ms"]["fsync"].as_f64().is_some());
    assert_no_leftovers(dir.path());
}

#[test]
fn dropping_a_writer_mid_stream_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.csv");
    atio::write_bytes(&path, b"old,content\n", &Options::default()).unwrap();
    let old_marker = marker(&path);
    {
        let mut file = AtomicFile::create(&path, &Options::default()).unwrap();
        file.write_all(b"new,partial").unwrap();
        assert!(file.staging_path().unwrap().exists());
        // dropped without commit, as on an error or panic
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"old,content\n");
    assert_eq!(marker(&path), old_marker);
    assert_no_leftovers(dir.path());

    let mut file = AtomicFile::create(&path, &Options::default()).unwrap();
    file.write_all(b"also discarded").unwrap();
    file.abort().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"old,content\n");
    assert_no_leftovers(dir.path());
}

#[test]
fn a_panic_while_writing_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.bin");
    atio::write_bytes(&path, b"original", &Options::default()).unwrap();
    let outcome = std::panic::catch_unwind(|| {
        let mut file = AtomicFile::create(&path, &Options::default()).unwrap();
        file.write_all(b"half").unwrap();
        panic!("encoder blew up");
    });
    assert!(outcome.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"original");
    assert_no_leftovers(dir.path());
}

#[test]
fn create_only_refuses_an_existing_file_and_leaves_it_and_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("once.txt");
    let create_only = Options {
        no_clobber: true,
        ..Options::default()
    };
    atio::write_bytes(&path, b"first", &create_only).unwrap();
    let error = atio::write_bytes(&path, b"second", &create_only).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(error.path(), path);
    assert!(error.to_string().contains("exists"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"first");
    assert_eq!(marker(&path)["hash"], xxh3(b"first"));
    assert_no_leftovers(dir.path());
}

#[test]
fn create_only_loses_a_race_cleanly() {
    // The target appears after staging began: RENAME_NOREPLACE must refuse it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.txt");
    let create_only = Options {
        no_clobber: true,
        ..Options::default()
    };
    let mut late = AtomicFile::create(&path, &create_only).unwrap();
    late.write_all(b"loser").unwrap();
    atio::write_bytes(&path, b"winner", &create_only).unwrap();
    let error = late.commit().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(std::fs::read(&path).unwrap(), b"winner");
    assert_eq!(marker(&path)["hash"], xxh3(b"winner"));
    assert_no_leftovers(dir.path());
}

#[test]
fn overwrite_keeps_the_previous_mode_and_new_files_get_0644_minus_umask() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.txt");
    std::fs::write(&path, b"x").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    atio::write_bytes(&path, b"y", &Options::default()).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);

    let fresh = dir.path().join("fresh.txt");
    atio::write_bytes(&fresh, b"z", &Options::default()).unwrap();
    let umask = current_umask();
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().mode() & 0o7777,
        0o644 & !umask
    );
}

fn current_umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("Umask:"))
        .unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn symlinks_are_followed_by_default_and_replaced_with_no_follow() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("data.csv");
    std::fs::write(&real, b"v1").unwrap();
    let link = dir.path().join("current.csv");
    std::os::unix::fs::symlink("real/data.csv", &link).unwrap();

    let report = atio::write_bytes(&link, b"v2", &Options::default()).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&real).unwrap(), b"v2");
    assert_eq!(report.path, real);
    assert_eq!(marker(&real)["hash"], xxh3(b"v2"));
    assert_no_leftovers(dir.path());

    let replace = Options {
        symlinks: Symlinks::Replace,
        ..Options::default()
    };
    atio::write_bytes(&link, b"v3", &replace).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_file()
    );
    assert_eq!(std::fs::read(&link).unwrap(), b"v3");
    assert_eq!(std::fs::read(&real).unwrap(), b"v2");
    assert_no_leftovers(dir.path());
}

#[test]
fn hard_links_keep_the_old_content_because_the_name_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    let other = dir.path().join("b.txt");
    std::fs::write(&path, b"shared").unwrap();
    std::fs::hard_link(&path, &other).unwrap();
    atio::write_bytes(&path, b"new", &Options::default()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_eq!(std::fs::read(&other).unwrap(), b"shared");
}

#[test]
fn overwriting_replaces_the_marker_so_it_always_describes_the_bytes_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bin");
    let first = atio::write_bytes(&path, b"one", &Options::default()).unwrap();
    let second = atio::write_bytes(&path, b"two!", &Options::default()).unwrap();
    let manifest = marker(&path);
    assert_eq!(manifest["hash"], xxh3(b"two!"));
    assert_eq!(manifest["bytes"], 4);
    assert_eq!(manifest["run_id"], second.run_id);
    assert_ne!(first.run_id, second.run_id);
    atio::verify(&path).unwrap();

    // Without a marker, an old marker must not survive to describe new bytes.
    let no_marker = Options {
        marker: false,
        ..Options::default()
    };
    let report = atio::write_bytes(&path, b"three", &no_marker).unwrap();
    assert_eq!(report.marker, None);
    assert!(!dir.path().join("m.bin._SUCCESS").exists());
    assert_no_leftovers(dir.path());
}

#[test]
fn verify_catches_truncated_altered_and_unmarked_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.bin");
    atio::write_bytes(&path, b"0123456789", &Options::default()).unwrap();
    atio::verify(&path).unwrap();

    std::fs::write(&path, b"01234").unwrap();
    let error = atio::verify(&path).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Verification);
    assert!(
        error
            .to_string()
            .contains("size is 5 bytes but the marker records 10"),
        "{error}"
    );

    std::fs::write(&path, b"0123456780").unwrap();
    let error = atio::verify(&path).unwrap_err();
    assert!(error.to_string().contains("content hash"), "{error}");

    let bare = dir.path().join("bare.bin");
    std::fs::write(&bare, b"x").unwrap();
    let error = atio::verify(&bare).unwrap_err();
    assert!(error.to_string().contains("no _SUCCESS marker"), "{error}");
}

#[test]
fn missing_parent_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/out.txt");
    atio::write_bytes(&path, b"deep", &Options::default()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"deep");
}

#[test]
fn a_directory_at_the_target_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).unwrap();
    let error = atio::write_bytes(&path, b"x", &Options::default()).unwrap_err();
    assert!(error.to_string().contains("is a directory"), "{error}");
    assert!(error.to_string().contains("taken"), "{error}");
    assert_no_leftovers(dir.path());
}

#[test]
fn durability_none_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scratch.bin");
    let options = Options {
        durability: Durability::None,
        ..Options::default()
    };
    let report = atio::write_bytes(&path, b"tmp", &options).unwrap();
    assert_eq!(report.durability, Durability::None);
    assert_eq!(report.timings.fsync, std::time::Duration::ZERO);
    assert_eq!(marker(&path)["durability"], "none");
}

#[test]
fn group_commit_publishes_every_file_with_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<AtomicFile> = (0..5)
        .map(|index| {
            let mut file = AtomicFile::create(
                dir.path().join(format!("part-{index}.txt")),
                &Options::default(),
            )
            .unwrap();
            write!(file, "content {index}").unwrap();
            file
        })
        .collect();
    let reports = atio::commit_group(files).unwrap();
    assert_eq!(reports.len(), 5);
    for index in 0..5 {
        let path = dir.path().join(format!("part-{index}.txt"));
        let expected = format!("content {index}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        assert_eq!(marker(&path)["hash"], xxh3(expected.as_bytes()));
    }
    assert_no_leftovers(dir.path());
}

#[test]
fn group_commit_refuses_files_in_different_directories() {
    let dir = tempfile::tempdir().unwrap();
    let a = AtomicFile::create(dir.path().join("x/a"), &Options::default()).unwrap();
    let b = AtomicFile::create(dir.path().join("y/b"), &Options::default()).unwrap();
    let error = atio::commit_group(vec![a, b]).unwrap_err();
    assert!(error.to_string().contains("one directory"), "{error}");
    assert!(!dir.path().join("x/a").exists());
    assert_no_leftovers(dir.path());
}

#[test]
fn clean_removes_only_orphaned_staging_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    // A live writer of ours, so its staging name carries our pid and host tag.
    let mut live = AtomicFile::create(dir.path().join("live.bin"), &Options::default()).unwrap();
    live.write_all(b"in progress").unwrap();
    let live_staging = live.staging_path().unwrap();
    let live_name = live_staging
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    // The same name shape with a dead pid is an orphan.
    let host_and_rand = live_name
        .rsplit_once(".atio-")
        .unwrap()
        .1
        .split_once('-')
        .unwrap()
        .1;
    let orphan = dir
        .path()
        .join(format!(".dead.bin.atio-{dead_pid}-{host_and_rand}"));
    std::fs::write(&orphan, b"orphan").unwrap();
    let lookalikes = [
        ".dead.bin.atio-x.tmp",
        "dead.bin",
        ".hidden",
        "notes.atio-1-2-3.tmp",
    ];
    for name in lookalikes {
        std::fs::write(dir.path().join(name), b"keep").unwrap();
    }

    let dry = atio::clean(
        dir.path(),
        &atio::CleanOptions {
            dry_run: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(dry.removed, vec![orphan.clone()]);
    assert!(orphan.exists());

    let report = atio::clean(dir.path(), &atio::CleanOptions::default()).unwrap();
    assert_eq!(report.removed, vec![orphan.clone()]);
    assert_eq!(report.kept.len(), 1);
    assert!(
        report.kept[0].1.contains("still running"),
        "{:?}",
        report.kept
    );
    assert!(!orphan.exists());
    assert!(live_staging.exists());
    for name in lookalikes {
        assert!(dir.path().join(name).exists(), "{name} was removed");
    }
    live.commit().unwrap();
    assert_eq!(
        leftovers(dir.path()),
        vec![dir.path().join(".dead.bin.atio-x.tmp")],
        "only the lookalike remains"
    );
}
