"""Options of atio.write and friends, atio.open, reports, verbose logging and progress."""

import json
import logging
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import atio

from conftest import run_python, staging_files


def table(rows=100):
    return pa.table({"a": list(range(rows)), "b": [f"s{i}" for i in range(rows)]})


def test_encoder_options_reach_the_encoder(out):
    atio.write(table(), out / "z.parquet", options={"compression": "gzip"})
    metadata = pq.ParquetFile(out / "z.parquet").metadata
    assert metadata.row_group(0).column(0).compression == "GZIP"
    atio.write(table(), out / "s.parquet")
    assert pq.ParquetFile(out / "s.parquet").metadata.row_group(0).column(0).compression == "SNAPPY"


def test_format_overrides_the_extension(out):
    report = atio.write(table(3), out / "data.txt", format="csv")
    assert report.format == "csv"
    assert (out / "data.txt").read_text().splitlines()[0] == "a,b"


def test_no_marker_and_durability_none(out):
    report = atio.write(table(), out / "m.parquet", marker=False, durability="none")
    assert report.marker is None and report.durability == "none"
    assert not (out / "m.parquet._SUCCESS").exists()
    assert report.timings.fsync == 0 or report.timings.fsync < 1
    with pytest.raises(atio.VerificationError):
        atio.verify(out / "m.parquet")


def test_report_fields_and_manifest(out):
    report = atio.write(table(10), out / "r.jsonl")
    manifest = json.loads((out / "r.jsonl._SUCCESS").read_text())
    assert manifest["bytes"] == report.bytes == os.path.getsize(out / "r.jsonl")
    assert manifest["hash"] == report.hash
    assert manifest["rows"] == report.rows == 10
    assert report.encoder.name == "jsonl" and len(report.encoder.sha256) == 64
    assert report.timings.total >= report.timings.write > 0
    assert report.run_id


def test_lock_option_holds_the_target_lock(out):
    report = atio.write(table(), out / "l.parquet", lock=True)
    assert report.rows == 100
    assert (out / ".l.parquet.atio-lock").exists()  # lock files are never deleted


def test_open_text_and_binary(out):
    with atio.open(out / "t.txt", "w") as f:
        f.write("héllo\n")
        print("world", file=f)
        assert not (out / "t.txt").exists()  # nothing visible before the commit
        assert staging_files(out) == [os.path.basename(f.staging_path)]
    assert (out / "t.txt").read_text(encoding="utf-8") == "héllo\nworld\n"
    assert f.report.bytes == len("héllo\nworld\n".encode())
    atio.verify(out / "t.txt")
    with atio.open(out / "b.bin", "wb") as f:
        f.write(b"\x00\x01")
        f.write(bytearray(b"\x02"))
        f.write(memoryview(b"\x03"))
        assert f.tell() == 4
    assert (out / "b.bin").read_bytes() == b"\x00\x01\x02\x03"


def test_open_discards_on_exception(out):
    (out / "keep.txt").write_text("original")
    with pytest.raises(RuntimeError):
        with atio.open(out / "keep.txt", "w") as f:
            f.write("new content")
            raise RuntimeError("failed half-way")
    assert (out / "keep.txt").read_text() == "original"
    assert staging_files(out) == []
    with pytest.raises(ValueError, match="committed or discarded"):
        f.write("late")


def test_open_abort_and_mode(out):
    f = atio.open(out / "gone.bin")
    f.write(b"x")
    f.abort()
    assert not (out / "gone.bin").exists() and staging_files(out) == []
    with pytest.raises(ValueError, match="mode"):
        atio.open(out / "x", "r")
    with pytest.raises(TypeError):
        with atio.open(out / "y.txt", "w") as f:
            f.write(b"bytes in text mode")
    assert not (out / "y.txt").exists()


def test_write_json_and_write_bytes(out):
    report = atio.write_json({"b": [1, 2], "ü": None}, out / "j.json")
    assert json.loads((out / "j.json").read_text()) == {"b": [1, 2], "ü": None}
    assert report.bytes == os.path.getsize(out / "j.json")
    atio.write_bytes(b"raw", out / "raw.bin", marker=False)
    assert (out / "raw.bin").read_bytes() == b"raw"
    assert not (out / "raw.bin._SUCCESS").exists()


