"""Every kind of data atio.write takes, read back by its own library and compared value by value."""

import datetime
import json
import os

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

import atio

from conftest import staging_files


def sample_table(rows=1000):
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "value": pa.array([i * 0.25 for i in range(rows)], pa.float64()),
        "name": pa.array([f"name-{i:010d}" if i % 7 else None for i in range(rows)], pa.string()),
        "flag": pa.array([i % 3 == 0 for i in range(rows)], pa.bool_()),
        "ts": pa.array([datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i) for i in range(rows)],
                       pa.timestamp("us")),
        "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 30) for i in range(rows)],
                        pa.date32()),
    })


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_pyarrow_table_round_trips(out, fmt):
    table = sample_table()
    path = out / f"t.{fmt}"
    report = atio.write(table, path)
    read = pq.read_table(path) if fmt == "parquet" else ipc.open_file(path).read_all()
    assert read.equals(table)
    assert report.rows == table.num_rows
    assert report.format == fmt
    assert report.bytes == os.path.getsize(path)
    assert report.hash.startswith("xxh3-128:")
    assert report.marker == str(path) + "._SUCCESS"
    assert json.loads(open(report.marker).read())["hash"] == report.hash
    assert atio.verify(path)["manifest"]["rows"] == table.num_rows
    assert staging_files(out) == []


def test_csv_and_jsonl_read_back_by_pyarrow(out):
    table = sample_table(200).drop_columns(["ts", "day"])
    atio.write(table, out / "t.csv")
    read = pacsv.read_csv(out / "t.csv", convert_options=pacsv.ConvertOptions(column_types=table.schema, strings_can_be_null=True))
    assert read.equals(table)
    atio.write(table, out / "t.jsonl")
    lines = [json.loads(line) for line in open(out / "t.jsonl")]
    assert lines == table.to_pylist()


def test_record_batch_reader_streams_every_batch(out):
    schema = pa.schema([("n", pa.int64()), ("s", pa.string())])
    batches = (pa.record_batch([pa.array(range(i * 1000, (i + 1) * 1000)),
                                pa.array([str(v) for v in range(i * 1000, (i + 1) * 1000)])], schema=schema)
               for i in range(50))
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    report = atio.write(reader, out / "s.parquet")
    assert report.rows == 50_000
    read = pq.read_table(out / "s.parquet")
    assert read.column("n").to_pylist() == list(range(50_000))
    assert read.column("s").to_pylist() == [str(v) for v in range(50_000)]


def test_pandas_round_trip(out):
    frame = pd.DataFrame({
        "i": np.arange(500, dtype="int64"),
        "f": np.linspace(0, 1, 500),
        "s": [f"row {i}" for i in range(500)],
        "b": np.arange(500) % 2 == 0,
        "t": pd.date_range("2024-01-01", periods=500, freq="min"),
    })
    atio.write(frame, out / "p.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "p.parquet"), frame)
    atio.write(frame, out / "p.csv")
    back = pd.read_csv(out / "p.csv", parse_dates=["t"])
    pd.testing.assert_frame_equal(back.drop(columns="t"), frame.drop(columns="t"))
    assert (back["t"].dt.tz_localize(None) == frame["t"]).all() if back["t"].dt.tz is not None \
        else (back["t"] == frame["t"]).all()


def test_pandas_non_default_index_is_kept(out):
    frame = pd.DataFrame({"x": [1, 2, 3]}, index=pd.Index(["a", "b", "c"], name="key"))
    atio.write(frame, out / "i.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "i.parquet"), frame)


def test_polars_round_trip(out):
    frame = pl.DataFrame({
        "i": list(range(300)),
        "f": [i / 3 for i in range(300)],
        "s": [None if i % 5 == 0 else f"v{i}" for i in range(300)],
        "b": [i % 2 == 1 for i in range(300)],
        "d": [datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(300)],
    })
    report = atio.write(frame, out / "pl.parquet")
    assert report.rows == 300
    assert pl.read_parquet(out / "pl.parquet").equals(frame)
    atio.write(frame, out / "pl.arrow")
    assert pl.read_ipc(out / "pl.arrow").equals(frame)


def test_duckdb_relation_round_trip(out):
    connection = duckdb.connect()
    relation = connection.sql(
        "SELECT i, i * 1.5 AS x, 'k' || i::VARCHAR AS k FROM range(20000) t(i)")
    report = atio.write(relation, out / "d.parquet")
    assert report.rows == 20000
    expected = relation.fetchall()
    read = connection.sql(f"SELECT i, x, k FROM read_parquet('{out / 'd.parquet'}') ORDER BY i").fetchall()
    assert read == expected


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int16", "uint16", "float16", "int32",
                                   "uint32", "float32", "int64", "uint64", "float64"])
