#!/usr/bin/env bash
# Builds the HTML encoder component: ./build.sh [OUT.wasm] (default: html.wasm here).
# Run `npm ci` here first (package.json pins every tool).
#
# 1. esbuild bundles encoder.js with apache-arrow into one ES module (ComponentizeJS takes a
#    single module and resolves no npm packages).
# 2. componentize-js embeds it in the StarlingMonkey JS engine as a component of the world
#    `encoder-plugin`. The `-d` flags drop engine features the encoder does not use; without
#    them the component imports wasi:http (fetch) and wasi:filesystem (stdio), which atio refuses
#    to load. What stays: wasi:cli/stderr, wasi:io, wasi:clocks, wasi:random.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/html.wasm}")"
cd "$here"
mkdir -p build
npx --no-install esbuild encoder.js --bundle --format=esm --platform=neutral \
  --main-fields=module,main --log-level=warning --outfile=build/encoder.bundle.js
# componentize-js resolves the source path against the current directory: keep it relative.
npx --no-install componentize-js --wit ../../../wit/encoder.wit --world-name encoder-plugin \
  -d stdio -d http -d fetch-event -o "$out" build/encoder.bundle.js