def test_update_bytes(out):
    atio.update(out / "n.txt", lambda old: b"1" if old is None else str(int(old) + 1).encode())
    atio.update(out / "n.txt", lambda old: str(int(old) + 1).encode())
    assert (out / "n.txt").read_bytes() == b"2"


def test_verbose_logs_steps_and_timings(out, caplog):
    with caplog.at_level(logging.INFO, logger="atio"):
        atio.write(table(), out / "v.parquet", verbose=True)
    messages = [record.getMessage() for record in caplog.records if record.name == "atio"]
    assert any(message.startswith("wrote ") and "100 rows" in message for message in messages)
    for step in ("setup", "write", "encode", "fsync", "rename", "dir_fsync", "marker", "total"):
        assert any(message.split()[0] == step for message in messages), step


def test_verbose_without_logging_configured_prints_to_stderr(out):
    result = run_python("""
        import sys, pyarrow as pa, atio
        atio.write(pa.table({"a": [1]}), sys.argv[1], verbose=True)
    """, out / "q.parquet")
    assert result.returncode == 0, result.stderr
    assert "atio: wrote " in result.stderr and "atio:   fsync" in result.stderr


def test_progress_fallback_line_without_tqdm(out):
    result = run_python("""
        import sys, builtins, numpy as np, pyarrow as pa
        real_import = builtins.__import__
        def no_tqdm(name, *args, **kwargs):
            if name.startswith("tqdm"):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)
        builtins.__import__ = no_tqdm
        import atio
        atio.write(pa.table({"n": np.arange(2_000_000)}), sys.argv[1], progress=True)
    """, out / "p.csv")
    assert result.returncode == 0, result.stderr
    assert "2,000,000 rows" in result.stderr and "rows/s" in result.stderr


def test_progress_bar_with_tqdm(out):
    pytest.importorskip("tqdm")
    result = run_python("""
        import sys, numpy as np, pyarrow as pa, atio
        atio.write(pa.table({"n": np.arange(2_000_000)}), sys.argv[1], progress=True)
    """, out / "t.csv")
    assert result.returncode == 0, result.stderr
    frames = result.stderr.split("\r")
    assert any("p.csv" in frame or "t.csv" in frame for frame in frames)
    assert any("/2.00M" in frame and "rows/s" in frame for frame in frames), frames[-3:]


def test_progress_callback_sees_every_row(out):
    seen = []
    import numpy as np
    atio._atio.write(pa.table({"n": np.arange(300_000)}), str(out / "c.arrow"), atio._options(),
                     False, None, lambda rows, size: seen.append((rows, size)))
    assert seen[-1][0] == 300_000
    assert [rows for rows, _ in seen] == sorted(rows for rows, _ in seen)
    assert len(seen) >= 300_000 // (64 * 1024)  # large batches are sliced


def test_pathlike_and_directory_reports(out):
    report = atio.write(table(), out / "ds", partition_by=["b"], rows_per_file=10)
    assert report.rows == 100 and len(report.partitions) == 100
    assert report.bytes == sum(os.path.getsize(f) for f in report.files)
    recovered = atio.recover(out / "ds" / "b=s1")
    assert recovered["recovery"] == "nothing"


def test_storage_options_reach_the_store():
    with pytest.raises(atio.Error) as caught:
        atio.write(table(), "s3://bucket/key.parquet",
                   storage_options={"endpoint": "http://127.0.0.1:9", "retry_timeout": 0.5,
                                    "path_style": True})
    assert caught.value.kind in ("network", "permission-denied")
    with pytest.raises(ValueError, match="unknown option"):
        atio.write(table(), "x.parquet", storage_options={"no_such_option": 1})


def test_memory_store_round_trip():
    report = atio.write(table(), "memory:///t/data.parquet")
    assert report.rows == 100 and report.e_tag
