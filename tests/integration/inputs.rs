//! Inputs read exactly, or refused naming the input (issue 15): real-world shapes the readers
//! once got wrong with exit 0 — timestamps that lost their Parquet type or their zone, JSON
//! keys that vanished or were reordered, a file whose footer miscounts its rows, INT96 times
//! beyond nanoseconds, corrupt Arrow IPC (big-endian IPC: the differential corpus, whose
//! generator writes it by hand). Outputs are read back by pyarrow and DuckDB, never by atio.

use std::path::{Path, PathBuf};

use crate::support::{
    assert_no_leftovers, probe_python_module, python, run_atio, stderr, tool_available,
};

fn readers() -> bool {
    tool_available("pyarrow and duckdb", "pip install pyarrow duckdb", || {
        probe_python_module("pyarrow, duckdb")
    })
}

/// Runs `script` with the test Python in `dir`; its stdout, trimmed.
fn py(dir: &Path, script: &str) -> String {
    let output = python()
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("running the test Python");
    assert!(
        output.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn write_ok(dir: &Path, input: &str, output: &str, extra: &[&str]) {
    let mut args = vec!["write", input, output];
    args.extend_from_slice(extra);
    let out = run_atio(dir, &args, b"");
    assert!(
        out.status.success(),
        "{input} -> {output}: {}",
        stderr(&out)
    );
}

/// `atio write` that must fail with `code`, naming the input and containing `needle`, and leave
/// nothing behind.
fn write_fails(dir: &Path, input: &str, output: &str, code: i32, needle: &str) -> String {
    let out = run_atio(dir, &["write", input, output], b"");
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{input} -> {output}: {text}");
    assert!(text.contains(needle), "{input}: {text}");
    assert!(!dir.join(output).exists(), "{output} was written");
    assert_no_leftovers(dir);
    text
}

#[test]
fn csv_timestamps_reach_parquet_as_timestamps_with_their_zone() {
    if !readers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.csv"),
        "naive,utc,offset,named\n\
         2024-01-01T12:00:00,2024-01-01T12:00:00Z,2024-01-01T12:00:00+05:30,2024-01-01 12:00:00 Europe/Paris\n\
         2024-06-01T00:00:01,2024-06-01T00:00:01Z,2024-06-01T00:00:01-08:00,2024-06-01 00:00:01 UTC\n",
    )
    .unwrap();
    write_ok(dir.path(), "in.csv", "out.parquet", &[]);
    let seen = py(
        dir.path(),
        "import duckdb, pyarrow as pa, pyarrow.parquet as pq\n\
         t = pq.read_table('out.parquet')\n\
         print([str(f.type) for f in t.schema])\n\
         print(t.column('offset').cast(pa.int64()).to_pylist())\n\
         print([row[1] for row in duckdb.sql(\"describe select * from 'out.parquet'\").fetchall()])",
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines[0],
        "['timestamp[ms]', 'timestamp[ms, tz=UTC]', 'timestamp[ms, tz=UTC]', 'timestamp[ms, tz=UTC]']"
    );
    // 12:00 at +05:30 is 06:30 UTC; 00:00:01 at -08:00 is 08:00:01 UTC.
    assert_eq!(lines[1], "[1704090600000, 1717228801000]");
    assert_eq!(
        lines[2],
        "['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP WITH TIME ZONE']"
    );
}

#[test]
fn second_units_and_date64_keep_parquet_logical_types() {
    if !readers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        "import pyarrow as pa, pyarrow.ipc as ipc\n\
         t = pa.table({'ts': pa.array([0, 86399, None], pa.timestamp('s', 'Europe/Paris')),\n\
                       't': pa.array([0, 3600, 86399], pa.time32('s')),\n\
                       'd': pa.array([0, 86400000, -86400000], pa.date64())})\n\
         with ipc.new_file('in.arrow', t.schema) as w: w.write_table(t)",
    );
    write_ok(dir.path(), "in.arrow", "out.parquet", &[]);
    let seen = py(
        dir.path(),
        "import duckdb, pyarrow.parquet as pq, pyarrow as pa\n\
         t = pq.read_table('out.parquet')\n\
         print([str(f.type) for f in t.schema])\n\
         print(t.column('ts').cast(pa.int64()).to_pylist(), t.column('t').cast(pa.int32()).to_pylist(), t.column('d').cast(pa.int32()).to_pylist())\n\
         print([row[1] for row in duckdb.sql(\"describe select * from 'out.parquet'\").fetchall()])",
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines[0],
        "['timestamp[ms, tz=Europe/Paris]', 'time32[ms]', 'date32[day]']"
    );
    assert_eq!(
        lines[1],
        "[0, 86399000, None] [0, 3600000, 86399000] [0, 1, -1]"
    );
    assert_eq!(lines[2], "['TIMESTAMP WITH TIME ZONE', 'TIME', 'DATE']");
}

