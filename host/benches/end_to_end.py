"""atio's CLI end to end against pyarrow, polars and DuckDB, on this machine, in one run.

The data: 1M rows (i64, f64, a unique 16-char string, bool, timestamp µs) in an Arrow IPC file,
and the same rows as CSV. Every writer writes durably (fsync of the file, rename or not, fsync
of the directory); atio is the whole CLI process (start, plugin load, read, encode, commit,
marker), the others run in this process and include reading their input. Rounds interleave the
writers; each figure is the median of the rounds. Ratios are atio's time over the fastest other
writer's (below 1.00: atio is faster). Peak RSS is atio's, from wait4.

Run it through host/benches/end_to_end.sh, which installs the readers and builds the CLI.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq


def durable(path):
    """fsync the file and its directory, as atio does."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_data(directory, rows):
    rng = np.random.default_rng(7)
    ids = np.arange(rows, dtype=np.int64)
    table = pa.table(
        {
            "id": ids,
            "value": rng.standard_normal(rows),
            "name": pa.array([f"{i * 2654435761 % (1 << 64):016x}" for i in range(rows)]),
            "flag": rng.integers(0, 2, rows).astype(bool),
            "ts": pa.array(1_700_000_000_000_000 + ids * 1_000, pa.timestamp("us")),
        }
    )
    arrow_path = os.path.join(directory, "input.arrow")
    csv_path = os.path.join(directory, "input.csv")
    feather.write_feather(table, arrow_path, compression="uncompressed")
    pacsv.write_csv(table, csv_path)
    return arrow_path, csv_path


def run_atio(binary, source, target, threads):
    """Runs the CLI under GNU time; returns (seconds, peak RSS in MiB). (A child forked from this
    process would report this process's size: ru_maxrss survives exec.)"""
    with tempfile.NamedTemporaryFile("r") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name,
             binary, "write", source, target, "--threads", str(threads)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"atio failed: {done.stderr.decode()}")
        return elapsed, int(rss.read().split()[-1]) / 1024


def read_arrow(path):
    with ipc.open_file(path) as reader:
        return reader.read_all()


def writers(arrow_path, csv_path):
    """name -> {task -> function(target)}."""

    def pyarrow_parquet(target):
        pq.write_table(read_arrow(arrow_path), target)

    def pyarrow_csv(target):
        pacsv.write_csv(read_arrow(arrow_path), target)

    def pyarrow_convert(target):
        pq.write_table(pacsv.read_csv(csv_path), target)

    def polars_parquet(target):
        pl.read_ipc(arrow_path).write_parquet(target)

    def polars_csv(target):
        pl.read_ipc(arrow_path).write_csv(target)

    def polars_convert(target):
        pl.scan_csv(csv_path).sink_parquet(target)

    def duckdb_parquet(target):
        rows = read_arrow(arrow_path)  # noqa: F841 (DuckDB scans the local by its name)
        duckdb.sql(f"COPY (FROM rows) TO '{target}' (FORMAT parquet)")

    def duckdb_csv(target):
        rows = read_arrow(arrow_path)  # noqa: F841 (DuckDB scans the local by its name)
        duckdb.sql(f"COPY (FROM rows) TO '{target}' (FORMAT csv, HEADER)")

    def duckdb_convert(target):
        duckdb.sql(f"COPY (FROM read_csv('{csv_path}')) TO '{target}' (FORMAT parquet)")

    return {
        "pyarrow": {"parquet": pyarrow_parquet, "csv": pyarrow_csv, "csv→parquet": pyarrow_convert},
        "polars": {"parquet": polars_parquet, "csv": polars_csv, "csv→parquet": polars_convert},
        "duckdb": {"parquet": duckdb_parquet, "csv": duckdb_csv, "csv→parquet": duckdb_convert},
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--atio", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    tasks = ["parquet", "csv", "csv→parquet"]
    with tempfile.TemporaryDirectory(dir="target") as directory:
        arrow_path, csv_path = make_data(directory, args.rows)
        sources = {"parquet": arrow_path, "csv": arrow_path, "csv→parquet": csv_path}
        extensions = {"parquet": "parquet", "csv": "csv", "csv→parquet": "parquet"}
        others = writers(arrow_path, csv_path)
        times = {}
        rss = {}
        counter = 0
        for round_number in range(args.runs + 1):  # round 0 warms caches and is not counted
            for task in tasks:
                contenders = [(f"atio ×{t}", t) for t in thread_counts] + [(name, None) for name in others]
                for name, threads in contenders:
                    counter += 1
                    target = os.path.join(directory, f"out-{counter}.{extensions[task]}")
                    os.sync()
                    if threads is not None:
                        elapsed, peak = run_atio(args.atio, sources[task], target, threads)
                        rss.setdefault((name, task), []).append(peak)
                    else:
                        started = time.perf_counter()
                        others[name][task](target)
                        durable(target)
                        elapsed = time.perf_counter() - started
                    os.remove(target)
                    if round_number > 0:
                        times.setdefault((name, task), []).append(elapsed)
        names = [f"atio ×{t}" for t in thread_counts] + list(others)
        print(f"{args.rows} rows (i64, f64, unique 16-char string, bool, timestamp µs), durable, "
              f"median of {args.runs} interleaved rounds, {os.cpu_count()} cores\n")
        print(f"{'task':<12}" + "".join(f"{name:>10}" for name in names)
              + "".join(f"{'vs best ×' + str(t):>13}" for t in thread_counts)
              + "".join(f"{'RSS ×' + str(t):>10}" for t in thread_counts))
        for task in tasks:
            medians = {name: statistics.median(times[(name, task)]) for name in names}
            fastest = min(medians[name] for name in others)
            line = f"{task:<12}" + "".join(f"{medians[name]:>9.3f}s" for name in names)
            line += "".join(f"{medians[f'atio ×{t}'] / fastest:>12.2f}×" for t in thread_counts)
            line += "".join(f"{max(rss[(f'atio ×{t}', task)]):>7.0f}MiB" for t in thread_counts)
            print(line)
        print("\nvs best: atio's median over the fastest of pyarrow, polars and DuckDB "
              "(below 1.00 means atio is faster).")


if __name__ == "__main__":
    sys.exit(main())
