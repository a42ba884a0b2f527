"""atio.write in-process against the usual Python writers, durable on both sides.

    target/venv/bin/python python/bench.py [--rows 1000000] [--runs 5] [--json-files 2000] [DIR]

1. 1M rows (i64, f64, a unique 16-character string, bool, timestamp[us]) to Parquet and CSV:
   `atio.write(obj, ...)` against `pandas.DataFrame.to_parquet/to_csv`, polars
   `write_parquet/write_csv` and `pyarrow.parquet.write_table` / `pyarrow.csv.write_csv`, each
   given the same object atio is given. The others are made as durable as atio: they write the
   file, fsync it and fsync its directory (atio also stages, renames and writes a `_SUCCESS`
   manifest). Parquet is snappy-compressed everywhere (polars defaults to zstd: set to snappy).
2. Small files: 1 KiB JSON documents per second, `atio.write_json` (with and without its
   manifest) against python-atomicwrites' `atomic_write` (temp file, fsync, rename, dir fsync).

Ratio = other's time / atio's time (higher is better for atio; > 1 means atio is faster). Each
case runs `--runs` times, interleaved, after a `sync`; medians are printed. Needs numpy, pandas,
polars, pyarrow, and atomicwrites for part 2 (skipped with a line if missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import atio


def durable(path: str) -> None:
    """What atio does for durability, done for the others: fsync the file and its directory."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def make_data(rows: int):
    rng = np.random.default_rng(1)
    strings = np.char.add("k", np.char.zfill(np.arange(rows).astype(str), 15))  # unique, 16 chars
    table = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "value": pa.array(rng.random(rows)),
        "name": pa.array(strings.tolist(), pa.string()),
        "flag": pa.array(rng.random(rows) < 0.5),
        "ts": pa.array(np.datetime64("2024-01-01T00:00:00", "us") + np.arange(rows).astype("timedelta64[s]")),
    })
    frame = table.to_pandas()
    polars_frame = pl.from_arrow(table)
    return table, frame, polars_frame


def timed(function) -> float:
    os.sync()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench_tables(directory: str, rows: int, runs: int) -> list:
    table, frame, polars_frame = make_data(rows)
    path = lambda name: os.path.join(directory, name)  # noqa: E731

    def other(write, name):
        def run():
            write(path(name))
            durable(path(name))
        return run

    cases = {
        # (format, input): (atio, other library's durable write)
        ("parquet", "pandas"): (
            lambda: atio.write(frame, path("atio-pd.parquet")),
            other(lambda p: frame.to_parquet(p, compression="snappy"), "pd.parquet")),
        ("parquet", "polars"): (
            lambda: atio.write(polars_frame, path("atio-pl.parquet")),
            other(lambda p: polars_frame.write_parquet(p, compression="snappy"), "pl.parquet")),
        ("parquet", "pyarrow"): (
            lambda: atio.write(table, path("atio-pa.parquet")),
            other(lambda p: pq.write_table(table, p, compression="snappy"), "pa.parquet")),
        ("csv", "pandas"): (
            lambda: atio.write(frame, path("atio-pd.csv")),
            other(lambda p: frame.to_csv(p, index=False), "pd.csv")),
        ("csv", "polars"): (
            lambda: atio.write(polars_frame, path("atio-pl.csv")),
            other(lambda p: polars_frame.write_csv(p), "pl.csv")),
        ("csv", "pyarrow"): (
            lambda: atio.write(table, path("atio-pa.csv")),
            other(lambda p: pacsv.write_csv(table, p), "pa.csv")),
    }
    # Warm up: the encoders' compile cache and the page cache.
    for atio_run, other_run in cases.values():
        atio_run()
        other_run()
    results = []
    for (fmt, source), (atio_run, other_run) in cases.items():
        atio_times, other_times = [], []
        for _ in range(runs):
            atio_times.append(timed(atio_run))
            other_times.append(timed(other_run))
        a, o = statistics.median(atio_times), statistics.median(other_times)
        results.append({"format": fmt, "input": source, "atio_ms": a * 1e3, "other_ms": o * 1e3,
                        "ratio": o / a})
    return results


def bench_json(directory: str, files: int, runs: int) -> list:
    try:
        from atomicwrites import atomic_write
    except ImportError:
        print("small files: SKIPPED (pip install atomicwrites for python-atomicwrites)")
        return []
    document = {"key": "x" * 1000}
    assert 1000 < len(json.dumps(document, indent=2)) < 1100

    def atio_files(marker):
        def run():
            for i in range(files):
                atio.write_json(document, os.path.join(directory, f"a{i % 100}.json"), marker=marker)
        return run

    def atomicwrites_files():
        for i in range(files):
            with atomic_write(os.path.join(directory, f"w{i % 100}.json"), overwrite=True) as f:
                f.write(json.dumps(document, indent=2) + "\n")

    results = []
    cases = {"atio, with _SUCCESS": atio_files(True), "atio, no marker": atio_files(False),
             "atomicwrites": atomicwrites_files}
    times = {name: [] for name in cases}
    for _ in range(runs):
        for name, run in cases.items():
            times[name].append(timed(run))
    rates = {name: files / statistics.median(ts) for name, ts in times.items()}
    for name, rate in rates.items():
        results.append({"writer": name, "files_per_s": rate,
                        "vs_atomicwrites": rate / rates["atomicwrites"]})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", help="where to write (default: a temp dir in the cwd)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json-files", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atio-bench-", dir=args.dir or ".") as directory:
        print(f"{args.rows:,} rows, median of {args.runs} runs, durable on both sides, in {directory}")
        print(f"{'format':<8} {'input':<8} {'atio ms':>9} {'other ms':>9} {'ratio':>6}")
        for row in bench_tables(directory, args.rows, args.runs):
            print(f"{row['format']:<8} {row['input']:<8} {row['atio_ms']:>9.1f} "
                  f"{row['other_ms']:>9.1f} {row['ratio']:>6.2f}")
        print(f"\n1 KiB JSON files, {args.json_files} per run, median of {args.runs} runs")
        for row in bench_json(directory, args.json_files, args.runs):
            print(f"{row['writer']:<22} {row['files_per_s']:>8,.0f} files/s "
                  f"({row['vs_atomicwrites']:.2f}x atomicwrites)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