def test_numpy_1d_is_byte_identical_to_np_save(out, dtype):
    rng = np.random.default_rng(7)
    array = (rng.random(10_001) * 100).astype(dtype)
    report = atio.write(array, out / "a.npy")
    np.save(out / "b.npy", array)
    assert (out / "a.npy").read_bytes() == (out / "b.npy").read_bytes()
    assert report.rows == len(array)
    np.testing.assert_array_equal(np.load(out / "a.npy"), array)


def test_numpy_2d_and_non_contiguous(out):
    array = np.arange(3 * 200_000, dtype="float64").reshape(200_000, 3)
    atio.write(array, out / "m.npy")
    np.save(out / "m2.npy", array)
    assert (out / "m.npy").read_bytes() == (out / "m2.npy").read_bytes()
    strided = np.arange(100, dtype="int32")[::3]
    atio.write(strided, out / "s.npy")
    np.testing.assert_array_equal(np.load(out / "s.npy"), strided)
    big_endian = np.arange(10, dtype=">i8")
    atio.write(big_endian, out / "be.npy")
    np.testing.assert_array_equal(np.load(out / "be.npy"), big_endian)


def test_numpy_to_parquet_columns(out):
    array = np.arange(20, dtype="int64").reshape(10, 2)
    atio.write(array, out / "n.parquet")
    table = pq.read_table(out / "n.parquet")
    assert table.column_names == ["0", "1"]
    assert table.column("1").to_pylist() == list(array[:, 1])


def test_empty_table(out):
    table = pa.table({"a": pa.array([], pa.int64())})
    report = atio.write(table, out / "e.parquet")
    assert report.rows == 0
    assert pq.read_table(out / "e.parquet").equals(table)


def test_partitioned_write_read_back_by_pyarrow_and_duckdb(out):
    table = pa.table({
        "dt": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"] * 250,
        "v": list(range(1000)),
    })
    report = atio.write(table, out / "table", partition_by="dt")
    assert isinstance(report, atio.DatasetReport)
    assert report.rows == 1000
    assert sorted(os.path.basename(p["path"]) for p in report.partitions) == [
        "dt=2024-01-01", "dt=2024-01-02", "dt=2024-01-03"]
    for partition in report.partitions:
        assert atio.verify(partition["path"])["manifest"]["files"]
    read = duckdb.sql(
        f"SELECT CAST(dt AS VARCHAR), v FROM read_parquet('{out}/table/*/*.parquet', hive_partitioning=true) ORDER BY v"
    ).fetchall()
    assert read == [(d, v) for d, v in zip(table.column("dt").to_pylist(), table.column("v").to_pylist())]
    # A re-run of one day replaces exactly that partition and leaves the others alone.
    day = pa.table({"dt": ["2024-01-02"], "v": [-1]})
    atio.write(day, out / "table", partition_by=["dt"])
    again = pq.read_table(out / "table" / "dt=2024-01-02")
    assert again.column("v").to_pylist() == [-1]
    assert pq.read_table(out / "table" / "dt=2024-01-01").num_rows == 500


def test_directory_target_without_partitions(out):
    atio.write(sample_table(10), str(out / "dir") + "/", format="csv")
    files = [name for name in os.listdir(out / "dir") if name.endswith(".csv")]
    assert len(files) == 1
    assert atio.verify(out / "dir")["manifest"]["rows"] == 10


def test_bounded_memory_for_a_stream_larger_than_memory_use(out):
    # 48 batches of 1M int64 values (384 MB) are generated lazily; peak RSS must stay far below.
    from conftest import run_python
    result = run_python("""
        import resource, sys, pyarrow as pa, atio
        schema = pa.schema([("n", pa.int64())])
        def batches():
            for i in range(48):
                yield pa.record_batch([pa.array(range(i * 10**6, (i + 1) * 10**6), pa.int64())], schema=schema)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = atio.write(pa.RecordBatchReader.from_batches(schema, batches()), sys.argv[1],
                            durability="none", marker=False)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(report.rows, report.bytes, (after - before) // 1024)
    """, out / "big.npy")
    assert result.returncode == 0, result.stderr
    rows, size, grown_mib = map(int, result.stdout.split())
    assert rows == 48_000_000 and size == 48_000_000 * 8 + 128
    assert grown_mib < 150, f"peak RSS grew by {grown_mib} MiB for a 366 MiB stream"
