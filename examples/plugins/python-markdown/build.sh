#!/usr/bin/env bash
# Builds the Markdown encoder component: ./build.sh [OUT.wasm] (default: markdown.wasm here).
#
# Needs componentize-py (`pip install componentize-py==0.25.1`). `--stub-wasi` replaces every
# WASI import of the Python runtime with a trapping stub: without it the component imports
# wasi:filesystem and wasi:sockets, which atio refuses to load. The encoder needs no WASI at all
# (its only I/O is the host's `output`); the price is that print() and uncaught tracebacks trap,
# so every error is returned as an encode-error instead (see encoder.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/markdown.wasm}")"
componentize_py="${COMPONENTIZE_PY:-componentize-py}"
cd "$here"
"$componentize_py" -d ../../../wit -w encoder-plugin componentize --stub-wasi app -o "$out"
