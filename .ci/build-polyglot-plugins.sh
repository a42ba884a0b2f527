#!/usr/bin/env bash
# Builds the example plugins written in Python and JavaScript, for the polyglot tests:
#
#   .ci/build-polyglot-plugins.sh [OUT_DIR]      # default target/polyglot
#   ATIO_POLYGLOT_DIR=$PWD/target/polyglot cargo test --test integration polyglot
#
# OUT_DIR/markdown.wasm  examples/plugins/python-markdown, built with componentize-py
# OUT_DIR/html.wasm      examples/plugins/js-html, built with esbuild + ComponentizeJS
#
# Installs the pinned tools when missing: componentize-py with pip into OUT_DIR/venv, the npm
# packages with `npm ci` into examples/plugins/js-html/node_modules. A component is rebuilt only
# when its sources, the contract or the tool versions change (a stamp file records their hash):
# the builds are not byte-reproducible, and every new build costs the tests a fresh compile.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="$(realpath -m "${1:-target/polyglot}")"
mkdir -p "$out"

COMPONENTIZE_PY_VERSION=0.25.1
py_dir=examples/plugins/python-markdown
js_dir=examples/plugins/js-html

# Hash of everything a component is built from.
inputs_hash() {
  sha256sum "$@" wit/encoder.wit | sha256sum | cut -d' ' -f1
}

# Runs the build command "$3..." unless OUT/$1's stamp matches the hash "$2".
build_if_changed() {
  local wasm="$out/$1" hash="$2"
  shift 2
  if [[ -f "$wasm" && -f "$wasm.inputs" && "$(cat "$wasm.inputs")" == "$hash" ]]; then
    echo "$wasm is up to date"
    return
  fi
  rm -f "$wasm.inputs"
  local started=$SECONDS
  "$@"
  echo "$hash" >"$wasm.inputs"
  echo "built $wasm ($(du -h "$wasm" | cut -f1), $((SECONDS - started)) s)"
}

# --- Python: componentize-py ---------------------------------------------------------------------
command -v python3 >/dev/null || { echo "python3 is needed (with venv and pip)" >&2; exit 1; }
venv="$out/venv"
componentize_py="$venv/bin/componentize-py"
if ! "$componentize_py" --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY_VERSION"; then
  echo "installing componentize-py $COMPONENTIZE_PY_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
# The pure-Python parts have native unit tests (any CPython).
(cd "$py_dir" && PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -q test_markdown 2>&1 | tail -1)
build_if_changed markdown.wasm \
  "$(inputs_hash "$py_dir"/*.py "$py_dir/build.sh" <(echo "$COMPONENTIZE_PY_VERSION"))" \
  env COMPONENTIZE_PY="$componentize_py" "$py_dir/build.sh" "$out/markdown.wasm"

# --- JavaScript: esbuild + ComponentizeJS ----------------------------------------------------------
command -v npm >/dev/null || { echo "node and npm are needed" >&2; exit 1; }
lock_hash="$(sha256sum "$js_dir/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$js_dir/node_modules/.atio-lock-sha256" 2>/dev/null)" != "$lock_hash" ]]; then
  echo "installing the npm packages of $js_dir (npm ci)"
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$js_dir/node_modules/.atio-lock-sha256"
fi
build_if_changed html.wasm \
  "$(inputs_hash "$js_dir/encoder.js" "$js_dir/build.sh" "$js_dir/package-lock.json")" \
  "$js_dir/build.sh" "$out/html.wasm"

echo "polyglot plugins in $out; run the tests with ATIO_POLYGLOT_DIR=$out"
cd "$root"
