//! The torture harness (`host/examples/torture.rs`: writers SIGKILLed at random points, then
//! old-or-new, marker and leftover checks), run small; `cargo run --release --example torture`
//! runs it large (RELIABILITY.md).

use std::path::PathBuf;

use atio::Options;

#[path = "../../host/examples/torture.rs"]
// `main` and the argument parser are the example binary's; the test calls `run` directly.
#[allow(dead_code)]
mod harness;

/// Worker-process entry point of the journal-swap scenario (the harness re-executes this test
/// binary with the job in its environment). In a normal test run the variable is unset.
#[test]
fn journal_swap_worker_entry() {
    let Ok(job) = std::env::var(harness::JOURNAL_WORKER_ENV) else {
        return;
    };
    harness::journal_swap_worker(&job).unwrap();
}

#[test]
fn sigkilled_writers_leave_old_or_new_content_and_nothing_else() {
    let seed = std::env::var("ATIO_TORTURE_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let config = harness::Config {
        iterations: 120,
        seed,
        dir: None,
        atio: PathBuf::from(env!("CARGO_BIN_EXE_atio")),
        quick: true,
        verbose: false,
        journal_worker: (
            std::env::current_exe().unwrap(),
            [
                "--exact",
                "torture::journal_swap_worker_entry",
                "--test-threads=1",
                "-q",
            ]
            .map(String::from)
            .to_vec(),
        ),
    };
    let summary = harness::run(&config).unwrap();
    eprint!("{}", summary.table());
    assert!(
        summary.violations.is_empty(),
        "violations (reproduce with ATIO_TORTURE_SEED={seed}): {:#?}",
        summary.violations
    );
    assert_eq!((summary.torn, summary.lost), (0, 0));
    assert_eq!(
        summary.runs.len(),
        6,
        "every scenario ran: {:?}",
        summary.runs
    );
    for (scenario, runs) in &summary.runs {
        assert_eq!(*runs, 20, "{scenario:?}");
        assert!(
            summary.kills.get(scenario).copied().unwrap_or(0) > 0,
            "no {scenario:?} writer was killed: the run tested nothing"
        );
    }
}

#[test]
fn the_torture_checks_catch_a_torn_file_and_a_lying_marker() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data.bin");
    atio::write_bytes(&target, b"old content", &Options::default()).unwrap();
    let old = Some(crate::support::xxh3(b"old content"));
    let new = crate::support::xxh3(b"new content");
    let check = harness::check_file(&target, &old, true, &new).unwrap();
    assert_eq!(check.outcome, harness::Outcome::Old);

    // Half of the new bytes over the old: torn, whatever the marker says.
    std::fs::write(&target, b"new co").unwrap();
    assert!(matches!(
        harness::check_file(&target, &old, true, &new),
        Err(harness::Violation::Torn(_))
    ));
    // The new bytes under the old marker: the marker lies.
    std::fs::write(&target, b"new content").unwrap();
    assert!(matches!(
        harness::check_file(&target, &old, true, &new),
        Err(harness::Violation::Torn(message)) if message.contains("marker")
    ));
    std::fs::remove_file(&target).unwrap();
    std::fs::remove_file(dir.path().join("data.bin._SUCCESS")).unwrap();
    assert!(matches!(
        harness::check_file(&target, &old, true, &new),
        Err(harness::Violation::Lost(_))
    ));
    std::fs::write(
        dir.path().join(".data.bin.atio-1-00000000-00000000.tmp"),
        b"x",
    )
    .unwrap();
    assert_eq!(harness::leftovers(dir.path()).len(), 1);
}
