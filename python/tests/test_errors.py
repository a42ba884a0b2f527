"""Error classes: atio.Error subclasses that are also the matching builtins, with kind, step,
path, hint, errno, and messages that name what failed."""

import errno
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

import atio

from conftest import staging_files


def table(rows=10):
    return pa.table({"a": list(range(rows)), "s": [str(i) for i in range(rows)]})


def test_no_clobber_is_file_exists_error(out):
    path = out / "x.parquet"
    atio.write(table(), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError) as caught:
        atio.write(table(20), path, no_clobber=True)
    error = caught.value
    assert isinstance(error, atio.Exists) and isinstance(error, atio.Conflict)
    assert isinstance(error, atio.Error)
    assert error.kind == "conflict" and error.step == "rename"
    assert error.path == str(path)
    assert error.errno == errno.EEXIST
    assert "create-only" in str(error) and error.hint in str(error)
    assert path.read_bytes() == before
    assert staging_files(out) == []


def test_if_match(out):
    path = out / "c.json"
    first = atio.write_json({"v": 1}, path)
    second = atio.write_json({"v": 2}, path, if_match=first.hash)
    with pytest.raises(atio.Conflict) as caught:
        atio.write_json({"v": 3}, path, if_match=first.hash)
    assert not isinstance(caught.value, FileExistsError)
    assert caught.value.step == "compare (--if-match)"
    assert second.hash in str(caught.value)
    assert path.read_text() == '{\n  "v": 2\n}\n'


def test_lock_timeout_is_timeout_error_naming_the_holder(out):
    path = out / "locked.bin"
    with atio.lock(path, timeout=5) as held:
        assert held.locked
        with pytest.raises(TimeoutError) as caught:
            atio.write_bytes(b"x", path, lock=0.2)
        error = caught.value
        assert isinstance(error, atio.LockTimeout)
        assert error.kind == "conflict" and error.step == "lock"
        assert f"pid {os.getpid()}" in str(error)
        with pytest.raises(atio.LockTimeout, match=r"after 300ms"):
            atio.lock(path, timeout=0.3).acquire()
    assert not held.locked
    atio.write_bytes(b"y", path, lock=1)
    assert path.read_bytes() == b"y"
    assert staging_files(out) == []


def test_unsupported_data_for_npy_is_value_error_naming_the_column(out):
    with pytest.raises(ValueError) as caught:
        atio.write(table(), out / "t.npy")
    error = caught.value
    assert isinstance(error, atio.UnsupportedFormat)
    assert error.kind == "unsupported-format"
    assert "`s`" in str(error) or "'s'" in str(error) or " s " in str(error)
    assert not (out / "t.npy").exists()
    assert staging_files(out) == []


def test_invalid_options_are_value_errors(out):
    with pytest.raises(ValueError, match="durability"):
        atio.write(table(), out / "t.parquet", durability="sometimes")
    with pytest.raises(atio.UnsupportedFormat):
        atio.write(table(), out / "t.parquet", format="no-such-format")
    with pytest.raises(atio.InvalidInput, match="compression|option"):
        atio.write(table(), out / "t.parquet", options={"compression": "nope"})
    with pytest.raises(atio.InvalidInput, match="3-D"):
        atio.write(np.zeros((2, 2, 2)), out / "t.npy")
    with pytest.raises(atio.UnsupportedFormat, match="dtype"):
        atio.write(np.array(["a", "b"]), out / "t.npy")
    with pytest.raises(atio.InvalidInput, match="reshape"):
        atio.write(np.zeros((4, 1)), out / "t.npy")
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        atio.write({"a": [1]}, out / "t.parquet")
    with pytest.raises(ValueError, match="partition"):
        atio.write(table(), out / "dir", partition_by=["missing"])
    assert sorted(os.listdir(out)) == []


def test_not_found(out):
    with pytest.raises(FileNotFoundError) as caught:
        atio.clean(out / "missing")
    assert isinstance(caught.value, atio.NotFound)
    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == str(out / "missing")


def test_verification_error(out):
    path = out / "v.csv"
    atio.write(table(), path)
    with open(path, "ab") as f:
        f.write(b"tampered\n")
    with pytest.raises(atio.VerificationError, match="size is"):
        atio.verify(path)
    with pytest.raises(atio.VerificationError, match="no _SUCCESS"):
        atio.verify(out / "nothing.csv")


def test_errors_pickle():
    error = atio._errors._from_native("no-space", "fsync", "/x", "fsync `/x`: No space", "free space", 28)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is atio.NoSpace and again.errno == 28 and again.path == "/x"


def test_permission_denied_is_permission_error(out):
    # Root ignores permissions: a forked child drops to nobody (the venv's interpreter may not be
    # executable by nobody, so no new process) and writes into a directory it cannot write.
    if os.geteuid() != 0:
        os.chmod(out, 0o555)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            try:
                atio.write_bytes(b"x", out / "p.bin")
                message = "no error"
            except PermissionError as error:
                message = f"{type(error).__name__} {error.kind} {error.step} {error.errno} {error.filename}"
            except BaseException as error:  # noqa: BLE001 - reported to the parent
                message = f"other {type(error).__name__}: {error}"
            os.write(write, message.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    os.chmod(out, 0o755)
    name, kind, step, code, filename = message.split()
    assert (name, kind, int(code)) == ("PermissionDenied", "permission-denied", errno.EACCES)
    assert step in ("resolve", "stage")  # pytest's tmp root is 0700: nobody fails at resolve
    assert filename.startswith(str(out))
    assert os.listdir(out) == []


def test_full_disk_is_os_error_with_enospc(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        path = mount / "data.npy"
        atio.write(np.arange(10, dtype="int64"), path)
        before = path.read_bytes()
        with pytest.raises(OSError) as caught:
            atio.write(np.arange(1_000_000, dtype="int64"), path)
        error = caught.value
        assert isinstance(error, atio.NoSpace)
        assert error.errno == errno.ENOSPC and error.kind == "no-space"
        assert "intact" in error.hint
        assert path.read_bytes() == before
        assert staging_files(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def guest_plugin(name):
    """A hostile test plugin built with the built-in encoders (host/build.rs), if there."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    target = os.environ.get("ATIO_GUEST_TARGET_DIR") or os.path.join(root, "target", "guest-formats")
    path = os.path.join(target, "wasm32-wasip2", "release", f"{name}.wasm")
    if not os.path.exists(path):
        pytest.skip(f"{path} is not built (cargo build builds it)")
    return path


@pytest.mark.parametrize("plugin, message", [
    ("atio_test_fail_finish", "finish"),
    ("atio_test_panic", "panic"),
    ("atio_test_spin", "deadline|timed out|time"),
])
def test_failing_plugins_are_plugin_errors_and_leave_the_original(out, plugin, message):
    path = out / "p.bin"
    atio.write_bytes(b"original", path)
    with pytest.raises(atio.PluginError, match=message) as caught:
        atio.write(table(), path, plugin=guest_plugin(plugin), options=None,
                   **({"plugin_timeout": 1} if plugin == "atio_test_spin" else {}))
    assert caught.value.kind == "plugin"
    assert path.read_bytes() == b"original"
    assert staging_files(out) == []