#[test]
fn parquet_refuses_unions_naming_the_column() {
    if !readers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        "import pyarrow as pa, pyarrow.ipc as ipc\n\
         u = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()), [pa.array([1, 2]), pa.array(['a', 'b'])])\n\
         t = pa.table({'id': [1, 2], 'either': u})\n\
         with ipc.new_file('in.arrow', t.schema) as w: w.write_table(t)",
    );
    let text = write_fails(dir.path(), "in.arrow", "out.parquet", 9, "column `either`");
    assert!(text.contains("arrow (IPC)"), "{text}");
}

#[test]
fn json_lines_keep_key_order_skip_a_bom_and_refuse_a_late_key() {
    if !readers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"\xef\xbb\xbf".to_vec();
    input.extend_from_slice(b"{\"k10\":1,\"k2\":\"x\",\"k1\":true}\n{\"k0\":2.5,\"k2\":7}\n");
    std::fs::write(dir.path().join("in.jsonl"), &input).unwrap();
    write_ok(dir.path(), "in.jsonl", "out.arrow", &[]);
    let seen = py(
        dir.path(),
        "import pyarrow as pa\n\
         t = pa.ipc.open_file('out.arrow').read_all()\n\
         print(t.column_names, t.column('k2').to_pylist())",
    );
    assert_eq!(seen, "['k10', 'k2', 'k1', 'k0'] ['x', '7']");

    let mut late = "{\"a\":1}\n".repeat(1500);
    late.push_str("{\"a\":2,\"late\":3}\n");
    std::fs::write(dir.path().join("late.jsonl"), &late).unwrap();
    let text = write_fails(dir.path(), "late.jsonl", "late.arrow", 10, "late.jsonl");
    assert!(
        text.contains("'late'") && text.contains("--infer-rows"),
        "{text}"
    );
    write_ok(
        dir.path(),
        "late.jsonl",
        "late.arrow",
        &["--infer-rows", "all"],
    );
    let seen = py(
        dir.path(),
        "import pyarrow as pa\n\
         t = pa.ipc.open_file('late.arrow').read_all()\n\
         print(t.num_rows, t.column('late').to_pylist()[-1])",
    );
    assert_eq!(seen, "1501 3");
}

#[test]
fn an_empty_input_writes_no_phantom_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    write_ok(dir.path(), "empty.csv", "out.csv", &[]);
    assert_eq!(std::fs::read(dir.path().join("out.csv")).unwrap(), b"");
}

/// parquet-testing's data files, where this checkout has them (`../shared/testing`).
fn parquet_testing(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testing/parquet-testing/data")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    eprintln!(
        "SKIPPED: {} is missing (see the README: parquet-testing)",
        path.display()
    );
    None
}

#[test]
fn a_footer_that_miscounts_its_rows_does_not_lose_them() {
    let Some(input) = parquet_testing("repeated_no_annotation.parquet") else {
        return;
    };
    if !readers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_ok(dir.path(), input.to_str().unwrap(), "out.parquet", &[]);
    let seen = py(
        dir.path(),
        "import pyarrow.parquet as pq\n\
         print(pq.read_table('out.parquet').column('id').to_pylist())",
    );
    assert_eq!(seen, "[1, 2, 3, 4, 5, 6]");
}

#[test]
fn int96_times_beyond_nanoseconds_are_refused_not_wrapped() {
    let Some(input) = parquet_testing("int96_from_spark.parquet") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = input.to_str().unwrap();
    let text = write_fails(
        dir.path(),
        input,
        "out.arrow",
        9,
        "int96_from_spark.parquet",
    );
    assert!(text.contains("INT96 column `a`"), "{text}");
}

#[test]
fn truncated_and_lying_arrow_ipc_are_refused_naming_the_input() {
    if !readers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        "import pyarrow as pa, pyarrow.ipc as ipc\n\
         t = pa.table({'i': pa.array(range(1000), pa.int64()), 's': [str(i) for i in range(1000)]})\n\
         with ipc.new_stream('good.arrows', t.schema) as w: w.write_table(t)\n\
         data = open('good.arrows', 'rb').read()\n\
         open('cut.arrows', 'wb').write(data[: len(data) - 100])\n\
         with ipc.new_file('good.arrow', t.schema) as w: w.write_table(t)\n\
         f = bytearray(open('good.arrow', 'rb').read())\n\
         # The footer's length, inflated: the file claims far more than it holds.\n\
         f[-10:-6] = (2**31 - 1).to_bytes(4, 'little')\n\
         open('liar.arrow', 'wb').write(bytes(f))",
    );
    write_ok(dir.path(), "good.arrows", "good.parquet", &[]);
    write_fails(dir.path(), "cut.arrows", "cut.parquet", 10, "cut.arrows");
    write_fails(dir.path(), "liar.arrow", "liar.parquet", 10, "liar.arrow");
}
