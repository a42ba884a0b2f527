//! The `atio` binary: exit codes, messages, signals, kills.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{assert_no_leftovers, atio, leftovers, marker, run_atio, stderr, stdout, xxh3};

#[test]
fn put_writes_stdin_atomically_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_atio(dir.path(), &["--json", "put", "out/data.bin"], b"from stdin");
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
    for step in ["setup", "write", "fsync", "rename", "dir fsync", "marker", "total"] {
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
    assert!(run_atio(dir.path(), &["put", "f.bin"], b"abcdef").status.success());
    let ok = run_atio(dir.path(), &["verify", "f.bin"], b"");
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("ok f.bin"));

    std::fs::write(dir.path().join("f.bin"), b"abc").unwrap();
    let truncated = run_atio(dir.path(), &["verify", "f.bin"], b"");
    assert_eq!(truncated.status.code(), Some(1));
    assert!(stderr(&truncated).contains("size is 3 bytes but the marker records 6"), "{}", stderr(&truncated));

    std::fs::write(dir.path().join("f.bin"), b"abcdeX").unwrap();
    let altered = run_atio(dir.path(), &["verify", "f.bin"], b"");
    assert_eq!(altered.status.code(), Some(1));
    assert!(stderr(&altered).contains("content hash"), "{}", stderr(&altered));

    let missing = run_atio(dir.path(), &["verify", "nothing.bin"], b"");
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no _SUCCESS marker"), "{}", stderr(&missing));
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
    child.stdin.as_mut().unwrap().write_all(&vec![7u8; 3 << 20]).unwrap();
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
    assert!(run_atio(dir.path(), &["put", "target.bin"], b"original").status.success());
    let mut child = start_put_mid_write(dir.path());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(std::fs::read(dir.path().join("target.bin")).unwrap() == b"original", "target replaced");
    assert_eq!(marker(&dir.path().join("target.bin"))["hash"], xxh3(b"original"));
    assert_eq!(leftovers(dir.path()).len(), 1, "the killed writer's staging file stays until clean");

    let cleaned = run_atio(dir.path(), &["clean", "."], b"");
    assert!(cleaned.status.success(), "{}", stderr(&cleaned));
    assert!(stdout(&cleaned).contains("removed 1 staging file"), "{}", stdout(&cleaned));
    assert_no_leftovers(dir.path());
    assert!(run_atio(dir.path(), &["verify", "target.bin"], b"").status.success());
}

#[test]
fn sigint_and_sigterm_remove_the_staging_file_and_exit_130() {
    for signal in [rustix::process::Signal::INT, rustix::process::Signal::TERM] {
        let dir = tempfile::tempdir().unwrap();
        assert!(run_atio(dir.path(), &["put", "target.bin"], b"original").status.success());
        let child = start_put_mid_write(dir.path());
        let pid = rustix::process::Pid::from_child(&child);
        rustix::process::kill_process(pid, signal).unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(130), "{signal:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("interrupted"), "{}", stderr(&output));
        assert!(std::fs::read(dir.path().join("target.bin")).unwrap() == b"original", "{signal:?}: target replaced");
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
    let mut command = if crate::support::is_root() {
        // root ignores directory permissions: run the writer as nobody.
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_atio")]);
        command
    } else {
        atio()
    };
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = command
        .args(["put", locked.join("t.txt").to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("stage") && err.contains("locked"), "{err}");
    assert!(err.contains("Permission denied") || err.contains("permission denied"), "{err}");
    assert_eq!(std::fs::read(locked.join("t.txt")).unwrap(), b"original");
    assert_no_leftovers(dir.path());
}

#[test]
fn demo_writes_and_verifies_the_sample_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_atio(dir.path(), &["demo", "out"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("verified"), "{}", stdout(&output));
    assert!(run_atio(dir.path(), &["verify", "out/sample.csv"], b"").status.success());
    assert_no_leftovers(dir.path());
}
