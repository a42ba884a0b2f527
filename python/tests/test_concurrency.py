"""update_json from many processes and threads, atio.lock, writes from several threads."""

import json
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import atio

from conftest import spawn_python, staging_files

INCREMENTER = """
    import sys, atio
    path, times = sys.argv[1], int(sys.argv[2])
    def bump(state):
        state["n"] += 1
        state.setdefault("by", {}).setdefault(sys.argv[3], 0)
        state["by"][sys.argv[3]] += 1
    for _ in range(times):
        atio.update_json(path, bump, default={"n": 0}, timeout=120)
"""


def test_update_json_8_processes_x_50_is_exactly_400(out):
    path = out / "counter.json"
    children = [spawn_python(INCREMENTER, path, 50, f"p{i}") for i in range(8)]
    for child in children:
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr
    state = json.loads(path.read_text())
    assert state["n"] == 400
    assert state["by"] == {f"p{i}": 50 for i in range(8)}
    atio.verify(path)
    assert staging_files(out) == []


def test_update_json_threads_and_return_value(out):
    path = out / "threads.json"
    errors = []

    def work():
        try:
            for _ in range(25):
                atio.update_json(path, lambda s: {"n": s["n"] + 1}, default={"n": 0})
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert json.loads(path.read_text()) == {"n": 200}
    assert atio.update_json(path, lambda s: None) == {"n": 200}  # None keeps the value


def test_update_json_default_is_copied(out):
    default = {"items": []}
    atio.update_json(out / "a.json", lambda s: s["items"].append(1), default=default)
    assert default == {"items": []}
    assert json.loads((out / "a.json").read_text()) == {"items": [1]}


def test_update_json_refuses_a_corrupt_file(out):
    path = out / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError) as caught:
        atio.update_json(path, lambda s: {"n": 1}, default={})
    error = caught.value
    assert isinstance(error, atio.InvalidInput)
    assert "not valid JSON" in str(error) and "refusing to replace" in str(error)
    assert error.path == str(path)
    assert path.read_text() == "{not json"
    assert staging_files(out) == []


def test_update_function_exception_propagates_and_writes_nothing(out):
    path = out / "keep.json"
    atio.write_json({"n": 1}, path)

    def fail(state):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        atio.update_json(path, fail)
    assert json.loads(path.read_text()) == {"n": 1}
    assert staging_files(out) == []


def test_update_waits_for_the_lock_and_times_out(out):
    path = out / "held.json"
    with atio.lock(path):
        with pytest.raises(atio.LockTimeout):
            atio.update_json(path, lambda s: s, default={}, timeout=0.2)
    assert not path.exists()


def test_writes_from_several_threads(out):
    tables = {i: pa.table({"i": list(range(i * 1000, (i + 1) * 1000))}) for i in range(8)}
    reports = {}
    errors = []

    def work(i):
        try:
            for round_ in range(3):
                reports[i] = atio.write(tables[i], out / f"t{i}.parquet")
                atio.write(tables[i], out / "shared.parquet")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for i, table in tables.items():
        assert pq.read_table(out / f"t{i}.parquet").equals(table)
        assert reports[i].rows == 1000
    shared = pq.read_table(out / "shared.parquet")
    assert any(shared.equals(table) for table in tables.values())
    atio.verify(out / "shared.parquet")  # marker always describes the bytes beside it
    assert staging_files(out) == []


def test_gil_is_released_while_writing(out):
    # Another Python thread keeps running while a write is in progress.
    import numpy as np
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        table = pa.table({"n": np.arange(3_000_000), "f": np.arange(3_000_000) * 0.5})
        before = len(ticks)
        atio.write(table, out / "big.parquet")
        during = len(ticks) - before
    finally:
        done.set()
        thread.join()
    assert during > 10, f"the ticker ran {during} times during the write"
