"""threads= (several sandboxed encoder instances, the same bytes) and keep_versions= with
versions / rollback / tag / prune, from Python."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import atio


def table(rows=150_000, start=0):
    return pa.table({
        "id": pa.array(range(start, start + rows), pa.int64()),
        "name": pa.array([f"n{i % 97}" for i in range(rows)]),
    })


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_every_thread_count_writes_the_same_bytes(out, suffix):
    data = table()
    written = []
    for threads in (1, 2, 3):
        path = out / f"{threads}.{suffix}"
        report = atio.write(data, path, threads=threads,
                            options={"row-group-rows": 40_000} if suffix == "parquet" else None)
        assert report.rows == 150_000
        written.append(path.read_bytes())
    assert written[0] == written[1] == written[2]
    if suffix == "parquet":
        read = pq.read_table(out / "3.parquet")
        assert read.equals(data)
        assert pq.ParquetFile(out / "3.parquet").metadata.num_row_groups == 4


def test_threads_must_be_positive(out):
    with pytest.raises(ValueError, match="threads must be at least 1"):
        atio.write(table(10), out / "x.parquet", threads=0)
    assert not (out / "x.parquet").exists()


def test_versions_rollback_tag_and_prune(out):
    path = out / "t.parquet"
    for generation in range(4):
        atio.write(table(100, start=generation * 1000), path, keep_versions=2)
    listed = atio.versions(path)
    assert [v["number"] for v in listed["versions"]] == [2, 3]
    assert pq.read_table(path)["id"][0].as_py() == 3000

    atio.tag(path, "good", version=2)
    rolled = atio.rollback(path, tag="good")
    assert rolled["restored"] == 2
    # Version 2 is what the second write replaced: the first write's rows.
    assert pq.read_table(path)["id"][0].as_py() == 1000
    atio.verify(path)
    # The rollback kept what it replaced, so it can be undone.
    atio.rollback(path)
    assert pq.read_table(path)["id"][0].as_py() == 3000

    removed = atio.prune(path, 0)
    remaining = atio.versions(path)["versions"]
    assert [v["record"]["tags"] for v in remaining] == [["good"]]
    assert 2 not in removed

    with pytest.raises(atio.Error) as caught:
        atio.rollback(path, tag="missing")
    assert "missing" in str(caught.value)


def test_write_bytes_keeps_versions(out):
    path = out / "config.json"
    atio.write_json({"v": 1}, path, keep_versions=3)
    atio.write_json({"v": 2}, path, keep_versions=3)
    assert [v["number"] for v in atio.versions(path)["versions"]] == [1]
    atio.rollback(path)
    assert path.read_text() == '{\n  "v": 1\n}\n'
