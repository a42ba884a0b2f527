//! The differential corpus test (issue 15): `atio write` over a generated corpus covering every
//! Arrow type plus CSV/JSON-lines edge cases, and every file of Apache parquet-testing, times
//! every built-in format, each output read back by pyarrow (DuckDB for Parquet's temporal
//! types) and compared value by value with pyarrow's reading of the input. Every run must be
//! exact or a clear refusal. The work is in `tests/corpus/*.py`; this test runs them.

use std::path::{Path, PathBuf};

use crate::support;

/// The repository root (the test binary's manifest is `host/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

fn probe_pyarrow() -> Result<(), String> {
    support::probe_command(support::python().args(["-c", "import pyarrow, numpy"]))
}

fn probe_parquet_testing() -> Result<(), String> {
    let dir = repo_root().join("../shared/testing/parquet-testing");
    if dir.join("data").is_dir() {
        Ok(())
    } else {
        Err(format!("{} has no data/", dir.display()))
    }
}

#[test]
fn every_type_and_every_real_file_is_written_exactly_or_refused_clearly() {
    if !support::tool_available(
        "pyarrow",
        "install pyarrow, numpy and duckdb into the test Python (ATIO_TEST_PYTHON or target/venv)",
        probe_pyarrow,
    ) || !support::tool_available(
        "parquet-testing",
        "put apache/parquet-testing's data files at ../shared/testing/parquet-testing (see ../shared/testing/README.md)",
        probe_parquet_testing,
    ) {
        return;
    }
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let corpus = work.path().join("corpus");
    let report = work.path().join("report.json");

    let generated = support::python()
        .arg(root.join("tests/corpus/generate.py"))
        .arg(&corpus)
        .output()
        .expect("run tests/corpus/generate.py");
    assert!(
        generated.status.success(),
        "generate.py failed: {}",
        support::stderr(&generated)
    );

    let run = support::python()
        .arg(root.join("tests/corpus/differential.py"))
        .arg(&corpus)
        .arg("--parquet-testing")
        .arg(root.join("../shared/testing/parquet-testing"))
        .arg("--report")
        .arg(&report)
        .env("ATIO_BIN", env!("CARGO_BIN_EXE_atio"))
        .output()
        .expect("run tests/corpus/differential.py");
    let stdout = support::stdout(&run);
    // The summary is the last line; the lines before it are one per case that was not exact.
    let summary = stdout.lines().last().unwrap_or("(no summary)");
    assert!(
        summary.contains(" cases: "),
        "differential.py did not finish ({}): {}",
        run.status,
        support::stderr(&run)
    );
    assert!(
        run.status.success(),
        "differential corpus: {summary}\n\nfailures (WRONG/CRASH/BADMSG/BADEXIT/LEFTOVER/MEMORY/TIMEOUT):\n{}\n\
         rerun: ATIO_BIN=target/debug/atio target/venv/bin/python tests/corpus/differential.py DIR \
         --parquet-testing ../shared/testing/parquet-testing (DIR from tests/corpus/generate.py DIR)",
        stdout
            .lines()
            .filter(|line| !line.starts_with("refused") && !line.starts_with("unverified"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}
