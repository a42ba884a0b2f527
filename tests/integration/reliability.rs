//! More real faults (the full disk and EACCES are in `faults.rs`): a read-only filesystem, and
//! the target's directory removed while a write is under way. Each must give an error of the right
//! kind naming the step and the path, keep what was there, and leave nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atio::{ErrorKind, Options, StagedDir, Step};

use crate::support::{assert_no_leftovers, atio, is_root, leftovers, run_atio, stderr};

/// A directory bind-mounted onto itself read-only for one test; unmounted on drop.
struct ReadOnlyMount {
    path: PathBuf,
}

impl ReadOnlyMount {
    /// Makes `path` read-only; `None` (said loudly) when not root. CI runs as root.
    fn new(path: &Path) -> Option<Self> {
        if !is_root() {
            eprintln!(
                "SKIPPED: the read-only filesystem test needs root to bind-mount (CI runs as root); EROFS was NOT tested"
            );
            return None;
        }
        let mount = |args: &[&str]| {
            let status = Command::new("mount")
                .args(args)
                .arg(path)
                .arg(path)
                .status();
            assert!(
                status.is_ok_and(|status| status.success()),
                "mount {args:?} failed although we are root"
            );
        };
        mount(&["--bind"]);
        // From here on the guard exists, so a failing remount still unmounts.
        let guard = Self {
            path: path.to_path_buf(),
        };
        let status = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(path)
            .status();
        assert!(
            status.is_ok_and(|status| status.success()),
            "remounting the bind mount read-only failed"
        );
        Some(guard)
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

#[test]
fn a_read_only_filesystem_is_reported_as_such_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    let file = ro.join("data.bin");
    atio::write_bytes(&file, b"committed before", &Options::default()).unwrap();
    let partition = ro.join("pop/dt=1");
    let mut staged = StagedDir::create(&partition, &Options::default()).unwrap();
    staged.add_bytes("part-00000.csv", b"v\n1\n").unwrap();
    staged.commit().unwrap();
    std::fs::write(dir.path().join("in.csv"), b"v\n2\n").unwrap();
    let listing_before = listing(&ro);

    {
        let Some(_mount) = ReadOnlyMount::new(&ro) else {
            return;
        };
        let error = atio::write_bytes(&file, b"new", &Options::default()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ReadOnly, "{error}");
        assert_eq!(error.step(), Step::Stage, "{error}");
        assert!(error.to_string().contains("data.bin"), "{error}");

        let cases: [(&[&str], &str); 4] = [
            (&["put", "ro/data.bin"], "stage"),
            (&["put", "ro/new/sub/file.bin"], "create directory"),
            (
                &["write", "in.csv", "ro/pop/dt=1/", "--format", "csv"],
                "stage",
            ),
            (&["update", "ro/data.bin", "--", "cat"], "lock"),
        ];
        for (args, step) in cases {
            let output = run_atio(dir.path(), args, b"new content");
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(6), "atio {args:?}: {message}");
            assert!(
                message.contains("Read-only file system")
                    && message.contains(&format!("{step} `"))
                    && message.contains("ro/"),
                "atio {args:?} must name the step ({step}) and the path: {message}"
            );
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"committed before");
        atio::verify(&file).unwrap();
        atio::verify_dir(&partition).unwrap();
    }
    // Unmounted: nothing was created, removed or left behind underneath either.
    assert_eq!(listing(&ro), listing_before);
    assert_no_leftovers(dir.path());
}

/// Every path under `dir` (sorted), to compare a tree before and after.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(listing(&path));
        }
        found.push(path);
    }
    found.sort();
    found
}

/// Waits (up to 20 s) until a staging name appears under `dir`: the writer is mid-write.
fn wait_for_staging(dir: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while leftovers(dir).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("atio ended ({status}) before it staged anything");
        }
        assert!(Instant::now() < deadline, "atio never staged a file");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts `atio args` in `dir` with a stdin the test writes to.
fn spawn_with_stdin(dir: &Path, args: &[&str]) -> Child {
    atio()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn removing_the_directory_mid_write_fails_the_write_and_resurrects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    atio::write_bytes(out.join("data.bin"), b"old", &Options::default()).unwrap();
    let mut child = spawn_with_stdin(dir.path(), &["put", "out/data.bin"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&vec![7u8; 256 << 10]).unwrap();
    stdin.flush().unwrap();
    wait_for_staging(&out, &mut child);

    // Someone removes the directory (staging file included) and makes a new one in its place.
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("other.txt"), b"not atio's").unwrap();
    stdin.write_all(&vec![8u8; 256 << 10]).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();

    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(7), "{message}");
    assert!(
        message.contains("rename `out/data.bin`") && message.contains("No such file"),
        "the error names the step and the path: {message}"
    );
    // The write went nowhere: not into the new directory, not half-way anywhere.
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["other.txt"]);
    assert_no_leftovers(dir.path());
}

#[test]
fn removing_the_dataset_directory_mid_write_fails_the_partition_swap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut staged = StagedDir::create(out.join("dt=1"), &Options::default()).unwrap();
    staged.add_bytes("part-00000.csv", b"v\n1\n").unwrap();
    staged.commit().unwrap();
    let mut child = spawn_with_stdin(
        dir.path(),
        &[
            "write",
            "-",
            "out/dt=1/",
            "--input-format",
            "csv",
            "--format",
            "csv",
        ],
    );
    let mut stdin = child.stdin.take().unwrap();
    // More than the 4 MiB read ahead for schema inference, so batches reach the encoder and the
    // partition is staged while the input is still open.
    let mut rows = String::from("v\n");
    while rows.len() < 6 << 20 {
        rows.push_str("123456789\n");
    }
    stdin.write_all(rows.as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_for_staging(&out, &mut child);

    std::fs::remove_dir_all(&out).unwrap();
    stdin.write_all(b"1\n").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();

    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(7), "{message}");
    assert!(
        message.contains("out/") && message.contains("No such file"),
        "the error names the path: {message}"
    );
    assert!(
        !out.exists(),
        "atio must not bring back the removed directory"
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn removing_the_directory_before_commit_is_a_not_found_error_from_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut file = atio::AtomicFile::create(out.join("data.bin"), &Options::default()).unwrap();
    file.write_all(b"never published").unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let error = file.commit().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert_eq!(error.step(), Step::Rename, "{error}");
    assert!(error.to_string().contains("data.bin"), "{error}");
    assert!(!out.exists());
    assert_no_leftovers(dir.path());
}
