"""Shared helpers for the atio Python tests (run by tests/run, or `pytest python/tests`)."""

import os
import subprocess
import sys
import textwrap

import pytest


def staging_files(directory):
    """atio staging names (`.NAME.atio-…tmp`, `.NAME.atio-stg-…`) left in `directory`."""
    return sorted(name for name in os.listdir(directory) if ".atio-" in name and not name.endswith(".atio-lock"))


def run_python(code, *args, **kwargs):
    """Runs `code` in a fresh interpreter (the same venv); returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True, text=True, timeout=300, **kwargs,
    )


def spawn_python(code, *args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()
    return directory
