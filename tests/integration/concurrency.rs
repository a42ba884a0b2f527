//! Concurrent writers: locks, compare-and-swap, locked read-modify-write, marker/data pairing.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use atio::{Durability, ErrorKind, Options};

use crate::support::{assert_no_leftovers, atio, stderr};

/// Environment variable that turns `counter_child_process_entry` into a worker.
const COUNTER_CHILD: &str = "ATIO_TEST_COUNTER_FILE";

/// Child-process entry point for the 8-process counter test (re-executes this test binary):
/// increments the JSON counter 500 times through `atio::update_json`. In a normal test run the
/// variable is unset and it has nothing to do.
#[test]
fn counter_child_process_entry() {
    let Ok(path) = std::env::var(COUNTER_CHILD) else {
        return;
    };
    let options = Options {
        durability: Durability::None,
        ..Options::default()
    };
    for _ in 0..500 {
        atio::update_json(
            &path,
            &options,
            0u64,
            |count: &mut u64| -> Result<(), std::convert::Infallible> {
                *count += 1;
                Ok(())
            },
        )
        .unwrap();
    }
}

#[test]
fn eight_processes_times_500_locked_increments_make_exactly_4000() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("counter.json");
    let children: Vec<_> = (0..8)
        .map(|_| {
            crate::support::spawn_entry(
                "concurrency::counter_child_process_entry",
                COUNTER_CHILD,
                &counter,
            )
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let value: u64 = serde_json::from_slice(&std::fs::read(&counter).unwrap()).unwrap();
    assert_eq!(value, 4000);
    atio::verify(&counter).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn a_corrupt_json_file_is_an_error_never_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{not json").unwrap();
    let error = atio::update_json(
        &path,
        &Options::default(),
        0u64,
        |count: &mut u64| -> Result<(), std::convert::Infallible> {
            *count += 1;
            Ok(())
        },
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("not valid JSON") && error.to_string().contains("state.json"),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"{not json");
    assert_no_leftovers(dir.path());
}

/// Starts `atio update PATH -- sleep 30`: a process that holds PATH's lock until killed.
fn hold_lock(dir: &std::path::Path) -> std::process::Child {
    let child = atio()
        .args(["update", "f.txt", "--", "sleep", "30"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.join(".f.txt.atio-lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&lock)
        .map(|text| !text.contains(&format!("pid {}", child.id())))
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

#[test]
fn a_lock_timeout_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = hold_lock(dir.path());
    let output = atio()
        .args([
            "--lock-timeout",
            "300ms",
            "update",
            "f.txt",
            "--",
            "echo",
            "late",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("pid {}", holder.id())) && message.contains("still locked"),
        "{message}"
    );
    assert!(!dir.path().join("f.txt").exists());
}

#[test]
fn killing_the_lock_holder_lets_a_waiter_in_promptly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), b"committed before\n").unwrap();
    let mut holder = hold_lock(dir.path());
    let waiter = atio()
        .args(["update", "f.txt", "--", "sh", "-c", "cat; echo appended"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.txt")).unwrap(),
        "committed before\n",
        "the waiter must wait"
    );
    let killed = Instant::now();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let output = waiter.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "took {:?}",
        killed.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.txt")).unwrap(),
        "committed before\nappended\n"
    );
    // The killed holder's staging file stays until a sweep, which finds its owner gone.
    let swept = atio::clean(dir.path(), &atio::CleanOptions::default()).unwrap();
    assert_eq!(swept.removed.len(), 1, "{swept:?}");
    assert_no_leftovers(dir.path());
}

#[test]
fn update_commits_only_when_the_command_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), b"keep").unwrap();
    let output = atio()
        .args([
            "update",
            "f.txt",
            "--",
            "sh",
            "-c",
            "cat; echo more; exit 3",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    assert!(stderr(&output).contains("unchanged"), "{}", stderr(&output));
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"keep");
    assert_no_leftovers(dir.path());
}

/// Environment variable that turns `marker_reader_child_process_entry` into a reader loop.
const READER_CHILD: &str = "ATIO_TEST_MARKER_READER_FILE";

/// Child-process entry point for the 16-writer test (re-executes this test binary): until
/// `<file>.stop` exists, reads the file and checks it against its marker (under the shared publish
/// lock, as `atio verify` does) and that it parses; fails on the first torn pair. In a normal test
/// run the variable is unset: nothing to do.
#[test]
fn marker_reader_child_process_entry() {
    let Ok(path) = std::env::var(READER_CHILD) else {
        return;
    };
    let stop = format!("{path}.stop");
    let mut checks = 0u64;
    while !std::path::Path::new(&stop).exists() {
        let checked = atio::verify(&path).unwrap_or_else(|error| {
            panic!("a reader saw a torn pair after {checks} checks: {error}")
        });
        assert_eq!(checked.manifest.name, "shared.json");
        let data = std::fs::read(&path).unwrap();
        serde_json::from_slice::<serde_json::Value>(&data).expect("every read parses");
        checks += 1;
    }
    std::fs::write(format!("{path}.checks"), checks.to_string()).unwrap();
}

