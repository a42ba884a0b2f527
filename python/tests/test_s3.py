"""Object storage from Python against a real S3 protocol server (moto_server, installed by
tests/run): objects and partitions read back with boto3, manifests verified, errors mapped."""

import io
import os
import shutil
import socket
import subprocess
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

import atio


@pytest.fixture(scope="module")
def s3():
    server = shutil.which("moto_server")
    if server is None:
        pytest.skip("no moto_server (pip install 'moto[server]'; tests/run installs it)")
    boto3 = pytest.importorskip("boto3")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    saved = {key: os.environ.get(key) for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="atio-test", AWS_SECRET_ACCESS_KEY="atio-test-secret",
                      AWS_REGION="us-east-1")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="atio-python")
    try:
        yield client, {"endpoint": endpoint, "path_style": True}
    finally:
        process.kill()
        process.wait()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def get(client, key):
    return client.get_object(Bucket="atio-python", Key=key)["Body"].read()


def test_dataframe_to_an_object_and_its_manifest(s3):
    client, options = s3
    frame = pd.DataFrame({"a": range(1000), "s": [f"v{i}" for i in range(1000)]})
    report = atio.write(frame, "s3://atio-python/raw/data.parquet", storage_options=options)
    assert report.e_tag and report.rows == 1000
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(get(client, "raw/data.parquet"))), frame)
    verified = atio.verify("s3://atio-python/raw/data.parquet", storage_options=options)
    assert verified["manifest"]["hash"] == report.hash
    with pytest.raises(FileExistsError):
        atio.write(frame, "s3://atio-python/raw/data.parquet", storage_options=options,
                   no_clobber=True)


def test_partitions_on_s3(s3):
    client, options = s3
    frame = pd.DataFrame({"dt": ["d1", "d2", "d1"], "v": [1, 2, 3]})
    report = atio.write(frame, "s3://atio-python/table/", partition_by="dt", storage_options=options)
    assert report.rows == 3
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="atio-python", Prefix="table/")["Contents"])
    assert [key for key in keys if key.endswith("_SUCCESS")] == ["table/dt=d1/_SUCCESS", "table/dt=d2/_SUCCESS"]
    part = next(key for key in keys if key.startswith("table/dt=d1/part-"))
    assert pq.read_table(io.BytesIO(get(client, part))).column("v").to_pylist() == [1, 3]
    assert atio.verify("s3://atio-python/table/dt=d1/", storage_options=options)["manifest"]["files"]


def test_open_and_write_json_on_s3(s3):
    client, options = s3
    with atio.open("s3://atio-python/notes.txt", "w", storage_options=options) as f:
        f.write("hello s3\n")
    assert get(client, "notes.txt") == b"hello s3\n"
    with pytest.raises(RuntimeError):
        with atio.open("s3://atio-python/never.txt", "w", storage_options=options) as f:
            f.write("half")
            raise RuntimeError("abandon")
    with pytest.raises(client.exceptions.NoSuchKey):
        get(client, "never.txt")
    atio.write_json({"a": 1}, "s3://atio-python/doc.json", storage_options=options)
    assert get(client, "doc.json") == b'{\n  "a": 1\n}\n'


def test_local_only_calls_refuse_urls(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a URL taken for a local path would show up here
    with pytest.raises(atio.InvalidInput, match="object storage"):
        atio.update_json("s3://atio-python/counter.json", lambda c: c, default={})
    with pytest.raises(atio.InvalidInput, match="object storage"):
        atio.lock("s3://atio-python/counter.json").acquire()
    with pytest.raises(atio.InvalidInput, match="object storage"):
        atio.recover("s3://atio-python/table/dt=d1/")
    assert os.listdir(tmp_path) == []


def test_versions_of_an_object_and_a_partition_on_s3(s3):
    client, options = s3
    url = "s3://atio-python/versioned/data.parquet"
    for start in (0, 100, 200):
        frame = pd.DataFrame({"id": range(start, start + 10)})
        atio.write(frame, url, keep_versions=5, storage_options=options)
    listed = atio.versions(url, verify=True, storage_options=options)
    assert [v["number"] for v in listed["versions"]] == [1, 2]
    # The kept copy, read by boto3: the first write's rows.
    kept = get(client, "versioned/.data.parquet.atio-versions/000001/data")
    assert pq.read_table(io.BytesIO(kept))["id"][0].as_py() == 0
    rolled = atio.rollback(url, to=1, storage_options=options)
    assert rolled["restored"] == 1
    assert pq.read_table(io.BytesIO(get(client, "versioned/data.parquet")))["id"][0].as_py() == 0
    atio.verify(url, storage_options=options)
    atio.tag(url, "good", storage_options=options)
    assert atio.prune(url, 0, storage_options=options) == [2, 3]

    table = "s3://atio-python/vtable/"
    atio.write(pd.DataFrame({"dt": ["d1"] * 3, "v": [1, 2, 3]}), table, partition_by="dt",
               keep_versions=2, storage_options=options)
    atio.write(pd.DataFrame({"dt": ["d1"], "v": [99]}), table, partition_by="dt",
               keep_versions=2, storage_options=options)
    atio.rollback(table + "dt=d1/", storage_options=options)
    restored = pd.read_parquet(io.BytesIO(get(client, next(
        obj["Key"] for obj in client.list_objects_v2(Bucket="atio-python", Prefix="vtable/dt=d1/")
        ["Contents"] if obj["Key"].endswith(".parquet")))))
    assert sorted(restored["v"]) == [1, 2, 3]
