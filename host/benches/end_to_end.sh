#!/usr/bin/env bash
# End to end: atio's CLI against pyarrow, polars and DuckDB writing the same 1M rows durably.
#
#   host/benches/end_to_end.sh [--runs N] [--rows N] [--threads 1,2]
#
# Installs pyarrow, polars and DuckDB into target/bench-venv (once), builds the release CLI
# (ATIO_BIN=path skips that), then runs host/benches/end_to_end.py: interleaved rounds, medians,
# each ratio against the fastest other writer, and atio's peak RSS (GNU time, apt-get'ed if
# missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/bench-venv
if [ ! -x /usr/bin/time ]; then
  # GNU time measures atio's peak RSS.
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import pyarrow, polars, duckdb, numpy' 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pyarrow polars duckdb numpy
fi
if [ -z "${ATIO_BIN:-}" ]; then
  cargo build --release --bin atio
  ATIO_BIN=target/release/atio
fi
exec "$venv/bin/python" host/benches/end_to_end.py --atio "$ATIO_BIN" "$@"