#[test]
fn sixteen_writers_never_leave_a_marker_describing_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("shared.json"));
    atio::write_bytes(
        &*path,
        b"{\"writer\": -1, \"seq\": -1}",
        &Options::default(),
    )
    .unwrap();
    let mut reader = crate::support::spawn_entry(
        "concurrency::marker_reader_child_process_entry",
        READER_CHILD,
        &*path,
    );
    let options = Options {
        durability: Durability::None,
        ..Options::default()
    };
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let (path, options) = (path.clone(), options.clone());
            std::thread::spawn(move || {
                for seq in 0..100 {
                    let body = format!(
                        "{{\"writer\": {writer}, \"seq\": {seq}, \"pad\": \"{}\"}}",
                        "x".repeat(writer * 10)
                    );
                    atio::write_bytes(&*path, body.as_bytes(), &options).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    std::fs::write(dir.path().join("shared.json.stop"), b"").unwrap();
    assert!(
        reader.wait().unwrap().success(),
        "the reader process saw a torn read"
    );
    let checks: u64 = std::fs::read_to_string(dir.path().join("shared.json.checks"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(checks > 10, "the reader ran only {checks} checks");
    atio::verify(&*path).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn if_match_races_have_exactly_one_winner_per_round() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("cas.txt"));
    atio::write_bytes(&*path, b"round 0", &Options::default()).unwrap();
    for round in 1..=20 {
        let current = atio::verify(&*path).unwrap().manifest.hash;
        let wins = Arc::new(AtomicUsize::new(0));
        let racers: Vec<_> = (0..8)
            .map(|racer| {
                let (path, wins, current) = (path.clone(), wins.clone(), current.clone());
                std::thread::spawn(move || {
                    let options = Options {
                        if_match: Some(current),
                        durability: Durability::None,
                        ..Options::default()
                    };
                    match atio::write_bytes(
                        &*path,
                        format!("round {round} by {racer}").as_bytes(),
                        &options,
                    ) {
                        Ok(_) => {
                            wins.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(error) => {
                            assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
                            assert!(error.to_string().contains("changed"), "{error}");
                        }
                    }
                })
            })
            .collect();
        for racer in racers {
            racer.join().unwrap();
        }
        assert_eq!(wins.load(Ordering::SeqCst), 1, "round {round}");
        assert!(
            std::fs::read_to_string(&*path)
                .unwrap()
                .starts_with(&format!("round {round} by "))
        );
    }
    assert_no_leftovers(dir.path());
}

#[test]
fn if_match_on_the_cli_exits_8_on_a_stale_hash() {
    let dir = tempfile::tempdir().unwrap();
    let put = |args: &[&str], stdin: &[u8]| crate::support::run_atio(dir.path(), args, stdin);
    assert!(put(&["put", "t.txt"], b"v1").status.success());
    let v1 = atio::verify(dir.path().join("t.txt"))
        .unwrap()
        .manifest
        .hash;
    assert!(
        put(&["put", "--if-match", &v1, "t.txt"], b"v2")
            .status
            .success()
    );
    let stale = put(&["put", "--if-match", &v1, "t.txt"], b"v3");
    assert_eq!(stale.status.code(), Some(8), "{}", stderr(&stale));
    assert!(stderr(&stale).contains("changed"), "{}", stderr(&stale));
    assert_eq!(std::fs::read(dir.path().join("t.txt")).unwrap(), b"v2");
}

#[test]
fn lock_target_is_the_lock_writes_hold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.bin");
    let held = atio::lock_target(&path, Duration::from_secs(1)).unwrap();
    assert_eq!(held.path(), dir.path().join(".t.bin.atio-lock"));
    // A write holding the same lock waits, then times out naming this process.
    let options = Options {
        lock: Some(Duration::from_millis(200)),
        ..Options::default()
    };
    let error = atio::write_bytes(&path, b"late", &options).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(
        error
            .to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{error}"
    );
    assert!(atio::lock_target(&path, Duration::ZERO).is_err());
    drop(held);
    atio::write_bytes(&path, b"now", &options).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"now");
    let url = atio::lock_target("s3://bucket/key", Duration::ZERO).unwrap_err();
    assert_eq!(url.kind(), ErrorKind::InvalidInput);
}

#[test]
fn stop_waiting_ends_a_lock_wait_with_interrupted_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.txt");
    atio::write_bytes(&path, b"old", &Options::default()).unwrap();
    let _held = atio::lock_target(&path, Duration::from_secs(1)).unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let options = Options {
        lock: Some(Duration::from_secs(60)),
        stop_waiting: Some(atio::StopWaiting::new({
            let asked = asked.clone();
            // Stop on the fifth check: the wait polls, it does not block.
            move || asked.fetch_add(1, Ordering::SeqCst) >= 4
        })),
        ..Options::default()
    };
    let started = Instant::now();
    let error = atio::write_bytes(&path, b"new", &options).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind(), ErrorKind::Interrupted, "{error}");
    assert!(error.to_string().contains("lock"), "{error}");
    assert_eq!(asked.load(Ordering::SeqCst), 5);
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_no_leftovers(dir.path());
}
