"""Ctrl-C and kill -9 in the middle of a write: the original stays intact, SIGINT raises
KeyboardInterrupt promptly and leaves no staging file, SIGKILL leaves one that atio.clean sweeps."""

import os
import signal
import time

import pytest

import atio

from conftest import spawn_python, staging_files

# The child writes the original, then a long write of the same path, and says when it started.
WRITER = """
    import sys, time, numpy as np, pyarrow as pa, atio
    path, kind = sys.argv[1], sys.argv[2]
    atio.write(pa.table({"original": [1, 2, 3]}), path)
    rows = 3_000_000
    if kind == "table":          # one pyarrow table of many chunks: no Python code runs inside
        chunk = pa.table({"n": np.arange(rows), "s": pa.array(np.arange(rows).astype(str))})
        data = pa.concat_tables([chunk] * 8)
    elif kind == "generator":    # a Python generator behind a RecordBatchReader
        schema = pa.schema([("n", pa.int64())])
        def batches():
            for i in range(100_000):
                time.sleep(0.005)
                yield pa.record_batch([pa.array(np.arange(10_000))], schema=schema)
        data = pa.RecordBatchReader.from_batches(schema, batches())
    else:                        # a NumPy array
        data = np.arange(rows * 8, dtype="float64").reshape(-1, 4)
    started = [False]
    def progress(rows, bytes):
        if rows and not started[0]:
            started[0] = True
            print("started", flush=True)
    atio._atio.write(data if kind != "numpy" else None, path, atio._options(format="parquet"),
                     False, atio._numpy_source(data, path, "parquet") if kind == "numpy" else None,
                     progress)
    print("finished", flush=True)
"""


def start_writer(path, kind):
    child = spawn_python(WRITER, path, kind)
    line = child.stdout.readline()
    assert line == "started\n", (line, child.communicate(timeout=60))
    return child


def assert_original(path):
    import pyarrow.parquet as pq
    assert pq.read_table(path).column("original").to_pylist() == [1, 2, 3]
    atio.verify(path)


@pytest.mark.parametrize("kind", ["table", "generator", "numpy"])
def test_sigint_raises_keyboard_interrupt_promptly_and_leaves_nothing(out, kind):
    path = out / "data.parquet"
    child = start_writer(path, kind)
    time.sleep(0.3)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert "finished" not in stdout, "the write completed before the signal: make it longer"
    assert child.returncode != 0
    assert stderr.rstrip().splitlines()[-1] == "KeyboardInterrupt", stderr
    assert elapsed < 3, f"KeyboardInterrupt took {elapsed:.1f} s"
    assert_original(path)
    assert staging_files(out) == []


def test_sigkill_leaves_an_orphan_that_clean_sweeps(out):
    path = out / "data.parquet"
    child = start_writer(path, "table")
    time.sleep(0.3)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    orphans = staging_files(out)
    assert len(orphans) == 1 and orphans[0].startswith(".data.parquet.atio-")
    assert_original(path)
    dry = atio.clean(out, dry_run=True)
    assert [os.path.basename(p) for p in dry["removed"]] == orphans
    assert staging_files(out) == orphans
    report = atio.clean(out)
    assert [os.path.basename(p) for p in report["removed"]] == orphans
    assert staging_files(out) == []
    assert_original(path)


def test_clean_keeps_a_live_writers_staging_file(out):
    path = out / "live.bin"
    with atio.open(path, "wb") as f:
        f.write(b"partial")
        staged = os.path.basename(f.staging_path)
        report = atio.clean(out)
        assert report["removed"] == []
        assert [os.path.basename(p) for p, _ in report["kept"]] == [staged]
        assert staging_files(out) == [staged]
    assert path.read_bytes() == b"partial"


# The child waits (up to 60 s) for a lock the test holds, in each call that can wait for one.
WAITER = """
    import sys, atio
    path, call = sys.argv[1], sys.argv[2]
    print("waiting", flush=True)
    if call == "write":
        atio.write_json({"new": True}, path, lock=60)
    elif call == "update":
        atio.update_json(path, lambda state: {"new": True}, timeout=60)
    else:
        atio.rollback(path)
    print("finished", flush=True)
"""


@pytest.mark.parametrize("call", ["write", "update", "rollback"])
def test_sigint_stops_a_lock_wait_promptly(out, call):
    path = out / "state.json"
    atio.write_json({"old": 1}, path, keep_versions=2)
    atio.write_json({"old": 2}, path, keep_versions=2)  # version 1: {"old": 1}
    before = path.read_bytes()
    with atio.lock(path):
        child = spawn_python(WAITER, path, call)
        assert child.stdout.readline() == "waiting\n"
        time.sleep(0.5)  # inside the wait
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
        elapsed = time.monotonic() - sent
    assert "finished" not in stdout
    assert stderr.rstrip().splitlines()[-1] == "KeyboardInterrupt", stderr
    assert elapsed < 3, f"KeyboardInterrupt took {elapsed:.1f} s"
    assert path.read_bytes() == before
    atio.verify(path)
    assert [v["number"] for v in atio.versions(path)["versions"]] == [1]
    assert staging_files(out) == [".state.json.atio-versions"]  # the store; no staging file
